"""Bybit order book sync for one market (topic `orderbook.{depth}.{symbol}`).

Bybit's rules (docs "Orderbook", reference/exchange_apis.md §B5):

1. The first message after subscribing is a `snapshot`. Any later `snapshot` resets the book, and
   so does a message with `u == 1` (the service restarted and is sending fresh data).
2. A `delta` must carry `u == previous u + 1`. Anything else is a gap: the book is discarded
   (`BookResyncRequired`, quotes freeze) and the feed resubscribes the topic for a fresh snapshot.
3. Deltas before the first snapshot (or after a gap, before the next snapshot) are dropped.

`seq` (the cross sequence, comparable across depths and with the REST snapshot) is kept as
`last_seq` for cross-stream ordering. This class is pure bookkeeping: it emits `BookSnapshot`,
`BookDelta` and `BookResyncRequired` (the engine applies them to its `pmm.core.book.OrderBook`)
and says whether the feed must resubscribe.
"""

from __future__ import annotations

import logging

from pmm.connectors.base import Emit
from pmm.connectors.bybit_perpetual.parse_events import OrderbookFrame
from pmm.core.clock import Clock
from pmm.core.events import BookResyncRequired

log = logging.getLogger("pmm.bybit.book")


class BookSync:
    """Sequence checking for one market's book."""

    def __init__(self, market: str, emit: Emit, clock: Clock) -> None:
        self.market = market
        self._emit = emit
        self._clock = clock
        self.live = False
        self.last_update_id = 0
        self.last_seq = 0
        self.snapshots = 0
        self.resyncs = 0
        self._resync_announced = False

    @property
    def needs_snapshot(self) -> bool:
        return not self.live

    def invalidate(self, reason: str) -> None:
        """Discard the book: quotes freeze until a new snapshot has been applied."""
        self.live = False
        self.resyncs += 1
        if self._resync_announced:
            return  # already frozen; one BookResyncRequired per outage is enough
        self._resync_announced = True
        log.warning("book of %s needs a resync: %s", self.market, reason)
        now = self._clock.now()
        self._emit(BookResyncRequired(self.market, reason, now, now))

    def on_frame(self, frame: OrderbookFrame) -> bool:
        """Apply one orderbook message. True when the feed must resubscribe for a new snapshot."""
        if frame.is_snapshot:
            if frame.update_id == 1 and self.live and self.last_update_id > 1:
                log.info("book of %s: u=1 snapshot, the venue's book service restarted; reset", self.market)
            self.live = True
            self._resync_announced = False
            self.last_update_id = frame.update_id
            self.last_seq = frame.seq
            self.snapshots += 1
            self._emit(frame.snapshot())
            return False
        if not self.live:
            return False  # waiting for the snapshot the (re)subscription brings
        expected = self.last_update_id + 1
        if frame.update_id != expected:
            self.invalidate(f"orderbook gap: u={frame.update_id} after u={self.last_update_id} "
                            f"(expected {expected}); resubscribing for a new snapshot")
            return True
        self.last_update_id = frame.update_id
        self.last_seq = max(self.last_seq, frame.seq)
        self._emit(frame.delta())
        return False
