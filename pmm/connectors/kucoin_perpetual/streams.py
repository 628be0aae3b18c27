"""KuCoin WebSocket connections (public, private) that stay up, over `common/reconnecting_ws.py`.

Every (re)connection first asks REST for a token: `POST /api/v1/bullet-public`, or the signed
`POST /api/v1/bullet-private` for the account's topics. The answer names the endpoint, the ping
interval and the ping timeout; the socket connects to `<endpoint>?token=<t>&connectId=<id>`
(`connector.ws_url`, when the config sets it, replaces the endpoint). The server greets with
`{"type": "welcome"}`; every topic is subscribed with `response: true` and the session waits for
every `ack` before it reports the stream up. Then it reads, and sends `{"id", "type": "ping"}`
every ping interval; a socket that brings nothing within the ping timeout of a ping is replaced.
A bullet refused for the keys (AuthError) is kept in `auth_error`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection

from pmm.connectors.base import Emit
from pmm.connectors.common.backoff import Backoff
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.common.reconnecting_ws import ReconnectingWebSocket
from pmm.connectors.common.socket_session import SocketSession
from pmm.connectors.common.wire_json import decode_json
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.rest import KucoinRestClient
from pmm.core.clock import Clock
from pmm.errors import AuthError

log = logging.getLogger("pmm.kucoin.ws")

Handler = Callable[[dict[str, Any], float], None]


class HandshakeFailed(Exception):
    pass


def redact_token(url: str) -> str:
    base, _, query = url.partition("?")
    parts = [p if not p.startswith("token=") else "token=…" for p in query.split("&")] if query else []
    return base + ("?" + "&".join(parts) if parts else "")


class KucoinSocket(SocketSession):
    """A self-healing KuCoin socket over bullet tokens. `start()` runs it as a task; `stop()` ends it."""

    def __init__(self, *, name: str, connector_id: str, rest: KucoinRestClient, private: bool, topics: Sequence[str],
                 on_message: Handler, emit: Emit, clock: Clock, ws_url: str | None = None,
                 on_connected: Callable[[], None] | None = None, on_disconnected: Callable[[str], None] | None = None,
                 ack_timeout_s: float = 10.0, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.name = name
        self.topics = list(topics)
        self._rest = rest
        self._private = private
        self._ws_url = ws_url
        self._on_message = on_message
        self._clock = clock
        self._ack_timeout_s = ack_timeout_s
        self._ids = itertools.count(1)
        self.ping_interval_s = 18.0
        self.ping_timeout_s = 10.0
        self.auth_error: str | None = None
        self.bad_frames = 0
        self.pings_sent = 0
        self.up_event = asyncio.Event()
        self.auth_failed = asyncio.Event()
        self._socket = ReconnectingWebSocket(
            name=name, connector_id=connector_id, url=self._endpoint, session=self._session, emit=emit, clock=clock,
            on_connected=on_connected, on_disconnected=on_disconnected, backoff=backoff or Backoff(0.5, 30.0),
            sleep=sleep, redact=redact_token)

    def __repr__(self) -> str:
        return f"KucoinSocket({self.name!r}, connected={self.connected})"

    async def _endpoint(self) -> str:
        """A fresh token and endpoint from the bullet (each connection needs its own)."""
        path = spec.BULLET_PRIVATE_PATH if self._private else spec.BULLET_PUBLIC_PATH
        try:
            data = await (self._rest.post(path, {}, what="get a private WebSocket token") if self._private
                          else self._rest.public(path, method="POST"))
        except AuthError as exc:
            self.auth_error = str(exc)
            self.auth_failed.set()
            raise
        server = data["instanceServers"][0]
        self.ping_interval_s = int(server.get("pingInterval") or 18000) / 1000
        self.ping_timeout_s = int(server.get("pingTimeout") or 10000) / 1000
        endpoint = self._ws_url or str(server["endpoint"])
        if "?" in endpoint:
            endpoint += "&"
        else:
            endpoint = endpoint.rstrip("/") + "/?"
        return f"{endpoint}token={data['token']}&connectId={uuid.uuid4().hex}"

    # --- the session ------------------------------------------------------------------------------

    async def _session(self, ws: ClientConnection, up: Callable[[], None]) -> str:
        early: list[tuple[dict[str, Any], float]] = []
        try:
            await asyncio.wait_for(self._handshake(ws, early), self._ack_timeout_s)
        except TimeoutError:
            return f"no welcome or acknowledgement within {self._ack_timeout_s:g} s"
        except HandshakeFailed as exc:
            return str(exc)
        self.auth_error = None
        self.auth_failed.clear()
        up()
        self.up_event.set()
        for message, recv_ts in early:
            self._dispatch(message, recv_ts)
        return await self._read(ws)

    async def _handshake(self, ws: ClientConnection, early: list[tuple[dict[str, Any], float]]) -> None:
        welcome = await self._await_control(ws, early)
        if welcome.get("type") != "welcome":
            raise HandshakeFailed(f"KuCoin sent {welcome.get('type')!r} instead of a welcome: {welcome.get('data')}")
        pending: dict[str, str] = {}
        for topic in self.topics:
            msg_id = str(next(self._ids))
            pending[msg_id] = topic
            await ws.send(json.dumps({"id": msg_id, "type": "subscribe", "topic": topic,
                                      "privateChannel": self._private, "response": True}))
        while pending:
            reply = await self._await_control(ws, early)
            if reply.get("type") == "error":
                raise HandshakeFailed(f"subscription refused by KuCoin: {reply.get('data')} (code {reply.get('code')})")
            if reply.get("type") == "ack":
                pending.pop(str(reply.get("id")), None)

    async def _await_control(self, ws: ClientConnection, early: list[tuple[dict[str, Any], float]]) -> dict[str, Any]:
        """Read until a welcome / ack / error arrives; data that comes first is kept for later."""
        while True:
            raw = await ws.recv()
            recv_ts = self._clock.now()
            message = self._decode(raw)
            if message is None:
                continue
            if message.get("type") in ("welcome", "ack", "error"):
                return message
            if message.get("type") == "message":
                early.append((message, recv_ts))

    async def _read(self, ws: ClientConnection) -> str:
        last_tx = self._clock.now()
        pinged_at: float | None = None
        while True:
            now = self._clock.now()
            if pinged_at is None and now - last_tx >= self.ping_interval_s:
                # KuCoin wants a ping every pingInterval, data flowing in or not.
                await ws.send(json.dumps({"id": str(next(self._ids)), "type": "ping"}))
                self.pings_sent += 1
                last_tx = pinged_at = now
            elif pinged_at is not None and now - pinged_at >= self.ping_timeout_s:
                return f"no pong for {now - pinged_at:.0f} s"
            due = pinged_at + self.ping_timeout_s if pinged_at is not None else last_tx + self.ping_interval_s
            try:
                async with asyncio.timeout(max(0.0, due - now)):
                    raw = await ws.recv()
            except TimeoutError:
                continue
            recv_ts = self._clock.now()
            message = self._decode(raw)
            if message is None:
                continue
            kind = message.get("type")
            if kind == "pong":
                pinged_at = None
            elif kind == "message":
                self._dispatch(message, recv_ts)
            elif kind == "error":
                log.warning("%s stream: KuCoin error %s: %s", self.name, message.get("code"), message.get("data"))

    def _decode(self, raw: str | bytes) -> dict[str, Any] | None:
        text = raw if isinstance(raw, str) else raw.decode()
        try:
            message = decode_json(text)
        except ValueError:
            self.bad_frames += 1
            log.warning("%s stream: ignoring a frame that is not JSON", self.name)
            return None
        return message if isinstance(message, dict) else None

    def _dispatch(self, message: dict[str, Any], recv_ts: float) -> None:
        try:
            self._on_message(message, recv_ts)
        except Exception:  # one bad payload must not take the stream down
            self.bad_frames += 1
            log.exception("%s stream: handler failed on a message", self.name)
