"""The Bitget server's own wire behaviour, spoken to raw (aiohttp): envelopes, refusals with
Bitget's codes, what ccxt's load_markets needs (and the v3 probe it must see refused), the books
checksum, login and subscriptions, the rate-limit header."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal as D
from typing import Any

import aiohttp
from venue_servers import busy_market

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.auth import BitgetAuth
from pmm.connectors.bitget_perpetual.checksum import TextBook
from pmm.connectors.bitget_perpetual.rest import REMAINING_HEADER, encode_body
from pmm.connectors.bitget_perpetual.server import BitgetServer, ServerOptions
from pmm.core.clock import LiveClock
from pmm.sim.exchange import SimExchange

KEY, SECRET, PASSPHRASE = "bitget-server-key", "bitget-server-secret", "bitget-server-pass"


class Wire:
    def __init__(self, server: BitgetServer, session: aiohttp.ClientSession) -> None:
        self.server, self.session = server, session
        self.auth = BitgetAuth(KEY, SECRET, PASSPHRASE, LiveClock())

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, signed: bool = True,
                   headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any], Any]:
        payload = encode_body(body) if body is not None else ""
        sent = {"Content-Type": "application/json", **(self.auth.headers(method, path, payload) if signed else {}),
                **(headers or {})}
        async with self.session.request(method, self.server.rest_url + path, data=payload or None,
                                        headers=sent) as resp:
            return resp.status, await resp.json(), resp.headers


@asynccontextmanager
async def wire(limits: bool = True) -> AsyncIterator[Wire]:
    exchange = SimExchange(busy_market())
    server = BitgetServer(exchange, api_key=KEY, api_secret=SECRET, api_passphrase=PASSPHRASE, clock=LiveClock(),
                          options=None if limits else ServerOptions(limits=None))
    await server.start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Wire(server, session)
    finally:
        await server.stop()
        exchange.close()


def run(scenario: Any) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 60))


def _order(**change: Any) -> dict[str, Any]:
    body = {"symbol": "BTCUSDT", "productType": "USDT-FUTURES", "marginMode": "crossed", "marginCoin": "USDT",
            "size": "0.01", "price": "60000", "side": "buy", "orderType": "limit", "force": "post_only",
            "clientOid": "pmm-srv-1"}
    body.update(change)
    return {k: v for k, v in body.items() if v is not None}


def test_envelopes_unknown_paths_and_the_refused_v3_probe():
    async def scenario() -> None:
        async with wire() as w:
            status, body, headers = await w.call("GET", spec.SERVER_TIME_PATH, signed=False)
            assert status == 200 and body["code"] == "00000" and body["msg"] == "success"
            assert isinstance(body["requestTime"], int) and body["data"]["serverTime"].isdigit()
            status, body, _ = await w.call("GET", "/api/v2/mix/market/nope", signed=False)
            assert (status, body["code"], body["data"]) == (404, "40404", None)
            # ccxt tells a classic account from a unified one by this signed call failing
            status, body, _ = await w.call("GET", "/api/v3/account/settings")
            assert status == 404 and body["code"] == "40404"
            for path in ("/api/v2/spot/public/coins", spec.SPOT_SYMBOLS_PATH, "/api/v2/margin/currencies"):
                assert (await w.call("GET", path, signed=False))[1]["data"] == []
            _, body, headers = await w.call("GET", spec.CONTRACTS_PATH + "?productType=usdt-futures", signed=False)
            (contract,) = body["data"]
            assert (contract["symbol"], contract["pricePlace"], contract["priceEndStep"]) == ("BTCUSDT", "1", "1")
            assert contract["sizeMultiplier"] == "0.001" and contract["symbolStatus"] == "normal"
            assert headers[REMAINING_HEADER].isdigit()
            _, body, _ = await w.call("GET", spec.CONTRACTS_PATH + "?productType=COIN-FUTURES", signed=False)
            assert body["data"] == []

    run(scenario)


def test_order_refusals_carry_bitget_codes():
    async def scenario() -> None:
        async with wire(limits=False) as w:
            cases = [
                (_order(price="60000.05"), 45115), (_order(size="0.0001"), 40808), (_order(size="0.0015"), 40808),
                (_order(size="100"), 43012), (_order(productType="COIN-FUTURES"), 40020),
                (_order(symbol="NOPEUSDT"), 40034), (_order(clientOid="bad id"), 40402),
                (_order(side=None), 40019),
            ]
            for body, code in cases:
                status, answer, _ = await w.call("POST", spec.PLACE_ORDER_PATH, body)
                assert (status, answer["code"]) == (400, str(code)), (body, answer)
            status, placed, _ = await w.call("POST", spec.PLACE_ORDER_PATH, _order())
            assert status == 200 and placed["data"]["clientOid"] == "pmm-srv-1" and placed["data"]["orderId"]
            _, again, _ = await w.call("POST", spec.PLACE_ORDER_PATH, _order())
            assert again["code"] == "45034"
            _, bad_sign, _ = await w.call("POST", spec.PLACE_ORDER_PATH, _order(),
                                          headers={"ACCESS-SIGN": "AAAA"})
            assert bad_sign["code"] == "40009"
            # ccxt's spellings: GTC, YES, Close are read in any case
            _, upper, _ = await w.call("POST", spec.PLACE_ORDER_PATH, _order(clientOid="pmm-srv-2", force="GTC",
                                                                              reduceOnly="YES"))
            assert upper["code"] == "22002"  # reduce-only without a position: nothing to close
            _, pending, _ = await w.call("GET", spec.ORDERS_PENDING_PATH + "?productType=USDT-FUTURES&symbol=BTCUSDT")
            (row,) = pending["data"]["entrustedList"]
            assert (row["clientOid"], row["force"], row["status"], row["posSide"]) == ("pmm-srv-1", "post_only",
                                                                                       "live", "net")
            _, cancelled, _ = await w.call("POST", spec.CANCEL_ORDER_PATH, {
                "symbol": "BTCUSDT", "productType": "USDT-FUTURES", "clientOid": "pmm-srv-1"})
            assert cancelled["data"]["orderId"] == row["orderId"]
            _, gone, _ = await w.call("POST", spec.CANCEL_ORDER_PATH, {
                "symbol": "BTCUSDT", "productType": "USDT-FUTURES", "clientOid": "pmm-srv-1"})
            assert gone["code"] == "43001"
            _, nothing, _ = await w.call("POST", spec.BATCH_CANCEL_PATH, {"symbol": "BTCUSDT",
                                                                          "productType": "USDT-FUTURES"})
            assert nothing["code"] == "22001"

    run(scenario)


def test_books_updates_carry_seq_and_the_checksum_of_the_book_they_make():
    async def scenario() -> None:
        async with wire() as w, w.session.ws_connect(w.server.public_ws_url) as ws:
            await ws.send_str(json.dumps({"op": "subscribe", "args": [
                {"instType": "USDT-FUTURES", "channel": "books", "instId": "BTCUSDT"}]}))
            ack = json.loads((await ws.receive()).data)
            assert ack == {"event": "subscribe", "arg": {"instType": "USDT-FUTURES", "channel": "books",
                                                         "instId": "BTCUSDT"}}
            book, last_seq, updates = TextBook(), None, 0
            while updates < 5:
                message = json.loads((await ws.receive()).data)
                (data,) = message["data"]
                if message["action"] == "snapshot":
                    book.reset(data["bids"], data["asks"])
                else:
                    assert data["seq"] > last_seq
                    book.apply(data["bids"], data["asks"])
                    updates += 1
                assert data["checksum"] == book.checksum() and isinstance(message["ts"], int)
                last_seq = data["seq"]
            await ws.send_str("ping")
            while (reply := (await ws.receive()).data) != "pong":
                assert reply.startswith("{")

    run(scenario)


def test_login_and_private_subscriptions():
    async def scenario() -> None:
        async with wire() as w:
            async with w.session.ws_connect(w.server.private_ws_url) as ws:
                await ws.send_str(json.dumps({"op": "subscribe", "args": [
                    {"instType": "USDT-FUTURES", "channel": "orders", "instId": "default"}]}))
                refused = json.loads((await ws.receive()).data)
                assert (refused["event"], refused["code"]) == ("error", "30004")
                login = {**w.auth.ws_login_message(), "url": w.server.private_ws_url}  # ccxt's extra key
                await ws.send_str(json.dumps(login))
                assert json.loads((await ws.receive()).data) == {"event": "login", "code": "0", "msg": ""}
                await ws.send_str(json.dumps({"op": "subscribe", "args": [
                    {"instType": "USDT-FUTURES", "channel": "account", "coin": "default"}]}))
                assert json.loads((await ws.receive()).data)["event"] == "subscribe"
                snapshot = json.loads((await ws.receive()).data)
                (row,) = snapshot["data"]
                assert snapshot["arg"]["channel"] == "account" and D(row["equity"]) > 0
            async with w.session.ws_connect(w.server.private_ws_url) as ws:
                frame = w.auth.ws_login_message()
                frame["args"][0]["passphrase"] = "wrong"  # type: ignore[index]
                await ws.send_str(json.dumps(frame))
                refused = json.loads((await ws.receive()).data)
                assert (refused["event"], refused["code"]) == ("error", "30012")
                assert (await ws.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)

    run(scenario)


def test_the_eleventh_order_in_a_second_is_refused_with_429():
    async def scenario() -> None:
        async with wire() as w:
            answers = [await w.call("POST", spec.PLACE_ORDER_PATH, _order(clientOid=f"pmm-rl-{i}", price="50000"))
                       for i in range(11)]
            assert [a[1]["code"] for a in answers[:10]] == ["00000"] * 10
            assert (answers[10][0], answers[10][1]["code"]) == (429, "429")
            assert answers[9][2][REMAINING_HEADER] == "0"

    run(scenario)
