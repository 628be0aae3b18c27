"""The KuCoin server's own wire: signature refusals by code, KuCoin's envelope and HTTP statuses, the
futures pool's `gw-ratelimit-*` headers, bullet tokens and the socket's words (welcome, ack, pong,
errors), the contract's countdown, and what independent clients probe at start."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

from pmm.connectors.kucoin_perpetual import auth, spec
from pmm.connectors.kucoin_perpetual.server import KucoinServer, ServerOptions
from pmm.core.clock import LiveClock
from pmm.sim.exchange import SimExchange

from test_client_kucoin import static_settings

KEY, SECRET, PASSPHRASE = "srv-key", "srv-secret", "srv-pass"


def run(scenario: Callable[[KucoinServer, aiohttp.ClientSession], Any], options: ServerOptions | None = None) -> None:
    async def main() -> None:
        exchange = SimExchange(static_settings())
        server = KucoinServer(exchange, api_key=KEY, api_secret=SECRET, api_passphrase=PASSPHRASE, clock=LiveClock(),
                              options=options)
        await server.start()
        try:
            async with aiohttp.ClientSession() as session:
                await asyncio.wait_for(scenario(server, session), 60)
        finally:
            await server.stop()
            exchange.close()

    asyncio.run(main())


def signed(method: str, endpoint: str, body: str = "", **changes: str) -> dict[str, str]:
    headers = auth.KucoinAuth(KEY, SECRET, PASSPHRASE, LiveClock()).headers(method, endpoint, body)
    headers.update(changes)
    return {**headers, "Content-Type": "application/json"}


async def call(session: aiohttp.ClientSession, server: KucoinServer, method: str, endpoint: str, body: str = "",
               headers: dict[str, str] | None = None) -> tuple[int, Any, Any]:
    async with session.request(method, server.rest_url + endpoint, data=body or None,
                               headers=headers if headers is not None else signed(method, endpoint, body)) as resp:
        return resp.status, json.loads(await resp.text()), resp.headers


def test_refusals_carry_kucoins_codes_and_statuses():
    async def scenario(server: KucoinServer, session: aiohttp.ClientSession) -> None:
        path = "/api/v1/account-overview?currency=USDT"
        status, body, headers = await call(session, server, "GET", path)
        assert status == 200 and body["code"] == "200000" and body["data"]["currency"] == "USDT"
        assert headers[spec.RATE_LIMIT_HEADER] == "2000" and int(headers[spec.RATE_RESET_HEADER]) > 0
        for changes, code in (({auth.SIGN_HEADER: "bad"}, "400005"), ({auth.PASSPHRASE_HEADER: "bad"}, "400004"),
                              ({auth.KEY_HEADER: "nobody"}, "400003"), ({auth.TIMESTAMP_HEADER: "1"}, "400002")):
            status, body, _ = await call(session, server, "GET", path, headers=signed("GET", path, **changes))
            assert (status, body["code"]) == (401, code), body
        status, body, _ = await call(session, server, "GET", "/api/v1/nowhere")
        assert (status, body["code"]) == (404, "404000")
        status, body, _ = await call(session, server, "GET", "/api/v1/contracts/NOPEUSDTM", headers={})
        assert body["code"] == "100011"
        order = json.dumps({"clientOid": "x1", "symbol": "XBTUSDTM", "side": "buy", "type": "limit", "price": "64000",
                            "size": 1, "marginMode": "ISOLATED" if server.exchange.margin_mode("BTC-USDT").value ==
                            "cross" else "CROSS"})
        status, body, _ = await call(session, server, "POST", "/api/v1/orders", order)
        assert body["code"] == "330005"  # the order's margin mode is not the symbol's
        status, body, _ = await call(session, server, "DELETE", "/api/v1/orders/client-order/nope?symbol=XBTUSDTM")
        assert (status, body["code"]) == (200, "100004")

    run(scenario)


def test_the_pool_refuses_with_429000_past_its_budget():
    async def scenario(server: KucoinServer, session: aiohttp.ClientSession) -> None:
        path = "/api/v1/positions"
        codes = [(await call(session, server, "GET", path))[1]["code"] for _ in range(4)]
        assert codes == ["200000", "200000", "200000", "429000"]

    run(scenario, ServerOptions(pool=(3, 30.0)))


def test_contract_countdown_and_the_classic_account_probe():
    async def scenario(server: KucoinServer, session: aiohttp.ClientSession) -> None:
        _, body, _ = await call(session, server, "GET", "/api/v1/contracts/XBTUSDTM", headers={})
        contract = body["data"]
        assert contract["multiplier"] == 0.001 and contract["lotSize"] == 1 and contract["status"] == "Open"
        # nextFundingRateTime is a countdown in ms, not a timestamp
        assert 0 <= contract["nextFundingRateTime"] <= contract["fundingRateGranularity"]
        _, body, _ = await call(session, server, "GET", "/api/ua/v1/account/mode")
        assert body["data"]["selfAccountMode"] == "CLASSIC"
        _, body, _ = await call(session, server, "POST", spec.BULLET_PUBLIC_PATH, headers={})
        server_row = body["data"]["instanceServers"][0]
        assert server_row["encrypt"] is False and server_row["endpoint"].startswith("ws://127.0.0.1")

    run(scenario)


def test_the_socket_needs_an_issued_token_and_answers_kucoins_words():
    async def scenario(server: KucoinServer, session: aiohttp.ClientSession) -> None:
        async with session.ws_connect(server.ws_url + "/?token=forged&connectId=c1") as ws:
            refused = await ws.receive_json(timeout=5)
            assert (refused["type"], refused["code"]) == ("error", 401)
        _, body, _ = await call(session, server, "POST", spec.BULLET_PUBLIC_PATH, headers={})
        token = body["data"]["token"]
        async with session.ws_connect(f"{server.ws_url}/?connectId=c2&token={token}") as ws:
            assert await ws.receive_json(timeout=5) == {"id": "c2", "type": "welcome"}
            await ws.send_json({"id": "p", "type": "ping"})
            assert (await ws.receive_json(timeout=5))["type"] == "pong"
            await ws.send_json({"id": "s1", "type": "subscribe", "topic": "/contractMarket/level2:XBTUSDTM",
                                "response": True})
            assert await ws.receive_json(timeout=5) == {"id": "s1", "type": "ack"}
            await ws.send_json({"id": "s2", "type": "subscribe", "topic": "/contractMarket/tradeOrders",
                                "privateChannel": True, "response": True})
            assert (await ws.receive_json(timeout=5))["code"] == 401  # a private topic on a public token
            await ws.send_json({"id": "s3", "type": "subscribe", "topic": "/contractMarket/level2:NOPEUSDTM",
                                "response": True})
            assert (await ws.receive_json(timeout=5))["code"] == 404

    run(scenario)
