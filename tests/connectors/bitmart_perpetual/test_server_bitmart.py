"""The BitMart server's wire: KEYED and SIGNED checks with their codes, BitMart's rate-limit headers,
documented shapes, the depthIncrease version rule with `request`, the whole-side depth channel and
the spot lists ccxt reads, plan orders and the per-symbol cancel-all-after, and
`pmm exchange-sim bitmart_perpetual` checking the key's memo."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from venue_servers import API_KEY, API_PASSPHRASE, API_SECRET, running_server, serve_cli, stop_cli

from pmm.connectors.bitmart_perpetual import auth, spec
from pmm.connectors.common.server.triggers import TriggerOn
from pmm.core.clock import LiveClock
from pmm.venue_servers import DEFAULT_API_KEY, DEFAULT_API_PASSPHRASE, DEFAULT_API_SECRET

FIXTURES = Path(__file__).parent / "fixtures"
SYMBOL = "BTCUSDT"


def fixture_data(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())["data"]


def call(base: str, method: str, path: str, *, body: dict[str, Any] | None = None, query: str = "",
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
    request = urllib.request.Request(f"{base}{path}{'?' + query if query else ''}", data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read()), dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read()), dict(err.headers)


def signer(key: str = API_KEY, secret: str = API_SECRET, memo: str = API_PASSPHRASE) -> auth.BitmartAuth:
    return auth.BitmartAuth(key, secret, memo, LiveClock())


def signed(base: str, path: str, body: dict[str, Any], who: auth.BitmartAuth | None = None) -> tuple[int, Any, Any]:
    payload = json.dumps(body, separators=(",", ":"))
    return call(base, "POST", path, body=body, headers=(who or signer()).signed_headers(payload))


def keyed(base: str, path: str, query: str = "") -> tuple[int, Any, Any]:
    return call(base, "GET", path, query=query, headers=signer().keyed_headers())


@pytest.fixture(scope="module")
def server():
    with running_server(spec.CONNECTOR_ID) as running:
        deadline = time.monotonic() + 20
        while running.call(lambda: running.server.streams.tapes[SYMBOL].funding) is None:
            assert time.monotonic() < deadline, "no funding info from the simulator"
            time.sleep(0.1)
        yield running


def test_keyed_gets_need_the_key_only_and_signed_posts_the_memo(server):
    base = server.rest_url
    status, body, _ = keyed(base, spec.ASSETS_PATH)
    assert status == 200 and body["code"] == 1000 and {r["currency"] for r in body["data"]} >= {"USDT"}
    status, body, _ = call(base, "GET", spec.ASSETS_PATH)
    assert (status, body["code"], body["message"]) == (401, 30001, "Header X-BM-KEY is empty")
    status, body, _ = call(base, "GET", spec.ASSETS_PATH, headers={"X-BM-KEY": "someone-else"})
    assert (status, body["code"]) == (401, 30002)
    order = {"symbol": SYMBOL, "leverage": "5", "open_type": "cross"}
    assert signed(base, spec.SUBMIT_LEVERAGE_PATH, order)[1]["code"] == 1000
    status, body, _ = signed(base, spec.SUBMIT_LEVERAGE_PATH, order, signer(memo="not-the-memo"))
    assert (status, body["code"], body["message"]) == (401, 30005, "Header X-BM-SIGN is wrong")
    status, body, _ = call(base, "POST", spec.SUBMIT_LEVERAGE_PATH, body=order, headers=signer().keyed_headers())
    assert (status, body["code"]) == (401, 30006)


def test_a_get_signed_over_its_query_as_ccxt_sends_it_is_checked(server):
    stamp = str(int(time.time() * 1000))
    good = auth.sign(API_SECRET, auth.prehash(stamp, API_PASSPHRASE, f"symbol={SYMBOL}"))
    headers = {"X-BM-KEY": API_KEY, "X-BM-TIMESTAMP": stamp, "X-BM-SIGN": good}
    assert call(server.rest_url, "GET", spec.POSITION_V2_PATH, query=f"symbol={SYMBOL}", headers=headers)[0] == 200
    headers["X-BM-SIGN"] = auth.sign(API_SECRET, auth.prehash(stamp, API_PASSPHRASE, "symbol=ETHUSDT"))
    status, body, _ = call(server.rest_url, "GET", spec.POSITION_V2_PATH, query=f"symbol={SYMBOL}", headers=headers)
    assert (status, body["code"]) == (401, 30005)


def test_rate_limit_headers_count_the_requests_used_and_429_past_the_limit(server):
    used = []
    for _ in range(3):
        status, body, headers = signed(server.rest_url, spec.CANCEL_ORDERS_PATH, {"symbol": SYMBOL})
        used.append((status, body["code"], headers.get("X-BM-RateLimit-Remaining"), headers.get("X-BM-RateLimit-Limit"),
                     headers.get("X-BM-RateLimit-Reset")))
    # cancel-orders allows 2 per 2 s: Remaining counts USED requests (1, 2), the third is refused
    assert used == [(200, 1000, "1", "2", "2"), (200, 1000, "2", "2", "2"), (429, 30013, "2", "2", "2")]


def test_orders_answer_in_the_documented_shapes(server):
    base = server.rest_url
    bid = Decimal(server.call(lambda: server.server.streams.rest_depth(SYMBOL))["bids"][0][0])
    price = str((bid * Decimal("0.95")).quantize(Decimal("0.1")))
    status, body, _ = signed(base, spec.SUBMIT_ORDER_PATH, {
        "symbol": SYMBOL, "client_order_id": "pmmZshapeZ1", "side": 1, "mode": 1, "type": "limit",
        "leverage": "5", "open_type": "cross", "size": 2, "price": price})
    assert status == 200 and isinstance(body["data"]["order_id"], int) and body["data"]["price"] == price
    order_id = str(body["data"]["order_id"])
    _, detail, _ = keyed(base, spec.ORDER_PATH, f"symbol={SYMBOL}&order_id={order_id}")
    assert set(detail["data"]) == set(fixture_data("rest_order_detail"))
    assert (detail["data"]["state"], detail["data"]["client_order_id"], detail["data"]["size"]) == (2, "pmmZshapeZ1",
                                                                                                    "2")
    _, listed, _ = keyed(base, spec.OPEN_ORDERS_PATH, f"symbol={SYMBOL}")
    assert [r["order_id"] for r in listed["data"]] == [order_id]
    assert set(listed["data"][0]) <= set(fixture_data("rest_open_orders")[0])
    status, dup, _ = signed(base, spec.SUBMIT_ORDER_PATH, {
        "symbol": SYMBOL, "client_order_id": "pmmZshapeZ1", "side": 1, "type": "limit", "size": 1, "price": price})
    assert (status, dup["code"]) == (403, 40050)
    assert signed(base, spec.CANCEL_ORDER_PATH, {"symbol": SYMBOL, "order_id": order_id})[1]["data"] == {}
    status, gone, _ = signed(base, spec.CANCEL_ORDER_PATH, {"symbol": SYMBOL, "order_id": order_id})
    assert (status, gone["code"]) == (400, 40036)
    status, unknown, _ = signed(base, spec.CANCEL_ORDER_PATH, {"symbol": SYMBOL, "client_order_id": "nope"})
    assert (status, unknown["code"]) == (400, 40035)
    _, assets, _ = keyed(base, spec.ASSETS_PATH)
    assert set(assets["data"][0]) == set(fixture_data("rest_assets_detail")[0])
    _, fees, _ = keyed(base, spec.TRADE_FEE_PATH, f"symbol={SYMBOL}")
    assert set(fees["data"]) == set(fixture_data("rest_trade_fee_rate"))
    _, details, _ = call(base, "GET", spec.DETAILS_PATH, query=f"symbol={SYMBOL}")
    assert set(details["data"]["symbols"][0]) == set(fixture_data("rest_contract_details")["symbols"][0])


def test_bad_orders_get_their_codes(server):
    base = server.rest_url
    order = {"symbol": SYMBOL, "side": 1, "type": "limit", "size": 1, "price": "100.05"}
    assert signed(base, spec.SUBMIT_ORDER_PATH, order)[1]["code"] == 40043  # off the 0.1 tick
    assert signed(base, spec.SUBMIT_ORDER_PATH, {**order, "side": 7})[1]["code"] == 40041
    assert signed(base, spec.SUBMIT_ORDER_PATH, {**order, "symbol": "DOGEUSDT"})[1]["code"] == 40034
    dashed = {**order, "price": "100.1", "client_order_id": "a-b"}
    assert signed(base, spec.SUBMIT_ORDER_PATH, dashed)[1]["code"] == 40048
    sell = {"symbol": SYMBOL, "side": 3, "type": "market", "size": 1}  # one-way: sell reduce-only, nothing held
    assert signed(base, spec.SUBMIT_ORDER_PATH, sell)[1]["code"] == 40020


async def _frames(ws: aiohttp.ClientWebSocketResponse, count: int) -> list[dict[str, Any]]:
    out = []
    while len(out) < count:
        message = await asyncio.wait_for(ws.receive(), 10)
        out.append(json.loads(message.data))
    return out


def test_depth_versions_chain_a_skip_breaks_it_and_request_brings_a_snapshot(server):
    topic = spec.depth_topic(SYMBOL)

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(server.server.public_ws_url) as ws:
            await ws.send_str(json.dumps({"action": "subscribe", "args": [topic]}))
            ack, snapshot = await _frames(ws, 2)
            assert ack == {"action": "subscribe", "group": topic, "success": True,
                           "request": {"action": "subscribe", "args": [topic]}}
            assert snapshot["data"]["type"] == "snapshot" and snapshot["group"] == topic
            (update,) = await _frames(ws, 1)
            assert update["data"]["type"] == "update"
            assert update["data"]["version"] == snapshot["data"]["version"] + 1
            server.call(lambda: server.server.faults.skip_depth_update_ids(3))
            (after,) = await _frames(ws, 1)
            gap = after["data"]["version"] - update["data"]["version"]
            while gap == 1:  # updates already queued before the skip
                update = after
                (after,) = await _frames(ws, 1)
                gap = after["data"]["version"] - update["data"]["version"]
            assert gap == 4
            await ws.send_str(json.dumps({"action": "request", "args": [topic]}))
            for _ in range(20):
                (frame,) = await _frames(ws, 1)
                if frame["data"]["type"] == "snapshot":
                    assert frame["data"]["version"] >= after["data"]["version"]
                    return
            raise AssertionError("no snapshot after the request")

    asyncio.run(scenario())


def test_the_depth_channel_pushes_whole_sides_both_on_subscribe_and_takes_an_optional_speed(server):
    async def subscribe(ws: aiohttp.ClientWebSocketResponse, topic: str) -> bool:
        await ws.send_str(json.dumps({"action": "subscribe", "args": [topic]}))
        while True:
            (frame,) = await _frames(ws, 1)
            if frame.get("action") == "subscribe" and frame["group"] == topic:
                return frame["success"]

    async def pushes(ws: aiohttp.ClientWebSocketResponse, topic: str, count: int) -> list[dict[str, Any]]:
        out = []
        while len(out) < count:  # past the pushes and acks of topics left before
            out += [f for f in await _frames(ws, 1) if f.get("group") == topic and "data" in f]
        return out

    async def scenario() -> None:
        async with aiohttp.ClientSession() as session, session.ws_connect(server.server.public_ws_url) as ws:
            for bad in (f"futures/depth50:{SYMBOL}@300ms", f"futures/depth7:{SYMBOL}",
                        f"futures/depthIncrease50:{SYMBOL}", f"futures/trade:{SYMBOL}@100ms"):
                assert await subscribe(ws, bad) is False, bad
            for depth, topic in ((5, f"futures/depth5:{SYMBOL}"), (20, f"futures/depth20:{SYMBOL}@200ms")):
                assert await subscribe(ws, topic) is True
                bids, asks = await pushes(ws, topic, 2)  # the two sides, the bids first
                assert (bids["data"]["way"], asks["data"]["way"]) == (1, 2)
                bid_prices = [Decimal(level["price"]) for level in bids["data"]["depths"]]
                ask_prices = [Decimal(level["price"]) for level in asks["data"]["depths"]]
                assert len(bid_prices) == len(ask_prices) == depth
                assert bid_prices == sorted(bid_prices, reverse=True) and ask_prices == sorted(ask_prices)
                assert bid_prices[0] < ask_prices[0]
                assert all(Decimal(level["vol"]) > 0 for level in bids["data"]["depths"] + asks["data"]["depths"])
                later = await pushes(ws, topic, 4)  # then each side whose top N changed, whole
                assert all(len(f["data"]["depths"]) == depth and f["data"]["ms_t"] >= bids["data"]["ms_t"]
                           for f in later)
                await ws.send_str(json.dumps({"action": "unsubscribe", "args": [topic]}))

    asyncio.run(scenario())


def test_the_spot_lists_ccxt_loads_with_its_markets_are_served_empty(server):
    for path, key in ((spec.CURRENCIES_PATH, "currencies"), ("/spot/v1/symbols/details", "symbols")):
        status, body, _ = call(server.rest_url, "GET", path)
        assert (status, body["code"], body["data"]) == (200, 1000, {key: []}), body


def test_private_login_refusal_closes_the_socket_and_topics_need_a_login(server):
    async def scenario() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(server.server.private_ws_url) as ws:
                await ws.send_str(json.dumps({"action": "subscribe", "args": ["futures/order"]}))
                (refused,) = await _frames(ws, 1)
                assert refused["success"] is False and refused["error"] == "Need login first"
                frame = signer(memo="wrong").ws_login_message()
                await ws.send_str(json.dumps(frame))
                (answer,) = await _frames(ws, 1)
                assert answer["action"] == "access" and answer["success"] is False
                closing = await asyncio.wait_for(ws.receive(), 10)
                assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
            async with session.ws_connect(server.server.private_ws_url) as ws:
                await ws.send_str(json.dumps(signer().ws_login_message()))
                assert await _frames(ws, 1) == [{"action": "access", "success": True}]
                await ws.send_str("ping")
                assert (await asyncio.wait_for(ws.receive(), 10)).data == "pong"

    asyncio.run(scenario())


def test_cancel_all_after_cancels_the_symbols_orders_when_it_runs_out(server):
    base = server.rest_url
    bid = Decimal(server.call(lambda: server.server.streams.rest_depth(SYMBOL))["bids"][0][0])
    price = str((bid * Decimal("0.9")).quantize(Decimal("0.1")))
    signed(base, spec.SUBMIT_ORDER_PATH, {"symbol": SYMBOL, "side": 1, "type": "limit", "size": 1, "price": price})
    _, armed, _ = signed(base, spec.CANCEL_ALL_AFTER_PATH, {"symbol": SYMBOL, "timeout": 5})
    assert armed["data"]["result"] is True and armed["data"]["cancel_time"] - armed["data"]["set_time"] == 5
    assert signed(base, spec.CANCEL_ALL_AFTER_PATH, {"symbol": SYMBOL, "timeout": 3})[1]["code"] == 40007
    assert keyed(base, spec.OPEN_ORDERS_PATH, f"symbol={SYMBOL}")[1]["data"]
    deadline = time.monotonic() + 20
    while keyed(base, spec.OPEN_ORDERS_PATH, f"symbol={SYMBOL}")[1]["data"]:
        assert time.monotonic() < deadline, "cancel-all-after did not cancel the order"
        time.sleep(0.25)
    assert server.call(lambda: server.server.dead_men[SYMBOL].fired) == 1


def test_a_plan_order_rests_and_fires_as_a_reduce_only_market_order(server):
    base = server.rest_url
    assert signed(base, spec.SUBMIT_ORDER_PATH, {"symbol": SYMBOL, "side": 1, "type": "market", "size": 3})[1][
        "code"] == 1000
    mark = server.call(lambda: server.server.streams.tapes[SYMBOL].funding.mark_price)
    trigger = str((mark * Decimal("0.5")).quantize(Decimal("0.1")))
    _, placed, _ = signed(base, spec.SUBMIT_PLAN_ORDER_PATH, {
        "symbol": SYMBOL, "client_order_id": "pmmZstopZ1", "side": 3, "type": "market", "leverage": "5",
        "open_type": "cross", "mode": 1, "size": 3, "trigger_price": trigger, "price_way": 2, "price_type": 2})
    assert placed["code"] == 1000 and isinstance(placed["data"]["order_id"], int)
    _, resting, _ = keyed(base, spec.CURRENT_PLAN_ORDER_PATH, f"symbol={SYMBOL}")
    assert [(r["client_order_id"], r["trigger_price"], r["price_way"], r["price_type"]) for r in resting["data"]] == [
        ("pmmZstopZ1", trigger, 2, 2)]
    market = server.server.symbols.market(SYMBOL)
    server.call(lambda: server.server.triggers.on_price(market, TriggerOn.MARK, Decimal(trigger)))
    deadline = time.monotonic() + 20
    while keyed(base, spec.POSITION_PATH, f"symbol={SYMBOL}")[1]["data"]:
        assert time.monotonic() < deadline, "the plan order did not close the position"
        time.sleep(0.1)
    assert keyed(base, spec.CURRENT_PLAN_ORDER_PATH, f"symbol={SYMBOL}")[1]["data"] == []


@pytest.mark.parametrize("memo", [None, "my own memo"])
def test_exchange_sim_checks_the_keys_memo(memo):
    proc, line, base = serve_cli(spec.CONNECTOR_ID, *(["--api-passphrase", memo] if memo else []))
    try:
        body = {"symbol": SYMBOL, "leverage": "3", "open_type": "cross"}
        right = auth.BitmartAuth(DEFAULT_API_KEY, DEFAULT_API_SECRET, memo or DEFAULT_API_PASSPHRASE, LiveClock())
        wrong = auth.BitmartAuth(DEFAULT_API_KEY, DEFAULT_API_SECRET, "not-the-memo", LiveClock())
        status, answer, _ = signed(base, spec.SUBMIT_LEVERAGE_PATH, body, right)
        assert (status, answer["code"], answer["data"]["leverage"]) == (200, 1000, "3"), answer
        status, answer, _ = signed(base, spec.SUBMIT_LEVERAGE_PATH, body, wrong)
        assert (status, answer["code"]) == (401, 30005), answer
        stop_cli(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
