"""Immutable records the engine hands to `StoreWriter.submit`, and that queries return.

Fields mirror the table columns (see `schema.py`). Money and sizes are Decimal; timestamps float
seconds since the epoch (except `funding_time_ms`). Enum-valued fields hold the `pmm.core` enums;
records read back from the database have them converted back.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pmm.core.events import FundingPaymentReceived, OrderFilled, PositionUpdated
from pmm.core.model import (
    ZERO,
    ClientOrderId,
    ExchangeOrderId,
    FillReport,
    FundingPaymentReport,
    Liquidity,
    MarginMode,
    OrderPurpose,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionAction,
    PositionSide,
    Side,
    TradeId,
)
from pmm.store import jsonable


class RunStatus(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"  # orderly shutdown
    CRASHED = "crashed"  # died on an error (or found "running" with a stale heartbeat)


@dataclass(frozen=True, slots=True)
class RunStarted:
    """A `pmm start` began. Written as a `runs` row with status "running"."""

    run_id: str
    started_ts: float
    pid: int | None
    connector: str
    market: str
    config_path: str
    config_text: str


@dataclass(frozen=True, slots=True)
class RunEnded:
    """A run ended, orderly (STOPPED) or not (CRASHED)."""

    run_id: str
    ended_ts: float
    status: RunStatus
    exit_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The run is alive at `ts` (a run marked "running" with an old heartbeat died without a word)."""

    run_id: str
    ts: float


