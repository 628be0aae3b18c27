"""Independent OKX clients against the OKX server, a whole trading round trip each (DESIGN.md §5):
load markets, book and trades streams, set leverage, a post-only order seen on the private stream,
cancel, an order that crosses with its fill and position update, positions, funding rate and
funding history. python-okx 0.4.4 (REST + its WebSocket) and ccxt / ccxt.pro 4.5.90 `okx`, pinned in
the `test` extra (imported, not skipped: a missing client fails the suite). The server runs on the
real clock (the clients stamp their own requests), funding settles every 2 s, and every wait has a
deadline: a missing message fails with its name.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.pro as ccxtpro
import pytest
import websockets
from okx import Account, MarketData, PublicData, Trade
from okx.websocket.WebSocketFactory import WebSocketFactory
from okx.websocket.WsPrivateAsync import WsPrivateAsync
from okx.websocket.WsPublicAsync import WsPublicAsync
from test_server_okx_kit import KEY, PASSPHRASE, SECRET, SYMBOL, run, static_settings

from pmm.connectors.okx_perpetual.server import OkxServer
from pmm.core.clock import LiveClock
from pmm.sim.exchange import SimExchange

T = TypeVar("T")
UNIFIED = "BTC/USDT:USDT"
STEP_DEADLINE_S = 15.0


async def within(what: str, awaitable: Awaitable[T], seconds: float = STEP_DEADLINE_S) -> T:
    """`awaitable`'s result, or a failure naming the step that did not finish in time."""
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except TimeoutError:
        raise AssertionError(f"{what}: nothing within {seconds:.0f} s") from None


async def until(what: str, check: Callable[[], Awaitable[T | None]], seconds: float = STEP_DEADLINE_S,
                every: float = 0.05) -> T:
    """Poll `check` every `every` seconds until it returns something, with a deadline (REST polls go
    slower than the venue's request limits)."""
    async def poll() -> T:
        while (found := await check()) is None:
            await asyncio.sleep(every)
        return found
    return await within(what, poll(), seconds)


@asynccontextmanager
async def live_server() -> AsyncIterator[OkxServer]:
    exchange = SimExchange(static_settings(funding_interval_s=2.0))
    server = OkxServer(exchange, api_key=KEY, api_secret=SECRET, api_passphrase=PASSPHRASE, clock=LiveClock())
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
        exchange.close()


# --- ccxt / ccxt.pro ------------------------------------------------------------------------------

def test_ccxt_pro_round_trip():
    async def scenario() -> None:
        async with live_server() as server:
            exchange = ccxtpro.okx({"apiKey": KEY, "secret": SECRET, "password": PASSPHRASE,
                                    "options": {"defaultType": "swap"}})
            exchange.urls["api"] = {"rest": server.rest_url, "ws": server.ws_url + "/ws/v5"}
            try:
                await ccxt_steps(exchange, server)
            finally:
                await exchange.close()

    run(scenario(), timeout=90)


def subscribed(server: OkxServer, channel: str) -> Callable[[], Awaitable[bool | None]]:
    """Whether some client subscribed to `channel` (the server's side of the handshake)."""
    async def check() -> bool | None:
        return any(isinstance(key, tuple) and key[0] == channel
                   for conn in server.hub.clients for key in conn.subscriptions) or None
    return check


