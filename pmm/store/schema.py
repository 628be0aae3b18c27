"""The tables (SQLAlchemy 2 declarative, typed mappings).

Every money or size column is `DecimalText` (lossless); every timestamp is float seconds since the
epoch except `funding_time_ms`, the venue's settlement key. Idempotency keys:

- `fills`: UNIQUE(venue, market, trade_id). DESIGN §7 says (venue, trade_id); the market is added
  because some venues number trades per symbol, so the same trade id can occur on
  two markets. For venues with global ids the two keys are equivalent.
- `funding_payments`: UNIQUE(venue, market, funding_time_ms) (Hummingbot keys on the timestamp
  alone, so same-time payments on two pairs collide).
- `orders`: client_id primary key, upserted on every state change; `order_events` keeps the history.
- `status_snapshots` (per run) and `sim_accounts` (per venue): latest only, upserted.
- `fill_totals`: the fills added up per (venue, market, run_id, fee_asset, UTC day), kept by the
  writer in the transaction that inserts them (see `totals.py`); what `pmm history` reads.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pmm.store.types import DecimalText, Timestamp

# 64-bit ids on servers; on SQLite the id must be exactly INTEGER to alias the rowid.
_BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    """Declarative base: `Decimal` annotations map to `DecimalText`, `float` to DOUBLE."""

    type_annotation_map = {Decimal: DecimalText(), float: Timestamp(), str: String()}


class Run(Base):
    """One `pmm start` process. `status` is "running", "stopped" or "crashed"."""

    __tablename__ = "runs"

    run_id: Mapped[str] = mapped_column(String, primary_key=True)
    started_ts: Mapped[float]
    ended_ts: Mapped[float | None]
    status: Mapped[str]
    pid: Mapped[int | None]
    connector: Mapped[str]
    market: Mapped[str]
    config_path: Mapped[str] = mapped_column(Text)
    config_text: Mapped[str] = mapped_column(Text)  # the YAML as loaded; never holds secrets
    exit_reason: Mapped[str | None] = mapped_column(Text)
    heartbeat_ts: Mapped[float | None]

    __table_args__ = (Index("ix_runs_started", "started_ts"),)


class BotLeaseRow(Base):
    """A bot that runs now (or died without a clean stop): at most one per account and scope.

    `scope` is the market the bot trades, or "*" when it holds the whole account (the simulated
    account the store keeps serves one process at a time). `account` names the account without a
    secret (`ConnectorBundle.account`). Process identity and the wall-clock heartbeat `alive_ts`
    tell whether it still lives (`liveness.py`); `stop_request` is how `pmm stop` asks it to stop.
    Written by `bots.py` only; the row is deleted at a clean stop.
    """

    __tablename__ = "bot_leases"

    connector: Mapped[str] = mapped_column(String, primary_key=True)
    account: Mapped[str] = mapped_column(String, primary_key=True)
    scope: Mapped[str] = mapped_column(String, primary_key=True)
    run_id: Mapped[str] = mapped_column(String, unique=True)
    market: Mapped[str]
    host: Mapped[str]
    boot_id: Mapped[str]
    pid: Mapped[int]
    process_start: Mapped[str]
    started_ts: Mapped[float]  # wall clock, like alive_ts
    alive_ts: Mapped[float]
    stop_request: Mapped[str | None]  # "stop" or "flatten"


class Order(Base):
    """The latest state of one order of ours (or one adopted at reconciliation)."""

    __tablename__ = "orders"

    client_id: Mapped[str] = mapped_column(String, primary_key=True)
    run_id: Mapped[str]
    venue: Mapped[str]
    market: Mapped[str]
    side: Mapped[str]
    order_type: Mapped[str]
    price: Mapped[Decimal | None]  # None for market orders
    amount: Mapped[Decimal]
    filled: Mapped[Decimal]
    status: Mapped[str]
    purpose: Mapped[str]
    level: Mapped[int]
    position_action: Mapped[str]
    position_side: Mapped[str]
    reduce_only: Mapped[bool]
    exchange_id: Mapped[str | None]
    created_ts: Mapped[float]
    updated_ts: Mapped[float]
    last_reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_orders_run_status", "run_id", "status"),)


class OrderEvent(Base):
    """Append-only: one row per state change of an order."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    client_id: Mapped[str]
    run_id: Mapped[str]
    ts: Mapped[float]
    status: Mapped[str]
    filled: Mapped[Decimal]
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_order_events_client", "client_id", "id"),)


