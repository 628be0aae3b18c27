"""Test kit for the OKX server tests (no tests here): settings, a hand-moved clock, a running server
with a client that signs as OKX documents (python-okx's `", "` JSON or ccxt's compact JSON), and
WebSocket helpers. Waits have deadlines; nothing sleeps for a fixed time."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp

from pmm.connectors.okx_perpetual.auth import OkxAuth
from pmm.connectors.okx_perpetual.server import OkxServer, ServerOptions
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket

KEY, SECRET, PASSPHRASE = "okx-sim-key", "okx-sim-secret", "okx-sim-pass"
START = 1_767_225_700.0  # a little after 2026-01-01T00:00:00Z
SYMBOL = "BTC-USDT-SWAP"
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run a test coroutine with a deadline, so a hang fails with a message instead of blocking."""
    async def bounded() -> T:
        task = asyncio.ensure_future(coro)
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            task.cancel()
            raise AssertionError(f"the test did not finish within {timeout:.0f} s")
        return task.result()
    return asyncio.run(bounded())


class StepClock:
    """A clock tests move by hand (the server, the simulator and the signing client read it)."""

    def __init__(self, start: float = START) -> None:
        self.t = start

    def now(self) -> float:
        return self.t


def static_settings(*, balance: str = "10000", funding_rate: str = "0.0001", **overrides: Any) -> SimSettings:
    """BTC-USDT, a book that never moves: bids 64990 (1 BTC), 64980 (2); asks 65010 (1), 65020 (2).
    Size step 0.001: one contract is 0.001 BTC, so 1 BTC shows as 1000 contracts."""
    book = StaticMarket(
        bids=((Decimal("64990"), Decimal("1")), (Decimal("64980"), Decimal("2"))),
        asks=((Decimal("65010"), Decimal("1")), (Decimal("65020"), Decimal("2"))),
        mark_price=Decimal("65000"), funding_rate=Decimal(funding_rate),
    )
    return SimSettings(markets=(SimMarketSettings("BTC-USDT", book),), balances={"USDT": Decimal(balance)},
                       **overrides)


@dataclass
class Answer:
    status: int
    body: Any

    @property
    def code(self) -> str:
        return self.body["code"]

    @property
    def data(self) -> Any:
        return self.body["data"]