async def ccxt_steps(exchange: Any, server: OkxServer) -> None:
    markets = await within("load_markets", exchange.load_markets())
    market = markets[UNIFIED]
    assert market["contractSize"] == 0.001 and market["linear"] and market["id"] == SYMBOL

    book = await within("watch_order_book", exchange.watch_order_book(UNIFIED))
    assert book["bids"][0] == [64990.0, 1000.0] and book["asks"][0] == [65010.0, 1000.0]

    leverage = await within("set_leverage", exchange.set_leverage(10, UNIFIED, {"mgnMode": "cross"}))
    assert leverage["data"][0]["lever"] == "10"

    orders_seen: list[dict[str, Any]] = []

    async def watch_orders() -> None:
        while True:
            orders_seen.extend(await exchange.watch_orders(UNIFIED))

    trades_task = asyncio.ensure_future(exchange.watch_trades(UNIFIED))
    orders_task = asyncio.ensure_future(watch_orders())
    try:
        await until("orders subscription", subscribed(server, "orders"))
        await until("trades subscription", subscribed(server, "trades"))
        maker = await within("create post-only order",
                             exchange.create_order(UNIFIED, "limit", "buy", 5, 64000, {"postOnly": True}))

        def seen(order_id: str, status: str) -> Callable[[], Awaitable[dict[str, Any] | None]]:
            async def check() -> dict[str, Any] | None:
                return next((o for o in orders_seen if o["id"] == order_id and o["status"] == status), None)
            return check

        live = await until("post-only order on the orders stream", seen(maker["id"], "open"))
        assert live["postOnly"] is True and live["amount"] == 5
        await within("cancel_order", exchange.cancel_order(maker["id"], UNIFIED))
        await until("canceled order on the orders stream", seen(maker["id"], "canceled"))

        taker = await within("create crossing order", exchange.create_order(UNIFIED, "limit", "buy", 10, 65020))
        filled = await until("filled order on the orders stream", seen(taker["id"], "closed"))
        assert filled["filled"] == 10 and filled["average"] == 65010.0
        trades = await within("watch_trades", trades_task)
        assert trades[-1]["price"] == 65010.0 and trades[-1]["amount"] == 10
    finally:
        orders_task.cancel()
        trades_task.cancel()

    positions = await within("watch_positions", exchange.watch_positions([UNIFIED]))
    assert any(p["contracts"] == 10 for p in positions), positions
    fetched = await within("fetch_positions", exchange.fetch_positions([UNIFIED]))
    assert fetched[0]["contracts"] == 10 and fetched[0]["side"] == "long" and fetched[0]["entryPrice"] == 65010.0

    funding = await within("fetch_funding_rate", exchange.fetch_funding_rate(UNIFIED))
    assert funding["fundingRate"] == 0.0001, funding
    assert funding["nextFundingTimestamp"] - funding["fundingTimestamp"] == 2000, funding

    async def paid() -> list[dict[str, Any]] | None:
        history = await exchange.fetch_funding_history(UNIFIED)
        return history or None

    history = await until("fetch_funding_history after a settlement", paid, every=0.5)
    assert history[0]["amount"] < 0 and history[0]["code"] == "USDT"  # a long pays a positive rate


# --- python-okx -----------------------------------------------------------------------------------

def _plain_connect(monkeypatch: pytest.MonkeyPatch) -> None:
    """python-okx's WebSocketFactory passes an SSL context, which websockets refuses for ws://: the
    loopback connection is made without it (everything else of the client is unchanged)."""
    async def connect(self: Any) -> Any:
        self.websocket = await websockets.connect(self.url)
        return self.websocket

    monkeypatch.setattr(WebSocketFactory, "connect", connect)


def test_python_okx_round_trip(monkeypatch: pytest.MonkeyPatch):
    _plain_connect(monkeypatch)

    async def scenario() -> None:
        async with live_server() as server:
            await python_okx_steps(server)

    run(scenario(), timeout=90)


