"""The idempotent SQL each record type becomes; used by the writer thread.

SQLite and PostgreSQL share the `INSERT ... ON CONFLICT` syntax (SQLAlchemy's dialect `insert`
constructs), so one table of statements serves both. Rows are executed with `executemany`, one
call per run of consecutive records of the same type, which keeps submission order (an order's
state changes, a run's start before its heartbeat) without a statement per record.

Fills are inserted with `RETURNING` so that the ones actually inserted (not duplicates of a stored
trade) are added to `fill_totals` in the same transaction (`totals.TotalsWriter`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from enum import Enum
from itertools import groupby
from typing import Any

from sqlalchemy import Table, bindparam, update
from sqlalchemy.engine import Connection

from pmm.errors import ConfigError
from pmm.store.records import (
    FillRecord,
    FundingRecord,
    Heartbeat,
    OrderChanged,
    PositionSnapshot,
    Record,
    RunEnded,
    RunStarted,
    RunStatus,
    SimAccountSnapshot,
    StatusSnapshot,
)
from pmm.store.schema import (
    Fill,
    FundingPayment,
    Order,
    OrderEvent,
    PositionSnapshotRow,
    Run,
    SimAccountRow,
    StatusSnapshotRow,
)
from pmm.store.totals import TotalsWriter

Row = dict[str, Any]
_FIELDS: dict[type, tuple[str, ...]] = {}


def record_row(rec: Record) -> Row:
    """The record's fields as a column dict; enums become their string value."""
    names = _FIELDS.get(type(rec))
    if names is None:
        names = _FIELDS[type(rec)] = tuple(f.name for f in dataclasses.fields(rec))
    row = {}
    for name in names:
        v = getattr(rec, name)
        row[name] = v.value if isinstance(v, Enum) else v
    return row


def _table(model: type) -> Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


class Statements:
    """Per-dialect statements, and `execute_all` to run a list of records in a connection."""

    def __init__(self, dialect_name: str) -> None:
        if dialect_name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        elif dialect_name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        else:
            raise ConfigError(
                f"Unsupported database backend `{dialect_name}`: pmm needs INSERT ... ON CONFLICT. "
                "Use a sqlite:/// or postgresql:// URL in `--db` or PMM_DB."
            )

        def upsert(model: type, key: list[str]) -> Any:
            stmt = insert(_table(model))
            cols = [c.name for c in _table(model).columns if c.name not in key]
            return stmt.on_conflict_do_update(index_elements=key, set_={c: stmt.excluded[c] for c in cols})

        def insert_ignore(model: type, key: list[str]) -> Any:
            return insert(_table(model)).on_conflict_do_nothing(index_elements=key)

        runs = _table(Run)
        self.run_started = upsert(Run, ["run_id"])
        self.run_ended = (
            update(runs)
            .where(runs.c.run_id == bindparam("b_run_id"))
            .values(ended_ts=bindparam("b_ended_ts"), status=bindparam("b_status"), exit_reason=bindparam("b_reason"))
        )
        self.heartbeat = update(runs).where(runs.c.run_id == bindparam("b_run_id")).values(
            heartbeat_ts=bindparam("b_ts"))
        # An order's first row keeps its created_ts; every later change overwrites the rest.
        order_stmt = insert(_table(Order))
        self.order_upsert = order_stmt.on_conflict_do_update(
            index_elements=["client_id"],
            set_={c.name: order_stmt.excluded[c.name] for c in _table(Order).columns
                  if c.name not in ("client_id", "created_ts")},
        )
        self.order_event = _table(OrderEvent).insert()
        self.totals = TotalsWriter(insert, dialect_name)
        self.fill = insert_ignore(Fill, ["venue", "market", "trade_id"]).returning(*self.totals.returning)
        self.funding = insert_ignore(FundingPayment, ["venue", "market", "funding_time_ms"])
        self.position = _table(PositionSnapshotRow).insert()
        self.status = upsert(StatusSnapshotRow, ["run_id"])
        self.sim_account = upsert(SimAccountRow, ["venue"])
        self._handlers: dict[type, Callable[[Connection, Sequence[Any]], None]] = {
            RunStarted: self._run_started,
            RunEnded: self._run_ended,
            Heartbeat: self._heartbeat,
            OrderChanged: self._orders,
            FillRecord: self._fills,
            FundingRecord: lambda conn, recs: conn.execute(self.funding, [record_row(r) for r in recs]),
            PositionSnapshot: lambda conn, recs: conn.execute(self.position, [record_row(r) for r in recs]),
            StatusSnapshot: lambda conn, recs: conn.execute(self.status, [record_row(r) for r in recs]),
            SimAccountSnapshot: lambda conn, recs: conn.execute(self.sim_account, [record_row(r) for r in recs]),
        }

    def execute_all(self, conn: Connection, records: Sequence[Record]) -> None:
        """Execute `records` in order inside the caller's transaction."""
        for kind, group in groupby(records, key=type):
            handler = self._handlers.get(kind)
            if handler is None:
                raise TypeError(f"StoreWriter cannot persist {kind.__name__}")
            handler(conn, list(group))

    def _run_started(self, conn: Connection, recs: Sequence[RunStarted]) -> None:
        rows = [
            record_row(r) | {"status": RunStatus.RUNNING.value, "ended_ts": None, "exit_reason": None,
                             "heartbeat_ts": r.started_ts}
            for r in recs
        ]
        conn.execute(self.run_started, rows)

    def _run_ended(self, conn: Connection, recs: Sequence[RunEnded]) -> None:
        rows = [
            {"b_run_id": r.run_id, "b_ended_ts": r.ended_ts, "b_status": RunStatus(r.status).value,
             "b_reason": r.exit_reason}
            for r in recs
        ]
        conn.execute(self.run_ended, rows)

    def _heartbeat(self, conn: Connection, recs: Sequence[Heartbeat]) -> None:
        conn.execute(self.heartbeat, [{"b_run_id": r.run_id, "b_ts": r.ts} for r in recs])

    def _fills(self, conn: Connection, recs: Sequence[FillRecord]) -> None:
        inserted = conn.execute(self.fill, [record_row(r) for r in recs]).all()
        self.totals.add(conn, recs, inserted)

    def _orders(self, conn: Connection, recs: Sequence[OrderChanged]) -> None:
        rows = [record_row(r) for r in recs]
        conn.execute(self.order_upsert, rows)
        events = [
            {"client_id": r["client_id"], "run_id": r["run_id"], "ts": r["updated_ts"], "status": r["status"],
             "filled": r["filled"], "reason": r["last_reason"]}
            for r in rows
        ]  # fmt: skip
        conn.execute(self.order_event, events)
