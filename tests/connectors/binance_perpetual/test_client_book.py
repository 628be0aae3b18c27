"""Book sync rules, driven by in-memory payload sequences (docs: managing a local order book)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from test_client_fakes import StepClock

from pmm.connectors.binance_perpetual.book import BookSync, SyncState
from pmm.connectors.binance_perpetual.parse import parse_depth_snapshot
from pmm.connectors.binance_perpetual.parse_events import parse_depth_update
from pmm.core.book import OrderBook
from pmm.core.events import BookDelta, BookResyncRequired, BookSnapshot
from pmm.core.model import Side

D = Decimal
MARKET = "BTC-USDT"


def diff(first: int, final: int, prev: int, bids: Any = (), asks: Any = ()) -> Any:
    payload = {"e": "depthUpdate", "E": 1000, "T": 999, "s": "BTCUSDT", "U": first, "u": final, "pu": prev,
               "b": [list(level) for level in bids], "a": [list(level) for level in asks]}
    return parse_depth_update(payload, MARKET, 1.0)


def snapshot(last_id: int, bids: Any = (("100", "1"),), asks: Any = (("101", "1"),)) -> BookSnapshot:
    payload = {"lastUpdateId": last_id, "E": 1000, "T": 999, "bids": [list(b) for b in bids],
               "asks": [list(a) for a in asks]}
    return parse_depth_snapshot(payload, MARKET, 1.0)


class Harness:
    """A BookSync feeding a real OrderBook the way the engine does."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.book = OrderBook(MARKET)
        self.ready = False
        self.sync = BookSync(MARKET, self.on_event, StepClock())

    def on_event(self, event: Any) -> None:
        self.events.append(event)
        if isinstance(event, BookSnapshot):
            self.book.apply_snapshot(event)
            self.ready = True
        elif isinstance(event, BookDelta) and self.ready:
            self.book.apply_delta(event)
        elif isinstance(event, BookResyncRequired):
            self.ready = False

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]


def test_buffered_diffs_older_than_the_snapshot_are_dropped_and_the_first_bridges() -> None:
    h = Harness()
    h.sync.invalidate("starting")
    h.sync.on_update(diff(90, 95, 89, bids=[("99", "5")]))  # u < lastUpdateId: dropped
    h.sync.on_update(diff(96, 105, 95, bids=[("100", "2")]))  # U <= 100 <= u: first applied
    h.sync.on_update(diff(106, 110, 105, asks=[("101", "0"), ("102", "3")]))
    assert h.sync.needs_snapshot
    assert h.sync.on_snapshot(snapshot(100))
    assert h.sync.state is SyncState.LIVE and h.sync.last_update_id == 110
    assert h.kinds() == ["BookResyncRequired", "BookSnapshot", "BookDelta", "BookDelta"]
    assert h.book.size_at(Side.BUY, D("99")) == 0  # the dropped diff never reached the book
    assert h.book.best_bid == D("100") and h.book.size_at(Side.BUY, D("100")) == D("2")
    assert h.book.best_ask == D("102")  # level 101 deleted by qty 0


def test_snapshot_before_any_diff_waits_for_the_bridging_event() -> None:
    h = Harness()
    h.sync.invalidate("starting")
    assert h.sync.on_snapshot(snapshot(200))
    assert h.sync.state is SyncState.WAITING_FIRST_EVENT and h.ready
    h.sync.on_update(diff(150, 199, 149))  # fully older: discarded silently
    assert h.kinds() == ["BookResyncRequired", "BookSnapshot"]
    h.sync.on_update(diff(195, 205, 194, bids=[("100", "7")]))
    assert h.sync.state is SyncState.LIVE and h.book.size_at(Side.BUY, D("100")) == D("7")


def test_first_event_past_the_snapshot_is_a_gap() -> None:
    h = Harness()
    h.sync.invalidate("starting")
    h.sync.on_snapshot(snapshot(200))
    h.sync.on_update(diff(202, 210, 201))  # U > lastUpdateId: events 201 are missing
    assert h.sync.needs_snapshot and not h.ready
    assert h.kinds()[-1] == "BookResyncRequired"


def test_first_event_continuing_the_snapshot_exactly_is_accepted() -> None:
    # The snapshot was taken right after the event ending at 200: the next one starts past it
    # (U=205) but its pu says it follows 200, so nothing is missing.
    h = Harness()
    h.sync.invalidate("starting")
    h.sync.on_snapshot(snapshot(200))
    h.sync.on_update(diff(205, 210, 200, bids=[("100", "4")]))
    assert h.sync.state is SyncState.LIVE and h.book.size_at(Side.BUY, D("100")) == D("4")
    h2 = Harness()
    h2.sync.invalidate("starting")
    h2.sync.on_update(diff(205, 210, 200))
    assert h2.sync.on_snapshot(snapshot(200)) and h2.sync.state is SyncState.LIVE


def test_snapshot_older_than_the_buffer_is_refused() -> None:
    h = Harness()
    h.sync.invalidate("starting")
    h.sync.on_update(diff(300, 310, 299))
    assert not h.sync.on_snapshot(snapshot(250))  # 251..299 unknown: fetch another snapshot
    assert h.sync.needs_snapshot and not h.ready
    assert h.sync.on_snapshot(snapshot(305))
    assert h.sync.state is SyncState.LIVE


def test_pu_gap_emits_resync_then_a_fresh_snapshot_recovers() -> None:
    h = Harness()
    h.sync.invalidate("starting")
    h.sync.on_snapshot(snapshot(100))
    h.sync.on_update(diff(95, 105, 94))
    h.sync.on_update(diff(106, 110, 105, bids=[("100", "3")]))
    h.sync.on_update(diff(115, 120, 112, bids=[("100", "9")]))  # pu 112 != previous u 110: gap
    assert h.sync.needs_snapshot and not h.ready
    gap = h.events[-1]
    assert isinstance(gap, BookResyncRequired) and "pu=112" in gap.reason
    h.sync.on_update(diff(121, 125, 120, asks=[("101", "4")]))  # buffered while resyncing
    assert h.sync.on_snapshot(snapshot(118, bids=[("100", "9")], asks=[("101", "1")]))
    assert h.ready and h.sync.state is SyncState.LIVE and h.sync.last_update_id == 125
    assert h.book.size_at(Side.BUY, D("100")) == D("9") and h.book.size_at(Side.SELL, D("101")) == D("4")
    assert h.kinds().count("BookSnapshot") == 2


def test_continuous_pu_chain_stays_live() -> None:
    h = Harness()
    h.sync.invalidate("starting")
    h.sync.on_snapshot(snapshot(10))
    prev = 9
    for n in range(10, 60, 5):
        h.sync.on_update(diff(n, n + 4, prev, bids=[("100", str(n))]))
        prev = n + 4
    assert h.sync.state is SyncState.LIVE and h.kinds().count("BookResyncRequired") == 1
    assert h.book.size_at(Side.BUY, D("100")) == D("55")


def test_invalidate_while_waiting_does_not_repeat_the_event() -> None:
    h = Harness()
    h.sync.invalidate("starting")
    h.sync.invalidate("reconnected")
    assert h.kinds() == ["BookResyncRequired"]
