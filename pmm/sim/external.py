"""A market fed from outside: a venue's real public feed drives the simulated exchange.

This is the market side of paper trading (DESIGN.md §1: `<venue>_paper_trade` = the venue's real
public feed + the in-process simulated exchange). A market whose generator is `ExternalMarket`
(settings.py) gets an `ExternalMarketSource`: nothing is generated; every pmm market event the
real feed emits is handed to `SimExchange.feed(event, t)`, which queues here what the event means
for the venue and processes it at `t` as one market step, through the same code as a generated
step (`Venue.on_market_step`), so our orders are matched exactly as against a generated market:

- `BookSnapshot`: the venue's public book becomes it; resting orders it crosses fill as maker at
  their own price (matching.py `fill_from_levels`).
- `BookDelta`: applied to the book; resting orders crossed by the levels it changed fill.
- `Trade`: resting orders the print went through (a sell at or below our bid, a buy at or above
  our ask) fill as maker at their price, up to the printed amount (`fill_from_trade`).
- `FundingInfoUpdated`: mark price, index price and funding rate become the venue's; the
  exchange settles funding at the announced next funding time (see `SimExchange.feed`).
- `BookResyncRequired`: the book is no longer the venue's. It is emptied (an empty snapshot), and
  deltas and trades are ignored until the next snapshot, so nothing fills against a stale book:
  no trade-through fills, no taker walks (a crossing limit order rests; a market order is
  rejected for lack of liquidity), no crossing fills.

The book is unknown until the first snapshot, so a fresh source starts in the resyncing state. A
restored source also does: the book saved with the account is hours old (the owner feeds a
`BookResyncRequired` after restoring to empty it; `pmm/connectors/paper.py` does).

Orders entered in a fed market are never added to the fed book (the venue's book does not contain
our paper orders), and our fills never take liquidity out of it: the next update from the venue
says what the book is. Queue position: without a queue model a print at our price fills us; with one
(`SimSettings.queue_model`, set by `pmm backtest --queue`) see pmm/sim/queue.py.
"""

from __future__ import annotations

from pmm.core.events import (
    BookDelta,
    BookResyncRequired,
    BookSnapshot,
    FundingInfoUpdated,
    Trade,
)
from pmm.sim.generators import MarketItem, MarkUpdate

__all__ = ["ExternalMarketSource", "FedEvent", "event_market"]

# What a fed market accepts: the market events of pmm.core.events that describe one market.
FedEvent = BookSnapshot | BookDelta | Trade | FundingInfoUpdated | BookResyncRequired


def event_market(event: object) -> str | None:
    """The market a fed event is about; None for events that are not about one market."""
    if isinstance(event, FundingInfoUpdated):
        return event.info.market
    if isinstance(event, BookSnapshot | BookDelta | Trade | BookResyncRequired):
        return event.market
    return None


class ExternalMarketSource:
    """A `MarketSource` (generators.py) whose items are pushed in from a real feed.

    `push(event, t)` queues the items the event means for the venue (possibly none) and makes
    them due at `t`; the exchange then steps the market, which takes them with `step()`.
    `announced_funding` is the next funding time the venue last announced (None before any).
    """

    def __init__(self, market: str) -> None:
        self._market = market
        self._items: list[MarketItem] = []
        self._due: float | None = None
        self._resyncing = True  # the venue's book is unknown until its first snapshot
        self.announced_funding: float | None = None

    @property
    def resyncing(self) -> bool:
        """True while the book is not the venue's (before the first snapshot, after a resync)."""
        return self._resyncing

    def push(self, event: FedEvent, t: float) -> None:
        """Queue what `event` means for the venue at time `t` (see the module docstring)."""
        items = self._items
        if isinstance(event, BookSnapshot):
            self._resyncing = False
            items.append(event)
        elif isinstance(event, BookDelta):
            if not self._resyncing:  # a delta on top of a book we do not have means nothing
                items.append(event)
        elif isinstance(event, Trade):
            if not self._resyncing:  # no fills while the book is not the venue's
                items.append(event)
        elif isinstance(event, FundingInfoUpdated):
            info = event.info
            items.append(MarkUpdate(self._market, info.mark_price, info.index_price, info.rate))
            self.announced_funding = info.next_funding_ts
        elif isinstance(event, BookResyncRequired):
            self._resyncing = True
            # The empty snapshot empties the venue's book through the normal step, so a crossing
            # order arriving meanwhile cannot walk levels that may be gone. (Emptying an empty
            # book again is harmless, and it is how a restored, stale book gets emptied.)
            items.append(BookSnapshot(self._market, (), (), 0, t, t))
        else:  # pragma: no cover - the exchange only routes FedEvents here
            raise TypeError(f"a fed market takes book, trade and funding events, not {type(event).__name__}")
        if items and self._due is None:
            self._due = t

    # --- MarketSource -------------------------------------------------------------------------

    def start(self, t0: float) -> None:
        """Nothing to schedule: the feed decides when the market moves."""

    def next_time(self) -> float | None:
        return self._due if self._items else None

    def step(self) -> list[MarketItem]:
        items, self._items, self._due = self._items, [], None
        return items

    def delay(self, seconds: float) -> None:
        if self._due is not None:
            self._due += seconds

    def export_state(self) -> dict:
        # Queued items are processed the moment they are pushed, so there are none to save.
        return {"announced_funding": self.announced_funding}

    def restore_state(self, data: dict) -> None:
        self._items, self._due = [], None
        self._resyncing = True  # the saved book is stale: wait for the venue's next snapshot
        self.announced_funding = data.get("announced_funding")

    def close(self) -> None:
        pass