@dataclass(frozen=True, slots=True)
class OrderChanged:
    """The full current state of an order; upserted into `orders`, appended to `order_events`."""

    client_id: ClientOrderId
    run_id: str
    venue: str
    market: str
    side: Side
    order_type: OrderType
    price: Decimal | None
    amount: Decimal
    filled: Decimal
    status: OrderStatus
    purpose: OrderPurpose
    level: int
    position_action: PositionAction
    position_side: PositionSide
    reduce_only: bool
    exchange_id: ExchangeOrderId | None
    created_ts: float
    updated_ts: float
    last_reason: str | None = None

    @classmethod
    def from_request(
        cls,
        venue: str,
        run_id: str,
        request: OrderRequest,
        ts: float,
        status: OrderStatus = OrderStatus.PENDING_NEW,
        reason: str | None = None,
    ) -> OrderChanged:
        """The first state of an order we are about to send."""
        return cls(
            client_id=request.client_id,
            run_id=run_id,
            venue=venue,
            market=request.market,
            side=request.side,
            order_type=request.order_type,
            price=request.price,
            amount=request.amount,
            filled=ZERO,
            status=status,
            purpose=request.purpose,
            level=request.level,
            position_action=request.position_action,
            position_side=request.position_side,
            reduce_only=request.reduce_only,
            exchange_id=None,
            created_ts=ts,
            updated_ts=ts,
            last_reason=reason,
        )

    def changed(
        self,
        status: OrderStatus,
        ts: float,
        *,
        filled: Decimal | None = None,
        exchange_id: ExchangeOrderId | None = None,
        reason: str | None = None,
    ) -> OrderChanged:
        """The next state: new status at `ts`; `filled`/`exchange_id` kept unless given.

        `reason` belongs to this change only (it is not carried over from the previous state).
        """
        return replace(
            self,
            status=status,
            updated_ts=ts,
            filled=self.filled if filled is None else filled,
            exchange_id=self.exchange_id if exchange_id is None else exchange_id,
            last_reason=reason,
        )


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One execution. `fee` positive = paid; `realized_pnl` as the venue reported it (before fees)."""

    venue: str
    run_id: str
    trade_id: TradeId
    client_id: ClientOrderId
    exchange_id: ExchangeOrderId
    market: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    position_side: PositionSide
    realized_pnl: Decimal
    ts: float

    @property
    def quote_amount(self) -> Decimal:
        return self.price * self.amount

    @classmethod
    def from_event(cls, venue: str, run_id: str, ev: OrderFilled) -> FillRecord:
        return cls(
            venue=venue, run_id=run_id, trade_id=ev.trade_id, client_id=ev.client_id,
            exchange_id=ev.exchange_id, market=ev.market, side=ev.side, price=ev.price,
            amount=ev.amount, fee=ev.fee, fee_asset=ev.fee_asset, liquidity=ev.liquidity,
            position_side=ev.position_side, realized_pnl=ev.realized_pnl, ts=ev.ts,
        )  # fmt: skip

    @classmethod
    def from_report(cls, venue: str, run_id: str, rep: FillReport) -> FillRecord:
        """From a fill found at reconciliation/backfill (idempotent with the streamed one)."""
        return cls(
            venue=venue, run_id=run_id, trade_id=rep.trade_id, client_id=rep.client_id,
            exchange_id=rep.exchange_id, market=rep.market, side=rep.side, price=rep.price,
            amount=rep.amount, fee=rep.fee, fee_asset=rep.fee_asset, liquidity=rep.liquidity,
            position_side=rep.position_side, realized_pnl=rep.realized_pnl, ts=rep.ts,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class FundingRecord:
    """One funding settlement; `amount` signed: positive = received, negative = paid."""

    venue: str
    run_id: str
    market: str
    funding_time_ms: int
    rate: Decimal
    amount: Decimal
    asset: str
    position_amount: Decimal
    mark_price: Decimal

    @property
    def ts(self) -> float:
        return self.funding_time_ms / 1000.0

    @classmethod
    def from_event(cls, venue: str, run_id: str, ev: FundingPaymentReceived) -> FundingRecord:
        return cls(
            venue=venue, run_id=run_id, market=ev.market, funding_time_ms=ev.funding_time_ms,
            rate=ev.rate, amount=ev.amount, asset=ev.asset, position_amount=ev.position_amount,
            mark_price=ev.mark_price,
        )  # fmt: skip

    @classmethod
    def from_report(cls, venue: str, run_id: str, rep: FundingPaymentReport) -> FundingRecord:
        return cls(
            venue=venue, run_id=run_id, market=rep.market, funding_time_ms=rep.funding_time_ms,
            rate=rep.rate, amount=rep.amount, asset=rep.asset, position_amount=rep.position_amount,
            mark_price=rep.mark_price,
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class PositionSnapshot:
    """A position at `ts`. `amount` is positive; a closed position has amount 0 (flat snapshot)."""

    run_id: str
    venue: str
    market: str
    side: PositionSide
    amount: Decimal
    entry_price: Decimal
    leverage: int | None
    margin_mode: MarginMode | None
    unrealized_pnl: Decimal
    liquidation_price: Decimal | None
    mark_price: Decimal | None
    ts: float

    @property
    def signed_amount(self) -> Decimal:
        return -self.amount if self.side is PositionSide.SHORT else self.amount

    @classmethod
    def from_position(cls, venue: str, run_id: str, position: Position, ts: float) -> PositionSnapshot:
        return cls(
            run_id=run_id, venue=venue, market=position.market, side=position.side,
            amount=position.amount, entry_price=position.entry_price, leverage=position.leverage,
            margin_mode=position.margin_mode, unrealized_pnl=position.unrealized_pnl,
            liquidation_price=position.liquidation_price, mark_price=position.mark_price, ts=ts,
        )  # fmt: skip

    @classmethod
    def flat(cls, venue: str, run_id: str, market: str, side: PositionSide, ts: float) -> PositionSnapshot:
        """The position of `side` is closed."""
        return cls(
            run_id=run_id, venue=venue, market=market, side=side, amount=ZERO, entry_price=ZERO,
            leverage=None, margin_mode=None, unrealized_pnl=ZERO, liquidation_price=None,
            mark_price=None, ts=ts,
        )  # fmt: skip

    @classmethod
    def from_event(cls, venue: str, run_id: str, ev: PositionUpdated) -> PositionSnapshot:
        if ev.position is None:
            return cls.flat(venue, run_id, ev.market, ev.side, ev.ts)
        return cls.from_position(venue, run_id, ev.position, ev.ts)


@dataclass(frozen=True, slots=True)
class StatusSnapshot:
    """What `pmm status` shows for a run, as JSON text. Latest only (upserted per run)."""

    run_id: str
    ts: float
    payload: str

    @classmethod
    def build(cls, run_id: str, ts: float, data: Mapping[str, Any]) -> StatusSnapshot:
        """Serialise now, on the caller's thread, so later mutation of `data` cannot race the writer."""
        return cls(run_id=run_id, ts=ts, payload=jsonable.dumps(data))

    def data(self) -> dict[str, Any]:
        return dict(json.loads(self.payload))


@dataclass(frozen=True, slots=True)
class SimAccountSnapshot:
    """The simulated exchange's exported account for `venue`, as JSON text. Latest only."""

    venue: str
    ts: float
    state: str

    @classmethod
    def build(cls, venue: str, ts: float, state: Mapping[str, Any]) -> SimAccountSnapshot:
        return cls(venue=venue, ts=ts, state=jsonable.dumps(state))

    def data(self) -> dict[str, Any]:
        return dict(json.loads(self.state))


Record = (
    RunStarted
    | RunEnded
    | Heartbeat
    | OrderChanged
    | FillRecord
    | FundingRecord
    | PositionSnapshot
    | StatusSnapshot
    | SimAccountSnapshot
)


# --- read-side views (returned by queries, never submitted) ------------------------------------


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One row of `runs`."""

    run_id: str
    started_ts: float
    ended_ts: float | None
    status: RunStatus
    pid: int | None
    connector: str
    market: str
    config_path: str
    config_text: str
    exit_reason: str | None
    heartbeat_ts: float | None


@dataclass(frozen=True, slots=True)
class OrderEventInfo:
    """One row of `order_events`: an order's state at `ts`."""

    client_id: str
    run_id: str
    ts: float
    status: OrderStatus
    filled: Decimal
    reason: str | None
