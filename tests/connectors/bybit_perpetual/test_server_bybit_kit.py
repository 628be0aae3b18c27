"""Test kit for the Bybit server tests (no tests here): settings, a hand-moved clock, a running
server with a signing client in pybit's or ccxt's style, and WebSocket helpers.

Requests are signed exactly as the two libraries sign them (exchange_apis.md §D4): pybit sorts GET
keys, writes POST JSON with Python's default ", " / ": " separators and sends X-BAPI-SIGN-TYPE 2;
ccxt keeps its own key order, writes compact JSON, sends no sign type and adds `Referer` on POSTs.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp

from pmm.connectors.bybit_perpetual.server import BybitServer, ServerOptions
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket, SyntheticMarket

API_KEY = "XXXXXXXXXX"
API_SECRET = "bybit-test-secret"
START = 1_767_225_700.0  # a little after 2026-01-01T00:00:00Z
T = TypeVar("T")

ENVELOPE_KEYS = {"retCode", "retMsg", "result", "retExtInfo", "time"}


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class StepClock:
    """A clock tests move by hand (the server, the sim and the signing client all read it)."""

    def __init__(self, start: float = START) -> None:
        self.t = start

    def now(self) -> float:
        return self.t


def static_settings(*, funding_interval_s: float = 8 * 3600.0, balance: str = "10000",
                    funding_rate: str = "0.0001", **overrides: Any) -> SimSettings:
    """BTC-USDT with a book that never moves: bids 64990 (1), 64980 (2); asks 65010 (1), 65020 (2)."""
    book = StaticMarket(
        bids=((Decimal("64990"), Decimal("1")), (Decimal("64980"), Decimal("2"))),
        asks=((Decimal("65010"), Decimal("1")), (Decimal("65020"), Decimal("2"))),
        mark_price=Decimal("65000"), funding_rate=Decimal(funding_rate),
    )
    return SimSettings(markets=(SimMarketSettings("BTC-USDT", book),), balances={"USDT": Decimal(balance)},
                       funding_interval_s=funding_interval_s, **overrides)


def synthetic_settings(*, book_interval_s: float = 0.05, **overrides: Any) -> SimSettings:
    market = SimMarketSettings("BTC-USDT", SyntheticMarket(book_interval_s=book_interval_s, trade_rate_per_min=600.0))
    return SimSettings(markets=(market,), **overrides)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def code(self) -> int:
        return self.body["retCode"]

    @property
    def result(self) -> Any:
        return self.body["result"]


def signature(timestamp: str, payload: str, *, key: str = API_KEY, secret: str = API_SECRET,
              recv_window: str = "5000") -> str:
    return hmac.new(secret.encode(), f"{timestamp}{key}{recv_window}{payload}".encode(), hashlib.sha256).hexdigest()


class Venue:
    """A running server plus a client session that signs like pybit or ccxt."""

    def __init__(self, server: BybitServer, exchange: SimExchange, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.exchange = exchange
        self.session = session
        self.faults = server.faults

    @property
    def clock(self) -> Clock:
        return self.server.clock

    def step(self, seconds: float = 0.0) -> None:
        """Move a StepClock on and let the venue process everything due."""
        clock = self.server.clock
        assert isinstance(clock, StepClock), "step() needs a StepClock"
        clock.t += seconds
        self.server.driver.tick()

    def headers(self, payload: str, *, style: str, timestamp: int | None = None, key: str = API_KEY,
                secret: str = API_SECRET) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(self.clock.now() * 1000))
        headers = {"X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": "5000",
                   "X-BAPI-SIGN": signature(ts, payload, key=key, secret=secret), "Content-Type": "application/json"}
        if style == "pybit":
            headers["X-BAPI-SIGN-TYPE"] = "2"
            headers["Accept"] = "application/json"
        return headers

    @staticmethod
    def query(params: dict[str, Any] | None, style: str) -> str:
        items = list((params or {}).items())
        if style == "pybit":
            items.sort()
        return urlencode(items)

    async def get(self, path: str, params: dict[str, Any] | None = None, *, signed: bool = True,
                  style: str = "pybit", headers: dict[str, str] | None = None) -> Answer:
        query = self.query(params, style)
        sent = dict(headers) if headers is not None else (self.headers(query, style=style) if signed else {})
        url = self.server.rest_url + path + (f"?{query}" if query else "")
        async with self.session.get(url, headers=sent) as resp:
            return await self._answer(resp)

    def body(self, body: dict[str, Any], style: str) -> str:
        return json.dumps(body) if style == "pybit" else json.dumps(body, separators=(",", ":"))

    async def post(self, path: str, body: dict[str, Any], *, style: str = "pybit",
                   headers: dict[str, str] | None = None, raw: str | None = None) -> Answer:
        text = raw if raw is not None else self.body(body, style)
        sent = dict(headers) if headers is not None else self.headers(text, style=style)
        if style == "ccxt" and headers is None:
            sent["Referer"] = "CCXT"
        async with self.session.post(self.server.rest_url + path, data=text.encode(), headers=sent) as resp:
            return await self._answer(resp)

    @staticmethod
    async def _answer(resp: aiohttp.ClientResponse) -> Answer:
        text = await resp.text()
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        return Answer(resp.status, dict(resp.headers), body)

    # --- orders ---------------------------------------------------------------------------------

    async def order(self, side: str, qty: str, price: str | None = None, *, tif: str | None = None,
                    link: str | None = None, style: str = "pybit", **extra: Any) -> Answer:
        body: dict[str, Any] = {"category": "linear", "symbol": "BTCUSDT", "side": side,
                                "orderType": "Limit" if price is not None else "Market", "qty": qty}
        if price is not None:
            body["price"] = price
        if tif is not None:
            body["timeInForce"] = tif
        if link is not None:
            body["orderLinkId"] = link
        body.update(extra)
        return await self.post("/v5/order/create", body, style=style)

    async def open_orders(self, **params: Any) -> list[dict[str, Any]]:
        answer = await self.get("/v5/order/realtime", {"category": "linear", **params})
        assert answer.code == 0, answer.body
        return answer.result["list"]

    async def positions(self) -> list[dict[str, Any]]:
        answer = await self.get("/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
        assert answer.code == 0, answer.body
        return answer.result["list"]

    # --- WebSockets -----------------------------------------------------------------------------

    async def ws(self, kind: str = "public") -> Ws:
        url = self.server.public_ws_url if kind == "public" else self.server.private_ws_url
        return Ws(await self.session.ws_connect(url), self)

    async def private(self, topics: list[str] | None = None) -> Ws:
        ws = await self.ws("private")
        expires = int(self.clock.now() * 1000) + 10_000
        sig = hmac.new(API_SECRET.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
        await ws.send({"op": "auth", "args": [API_KEY, expires, sig]})
        reply = await ws.recv()
        assert reply["success"] is True, reply
        await ws.send({"op": "subscribe", "req_id": "p1", "args": topics or ["order", "execution", "position",
                                                                             "wallet"]})
        reply = await ws.recv()
        assert reply["success"] is True, reply
        return ws


class Ws:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, venue: Venue) -> None:
        self.ws = ws
        self.venue = venue

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(message))

    async def recv(self, timeout: float = 3.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        return json.loads(msg.data)

    async def until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 3.0) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.recv(max(0.01, deadline - loop.time()))
            if predicate(message):
                return message

    async def drain(self, quiet: float = 0.1) -> list[dict[str, Any]]:
        """Everything that arrives until nothing has for `quiet` seconds."""
        out = []
        while True:
            try:
                out.append(await self.recv(quiet))
            except asyncio.TimeoutError:
                return out

    async def close(self) -> None:
        await self.ws.close()


@asynccontextmanager
async def running(settings: SimSettings, *, clock: Clock | None = None, options: ServerOptions | None = None,
                  ) -> AsyncIterator[Venue]:
    exchange = SimExchange(settings)
    server = BybitServer(exchange, api_key=API_KEY, api_secret=API_SECRET, clock=clock, options=options)
    await server.start()
    session = aiohttp.ClientSession()
    try:
        yield Venue(server, exchange, session)
    finally:
        await session.close()
        await server.stop()
        exchange.close()
