"""The Gate venue server on loopback: Gate's answers, labels, headers and streams, as clients meet them."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import websockets
from venue_servers import API_KEY, API_SECRET, ServerThread, running_server

from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.auth import GateAuth, rest_prehash, sign
from pmm.connectors.gate_io_perpetual.rest import GateRestClient
from pmm.core.clock import LiveClock
from pmm.core.model import MarginMode
from pmm.errors import PostOnlyWouldCross, ReduceOnlyRejected, UnknownOrder

CONTRACT = "BTC_USDT"


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    with running_server(spec.CONNECTOR_ID) as running:
        yield running


def call(server: ServerThread, method: str, path: str, params: list[tuple[str, str]] | None = None,
         body: Any = None) -> Any:
    """One signed request through pmm's client (its errors as pmm.errors)."""
    async def go() -> Any:
        clock = LiveClock()
        rest = GateRestClient(server.rest_url, clock=clock, auth=GateAuth(API_KEY, API_SECRET, clock))
        try:
            if method == "GET":
                return await rest.get(path, params or [])
            if method == "DELETE":
                return await rest.delete(path, params or [])
            return await rest.post(path, body, params or [])
        finally:
            await rest.close()

    return asyncio.run(go())


def raw(server: ServerThread, method: str, target: str, headers: dict[str, str] | None = None,
        body: str = "") -> tuple[int, dict[str, str], Any]:
    async def go() -> tuple[int, dict[str, str], Any]:
        async with aiohttp.ClientSession() as session, session.request(
                method, server.rest_url + target, headers=headers or {}, data=body or None) as resp:
            return resp.status, dict(resp.headers), json.loads(await resp.text())

    return asyncio.run(go())


def book(server: ServerThread) -> dict[str, Any]:
    return call(server, "GET", spec.ORDER_BOOK_PATH, [("contract", CONTRACT), ("limit", "5"), ("with_id", "true")])


def test_public_answers_carry_gate_rate_limit_headers(server):
    status, headers, body = raw(server, "GET", f"{spec.CONTRACTS_PATH}/{CONTRACT}")
    assert status == 200 and body["name"] == CONTRACT and body["quanto_multiplier"] == "0.001"
    assert int(headers[spec.RATE_LIMIT_HEADER]) == 200
    assert 0 <= int(headers[spec.RATE_REMAIN_HEADER]) < 200
    assert int(headers[spec.RATE_RESET_HEADER]) > time.time() * 1000 - 1000
    assert "X-In-Time" in headers and "X-Out-Time" in headers


def test_refusals_are_labels_with_their_http_status(server):
    status, _, body = raw(server, "GET", spec.ACCOUNTS_PATH)
    assert (status, body["label"]) == (401, "MISSING_REQUIRED_HEADER")
    status, _, body = raw(server, "GET", f"{spec.CONTRACTS_PATH}/DOGE_EUR")
    assert (status, body["label"]) == (400, "CONTRACT_NOT_FOUND")
    status, _, body = raw(server, "GET", "/api/v4/futures/usdt/no_such_thing")
    assert (status, body["label"]) == (404, "NOT_FOUND")


def test_the_sdks_fractional_timestamp_python_booleans_and_upper_case_settle(server):
    stamp = f"{time.time():.7f}"
    path, query = "/api/v4/futures/USDT/positions", "holding=True"
    headers = {"KEY": API_KEY, "Timestamp": stamp,
               "SIGN": sign(API_SECRET, rest_prehash("GET", path, query, "", stamp))}
    status, _, body = raw(server, "GET", f"{path}?{query}", headers)
    assert status == 200 and body == []
    status, _, body = raw(server, "GET", f"{spec.ORDER_BOOK_PATH}?contract={CONTRACT}&limit=5&with_id=True")
    assert status == 200 and isinstance(body["id"], int) and len(body["bids"]) == 5


def test_sizes_are_integers_unless_decimal_sizes_are_asked(server):
    _, _, plain = raw(server, "GET", f"{spec.ORDER_BOOK_PATH}?contract={CONTRACT}&limit=1")
    _, _, decimal = raw(server, "GET", f"{spec.ORDER_BOOK_PATH}?contract={CONTRACT}&limit=1",
                        {spec.SIZE_DECIMAL_HEADER: "1"})
    assert isinstance(plain["bids"][0]["s"], int) and isinstance(decimal["bids"][0]["s"], str)


