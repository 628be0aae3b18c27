"""What a venue server remembers of each market's public life, in venue-neutral terms: the book as
each depth stream last published it with its sequence numbers, recent trades, a rolling 24-hour
window, the mark / index / funding state and the settled funding rates.

The venue writes all of it in its own words; `Tape.on_public` keeps it current from the
simulator's public events and returns what changed, so the venue knows what to publish.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from pmm.connectors.common.book_diff import Changes, PublishedBook
from pmm.core.book import OrderBook
from pmm.core.model import ZERO, FundingInfo, Side

DAY_S = 86_400.0


class SequencedBook:
    """One depth stream of one market: what it last published, and its sequence id. Each change
    moves the id on by 1; an injected skip of n first moves it on by n, as if n messages were lost
    (the next message's previous id is not the last id a client saw)."""

    def __init__(self, depth: int | None, first_seq: int) -> None:
        self.published = PublishedBook(depth)
        self.seq = first_seq
        self.ts = 0.0

    def update(self, book: OrderBook, ts: float, skip: int = 0) -> tuple[int, int, Changes] | None:
        """(previous seq, new seq, changes), or None when this stream's levels did not change."""
        bids, asks = self.published.update(book)
        if not bids and not asks:
            return None
        previous = self.seq + skip
        self.seq = previous + 1
        self.ts = ts
        return previous, self.seq, (bids, asks)

    def levels(self, side: Side, depth: int | None = None) -> list[tuple[Decimal, Decimal]]:
        levels = self.published.levels(side)
        return levels if depth is None else levels[:depth]


@dataclass(frozen=True, slots=True)
class TapeTrade:
    trade_id: str
    price: Decimal
    qty: Decimal
    taker_side: Side
    ts: float


class TradeWindow:
    """Trades of the last `seconds`: open, high, low, volume and turnover."""

    def __init__(self, seconds: float = DAY_S) -> None:
        self.seconds = seconds
        self.trades: deque[TapeTrade] = deque()
        self.volume = ZERO
        self.turnover = ZERO

    def add(self, trade: TapeTrade) -> None:
        self.prune(trade.ts)
        self.trades.append(trade)
        self.volume += trade.qty
        self.turnover += trade.qty * trade.price

    def prune(self, now: float) -> None:
        while self.trades and self.trades[0].ts <= now - self.seconds:
            old = self.trades.popleft()
            self.volume -= old.qty
            self.turnover -= old.qty * old.price

    def open(self, default: Decimal) -> Decimal:
        return self.trades[0].price if self.trades else default

    def high(self, default: Decimal) -> Decimal:
        return max((t.price for t in self.trades), default=default)

    def low(self, default: Decimal) -> Decimal:
        return min((t.price for t in self.trades), default=default)


class Tape:
    """One market's public state (see module docstring)."""

    def __init__(self, market: str, depths: tuple[int | None, ...], first_seq: int,
                 new_trade_id: Callable[[], str], recent_kept: int = 500) -> None:
        self.market = market
        self.books = {depth: SequencedBook(depth, first_seq) for depth in depths}
        self.trades: deque[TapeTrade] = deque(maxlen=recent_kept)  # newest last
        self.day = TradeWindow()
        self.funding: FundingInfo | None = None
        self.settled: list[tuple[float, Decimal]] = []  # (funding time, rate), oldest first
        self._new_trade_id = new_trade_id

    @property
    def last(self) -> TapeTrade | None:
        return self.trades[-1] if self.trades else None

    def on_trade(self, price: Decimal, qty: Decimal, taker_side: Side, ts: float) -> TapeTrade:
        trade = TapeTrade(self._new_trade_id(), price, qty, taker_side, ts)
        self.trades.append(trade)
        self.day.add(trade)
        return trade

    def on_funding(self, info: FundingInfo) -> bool:
        """Keep the new funding state; True when a funding time passed (its rate is settled)."""
        previous, self.funding = self.funding, info
        if previous is not None and info.next_funding_ts > previous.next_funding_ts:
            self.settled.append((previous.next_funding_ts, previous.rate))
            return True
        return False
