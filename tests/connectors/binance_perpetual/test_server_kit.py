"""Helpers for the Binance server tests: venue settings, a running server, signed REST calls in
each client's placement style, WebSocket readers. (No tests here; imported by test_server_*.)

Every coroutine runs under `asyncio.run` with a timeout, so a hang fails instead of blocking CI.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from yarl import URL

from pmm.connectors.binance_perpetual.server import BinanceServer, ServerOptions
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket, SyntheticMarket

D = Decimal
KEY = "pmmSimKey0123456789"
SECRET = "pmm-sim-secret"
SYMBOL = "BTCUSDT"
MARKET = "BTC-USDT"
FIXTURES = Path(__file__).parent / "fixtures"
FAST = ServerOptions(tick_s=0.01)

Result = tuple[int, Any, dict[str, str]]


def static_settings(rate: str = "0.0001", funding_interval_s: float = 8 * 3600.0, usdt: str = "10000",
                    latency_s: float = 0.0) -> SimSettings:
    """A book that never moves: bid 64999.9 / ask 65000.1, 2 BTC on each of 3 levels."""
    bids = tuple((D(p), D("2")) for p in ("64999.9", "64999.8", "64999.7"))
    asks = tuple((D(p), D("2")) for p in ("65000.1", "65000.2", "65000.3"))
    market = SimMarketSettings(MARKET, StaticMarket(bids=bids, asks=asks, funding_rate=D(rate)))
    return SimSettings(markets=(market,), balances={"USDT": D(usdt)}, funding_interval_s=funding_interval_s,
                       latency_s=latency_s)


def synthetic_settings(interval_s: float = 0.03) -> SimSettings:
    """A book redrawn every `interval_s` seconds of real time, with market trades."""
    generator = SyntheticMarket(book_interval_s=interval_s, depth_levels=8, volatility=D("0.05"),
                                trade_rate_per_min=600.0)
    return SimSettings(markets=(SimMarketSettings(MARKET, generator),))


def run(coro: Awaitable[Any], timeout: float = 20.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(bounded())


@asynccontextmanager
async def serving(settings: SimSettings | None = None, options: ServerOptions = FAST,
                  clock: Any = None) -> AsyncIterator[BinanceServer]:
    exchange = SimExchange(settings or static_settings())
    server = BinanceServer(exchange, api_key=KEY, api_secret=SECRET, options=options, clock=clock)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
        exchange.close()


def sign(message: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class MinuteStartClock:
    """Wall time shifted so it starts half a second into a clock minute: per-minute rate-limit
    windows then cannot roll over in the middle of a short test."""

    def __init__(self) -> None:
        self._offset = 0.5 - time.time() % 60

    def now(self) -> float:
        return time.time() + self._offset


class Rest:
    """REST calls against the server, signed the way each independent client does (§D3)."""

    def __init__(self, session: aiohttp.ClientSession, server: BinanceServer) -> None:
        self.session = session
        self.base = server.rest_url
        self.clock = server.clock

    def now_ms(self) -> int:
        """The server's time in ms (a test may run the server on a shifted clock)."""
        return int(self.clock.now() * 1000)

    async def raw(self, method: str, path: str, *, query: str = "", body: str = "",
                  headers: dict[str, str] | None = None) -> Result:
        # encoded=True: send the query bytes exactly as signed (yarl would normalise "%3A" to ":").
        url = URL(self.base + path + (f"?{query}" if query else ""), encoded=True)
        async with self.session.request(method, url, data=body.encode() if body else None,
                                        headers=headers or {}) as resp:
            text = await resp.text()
            return resp.status, json.loads(text) if text else None, dict(resp.headers)

    async def listen_key(self) -> str:
        """POST /fapi/v1/listenKey (API key header only) -> the key."""
        _, body, _ = await self.raw("POST", "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": KEY})
        return str(body["listenKey"])

    async def public(self, path: str, **params: Any) -> Result:
        return await self.raw("GET", path, query=urlencode(params))

    async def signed(self, method: str, path: str, params: dict[str, Any] | None = None, *, style: str = "ccxt",
                     timestamp: int | None = None, key: str = KEY, secret: str = SECRET,
                     tamper: bool = False) -> Result:
        """Sign and send like ccxt (timestamp first, POST in a form body), the futures connector
        (everything in the query, JSON content type), python-binance (sorted, POST and DELETE in a
        form body) or the official SDK (query string, floats like 25000.0)."""
        items = [(k, str(v)) for k, v in (params or {}).items()]
        ts = str(self.now_ms() if timestamp is None else timestamp)
        headers = {"X-MBX-APIKEY": key}
        if style == "ccxt":
            items = [("timestamp", ts), *items, ("recvWindow", "10000")]
            in_body = method == "POST"
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif style == "connector":
            items = [*items, ("timestamp", ts)]
            in_body = False
            headers["Content-Type"] = "application/json;charset=utf-8"
        elif style == "python-binance":
            items = sorted([*items, ("recvWindow", "10000"), ("timestamp", ts)])
            in_body = method in ("POST", "DELETE")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif style == "sdk":
            items = [(k, f"{v}.0" if k == "price" and "." not in v else v) for k, v in items] + [("timestamp", ts)]
            in_body = False
            headers["Accept"] = "application/json"
        else:
            raise ValueError(style)
        message = urlencode(items)
        signed = f"{message}&signature={sign(message, secret)}"
        if tamper:  # flip one byte of the signed content, keep the signature
            signed = signed.replace("BTCUSDT", "BTCUSDS", 1) if "BTCUSDT" in signed else signed.replace("=", "=9", 1)
        if in_body:
            return await self.raw(method, path, body=signed, headers=headers)
        return await self.raw(method, path, query=signed, headers=headers)


@asynccontextmanager
async def rest_client(server: BinanceServer) -> AsyncIterator[Rest]:
    async with aiohttp.ClientSession() as session:
        yield Rest(session, server)


class Ws:
    """A WebSocket connection that collects every JSON message it receives."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.messages: list[Any] = []

    async def send(self, payload: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(payload))

    async def next(self, timeout: float = 5.0) -> Any:
        msg = await self.ws.receive(timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"socket ended: {msg.type} {msg.data!r}")
        data = json.loads(msg.data)
        self.messages.append(data)
        return data

    async def until(self, predicate: Callable[[Any], bool], timeout: float = 5.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AssertionError(f"no matching message within {timeout} s; got {self.messages[-5:]}")
            data = await self.next(left)
            if predicate(data):
                return data


@asynccontextmanager
async def ws_connect(server: BinanceServer, path: str) -> AsyncIterator[Ws]:
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(server.ws_url + path, heartbeat=None) as ws:
            yield Ws(ws)


def event_of(kind: str) -> Callable[[Any], bool]:
    """Matches a raw or combined-wrapped event of type `kind`."""

    def match(data: Any) -> bool:
        body = data.get("data", data) if isinstance(data, dict) else data
        return isinstance(body, dict) and body.get("e") == kind

    return match


def fixture(name: str) -> Any | None:
    """A documented payload from the client's fixtures (reference/exchange_apis.md §E1), if present."""
    path = FIXTURES / name
    return json.loads(path.read_text(), parse_float=Decimal) if path.exists() else None