def test_an_order_open_then_cancelled_shows_finish_as_only_when_finished(server):
    bid = Decimal(book(server)["bids"][0]["p"])
    placed = call(server, "POST", spec.ORDERS_PATH, body={"contract": CONTRACT, "size": 3,
                                                         "price": str((bid * Decimal("0.9")).quantize(Decimal("0.1"))),
                                                         "tif": "poc", "text": "t-srv-open-1"})
    assert placed["status"] == "open" and "finish_as" not in placed and placed["text"] == "t-srv-open-1"
    assert placed["size"] == "3" and placed["left"] == "3"  # pmm asks for decimal sizes
    by_text = call(server, "GET", spec.order_path("t-srv-open-1"), [("contract", CONTRACT)])
    assert by_text["id"] == placed["id"]
    cancelled = call(server, "DELETE", spec.order_path(str(placed["id"])), [("contract", CONTRACT)])
    assert (cancelled["status"], cancelled["finish_as"]) == ("finished", "cancelled")
    with pytest.raises(UnknownOrder, match="ORDER_FINISHED"):
        call(server, "DELETE", spec.order_path(str(placed["id"])), [("contract", CONTRACT)])
    with pytest.raises(UnknownOrder, match="ORDER_NOT_FOUND"):
        call(server, "DELETE", spec.order_path("t-never-placed"), [("contract", CONTRACT)])


def test_post_only_that_would_take_and_reduce_only_without_position_are_refused(server):
    ask = book(server)["asks"][0]["p"]
    with pytest.raises(PostOnlyWouldCross, match="ORDER_POC_IMMEDIATE"):
        call(server, "POST", spec.ORDERS_PATH, body={"contract": CONTRACT, "size": 1, "price": ask, "tif": "poc"})
    with pytest.raises(ReduceOnlyRejected, match="REDUCE_EXCEEDED"):
        call(server, "POST", spec.ORDERS_PATH, body={"contract": CONTRACT, "size": -1, "price": "0", "tif": "ioc",
                                                     "reduce_only": True})


def test_leverage_n_is_isolated_and_zero_with_a_limit_is_cross(server):
    path = spec.leverage_path(CONTRACT)
    answer = call(server, "POST", path, params=[("leverage", "5")])
    assert (answer["leverage"], answer["cross_leverage_limit"]) == ("5", "0")
    assert server.call(lambda: server.exchange.margin_mode("BTC-USDT")) is MarginMode.ISOLATED
    answer = call(server, "POST", path, params=[("leverage", "0"), ("cross_leverage_limit", "7")])
    assert (answer["leverage"], answer["cross_leverage_limit"]) == ("0", "7")
    assert server.call(lambda: (server.exchange.margin_mode("BTC-USDT"), server.exchange.leverage("BTC-USDT"))) \
        == (MarginMode.CROSS, 7)


def test_countdown_cancel_all_arms_and_disarms(server):
    armed = call(server, "POST", spec.COUNTDOWN_PATH, body={"timeout": 30, "contract": CONTRACT})
    assert armed["triggerTime"] > (time.time() + 25) * 1000
    assert server.call(lambda: server.server.dead_man.deadline) is not None
    assert call(server, "POST", spec.COUNTDOWN_PATH, body={"timeout": 0, "contract": CONTRACT}) == {"triggerTime": 0}
    assert server.call(lambda: server.server.dead_man.deadline) is None