async def python_okx_steps(server: OkxServer) -> None:
    creds = {"api_key": KEY, "api_secret_key": SECRET, "passphrase": PASSPHRASE, "flag": "0",
             "domain": server.rest_url, "debug": False}
    public = PublicData.PublicAPI(flag="0", domain=server.rest_url, debug=False)
    market = MarketData.MarketAPI(flag="0", domain=server.rest_url, debug=False)
    account = Account.AccountAPI(**creds)
    trade = Trade.TradeAPI(**creds)

    async def call(fn: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any) -> dict[str, Any]:
        answer = await within(fn.__name__, asyncio.to_thread(fn, *args, **kwargs))
        assert answer["code"] == "0", answer
        return answer

    instruments = await call(public.get_instruments, instType="SWAP")
    assert instruments["data"][0]["ctVal"] == "0.001" and instruments["data"][0]["lotSz"] == "1"
    book = await call(market.get_orderbook, instId=SYMBOL, sz="5")
    assert book["data"][0]["bids"][0][:2] == ["64990.0", "1000"]

    messages: list[dict[str, Any]] = []
    ws_public = WsPublicAsync(url=server.public_ws_url)
    ws_private = WsPrivateAsync(apiKey=KEY, passphrase=PASSPHRASE, secretKey=SECRET, url=server.private_ws_url)
    consumers = []
    try:
        for ws in (ws_public, ws_private):
            await within("websocket connect", ws.connect())
            ws.callback = lambda text: messages.append(json.loads(text))
            consumers.append(asyncio.ensure_future(ws.consume()))
        await ws_public.subscribe([{"channel": "books", "instId": SYMBOL}, {"channel": "trades", "instId": SYMBOL}],
                                  ws_public.callback)
        await ws_private.login()  # python-okx's subscribe() waits 5 s after its login; log in, then subscribe
        await until("login answer", lambda: _found(messages, lambda m: m.get("event") == "login"))
        await ws_private.send("subscribe", [{"channel": "orders", "instType": "SWAP", "instId": SYMBOL},
                                            {"channel": "positions", "instType": "ANY"}])
        snapshot = await until("books snapshot", lambda: _found(messages, lambda m: m.get("action") == "snapshot"))
        assert snapshot["data"][0]["prevSeqId"] == -1 and snapshot["data"][0]["checksum"] == 0
        await until("orders subscribed", lambda: _found(
            messages, lambda m: m.get("event") == "subscribe" and m["arg"]["channel"] == "orders"))

        await call(account.set_leverage, lever="10", mgnMode="cross", instId=SYMBOL)
        placed = await call(trade.place_order, instId=SYMBOL, tdMode="cross", side="buy", ordType="post_only",
                            sz="5", px="64000", clOrdId="pyokx1")
        order_id = placed["data"][0]["ordId"]
        live = await until("post-only order pushed", lambda: _pushed_order(messages, order_id, "live"))
        assert live["clOrdId"] == "pyokx1" and live["ordType"] == "post_only"
        await call(trade.cancel_order, instId=SYMBOL, ordId=order_id)
        await until("cancel pushed", lambda: _pushed_order(messages, order_id, "canceled"))

        crossed = await call(trade.place_order, instId=SYMBOL, tdMode="cross", side="buy", ordType="limit",
                             sz="10", px="65020")
        taker_id = crossed["data"][0]["ordId"]
        fill = await until("fill pushed", lambda: _pushed_order(messages, taker_id, "filled"))
        assert fill["fillSz"] == "10" and fill["fillPx"] == "65010.0" and fill["execType"] == "T"
        await until("public trade", lambda: _found(messages, lambda m: m.get("arg", {}).get("channel") == "trades"
                                                   and "data" in m))
        await until("position pushed", lambda: _found(messages, lambda m: m.get("arg", {}).get("channel")
                                                      == "positions" and any(p["pos"] == "10" for p in
                                                                             m.get("data", []))))
    finally:
        for consumer in consumers:
            consumer.cancel()
        for ws in (ws_public, ws_private):
            if ws.websocket is not None:
                await ws.stop()

    positions = await call(account.get_positions, instId=SYMBOL)
    assert positions["data"][0]["pos"] == "10" and positions["data"][0]["avgPx"] == "65010.0"
    rate = await call(public.get_funding_rate, instId=SYMBOL)
    assert Decimal(rate["data"][0]["fundingRate"]) == Decimal("0.0001")

    async def funding_bills() -> list[dict[str, Any]] | None:
        bills = await call(account.get_account_bills_archive, instType="SWAP", type="8")
        return bills["data"] or None

    bills = await until("a funding bill", funding_bills, every=0.5)
    assert bills[0]["subType"] == "173" and Decimal(bills[0]["balChg"]) < 0


async def _found(messages: list[dict[str, Any]], predicate: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
    return next((m for m in messages if predicate(m)), None)


async def _pushed_order(messages: list[dict[str, Any]], order_id: str, state: str) -> dict[str, Any] | None:
    """The order row pushed on the orders channel with `state`, if one arrived."""
    for message in messages:
        if message.get("arg", {}).get("channel") == "orders" and "data" in message:
            for row in message["data"]:
                if row["ordId"] == order_id and row["state"] == state:
                    return row
    return None