class Fill(Base):
    """One execution as the venue reported it (fee positive = paid, realized_pnl venue-reported)."""

    __tablename__ = "fills"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    venue: Mapped[str]
    trade_id: Mapped[str]
    run_id: Mapped[str]
    client_id: Mapped[str]
    exchange_id: Mapped[str]
    market: Mapped[str]
    side: Mapped[str]
    price: Mapped[Decimal]
    amount: Mapped[Decimal]
    fee: Mapped[Decimal]
    fee_asset: Mapped[str]
    liquidity: Mapped[str]
    position_side: Mapped[str]
    realized_pnl: Mapped[Decimal]
    ts: Mapped[float]

    __table_args__ = (
        UniqueConstraint("venue", "market", "trade_id", name="uq_fills_venue_market_trade"),
        Index("ix_fills_ts", "ts"),
        Index("ix_fills_run_ts", "run_id", "ts"),
    )


class FillTotalsRow(Base):
    """The fills of (venue, market, run_id, fee_asset) whose `ts` falls in UTC day `day`, added up.

    Written only by `totals.py` (the writer adds each inserted fill in its transaction) and
    `totals_read.py` (a stale table is rebuilt from `fills`). `rounded`: a sum or product lost digits
    at the 28-digit decimal precision, so the row is not exact and `pmm history` folds the fills instead.
    """

    __tablename__ = "fill_totals"

    venue: Mapped[str] = mapped_column(String, primary_key=True)
    market: Mapped[str] = mapped_column(String, primary_key=True)
    run_id: Mapped[str] = mapped_column(String, primary_key=True)
    fee_asset: Mapped[str] = mapped_column(String, primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # floor(ts / 86400)
    buys: Mapped[int]
    sells: Mapped[int]
    buy_base: Mapped[Decimal]
    buy_quote: Mapped[Decimal]  # sum of amount * price
    sell_base: Mapped[Decimal]
    sell_quote: Mapped[Decimal]
    realized_pnl: Mapped[Decimal]
    fees: Mapped[Decimal]  # in fee_asset
    first_ts: Mapped[float | None]
    last_ts: Mapped[float | None]
    last_fill_id: Mapped[int] = mapped_column(BigInteger)  # the newest fills.id counted
    rounded: Mapped[bool] = mapped_column(Boolean)


class FundingPayment(Base):
    """One funding settlement (amount signed: positive = received, negative = paid)."""

    __tablename__ = "funding_payments"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    venue: Mapped[str]
    market: Mapped[str]
    funding_time_ms: Mapped[int] = mapped_column(BigInteger)
    run_id: Mapped[str]
    rate: Mapped[Decimal]
    amount: Mapped[Decimal]
    asset: Mapped[str]
    position_amount: Mapped[Decimal]  # signed size at settlement
    mark_price: Mapped[Decimal]

    __table_args__ = (
        UniqueConstraint("venue", "market", "funding_time_ms", name="uq_funding_venue_market_time"),
        Index("ix_funding_time", "funding_time_ms"),
    )


class PositionSnapshotRow(Base):
    """A position as the venue reported it at `ts`. A closed position is a row with amount 0."""

    __tablename__ = "position_snapshots"

    id: Mapped[int] = mapped_column(_BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[str]
    venue: Mapped[str]
    market: Mapped[str]
    side: Mapped[str]
    amount: Mapped[Decimal]
    entry_price: Mapped[Decimal]
    leverage: Mapped[int | None]  # None on a flat snapshot
    margin_mode: Mapped[str | None]
    unrealized_pnl: Mapped[Decimal]
    liquidation_price: Mapped[Decimal | None]
    mark_price: Mapped[Decimal | None]
    ts: Mapped[float]

    __table_args__ = (Index("ix_positions_run_market_ts", "run_id", "market", "ts"),)


class StatusSnapshotRow(Base):
    """What `pmm status` shows for a run, as JSON written by the engine. Latest only."""

    __tablename__ = "status_snapshots"

    run_id: Mapped[str] = mapped_column(String, primary_key=True)
    ts: Mapped[float]
    payload: Mapped[str] = mapped_column(Text)


class SimAccountRow(Base):
    """The simulated exchange's exported account (JSON), so a restart continues it."""

    __tablename__ = "sim_accounts"

    venue: Mapped[str] = mapped_column(String, primary_key=True)
    ts: Mapped[float]
    state: Mapped[str] = mapped_column(Text)
