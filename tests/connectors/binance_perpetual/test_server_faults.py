"""Binance server: each fault of the FaultInjector does what it says."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from test_server_kit import KEY, SYMBOL, event_of, rest_client, run, serving, synthetic_settings, ws_connect

ORDER = "/fapi/v1/order"
LIMIT = {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "60000", "timeInForce": "GTC"}


@pytest.mark.parametrize(("kind", "market_dropped", "user_dropped"), [
    ("market", True, False), ("user", False, True), ("all", True, True),
])
def test_drop_sockets(kind: str, market_dropped: bool, user_dropped: bool) -> None:
    async def still_open(ws) -> bool:
        try:
            await ws.next(timeout=0.3)
        except TimeoutError:
            return True
        except ConnectionError:
            return False
        return True

    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            _, created, _ = await rest.raw("POST", "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": KEY})
            async with ws_connect(server, "/market/ws/0") as market, \
                    ws_connect(server, f"/private/ws?listenKey={created['listenKey']}") as user:
                await market.send({"method": "SUBSCRIBE", "params": ["btcusdt@depth"], "id": 1})
                await market.next()
                assert server.faults.drop_sockets(kind) == market_dropped + user_dropped
                assert await still_open(market) is not market_dropped
                assert await still_open(user) is not user_dropped
                if market_dropped:
                    assert market.ws.close_code == 1006  # a drop, not a clean close

    run(scenario())


def test_skip_depth_update_ids_breaks_continuity_once() -> None:
    async def scenario() -> None:
        async with serving(synthetic_settings()) as server, ws_connect(server, "/ws/btcusdt@depth") as ws:
            first = await ws.until(event_of("depthUpdate"))
            second = await ws.until(event_of("depthUpdate"))
            assert second["pu"] == first["u"]
            server.faults.skip_depth_update_ids(3)
            previous = second
            while (gap := await ws.until(event_of("depthUpdate")))["pu"] == previous["u"]:
                previous = gap  # diffs already on their way when the fault was set
            assert gap["pu"] == previous["u"] + 3 and gap["U"] == gap["pu"] + 1
            after = await ws.until(event_of("depthUpdate"))
            assert after["pu"] == gap["u"]  # continuity resumes
            _, snap, _ = await _depth(server)
            # The snapshot continues the stream (the market may have moved on while it was read).
            assert after["u"] <= snap["lastUpdateId"] <= server.streams.last_update_id[SYMBOL]

    run(scenario())


async def _depth(server):
    async with rest_client(server) as rest:
        return await rest.public("/fapi/v1/depth", symbol=SYMBOL, limit=1000)


def test_fail_next_answers_status_code_and_retry_after() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            server.faults.fail_next("/fapi/v1/depth", 429, count=2, retry_after=7)
            for _ in range(2):
                status, body, headers = await rest.public("/fapi/v1/depth", symbol=SYMBOL)
                assert (status, body["code"], headers["Retry-After"]) == (429, -1003, "7")
            status, _, _ = await rest.public("/fapi/v1/depth", symbol=SYMBOL)
            assert status == 200
            server.faults.fail_next("/fapi/v1/ping", 418, retry_after=120)
            status, body, headers = await rest.public("/fapi/v1/ping")
            assert (status, body["code"], headers["Retry-After"]) == (418, -1003, "120") and "banned" in body["msg"]
            server.faults.fail_next("/fapi/v1/order", 400, code=-1021)
            status, body, _ = await rest.signed("POST", ORDER, LIMIT)
            assert (status, body) == (400, {"code": -1021, "msg": "Timestamp for this request is outside of the "
                                                                  "recvWindow."})
            assert server.exchange.open_orders() == []
            server.faults.fail_next("/fapi/v1/order", 503)
            status, body, _ = await rest.signed("POST", ORDER, LIMIT)
            assert (status, body["msg"]) == (503, "Service Unavailable.") and server.exchange.open_orders() == []
            # execute=True: the order is placed, only the answer is lost (unknown execution status).
            server.faults.fail_next("/fapi/v1/order", 503, execute=True)
            status, body, _ = await rest.signed("POST", ORDER, {**LIMIT, "newClientOrderId": "ghost"})
            assert status == 503 and body["msg"].startswith("Unknown error")
            [placed] = server.exchange.open_orders()
            assert server.desk.by_sim[placed.client_id].client_id == "ghost"
            server.faults.fail_next("/market/ws", 503)
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                async with ws_connect(server, "/market/ws/0"):
                    pass
            assert refused.value.status == 503

    run(scenario())


def test_add_latency_delays_matching_requests() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            server.faults.add_latency(0.3, "/fapi/v1/depth")
            started = time.monotonic()
            await rest.public("/fapi/v1/depth", symbol=SYMBOL)
            assert time.monotonic() - started >= 0.3
            started = time.monotonic()
            await rest.public("/fapi/v1/ping")
            assert time.monotonic() - started < 0.2  # other paths are not delayed
            server.faults.add_latency(0.3, "/fapi/v1/order", stage="after")
            started = time.monotonic()
            placing = asyncio.ensure_future(rest.signed("POST", ORDER, LIMIT))
            await asyncio.sleep(0.15)
            assert len(server.exchange.open_orders()) == 1 and not placing.done()  # placed, answer late
            status, _, _ = await placing
            assert status == 200 and time.monotonic() - started >= 0.3
            server.faults.add_latency(0, "/fapi/v1/depth")
            started = time.monotonic()
            await rest.public("/fapi/v1/depth", symbol=SYMBOL)
            assert time.monotonic() - started < 0.2

    run(scenario())


def test_reject_next_order_with_a_given_code() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            server.faults.reject_next_order(-2019)
            status, body, _ = await rest.signed("POST", ORDER, LIMIT)
            assert (status, body) == (400, {"code": -2019, "msg": "Margin is insufficient."})
            assert server.exchange.open_orders() == []
            status, body, _ = await rest.signed("POST", ORDER, LIMIT)
            assert status == 200  # only the next one

    run(scenario())


def test_expire_listen_key() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            headers = {"X-MBX-APIKEY": KEY}
            _, created, _ = await rest.raw("POST", "/fapi/v1/listenKey", headers=headers)
            async with ws_connect(server, f"/private/ws?listenKey={created['listenKey']}") as ws:
                assert server.faults.expire_listen_key() == 1
                expired = await ws.until(event_of("listenKeyExpired"))
                assert expired["listenKey"] == created["listenKey"]
            status, body, _ = await rest.raw("PUT", "/fapi/v1/listenKey", headers=headers)
            assert body["code"] == -1125
            assert server.faults.expire_listen_key() == 0

    run(scenario())
