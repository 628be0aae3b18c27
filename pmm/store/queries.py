"""Read functions for the CLI (`status`, `history`, `balance`) and for restarts.

Each takes an `Engine` (from `open_engine`) and returns the immutable records of `records.py`,
so nothing returned is tied to a session. Results are ordered oldest first unless a name says
otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Engine

from pmm.core.model import (
    ClientOrderId,
    ExchangeOrderId,
    Liquidity,
    MarginMode,
    OrderPurpose,
    OrderStatus,
    OrderType,
    PositionAction,
    PositionSide,
    Side,
    TradeId,
)
from pmm.store import totals_read
from pmm.store.performance import FillTotals
from pmm.store.records import (
    FillRecord,
    FundingRecord,
    OrderChanged,
    OrderEventInfo,
    PositionSnapshot,
    RunInfo,
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

# Statuses of orders that may still rest on the book (or whose fate is not known yet).
_LIVE_STATUSES = tuple(s.value for s in OrderStatus if not s.is_done)


def _rows(engine: Engine, stmt: Select[Any]) -> Sequence[Any]:
    with engine.connect() as conn:
        return conn.execute(stmt).all()


# --- runs ---------------------------------------------------------------------------------------


def _run(r: Any) -> RunInfo:
    return RunInfo(
        run_id=r.run_id, started_ts=r.started_ts, ended_ts=r.ended_ts, status=RunStatus(r.status),
        pid=r.pid, connector=r.connector, market=r.market, config_path=r.config_path,
        config_text=r.config_text, exit_reason=r.exit_reason, heartbeat_ts=r.heartbeat_ts,
    )  # fmt: skip


def latest_run(engine: Engine) -> RunInfo | None:
    """The most recently started run, or None if there is none."""
    rows = _rows(engine, select(Run.__table__).order_by(Run.started_ts.desc(), Run.run_id.desc()).limit(1))
    return _run(rows[0]) if rows else None


def get_run(engine: Engine, run_id: str) -> RunInfo | None:
    rows = _rows(engine, select(Run.__table__).where(Run.run_id == run_id))
    return _run(rows[0]) if rows else None


def list_runs(engine: Engine, limit: int | None = None) -> list[RunInfo]:
    """Runs, newest first."""
    stmt = select(Run.__table__).order_by(Run.started_ts.desc(), Run.run_id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_run(r) for r in _rows(engine, stmt)]


# --- status, orders -----------------------------------------------------------------------------


def latest_status(engine: Engine, run_id: str) -> StatusSnapshot | None:
    """The last status the engine wrote for `run_id` (`.data()` decodes the JSON)."""
    rows = _rows(engine, select(StatusSnapshotRow.__table__).where(StatusSnapshotRow.run_id == run_id))
    return StatusSnapshot(run_id=rows[0].run_id, ts=rows[0].ts, payload=rows[0].payload) if rows else None


def _order(r: Any) -> OrderChanged:
    return OrderChanged(
        client_id=ClientOrderId(r.client_id), run_id=r.run_id, venue=r.venue, market=r.market,
        side=Side(r.side), order_type=OrderType(r.order_type), price=r.price, amount=r.amount,
        filled=r.filled, status=OrderStatus(r.status), purpose=OrderPurpose(r.purpose), level=r.level,
        position_action=PositionAction(r.position_action), position_side=PositionSide(r.position_side),
        reduce_only=bool(r.reduce_only),
        exchange_id=None if r.exchange_id is None else ExchangeOrderId(r.exchange_id),
        created_ts=r.created_ts, updated_ts=r.updated_ts, last_reason=r.last_reason,
    )  # fmt: skip


def open_orders(engine: Engine, run_id: str) -> list[OrderChanged]:
    """Orders of the run that are not done (open, partially filled, pending, unknown)."""
    stmt = (
        select(Order.__table__)
        .where(Order.run_id == run_id, Order.status.in_(_LIVE_STATUSES))
        .order_by(Order.created_ts, Order.client_id)
    )
    return [_order(r) for r in _rows(engine, stmt)]


def get_order(engine: Engine, client_id: str) -> OrderChanged | None:
    rows = _rows(engine, select(Order.__table__).where(Order.client_id == client_id))
    return _order(rows[0]) if rows else None


def order_events(engine: Engine, client_id: str | None = None, run_id: str | None = None) -> list[OrderEventInfo]:
    """State changes of orders, in the order they were written."""
    stmt = select(OrderEvent.__table__).order_by(OrderEvent.id)
    if client_id is not None:
        stmt = stmt.where(OrderEvent.client_id == client_id)
    if run_id is not None:
        stmt = stmt.where(OrderEvent.run_id == run_id)
    return [
        OrderEventInfo(r.client_id, r.run_id, r.ts, OrderStatus(r.status), r.filled, r.reason)
        for r in _rows(engine, stmt)
    ]


# --- fills, funding, positions ------------------------------------------------------------------


def fills(
    engine: Engine,
    since_ts: float | None = None,
    market: str | None = None,
    run_id: str | None = None,
    venue: str | None = None,
    until_ts: float | None = None,
) -> list[FillRecord]:
    """Fills matching every given filter (`since_ts` inclusive, `until_ts` exclusive), by time."""
    stmt = _fill_filters(select(Fill.__table__).order_by(Fill.ts, Fill.id), since_ts, market, run_id, venue, until_ts)
    return [
        FillRecord(
            venue=r.venue, run_id=r.run_id, trade_id=TradeId(r.trade_id), client_id=ClientOrderId(r.client_id),
            exchange_id=ExchangeOrderId(r.exchange_id), market=r.market, side=Side(r.side), price=r.price,
            amount=r.amount, fee=r.fee, fee_asset=r.fee_asset, liquidity=Liquidity(r.liquidity),
            position_side=PositionSide(r.position_side), realized_pnl=r.realized_pnl, ts=r.ts,
        )  # fmt: skip
        for r in _rows(engine, stmt)
    ]


def _fill_filters(stmt: Select[Any], since_ts: float | None, market: str | None, run_id: str | None = None,
                  venue: str | None = None, until_ts: float | None = None) -> Select[Any]:
    if since_ts is not None:
        stmt = stmt.where(Fill.ts >= since_ts)
    if until_ts is not None:
        stmt = stmt.where(Fill.ts < until_ts)
    if market is not None:
        stmt = stmt.where(Fill.market == market)
    if run_id is not None:
        stmt = stmt.where(Fill.run_id == run_id)
    if venue is not None:
        stmt = stmt.where(Fill.venue == venue)
    return stmt


def fill_totals(
    engine: Engine, since_ts: float | None = None, market: str | None = None, *, kept: bool = True,
) -> tuple[dict[tuple[str, str, None], FillTotals], dict[tuple[str, str, str], FillTotals]]:
    """The fills (`since_ts` inclusive, of `market`) added up per (venue, market) and per (venue,
    market, run_id), for the performance report (`performance_report_of`).

    From the `fill_totals` table when it counts every stored fill (`kept`, see `totals_read.py`: a
    few rows, plus the fills of the first, partial day of a `since_ts` window); otherwise, or with
    `kept=False`, the fills are folded in time order as they stream from the database, without
    building a record per fill. Both are exact and equal to folding `fills()`, digit for digit.
    """
    if kept:
        got = totals_read.read(engine, since_ts, market)
        if got is not None:
            return got
    with engine.connect() as conn:
        per_run = totals_read.fold(conn, since_ts, None, market)
    return totals_read.per_market(per_run), per_run


def last_fills(engine: Engine, limit: int, since_ts: float | None = None,
               market: str | None = None) -> list[FillRecord]:
    """The newest `limit` fills (`since_ts` inclusive, of `market`), oldest first, as `fills()` orders them."""
    stmt = _fill_filters(select(Fill.__table__).order_by(Fill.ts.desc(), Fill.id.desc()).limit(limit), since_ts, market)
    return [_fill(r) for r in reversed(_rows(engine, stmt))]


def _fill(r: Any) -> FillRecord:
    return FillRecord(
        venue=r.venue, run_id=r.run_id, trade_id=TradeId(r.trade_id), client_id=ClientOrderId(r.client_id),
        exchange_id=ExchangeOrderId(r.exchange_id), market=r.market, side=Side(r.side), price=r.price,
        amount=r.amount, fee=r.fee, fee_asset=r.fee_asset, liquidity=Liquidity(r.liquidity),
        position_side=PositionSide(r.position_side), realized_pnl=r.realized_pnl, ts=r.ts,
    )  # fmt: skip


def funding_payments(
    engine: Engine,
    since_ts: float | None = None,
    market: str | None = None,
    run_id: str | None = None,
    venue: str | None = None,
    until_ts: float | None = None,
) -> list[FundingRecord]:
    """Funding payments by settlement time; `since_ts`/`until_ts` in seconds, compared to it."""
    stmt = select(FundingPayment.__table__).order_by(FundingPayment.funding_time_ms, FundingPayment.id)
    if since_ts is not None:
        stmt = stmt.where(FundingPayment.funding_time_ms >= int(since_ts * 1000))
    if until_ts is not None:
        stmt = stmt.where(FundingPayment.funding_time_ms < int(until_ts * 1000))
    if market is not None:
        stmt = stmt.where(FundingPayment.market == market)
    if run_id is not None:
        stmt = stmt.where(FundingPayment.run_id == run_id)
    if venue is not None:
        stmt = stmt.where(FundingPayment.venue == venue)
    return [
        FundingRecord(
            venue=r.venue, run_id=r.run_id, market=r.market, funding_time_ms=r.funding_time_ms, rate=r.rate,
            amount=r.amount, asset=r.asset, position_amount=r.position_amount, mark_price=r.mark_price,
        )  # fmt: skip
        for r in _rows(engine, stmt)
    ]


def last_fill_ts(engine: Engine, venue: str | None = None, market: str | None = None) -> float | None:
    """Time of the newest stored fill (of `venue`/`market`): where a fill backfill resumes."""
    stmt = select(func.max(Fill.ts))
    if venue is not None:
        stmt = stmt.where(Fill.venue == venue)
    if market is not None:
        stmt = stmt.where(Fill.market == market)
    with engine.connect() as conn:
        value = conn.execute(stmt).scalar_one_or_none()
    return None if value is None else float(value)


def last_funding_time_ms(engine: Engine, venue: str | None = None, market: str | None = None) -> int | None:
    """Settlement time of the newest stored funding payment: where a funding backfill resumes."""
    stmt = select(func.max(FundingPayment.funding_time_ms))
    if venue is not None:
        stmt = stmt.where(FundingPayment.venue == venue)
    if market is not None:
        stmt = stmt.where(FundingPayment.market == market)
    with engine.connect() as conn:
        value = conn.execute(stmt).scalar_one_or_none()
    return None if value is None else int(value)


def _position(r: Any) -> PositionSnapshot:
    return PositionSnapshot(
        run_id=r.run_id, venue=r.venue, market=r.market, side=PositionSide(r.side), amount=r.amount,
        entry_price=r.entry_price, leverage=r.leverage,
        margin_mode=None if r.margin_mode is None else MarginMode(r.margin_mode),
        unrealized_pnl=r.unrealized_pnl, liquidation_price=r.liquidation_price, mark_price=r.mark_price, ts=r.ts,
    )  # fmt: skip


def last_position_snapshots(engine: Engine, run_id: str | None = None) -> list[PositionSnapshot]:
    """The latest snapshot per (venue, market, side), of `run_id` or of all runs; flat ones included."""
    t = PositionSnapshotRow
    latest = select(func.max(t.id).label("id")).group_by(t.venue, t.market, t.side)
    if run_id is not None:
        latest = latest.where(t.run_id == run_id)
    # Ids grow with insertion, and the writer inserts in submission order, so max(id) is the last.
    stmt = select(t.__table__).where(t.id.in_(latest.scalar_subquery())).order_by(t.market, t.side)
    return [_position(r) for r in _rows(engine, stmt)]


def sim_account(engine: Engine, venue: str) -> SimAccountSnapshot | None:
    """The simulated exchange's last exported account for `venue` (`.data()` decodes it)."""
    rows = _rows(engine, select(SimAccountRow.__table__).where(SimAccountRow.venue == venue))
    return SimAccountSnapshot(venue=rows[0].venue, ts=rows[0].ts, state=rows[0].state) if rows else None


def recorded_since(engine: Engine, venue: str, market: str, since_ts: float) -> tuple[frozenset[str], frozenset[int]]:
    """Trade ids of the stored fills and settlement times (ms) of the stored funding payments of
    (`venue`, `market`) from `since_ts` on: what a start's backfill finds already recorded."""
    fills = select(Fill.trade_id).where(Fill.venue == venue, Fill.market == market, Fill.ts >= since_ts)
    funding = select(FundingPayment.funding_time_ms).where(
        FundingPayment.venue == venue, FundingPayment.market == market,
        FundingPayment.funding_time_ms >= int(since_ts * 1000))
    with engine.connect() as conn:
        trade_ids = frozenset(str(t) for t in conn.execute(fills).scalars())
        times = frozenset(int(t) for t in conn.execute(funding).scalars())
    return trade_ids, times
