"""Binance USD-M local order book sync (docs: "How to manage a local order book correctly").

1. Buffer diff events from the depth stream.
2. Fetch a snapshot (GET /fapi/v1/depth) -> `lastUpdateId`.
3. Drop buffered events with `u < lastUpdateId`.
4. The first applied event must have `U <= lastUpdateId <= u`, or continue the snapshot exactly
   (`pu == lastUpdateId`: the event holds every change after the snapshot's id, as when the
   snapshot was taken right after an event was published; the strict rule would discard a good
   book there and resync for nothing).
5. From then on each event's `pu` must equal the previous event's `u`; otherwise the book is
   discarded (`BookResyncRequired`) and the process restarts at 2.

This class is pure bookkeeping: it emits `BookResyncRequired`, `BookSnapshot` and `BookDelta`
(the engine applies them to its `pmm.core.book.OrderBook`) and says when a snapshot is needed;
`feed.py` does the fetching.
"""

from __future__ import annotations

import logging
from collections import deque
from enum import Enum

from pmm.connectors.base import Emit
from pmm.connectors.binance_perpetual.parse_events import DepthUpdate
from pmm.core.clock import Clock
from pmm.core.events import BookResyncRequired, BookSnapshot

log = logging.getLogger("pmm.binance.book")

MAX_BUFFERED = 5000  # diff events kept while waiting for a snapshot; more means the snapshot is stuck


def _bridges(update: DepthUpdate, snapshot_id: int) -> bool:
    """Whether `update` may be the first applied on a snapshot taken at `snapshot_id`."""
    return update.first_id <= snapshot_id <= update.final_id or update.prev_final_id == snapshot_id


class SyncState(Enum):
    WAITING_SNAPSHOT = "waiting_snapshot"  # buffering diffs
    WAITING_FIRST_EVENT = "waiting_first_event"  # snapshot applied, no bridging event yet
    LIVE = "live"


class BookSync:
    """Sequence checking for one market's book."""

    def __init__(self, market: str, emit: Emit, clock: Clock) -> None:
        self.market = market
        self._emit = emit
        self._clock = clock
        self.state = SyncState.WAITING_SNAPSHOT
        self._buffer: deque[DepthUpdate] = deque()
        self._snapshot_id = 0
        self.last_update_id = 0
        self.resyncs = 0

    @property
    def needs_snapshot(self) -> bool:
        return self.state is SyncState.WAITING_SNAPSHOT

    def invalidate(self, reason: str) -> None:
        """Discard the book: quotes freeze until a new snapshot has been applied."""
        was_waiting = self.state is SyncState.WAITING_SNAPSHOT
        self.state = SyncState.WAITING_SNAPSHOT
        self._buffer.clear()
        self.resyncs += 1
        log.log(logging.INFO if self.resyncs == 1 else logging.WARNING, "book of %s needs a resync: %s",
                self.market, reason)
        if not was_waiting or self.resyncs == 1:
            now = self._clock.now()
            self._emit(BookResyncRequired(self.market, reason, now, now))

    def on_update(self, update: DepthUpdate) -> None:
        match self.state:
            case SyncState.WAITING_SNAPSHOT:
                self._buffer.append(update)
                if len(self._buffer) > MAX_BUFFERED:
                    self._buffer.popleft()  # the snapshot will be older than these anyway
            case SyncState.WAITING_FIRST_EVENT:
                self._apply_first(update)
            case SyncState.LIVE:
                if update.prev_final_id != self.last_update_id:
                    self.invalidate(self._gap_reason(update))
                    self._buffer.append(update)
                    return
                self._apply(update)

    def on_snapshot(self, snapshot: BookSnapshot) -> bool:
        """Apply a REST snapshot. False if it is older than every buffered event: fetch another."""
        if self.state is not SyncState.WAITING_SNAPSHOT:
            return True
        last_id = snapshot.update_id
        while self._buffer and self._buffer[0].final_id < last_id:
            self._buffer.popleft()
        if self._buffer and not _bridges(self._buffer[0], last_id):
            log.info("snapshot %d of %s predates the buffered diffs (first U=%d); fetching another",
                     last_id, self.market, self._buffer[0].first_id)
            return False
        self._snapshot_id = last_id
        self.last_update_id = last_id
        self._emit(snapshot)
        self.state = SyncState.WAITING_FIRST_EVENT
        buffered, self._buffer = self._buffer, deque()
        for update in buffered:
            self.on_update(update)
            if self.state is SyncState.WAITING_SNAPSHOT:
                break
        return True

    def _apply_first(self, update: DepthUpdate) -> None:
        if update.final_id < self._snapshot_id:
            return  # already contained in the snapshot
        if _bridges(update, self._snapshot_id):
            self._apply(update)
            self.state = SyncState.LIVE
            return
        self.invalidate(f"first depth event U={update.first_id} u={update.final_id} does not bridge the "
                        f"snapshot's lastUpdateId={self._snapshot_id}")
        self._buffer.append(update)

    def _gap_reason(self, update: DepthUpdate) -> str:
        return f"depth gap: pu={update.prev_final_id} but the previous u was {self.last_update_id}"

    def _apply(self, update: DepthUpdate) -> None:
        self.last_update_id = update.final_id
        self._emit(update.delta)
