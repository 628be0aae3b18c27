"""Bad input from KuCoin: the public and private message handlers take mutated documented payloads
(payloads/*.json) and random values without raising; what they emit is well formed (finite Decimals,
book levels with a positive price and a non-negative size), an unreadable book change freezes the
book for a new snapshot, and an unreadable account message makes the gateway re-read the account."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmm.connectors.common.book_sync import BookSync
from pmm.connectors.common.wire_json import decode_json
from pmm.connectors.kucoin_perpetual.auth import KucoinAuth
from pmm.connectors.kucoin_perpetual.feed import KucoinFeed
from pmm.connectors.kucoin_perpetual.gateway import KucoinGateway
from pmm.connectors.kucoin_perpetual.parse import parse_instrument
from pmm.connectors.kucoin_perpetual.rest import KucoinRestClient
from pmm.core.clock import LiveClock
from pmm.core.events import BookDelta, BookSnapshot, OrderFilled, PositionUpdated

HERE = Path(__file__).parent / "payloads"
M = "BTC-USDT"
ODD = st.one_of(st.none(), st.booleans(), st.integers(-10**20, 10**20), st.text(max_size=8),
                st.sampled_from(["NaN", "-1", "0", "1e999", "Infinity", "", "90631.2,sell", "x,y,z", "1,buy,-3"]),
                st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


def load(name: str) -> dict[str, Any]:
    message: dict[str, Any] = decode_json((HERE / name).read_text())
    return message


def mutated(message: dict[str, Any], data: st.DataObject) -> dict[str, Any]:
    out = copy.deepcopy(message)
    body = out["data"]
    keys = sorted(body)
    for key in data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True)):
        if data.draw(st.booleans()):
            body[key] = data.draw(ODD)
        else:
            del body[key]
    return out


def well_formed(event: Any) -> None:
    for name in getattr(event, "__dataclass_fields__", {}):
        value = getattr(event, name)
        if isinstance(value, Decimal):
            assert value.is_finite(), (name, value)
    if isinstance(event, (BookSnapshot, BookDelta)):
        for price, size in (*event.bids, *event.asks):
            assert price > 0 and size >= 0


def feed_under_test() -> tuple[KucoinFeed, list[Any], list[str]]:
    clock = LiveClock()
    feed = KucoinFeed(KucoinRestClient("http://127.0.0.1:9", clock=clock), clock=clock)
    events: list[Any] = []
    resyncs: list[str] = []
    feed._instruments[M] = parse_instrument(load("rest_contract_xbtusdtm.json")["data"], M)  # noqa: SLF001
    feed._emit = events.append  # noqa: SLF001
    book = BookSync(M, events.append, clock)
    book.reset(BookSnapshot(M, ((Decimal("90000"), Decimal("1")),), ((Decimal("90001"), Decimal("1")),),
                            1709400450242, 0.0, 0.0), 1709400450242)
    feed._books[M] = book  # noqa: SLF001

    def resync(market: str, reason: str | None) -> None:
        resyncs.append(reason or "")
        feed._buffers.setdefault(market, [])  # noqa: SLF001

    feed._resync = resync  # type: ignore[method-assign]  # noqa: SLF001
    return feed, events, resyncs


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(["ws_level2_increment.json", "ws_execution_match.json"]))
def test_public_handlers_never_raise_and_a_bad_book_change_resyncs(data, name):
    feed, events, resyncs = feed_under_test()
    message = mutated(load(name), data)
    feed._on_message(message, 1.0)  # noqa: SLF001
    for event in events:
        well_formed(event)
    if name.startswith("ws_level2") and feed.bad_messages:
        assert resyncs, "an unreadable book change must freeze the book for a new snapshot"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.sampled_from(["ws_trade_orders_open.json", "ws_position_change.json",
                                   "ws_wallet_balance_change.json"]))
def test_private_handlers_never_raise_and_a_bad_message_rereads_the_account(data, name):
    clock = LiveClock()
    rest = KucoinRestClient("http://127.0.0.1:9", clock=clock, auth=KucoinAuth("k", "s", "p", clock))
    rest.instruments["XBTUSDTM"] = parse_instrument(load("rest_contract_xbtusdtm.json")["data"], M)
    gateway = KucoinGateway(rest, clock=clock, markets=[M], funding_poll_s=None)
    events: list[Any] = []
    spawned: list[Any] = []
    gateway._emit = events.append  # noqa: SLF001

    def spawn(coro: Any) -> None:
        spawned.append(coro)
        coro.close()

    gateway._spawn = spawn  # type: ignore[method-assign,assignment]  # noqa: SLF001
    message = mutated(load(name), data)
    if name.startswith("ws_trade_orders"):
        message["data"]["type"] = data.draw(st.sampled_from(["open", "match", "filled", "canceled", "bogus"]))
    gateway._on_private(message, 1.0)  # noqa: SLF001
    for event in events:
        well_formed(event)
        if isinstance(event, (OrderFilled, PositionUpdated)):
            assert event.market == M
    if gateway.bad_messages:
        assert spawned, "an unreadable account message must make the gateway re-read the account"
