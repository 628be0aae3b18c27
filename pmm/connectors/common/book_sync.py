"""Whether one market's local order book can be trusted, for a feed that checks sequence numbers.

Every venue keeps its book the same way: a snapshot makes the book live, each delta must continue
the previous message's sequence (the rule is the venue's), and anything else discards the book
until the next snapshot. `BookSync` is that bookkeeping: `reset` applies a snapshot, `advance`
applies a delta that the venue's rule accepted, `invalidate` freezes quotes with one
`BookResyncRequired` per outage (not one per dropped message). The engine applies the emitted
`BookSnapshot` / `BookDelta` to its own `pmm.core.book.OrderBook`.
"""

from __future__ import annotations

import logging

from pmm.connectors.base import Emit
from pmm.core.clock import Clock
from pmm.core.events import BookDelta, BookResyncRequired, BookSnapshot

log = logging.getLogger("pmm.connectors.book")


class BookSync:
    """One market's book validity and last sequence number (see module docstring)."""

    def __init__(self, market: str, emit: Emit, clock: Clock) -> None:
        self.market = market
        self._emit = emit
        self._clock = clock
        self.live = False
        self.last_seq = 0
        self.snapshots = 0
        self.resyncs = 0
        self._announced = False

    def invalidate(self, reason: str) -> None:
        """Discard the book: quotes freeze until `reset` applies a new snapshot."""
        self.live = False
        self.resyncs += 1
        if self._announced:
            return  # already frozen; one BookResyncRequired per outage is enough
        self._announced = True
        log.warning("book of %s needs a resync: %s", self.market, reason)
        now = self._clock.now()
        self._emit(BookResyncRequired(self.market, reason, now, now))

    def reset(self, snapshot: BookSnapshot, seq: int) -> None:
        self.live = True
        self._announced = False
        self.last_seq = seq
        self.snapshots += 1
        self._emit(snapshot)

    def advance(self, delta: BookDelta | None, seq: int) -> None:
        """A delta the venue's sequence rule accepted (None: a heartbeat that changes nothing)."""
        self.last_seq = seq
        if delta is not None:
            self._emit(delta)
