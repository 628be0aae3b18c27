"""Test doubles for the Binance client tests: a scripted fake venue on 127.0.0.1, fixtures, clocks.

`FakeBinance` answers REST requests from per-route scripts, verifies every signature over the raw
query string it received (as the real venue does), records what it got, and serves WebSocket
endpoints that acknowledge SUBSCRIBE and push whatever the test sends. Nothing leaves loopback.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83"
API_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"


def fixture(name: str) -> Any:
    """A fixture file's JSON (numbers that are not integers would become floats: there are none)."""
    return json.loads((FIXTURES / name).read_text())


class StepClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


@dataclass
class Recorded:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: str

    def param(self, name: str) -> str | None:
        for part in self.query.split("&"):
            key, _, value = part.partition("=")
            if key == name:
                return value
        return None


Reply = tuple[int, Any, dict[str, str]] | Callable[["Recorded"], Any]


@dataclass
class FakeBinance:
    secret: str = API_SECRET
    requests: list[Recorded] = field(default_factory=list)
    bad_signatures: int = 0
    _scripts: dict[tuple[str, str], deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    _defaults: dict[tuple[str, str], Reply] = field(default_factory=dict)
    ws_clients: dict[str, list[web.WebSocketResponse]] = field(default_factory=lambda: defaultdict(list))
    subscriptions: list[tuple[str, list[str]]] = field(default_factory=list)
    ack_subscriptions: bool = True

    def reply(self, method: str, path: str, *replies: Reply) -> None:
        """Script (method, path): these replies in turn, then the last one for every later request."""
        self._scripts[(method, path)].clear()
        for r in replies:
            self._scripts[(method, path)].append(r)
        if replies:
            self._defaults[(method, path)] = replies[-1]

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:(public|market|private)/.*}", self._ws)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        for clients in self.ws_clients.values():
            for ws in clients:
                await ws.close()
        await self._runner.cleanup()

    async def push(self, route: str, message: Any, combined: bool = True) -> None:
        """Send `message` to every client connected on `route` ("public", "market", "private")."""
        for ws in list(self.ws_clients[route]):
            if not ws.closed:
                payload = {"stream": "x", "data": message} if combined and route != "private" else message
                await ws.send_str(json.dumps(payload))

    async def drop(self, route: str) -> None:
        for ws in list(self.ws_clients[route]):
            await ws.close()
        self.ws_clients[route].clear()

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        raw_query = request.rel_url.raw_query_string
        rec = Recorded(request.method, request.path, raw_query, dict(request.headers), await request.text())
        self.requests.append(rec)
        if "signature=" in raw_query:
            signed, _, signature = raw_query.rpartition("&signature=")
            expected = hmac.new(self.secret.encode(), (signed + rec.body).encode(), hashlib.sha256).hexdigest()
            if signature.lower() != expected:
                self.bad_signatures += 1
                return web.json_response({"code": -1022, "msg": "Signature for this request is not valid."},
                                         status=400)
        key = (request.method, request.path)
        script = self._scripts.get(key)
        reply = script.popleft() if script else self._defaults.get(key)
        if reply is None:
            return web.json_response({"code": -1000, "msg": f"no script for {key}"}, status=500)
        if callable(reply):
            result = reply(rec)
            if asyncio.iscoroutine(result):
                result = await result
            reply = result
        status, body, headers = reply
        return web.json_response(body, status=status, headers=headers)

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        route = request.path.strip("/").split("/")[0]
        self.ws_clients[route].append(ws)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            if frame.get("method") == "SUBSCRIBE":
                self.subscriptions.append((route, frame["params"]))
                if self.ack_subscriptions:
                    await ws.send_str(json.dumps({"result": None, "id": frame["id"]}))
        return ws


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def test_fixtures_are_valid_json() -> None:
    names = sorted(p.name for p in FIXTURES.glob("*.json"))
    assert names, "fixtures missing"
    for name in names:
        fixture(name)
