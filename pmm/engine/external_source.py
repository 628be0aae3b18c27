"""Another connector's public feed as the reference price (`price_source: external_market` with a
`price_source_derivative` other than `derivative`): another venue's perpetual, or a venue's spot
market.

The engine keeps one book per market name, and the source's pair may well be the maker's own pair
(BTC-USDT on one venue quoted around BTC-USDT on another). So the source's book events are renamed to `key`
on their way in; everything else the feed says (mark prices, funding, its connection's ups and
downs) is not the engine's business: a disconnect already shows as a book resync, which freezes the
reference price, and the maker venue's own safety rules must not act on a price feed's socket.
"""

from __future__ import annotations

import dataclasses

from pmm.connectors.base import Emit, MarketDataFeed
from pmm.core.events import BookDelta, BookResyncRequired, BookSnapshot, Event, Trade
from pmm.engine.state import MarketState


def waiting_for(state: MarketState, name: str) -> str:
    """What the price source's book (`state`, shown as `name`) waits for; "" when it is usable."""
    if not state.ready:
        return f"{name}: {state.resync_reason}"
    if state.book.is_empty:
        return f"{name}: book empty: no bid or no ask"
    return ""


def not_ready_report(state: MarketState, name: str, now: float) -> str:
    """The line the engine logs every minute while the price source is not usable ("" when it is)."""
    waiting = waiting_for(state, name)
    if not waiting:
        return ""
    since = f" for {now - state.unready_since:.0f} s" if state.unready_since is not None else ""
    return f"no reference price{since}, not quoting: price source {waiting}"


class ExternalPriceSource:
    """`market` on `source_id`, read through `feed` (public data only)."""

    def __init__(self, feed: MarketDataFeed, source_id: str, market: str) -> None:
        self.feed = feed
        self.source_id = source_id
        self.market = market
        self.key = f"{source_id}:{market}"  # the engine's name for this book
        self._emit: Emit | None = None

    def __repr__(self) -> str:
        return f"ExternalPriceSource({self.source_id!r}, {self.market!r})"

    @property
    def description(self) -> str:
        return f"{self.market} on {self.source_id}"

    async def start(self, emit: Emit) -> None:
        self._emit = emit
        await self.feed.start([self.market], self._on_event)

    async def stop(self) -> None:
        await self.feed.stop()

    def _on_event(self, event: Event) -> None:
        if self._emit is None:
            return
        match event:
            case BookSnapshot() | BookDelta() | BookResyncRequired() | Trade() if event.market == self.market:
                self._emit(dataclasses.replace(event, market=self.key))
            case _:
                pass