class Venue:
    """A running server plus a client session that signs requests like OKX's clients."""

    def __init__(self, server: OkxServer, exchange: SimExchange, session: aiohttp.ClientSession) -> None:
        self.server = server
        self.exchange = exchange
        self.session = session
        self.faults = server.faults
        self.auth = OkxAuth(KEY, SECRET, PASSPHRASE, server.clock)

    @property
    def clock(self) -> Clock:
        return self.server.clock

    def step(self, seconds: float = 0.0) -> None:
        """Move a StepClock on and let the venue process everything due."""
        clock = self.server.clock
        assert isinstance(clock, StepClock), "step() needs a StepClock"
        clock.t += seconds
        self.server.driver.tick()

    async def get(self, path: str, params: dict[str, Any] | None = None, *, signed: bool = True,
                  headers: dict[str, str] | None = None) -> Answer:
        query = urlencode(list((params or {}).items()))
        target = path + (f"?{query}" if query else "")
        sent = dict(headers) if headers is not None else (self.auth.headers("GET", target) if signed else {})
        async with self.session.get(self.server.rest_url + target, headers=sent) as resp:
            return await self._answer(resp)

    async def post(self, path: str, body: Any, *, style: str = "ccxt", headers: dict[str, str] | None = None,
                   raw: str | None = None) -> Answer:
        text = raw if raw is not None else (json.dumps(body) if style == "python-okx"
                                            else json.dumps(body, separators=(",", ":")))
        sent = dict(headers) if headers is not None else self.auth.headers("POST", path, text)
        sent["Content-Type"] = "application/json"
        async with self.session.post(self.server.rest_url + path, data=text.encode(), headers=sent) as resp:
            return await self._answer(resp)

    @staticmethod
    async def _answer(resp: aiohttp.ClientResponse) -> Answer:
        text = await resp.text()
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        return Answer(resp.status, body)

    # --- orders -------------------------------------------------------------------------------------

    async def order(self, side: str, sz: str, px: str | None = None, *, ord_type: str = "limit",
                    cl: str | None = None, **extra: Any) -> Answer:
        body: dict[str, Any] = {"instId": SYMBOL, "tdMode": "cross", "side": side, "ordType": ord_type, "sz": sz}
        if px is not None:
            body["px"] = px
        if cl is not None:
            body["clOrdId"] = cl
        body.update(extra)
        return await self.post("/api/v5/trade/order", body)

    async def pending(self) -> list[dict[str, Any]]:
        answer = await self.get("/api/v5/trade/orders-pending", {"instType": "SWAP"})
        assert answer.code == "0", answer.body
        return answer.data

    async def positions(self) -> list[dict[str, Any]]:
        answer = await self.get("/api/v5/account/positions", {"instId": SYMBOL})
        assert answer.code == "0", answer.body
        return answer.data

    # --- WebSockets ---------------------------------------------------------------------------------

    async def ws(self, kind: str = "public") -> Ws:
        url = {"public": self.server.public_ws_url, "private": self.server.private_ws_url,
               "business": self.server.business_ws_url}[kind]
        return Ws(await self.session.ws_connect(url), self)

    async def private(self, args: list[dict[str, Any]], kind: str = "private") -> Ws:
        """A logged-in socket subscribed to `args` (acks and snapshots consumed up to the acks)."""
        ws = await self.ws(kind)
        await ws.send(self.auth.ws_login_message())
        reply = await ws.recv()
        assert reply.get("event") == "login" and reply["code"] == "0", reply
        await ws.send({"op": "subscribe", "args": args})
        for _ in args:
            ack = await ws.until(lambda m: m.get("event") in ("subscribe", "error"), keep=True)
            assert ack["event"] == "subscribe", ack
        return ws


class Ws:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse, venue: Venue) -> None:
        self.ws = ws
        self.venue = venue
        self.kept: list[dict[str, Any]] = []  # passed over by `until(keep=True)`, read again first

    async def send(self, message: Any) -> None:
        await self.ws.send_str(message if isinstance(message, str) else json.dumps(message))

    async def recv_text(self, timeout: float = 5.0) -> str:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        return str(msg.data)

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        if self.kept:
            return self.kept.pop(0)
        return json.loads(await self.recv_text(timeout))

    async def until(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0, *,
                    keep: bool = False) -> dict[str, Any]:
        """The first message that satisfies `predicate`; fails naming what came instead. `keep`:
        the messages passed over are read again by the next `recv` / `until`."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        seen: list[dict[str, Any]] = []
        while True:
            try:
                message = await self.recv(max(0.01, deadline - loop.time()))
            except TimeoutError:
                raise AssertionError(f"no such message within {timeout} s; received {seen[-5:]}") from None
            if predicate(message):
                if keep:
                    self.kept[:0] = seen
                return message
            seen.append(message)

    async def drain(self, quiet: float = 0.1) -> list[dict[str, Any]]:
        """Everything that arrives until nothing has for `quiet` seconds."""
        out = []
        while True:
            try:
                out.append(await self.recv(quiet))
            except TimeoutError:
                return out

    async def close(self) -> None:
        await self.ws.close()


def channel(message: dict[str, Any], name: str) -> bool:
    return message.get("arg", {}).get("channel") == name and "data" in message


@asynccontextmanager
async def running(settings: SimSettings | None = None, *, clock: Clock | None = None,
                  options: ServerOptions | None = None) -> AsyncIterator[Venue]:
    exchange = SimExchange(settings if settings is not None else static_settings())
    server = OkxServer(exchange, api_key=KEY, api_secret=SECRET, api_passphrase=PASSPHRASE,
                       clock=clock if clock is not None else StepClock(), options=options)
    await server.start()
    session = aiohttp.ClientSession()
    try:
        venue = Venue(server, exchange, session)
        venue.step()
        yield venue
    finally:
        await session.close()
        await server.stop()
        exchange.close()
