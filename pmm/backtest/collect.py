"""What a backtest keeps of its run, in memory: fills, funding payments and samples of the bot's state.

`BacktestRecorder` is the engine's `Recorder` (it gets every fill and funding payment, with the
book's mid at that moment, for spread capture). `Sampler` reads the engine's state at moments of
virtual time: mid, touch, the bot's quotes, position, PnL, and whether it quotes (and why not).
It samples every `interval_s` of data time, starting at one second; past `MAX_SAMPLES` it drops
every other sample and doubles the interval, so a week costs no more than an hour. The time spent
quoting, and not quoting per reason, is added up at every sample, so thinning does not lose it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pmm.core.events import FundingPaymentReceived, OrderFilled
from pmm.core.model import Liquidity, OrderPurpose, OrderStatus, Position, PositionSide, Side
from pmm.engine.status import unrealized_at

if TYPE_CHECKING:
    from pmm.engine.engine import Engine

MAX_SAMPLES = 2000
FIRST_INTERVAL_S = 1.0
_ZERO = Decimal(0)
_FINISHED = frozenset({OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED})
_NUMBER = re.compile(r"-?\d[\d,]*(\.\d+)?(e-?\d+)?")


@dataclass(frozen=True)
class FillRow:
    ts: float
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    realized_pnl: Decimal
    maker: bool
    purpose: str
    mid: Decimal | None  # the book's mid when the fill reached the bot


@dataclass(frozen=True)
class FundingRow:
    ts: float
    amount: Decimal  # positive = received
    rate: Decimal
    position: Decimal


@dataclass(frozen=True)
class Sample:
    ts: float
    mid: Decimal | None
    best_bid: Decimal | None
    best_ask: Decimal | None
    bid_quote: Decimal | None  # the bot's best resting buy (any purpose)
    ask_quote: Decimal | None
    position: Decimal  # signed base amount
    realized: Decimal
    fees: Decimal
    funding: Decimal
    unrealized: Decimal

    @property
    def equity(self) -> Decimal:
        """Net PnL so far: realized - fees + funding + unrealized."""
        return self.realized - self.fees + self.funding + self.unrealized


class BacktestRecorder:
    """The engine's `Recorder` for a backtest (module docstring); nothing goes to a store."""

    def __init__(self) -> None:
        self.fills: list[FillRow] = []
        self.funding_payments: list[FundingRow] = []
        self.mid: Callable[[], Decimal | None] = lambda: None
        self._purposes: dict[str, str] = {}  # of the orders not finished yet
        # Unique as in the store (fills by trade id, funding by time): the engine's last read of the
        # venue at its stop tells again what it has already told.
        self._trade_ids: set[str] = set()
        self._funding_ms: set[int] = set()

    def order_changed(self, order: Any) -> None:
        if order.status in _FINISHED:
            self._purposes.pop(order.client_id, None)
        else:
            self._purposes[order.client_id] = str(order.request.purpose)

    def fill(self, event: OrderFilled) -> None:
        if event.trade_id in self._trade_ids:
            return
        self._trade_ids.add(event.trade_id)
        # (the engine tells the fill before the order's change, so a last fill still finds its purpose)
        purpose = self._purposes.get(event.client_id, str(OrderPurpose.EXTERNAL))
        self.fills.append(FillRow(event.ts, event.side, event.price, event.amount, event.fee, event.realized_pnl,
                                  event.liquidity is Liquidity.MAKER, purpose, self.mid()))

    def funding(self, event: FundingPaymentReceived) -> None:
        if event.funding_time_ms in self._funding_ms:
            return
        self._funding_ms.add(event.funding_time_ms)
        self.funding_payments.append(FundingRow(event.ts, event.amount, event.rate, event.position_amount))

    def position(self, market: str, side: PositionSide, position: Position | None, ts: float) -> None:
        pass

    def status(self, payload: dict[str, Any], ts: float) -> None:
        pass

    def venue_state(self, state: dict[str, Any], ts: float) -> None:
        pass

    def heartbeat(self, ts: float) -> None:
        pass


def reason_kind(reason: str) -> str:
    """A not-quoting reason with its figures taken out, so the same cause adds up as one."""
    return _NUMBER.sub("N", reason).strip() or "unknown"


@dataclass
class Sampler:
    engine: Engine
    interval_s: float = FIRST_INTERVAL_S
    next_due: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    quoting_s: float = 0.0
    not_quoting_s: dict[str, float] = field(default_factory=dict)
    _last: tuple[float, bool, str] | None = None

    def sample(self, t: float) -> None:
        engine = self.engine
        market = engine.market
        state = engine.markets[market]
        book = state.book
        mark = state.funding.mark_price if state.funding is not None else book.mid
        positions = engine.account.market_positions(market)
        bids = [o.request.price for o in engine.tracker.active(market)
                if o.request.side is Side.BUY and o.request.price is not None]
        asks = [o.request.price for o in engine.tracker.active(market)
                if o.request.side is Side.SELL and o.request.price is not None]
        session = engine.session
        self.samples.append(Sample(
            t, book.mid, book.best_bid, book.best_ask, max(bids) if bids else None, min(asks) if asks else None,
            sum((p.signed_amount for p in positions), _ZERO), session.realized, session.fees, session.funding,
            sum((unrealized_at(p, mark) for p in positions), _ZERO)))
        status = engine.status()
        self._account_time(t, bool(status.get("quoting")), str(status.get("reason") or ""))
        if len(self.samples) > MAX_SAMPLES:
            self.samples = self.samples[::2]
            self.interval_s *= 2
        self.next_due = t + self.interval_s

    def _account_time(self, t: float, quoting: bool, reason: str) -> None:
        last = self._last
        if last is not None:
            seconds = t - last[0]
            if last[1]:
                self.quoting_s += seconds
            else:
                kind = reason_kind(last[2])
                self.not_quoting_s[kind] = self.not_quoting_s.get(kind, 0.0) + seconds
        self._last = (t, quoting, reason)
