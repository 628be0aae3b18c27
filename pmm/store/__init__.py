"""Persistence: SQLAlchemy 2 schema, a non-blocking writer, read queries, the performance report.

The engine builds records (`records.py`) and hands them to `StoreWriter.submit`; the CLI opens an
engine with `open_engine(default_db_url())` and reads through `queries`. Imports only `pmm.core`,
`pmm.errors` and third-party libraries.
"""

from __future__ import annotations

from pmm.store.db import ENV_VAR, default_db_url, open_engine, sqlite_file_path
from pmm.store.jsonable import dumps, to_jsonable
from pmm.store.performance import (
    MarketPerformance,
    PerformanceReport,
    infer_quote_asset,
    ledger_difference,
    market_performance,
    performance_report,
)
from pmm.store.queries import (
    fills,
    funding_payments,
    get_order,
    get_run,
    last_fill_ts,
    last_funding_time_ms,
    last_position_snapshots,
    latest_run,
    latest_status,
    list_runs,
    open_orders,
    order_events,
    sim_account,
)
from pmm.store.records import (
    FillRecord,
    FundingRecord,
    Heartbeat,
    OrderChanged,
    OrderEventInfo,
    PositionSnapshot,
    Record,
    RunEnded,
    RunInfo,
    RunStarted,
    RunStatus,
    SimAccountSnapshot,
    StatusSnapshot,
)
from pmm.store.schema import Base
from pmm.store.types import DecimalText
from pmm.store.writer import StoreWriteError, StoreWriter

__all__ = [
    "ENV_VAR",
    "Base",
    "DecimalText",
    "FillRecord",
    "FundingRecord",
    "Heartbeat",
    "MarketPerformance",
    "OrderChanged",
    "OrderEventInfo",
    "PerformanceReport",
    "PositionSnapshot",
    "Record",
    "RunEnded",
    "RunInfo",
    "RunStarted",
    "RunStatus",
    "SimAccountSnapshot",
    "StatusSnapshot",
    "StoreWriteError",
    "StoreWriter",
    "default_db_url",
    "dumps",
    "fills",
    "funding_payments",
    "get_order",
    "get_run",
    "infer_quote_asset",
    "last_fill_ts",
    "last_funding_time_ms",
    "last_position_snapshots",
    "latest_run",
    "latest_status",
    "ledger_difference",
    "list_runs",
    "market_performance",
    "open_engine",
    "open_orders",
    "order_events",
    "performance_report",
    "sim_account",
    "sqlite_file_path",
    "to_jsonable",
]
