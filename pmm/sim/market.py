"""One market's venue-side state, and the choice of market source from the settings."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from random import Random

from pmm.core.book import OrderBook
from pmm.core.events import BookDelta, BookSnapshot, Level
from pmm.core.model import ZERO, FundingInfo, Side, TradingRules
from pmm.errors import ConfigError
from pmm.sim.external import ExternalMarketSource
from pmm.sim.generators import MarketSource, MarkUpdate, StaticSource, SyntheticSource
from pmm.sim.num import dec
from pmm.sim.orders import RestingOrders
from pmm.sim.replay import ReplaySource
from pmm.sim.settings import ExternalMarket, ReplayMarket, SimMarketSettings, StaticMarket, SyntheticMarket

_TWO = Decimal(2)


class VenueBook(OrderBook):
    """The venue's public book, with snapshots applied on the first read rather than on arrival.

    A synthetic market replaces the whole book every step and usually nobody reads it before the
    next one; building the sorted book costs more than the rest of the step. Every read goes
    through the overridden accessors below (the others are built on them), so a caller holding
    this object always sees the latest book.
    """

    def __init__(self, market: str) -> None:
        super().__init__(market)
        self._pending: BookSnapshot | None = None
        # The last mid and the touch price objects it was computed from (see `mid`).
        self._mid_of: tuple[Decimal | None, Decimal | None] = (None, None)
        self._last_mid: Decimal | None = None
        self._last_delta: BookDelta | None = None  # applied last: the same delta again changes nothing

    def defer_snapshot(self, snapshot: BookSnapshot) -> None:
        self._pending = snapshot
        self._last_delta = None
        self.update_id = snapshot.update_id
        self.ts = snapshot.ts

    def _flush(self) -> None:
        pending = self._pending
        if pending is not None:
            self._pending = None
            super().apply_snapshot(pending)

    def apply_snapshot(self, snapshot: BookSnapshot) -> None:
        self._pending = None
        self._last_delta = None
        super().apply_snapshot(snapshot)

    def apply_delta(self, delta: BookDelta) -> None:
        if delta is self._last_delta:
            return  # sizes are absolute: a second application of the same delta is a no-op (a backtest's
            # engine reads this book and hands it each delta the venue already applied)
        self._last_delta = delta
        self._flush()
        super().apply_delta(delta)

    def clear(self) -> None:
        self._pending = None
        super().clear()

    @property
    def best_bid(self) -> Decimal | None:
        self._flush()
        return OrderBook.best_bid.fget(self)  # type: ignore[attr-defined]

    @property
    def best_ask(self) -> Decimal | None:
        self._flush()
        return OrderBook.best_ask.fget(self)  # type: ignore[attr-defined]

    @property
    def mid(self) -> Decimal | None:
        """(best bid + best ask) / 2, computed again only when a touch price object changes: the
        venue marks at the mid on every step. Identity, not equality, so the result is exactly
        what the sum of these very Decimals gives (an equal price may have another exponent)."""
        bid, ask = self.best_bid, self.best_ask
        if bid is None or ask is None:
            return None
        last_bid, last_ask = self._mid_of
        if bid is not last_bid or ask is not last_ask:
            self._last_mid = (bid + ask) / _TWO
            self._mid_of = (bid, ask)
        return self._last_mid

    @property
    def is_empty(self) -> bool:
        self._flush()
        return OrderBook.is_empty.fget(self)  # type: ignore[attr-defined]

    def iter_levels(self, side: Side, depth: int | None = None) -> Iterator[Level]:
        self._flush()
        return super().iter_levels(side, depth)

    def size_at(self, side: Side, price: Decimal) -> Decimal:
        self._flush()
        return super().size_at(side, price)


class SimMarket:
    """Rules, market source, public book, mark/index/rate and our resting orders of one market."""

    __slots__ = ("name", "quote", "rules", "source", "book", "resting", "mark", "index", "rate", "mark_from_book",
                 "mid_mark_due")

    def __init__(self, settings: SimMarketSettings, source: MarketSource) -> None:
        base, _, quote = settings.market.partition("-")
        if not base or not quote:
            raise ConfigError(f"Simulated market `{settings.market}` must be named BASE-QUOTE, e.g. BTC-USDT.")
        self.name = settings.market
        self.quote = quote
        self.rules = TradingRules(
            market=settings.market,
            base=base,
            quote=quote,
            tick_size=settings.tick_size,
            step_size=settings.step_size,
            min_size=settings.min_size,
            min_notional=settings.min_notional,
            max_leverage=settings.max_leverage,
        )
        self.source = source
        self.book = VenueBook(settings.market)
        self.resting = RestingOrders()
        self.mark: Decimal | None = None
        self.index: Decimal | None = None
        self.rate = ZERO
        self.mark_from_book = True  # a replay without mark records marks at the mid
        self.mid_mark_due = float("-inf")  # when a mark taken at the mid may be published next

    def apply_mark(self, update: MarkUpdate) -> None:
        if update.mark_price is not None:
            self.mark = update.mark_price
            self.index = update.index_price if update.index_price is not None else update.mark_price
            self.mark_from_book = False
        if update.rate is not None:
            self.rate = update.rate

    def mark_at_mid(self) -> bool:
        """While no source gave a mark, the mark (and index) is the book's mid. True if it moved."""
        if not self.mark_from_book:
            return False
        mid = self.book.mid
        if mid is None or mid == self.mark:
            return False
        self.mark = self.index = mid
        return True

    def funding_info(self, next_funding_ts: float, interval_s: float) -> FundingInfo:
        assert self.mark is not None and self.index is not None
        return FundingInfo(self.name, self.mark, self.index, self.rate, next_funding_ts, interval_s)

    def to_json(self) -> dict:
        return {
            "source": self.source.export_state(),
            "mark": None if self.mark is None else str(self.mark),
            "index": None if self.index is None else str(self.index),
            "rate": str(self.rate),
            "mark_from_book": self.mark_from_book,
        }

    def restore(self, data: dict) -> None:
        """Everything but the book and the resting orders (the exchange restores those)."""
        self.source.restore_state(data["source"])
        self.mark = None if data["mark"] is None else dec(data["mark"])
        self.index = None if data["index"] is None else dec(data["index"])
        self.rate = dec(data["rate"])
        self.mark_from_book = data["mark_from_book"]
        self.resting = RestingOrders()


def make_source(market: SimMarketSettings, seed: int, funding_interval_s: float) -> MarketSource:
    """The market source for one market; its randomness is seeded by (seed, market name) only."""
    generator = market.generator
    if isinstance(generator, SyntheticMarket):
        return SyntheticSource(market, generator, Random(f"{seed}/{market.market}"), funding_interval_s)
    if isinstance(generator, StaticMarket):
        return StaticSource(market.market, generator)
    if isinstance(generator, ReplayMarket):
        return ReplaySource(market.market, generator)
    if isinstance(generator, ExternalMarket):
        return ExternalMarketSource(market.market)
    raise ConfigError(f"Simulated market {market.market}: unknown generator {type(generator).__name__}.")
