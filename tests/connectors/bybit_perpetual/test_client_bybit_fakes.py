"""Test doubles for the Bybit client tests: a scripted fake venue on 127.0.0.1, fixtures, clocks.

`FakeBybit` answers REST requests from per-route scripts (or an envelope with `result: {}`),
verifies every signature over the raw query string or body it received (as the real venue does),
records what it got, and serves `/v5/public/linear` and `/v5/private`: it answers `auth` (checking
the HMAC of "GET/realtime" + expires), `subscribe`, `unsubscribe` and `ping` like Bybit and pushes
whatever the test sends. Nothing leaves loopback. (No tests in this module.)
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
API_KEY = "T3stKeyAbCdEfGh1234"
API_SECRET = "t3st-s3cret-9f8e7d6c5b4a39281706f5e4d3c2b1a0"


def fixture(name: str) -> Any:
    """A fixture file's JSON (numbers that are not integers would become floats: there are none)."""
    return json.loads((FIXTURES / name).read_text())


def envelope(result: Any = None, code: int = 0, msg: str = "OK") -> dict[str, Any]:
    return {"retCode": code, "retMsg": msg, "result": {} if result is None else result, "retExtInfo": {},
            "time": 1700000000000}


class StepClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class RecordingSleep:
    """An injected sleep that records what it was asked and moves a StepClock instead of waiting."""

    def __init__(self, clock: StepClock | None = None) -> None:
        self.clock = clock
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        if self.clock is not None:
            self.clock.advance(seconds)
        await asyncio.sleep(0)


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

    def json(self) -> Any:
        return json.loads(self.body)


Reply = tuple[int, Any, dict[str, str]] | Callable[[Recorded], Any]


@dataclass
class FakeBybit:
    secret: str = API_SECRET
    api_key: str = API_KEY
    requests: list[Recorded] = field(default_factory=list)
    bad_signatures: int = 0
    _scripts: dict[tuple[str, str], deque[Reply]] = field(default_factory=lambda: defaultdict(deque))
    _defaults: dict[tuple[str, str], Reply] = field(default_factory=dict)
    ws_clients: dict[str, list[web.WebSocketResponse]] = field(default_factory=lambda: defaultdict(list))
    ws_frames: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    auth_ok: bool = True
    ack_subscriptions: bool = True
    answer_pings: bool = True
    on_subscribe: Callable[[str, list[str]], Any] | None = None  # (route, topics) -> messages to push

    def reply(self, method: str, path: str, *replies: Reply) -> None:
        """Queue replies for the next requests to (method, path); the last one also becomes the default."""
        for r in replies:
            self._scripts[(method, path)].append(r)
        if replies:
            self._defaults[(method, path)] = replies[-1]

    def calls(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path == path]

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/v5/public/linear", self._ws)
        app.router.add_route("GET", "/v5/private", self._ws)
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

    async def push(self, route: str, message: Any) -> None:
        """Send `message` to every client connected on `route` ("public" or "private")."""
        for ws in list(self.ws_clients[route]):
            if not ws.closed:
                await ws.send_str(json.dumps(message))

    async def drop(self, route: str) -> None:
        for ws in list(self.ws_clients[route]):
            await ws.close()
        self.ws_clients[route].clear()

    def connected(self, route: str) -> int:
        return sum(1 for ws in self.ws_clients[route] if not ws.closed)

    def _signature_ok(self, rec: Recorded) -> bool:
        h = {k.lower(): v for k, v in rec.headers.items()}
        payload = rec.query if rec.method == "GET" else rec.body
        message = f"{h.get('x-bapi-timestamp')}{h.get('x-bapi-api-key')}{h.get('x-bapi-recv-window')}{payload}"
        expected = hmac.new(self.secret.encode(), message.encode(), hashlib.sha256).hexdigest()
        return h.get("x-bapi-sign") == expected and h.get("x-bapi-api-key") == self.api_key

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        rec = Recorded(request.method, request.path, request.rel_url.raw_query_string, dict(request.headers),
                       await request.text())
        self.requests.append(rec)
        if "X-BAPI-SIGN" in request.headers and not self._signature_ok(rec):
            self.bad_signatures += 1
            return web.json_response(envelope(code=10004, msg="error sign!"))
        key = (request.method, request.path)
        script = self._scripts.get(key)
        reply = script.popleft() if script else self._defaults.get(key)
        if reply is None:
            return web.json_response(envelope({}))
        if callable(reply):
            result = reply(rec)
            if asyncio.iscoroutine(result):
                result = await result
            reply = result
        status, body, headers = reply
        if isinstance(body, str):
            return web.Response(text=body, status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)

    async def _ws(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        route = "private" if request.path.endswith("private") else "public"
        self.ws_clients[route].append(ws)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            self.ws_frames[route].append(frame)
            op, req_id = frame.get("op"), frame.get("req_id", "")
            if op == "auth":
                key, expires, signature = frame["args"]
                expected = hmac.new(self.secret.encode(), f"GET/realtime{expires}".encode(), hashlib.sha256).hexdigest()
                ok = self.auth_ok and key == self.api_key and signature == expected
                await ws.send_json({"success": ok, "ret_msg": "" if ok else "Params Error", "op": "auth",
                                    "conn_id": "fake-conn"})
            elif op in ("subscribe", "unsubscribe"):
                ok = self.ack_subscriptions or op == "unsubscribe"
                await ws.send_json({"success": ok, "ret_msg": "" if ok else "error:handler not found",
                                    "conn_id": "fake-conn", "req_id": req_id, "op": op})
                if ok and op == "subscribe" and self.on_subscribe is not None:
                    for message in self.on_subscribe(route, list(frame["args"])) or ():
                        await ws.send_json(message)
            elif op == "ping" and self.answer_pings:
                if route == "private":
                    await ws.send_json({"req_id": req_id, "op": "pong", "args": ["1675418560633"],
                                        "conn_id": "fake-conn"})
                else:
                    await ws.send_json({"success": True, "ret_msg": "pong", "conn_id": "fake-conn", "req_id": req_id,
                                        "op": "ping"})
        return ws
