"""pmm's Gate client: the book sync rules without a server, then the gateway against the venue server."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from venue_servers import API_KEY, API_SECRET, running_server

from pmm.connectors.common.book_sync import BookSync
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.auth import GateAuth
from pmm.connectors.gate_io_perpetual.feed import GateFeed, _Book
from pmm.connectors.gate_io_perpetual.gateway import GateGateway
from pmm.connectors.gate_io_perpetual.parse import Contract, parse_book_update
from pmm.connectors.gate_io_perpetual.rest import GateRestClient
from pmm.core.clock import LiveClock
from pmm.core.events import BookDelta, BookResyncRequired, BookSnapshot, OrderFilled
from pmm.core.model import ClientOrderId, OrderRequest, OrderType, PositionAction, Side

MARKET = "BTC-USDT"
CONTRACT = Contract(MARKET, "BTC_USDT", "BTC", "USDT", Decimal("0.1"), Decimal("0.001"), Decimal(1), 100,
                    Decimal("0.0002"), Decimal("0.0005"))


class _Snapshots:
    """A REST client stand-in that answers each order-book read with the next snapshot."""

    def __init__(self, *ids: int) -> None:
        self.ids = list(ids)
        self.reads = 0

    async def public(self, path: str, params: Any = ()) -> dict[str, Any]:
        assert path == spec.ORDER_BOOK_PATH and ("with_id", "true") in params
        self.reads += 1
        return {"id": self.ids.pop(0), "current": 1.0, "update": 1.0, "bids": [{"p": "100", "s": 5}],
                "asks": [{"p": "101", "s": 5}]}


class _Connected:
    connected = True


def _update(first: int, last: int, **extra: Any) -> Any:
    return parse_book_update({"t": 1000, "s": "BTC_USDT", "U": first, "u": last, "b": [{"p": "100", "s": 7}],
                              "a": [], **extra}, CONTRACT, 1.0)


def _feed(rest: _Snapshots, events: list[Any]) -> GateFeed:
    feed = GateFeed(rest, ws_url="ws://127.0.0.1:1", clock=LiveClock(),  # type: ignore[arg-type]
                    sleep=lambda s: asyncio.sleep(0))
    feed._contracts[MARKET] = CONTRACT
    feed._emit = events.append
    feed._books[MARKET] = _Book(BookSync(MARKET, events.append, LiveClock()))
    feed._ws = _Connected()  # type: ignore[assignment]
    return feed


def test_buffered_pushes_apply_after_the_snapshot_by_gates_id_rule():
    async def scenario() -> tuple[list[Any], BookSync]:
        events: list[Any] = []
        feed = _feed(_Snapshots(105), events)
        for first, last in ((101, 103), (104, 106), (107, 107)):  # pushes arriving while the snapshot is read
            feed._on_book(MARKET, _update(first, last), 1.0)
        await feed._snapshot(MARKET)
        feed._on_book(MARKET, _update(108, 108), 1.0)
        return events, feed.book(MARKET)

    events, sync = asyncio.run(scenario())
    kinds = [type(e) for e in events]
    # 101..103 is older than the snapshot (id 105) and dropped; 104..106 spans 106 and applies
    assert kinds == [BookSnapshot, BookDelta, BookDelta, BookDelta]
    assert [e.update_id for e in events] == [105, 106, 107, 108] and sync.live and sync.last_seq == 108


def test_a_snapshot_older_than_the_stream_is_read_again():
    async def scenario() -> tuple[_Snapshots, BookSync]:
        rest = _Snapshots(100, 110)
        feed = _feed(rest, [])
        feed._on_book(MARKET, _update(105, 106), 1.0)  # the stream starts after id 100 + 1
        task = asyncio.ensure_future(feed._snapshot(MARKET))
        await asyncio.sleep(0)
        feed._on_book(MARKET, _update(107, 111), 1.0)
        await task
        return rest, feed.book(MARKET)

    rest, sync = asyncio.run(scenario())
    assert rest.reads == 2 and sync.live and sync.last_seq == 111


def test_a_gap_freezes_the_book_and_rebuilds_it_from_a_new_snapshot():
    async def scenario() -> tuple[list[Any], _Snapshots, BookSync]:
        events: list[Any] = []
        rest = _Snapshots(10, 20)
        feed = _feed(rest, events)
        await feed._snapshot(MARKET)
        feed._on_book(MARKET, _update(11, 11), 1.0)
        feed._on_book(MARKET, _update(11, 11), 1.0)  # the same push again: nothing
        feed._on_book(MARKET, _update(14, 15), 1.0)  # 12..13 lost
        assert not feed.book(MARKET).live
        await asyncio.gather(*feed._tasks)
        feed._on_book(MARKET, _update(21, 21), 1.0)
        return events, rest, feed.book(MARKET)

    events, rest, sync = asyncio.run(scenario())
    assert [type(e) for e in events] == [BookSnapshot, BookDelta, BookResyncRequired, BookSnapshot, BookDelta]
    assert rest.reads == 2 and sync.live and sync.last_seq == 21


def test_a_full_push_replaces_the_book():
    events: list[Any] = []
    feed = _feed(_Snapshots(), events)
    feed._on_book(MARKET, _update(0, 500, full=True), 1.0)
    feed._on_book(MARKET, _update(501, 501), 1.0)
    assert [type(e) for e in events] == [BookSnapshot, BookDelta] and feed.book(MARKET).last_seq == 501


def _market_order(cid: str, side: Side, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), MARKET, side, OrderType.MARKET, Decimal("0.01"), None,
                        position_action=PositionAction.CLOSE if reduce_only else PositionAction.OPEN,
                        reduce_only=reduce_only)


@pytest.mark.parametrize("failed_reads", [0, 2])
def test_a_streamed_fill_that_closes_carries_the_realized_pnl_gate_booked(failed_reads):
    """Gate's fill push names no PnL: the gateway reads it from the account book (retrying while Gate
    answers 503), so the store's ledger matches the venue's wallet."""
    with running_server(spec.CONNECTOR_ID) as server:
        async def scenario() -> list[OrderFilled]:
            clock = LiveClock()
            rest = GateRestClient(server.rest_url, clock=clock, auth=GateAuth(API_KEY, API_SECRET, clock))
            gateway = GateGateway(rest, ws_url=server.ws_url, clock=clock, markets=[MARKET], funding_poll_s=None)
            fills: list[OrderFilled] = []
            await gateway.start(lambda e: fills.append(e) if isinstance(e, OrderFilled) else None)
            try:
                await gateway.place_order(_market_order("pmm-pnl-open", Side.BUY))
                for _ in range(200):
                    if any(f.client_id == "pmm-pnl-open" for f in fills) and gateway.pnl.held.get(MARKET):
                        break
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)  # let the market move the price a little
                if failed_reads:
                    server.call(lambda: server.server.faults.fail_next(spec.ACCOUNT_BOOK_PATH, 503,
                                                                       count=failed_reads))
                await gateway.place_order(_market_order("pmm-pnl-close", Side.SELL, reduce_only=True))
                for _ in range(200):
                    if any(f.client_id == "pmm-pnl-close" for f in fills):
                        break
                    await asyncio.sleep(0.05)
                return fills
            finally:
                await gateway.stop()

        fills = asyncio.run(scenario())
        venue = {f.trade_id: f.realized_pnl for f in server.call(lambda: server.exchange.fills_since(0))}
    closing = [f for f in fills if f.client_id == "pmm-pnl-close"]
    assert closing and sum(f.amount for f in closing) == Decimal("0.01") and closing[-1].remaining == 0
    assert sum(f.realized_pnl for f in closing) == sum(venue.values())
    assert sum(f.realized_pnl for f in fills if f.client_id == "pmm-pnl-open") == 0