def test_price_triggered_orders_rest_list_and_cancel(server):
    mark = Decimal(call(server, "GET", f"{spec.CONTRACTS_PATH}/{CONTRACT}")["mark_price"])
    trigger = {"strategy_type": 0, "price_type": 1, "price": str((mark / 2).quantize(Decimal("0.1"))), "rule": 2,
               "expiration": 0}
    placed = call(server, "POST", spec.PRICE_ORDERS_PATH, body={
        "initial": {"contract": CONTRACT, "size": -2, "price": "0", "tif": "ioc", "reduce_only": True,
                    "text": "t-srv-stop-1"}, "trigger": trigger})
    [listed] = call(server, "GET", spec.PRICE_ORDERS_PATH, [("status", "open"), ("contract", CONTRACT)])
    assert listed["id"] == placed["id"] and listed["initial"]["text"] == "t-srv-stop-1"
    assert listed["trigger"]["rule"] == 2 and "finish_as" not in listed
    cancelled = call(server, "DELETE", spec.price_order_path(str(placed["id"])))
    assert (cancelled["status"], cancelled["finish_as"]) == ("finished", "cancelled")
    assert call(server, "GET", spec.PRICE_ORDERS_PATH, [("status", "open"), ("contract", CONTRACT)]) == []


def test_book_updates_chain_on_the_rest_id_and_an_injected_skip_breaks_the_chain(server):
    async def follow() -> tuple[list[dict[str, Any]], int]:
        async with websockets.connect(server.ws_url + spec.WS_PATHS[spec.CONNECTOR_ID]) as ws:
            await ws.send(json.dumps({"id": 1, "time": int(time.time()), "channel": spec.CHANNEL_BOOK_UPDATE,
                                      "event": "subscribe", "payload": [CONTRACT, "100ms", "100"]}))
            ack = json.loads(await ws.recv())
            assert ack["result"] == {"status": "success"} and ack["error"] is None and ack["id"] == 1
            updates = [json.loads(await ws.recv())["result"] for _ in range(2)]
            server.call(lambda: server.server.faults.skip_depth_update_ids(3))
            updates.append(json.loads(await ws.recv())["result"])
            await ws.send(json.dumps({"time": int(time.time()), "channel": spec.CHANNEL_PING}))
            while True:
                reply = json.loads(await ws.recv())
                if reply["channel"] == spec.CHANNEL_PONG:
                    return updates, 0

    updates, _ = asyncio.run(follow())
    first, second, after_skip = updates
    assert second["U"] == first["u"] + 1
    assert after_skip["U"] > second["u"] + 1  # the ids of the lost pushes are missing
    assert {u["l"] for u in updates} == {"100"} and all(u["s"] == CONTRACT for u in updates)


def test_a_private_subscribe_without_valid_auth_is_refused_with_code_4(server):
    async def subscribe(auth_at: Callable[[int], dict[str, str]]) -> dict[str, Any]:
        async with websockets.connect(server.ws_url + spec.WS_PATHS[spec.CONNECTOR_ID]) as ws:
            now = int(time.time())
            await ws.send(json.dumps({"time": now, "channel": spec.CHANNEL_ORDERS, "event": "subscribe",
                                      "payload": ["10000", "!all"], "auth": auth_at(now)}))
            return json.loads(await ws.recv())

    refused = asyncio.run(subscribe(lambda now: {"method": "api_key", "KEY": API_KEY, "SIGN": "00"}))
    assert refused["error"]["code"] == 4 and refused["result"] == {"status": "fail"}
    good = GateAuth(API_KEY, API_SECRET, LiveClock())
    accepted = asyncio.run(subscribe(lambda now: good.ws_auth(spec.CHANNEL_ORDERS, "subscribe", now)))
    assert accepted["error"] is None, accepted


def test_a_new_order_is_answered_201_created(server):
    bid = Decimal(book(server)["bids"][0]["p"])
    body = json.dumps({"contract": CONTRACT, "size": 1, "price": str((bid * Decimal("0.9")).quantize(Decimal("0.1"))),
                       "tif": "gtc", "text": "t-srv-created"})
    stamp = str(int(time.time()))
    headers = {"KEY": API_KEY, "Timestamp": stamp, "Content-Type": "application/json",
               "SIGN": sign(API_SECRET, rest_prehash("POST", spec.ORDERS_PATH, "", body, stamp))}
    status, _, placed = raw(server, "POST", spec.ORDERS_PATH, headers, body)
    assert status == 201 and placed["status"] == "open"
    assert raw(server, "GET", f"{spec.CONTRACTS_PATH}/{CONTRACT}")[0] == 200
    call(server, "DELETE", spec.order_path(str(placed["id"])), [("contract", CONTRACT)])
