"""OKX v5 WebSocket connections (public, private) that stay up, over `common/reconnecting_ws.py`.

On every (re)connection the session logs in when it has keys (`{"op": "login"}` with the passphrase
and a signed unix-seconds timestamp, `auth.py`), subscribes its channels and waits for every
acknowledgement before it reports the stream up, so nothing is trusted from a half-set-up socket.
Then it reads, and sends the text `ping` (OKX answers `pong`) whenever `ping_interval_s` passed
without a frame received or sent (OKX drops a socket idle for 30 s; a socket full of market data
still pings); one that brings nothing within `pong_timeout_s` of a ping is replaced.

`resubscribe(args)` unsubscribes and subscribes again on the live connection: OKX then sends a new
book snapshot (the cure for a sequence gap). `optional_args` are asked for in a request of their own
once each connection is up: a refusal is logged and never keeps the stream down. A refused login is
kept in `auth_error`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection

from pmm.connectors.base import Emit
from pmm.connectors.common.backoff import Backoff
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.common.socket_session import SocketSession
from pmm.connectors.common.wire_json import decode_json
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.auth import OkxAuth
from pmm.core.clock import Clock

log = logging.getLogger("pmm.okx.ws")

Handler = Callable[[dict[str, Any], float], None]
Arg = dict[str, str]


class HandshakeFailed(Exception):
    pass


class OkxSocket(SocketSession):
    """A self-healing OKX socket. `start()` runs it as a task; `stop()` ends it."""

    def __init__(self, *, name: str, connector_id: str, url: str, args: Sequence[Arg], on_message: Handler,
                 emit: Emit, clock: Clock, auth: OkxAuth | None = None, optional_args: Sequence[Arg] = (),
                 on_connected: Callable[[], None] | None = None, on_disconnected: Callable[[str], None] | None = None,
                 ping_interval_s: float = spec.WS_PING_INTERVAL_S, pong_timeout_s: float = 8.0,
                 ack_timeout_s: float = 10.0, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self._open_socket(name=name, connector_id=connector_id, url=url, on_message=on_message, emit=emit, clock=clock,
                          on_connected=on_connected, on_disconnected=on_disconnected,
                          ping_interval_s=ping_interval_s, pong_timeout_s=pong_timeout_s,
                          ack_timeout_s=ack_timeout_s, backoff=backoff, sleep=sleep)
        self.args = list(args)
        self.optional_args = list(optional_args)
        self._auth = auth
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"OkxSocket({self.name!r}, connected={self.connected})"

    async def resubscribe(self, args: Sequence[Arg]) -> bool:
        """Unsubscribe and subscribe `args` again (a fresh snapshot follows). False if not connected."""
        if not self.connected:
            return False
        return await self._request("unsubscribe", args) and await self._request("subscribe", args)

    async def _request(self, op: str, args: Sequence[Arg]) -> bool:
        return await self._socket.send(json.dumps({"id": str(next(self._ids)), "op": op, "args": list(args)}))

    # --- the session ------------------------------------------------------------------------------

    async def _session(self, ws: ClientConnection, up: Callable[[], None]) -> str:
        early: list[tuple[dict[str, Any], float]] = []
        try:
            await asyncio.wait_for(self._handshake(ws, early), self._ack_timeout_s)
        except TimeoutError:
            return f"no answer to login/subscribe within {self._ack_timeout_s:g} s"
        except HandshakeFailed as exc:
            return str(exc)
        up()
        self.up_event.set()
        if self.optional_args:
            await ws.send(json.dumps({"id": str(next(self._ids)), "op": "subscribe", "args": self.optional_args}))
        for message, recv_ts in early:
            self._dispatch(message, recv_ts)
        return await self._read(ws)

    async def _handshake(self, ws: ClientConnection, early: list[tuple[dict[str, Any], float]]) -> None:
        if self._auth is not None:
            await ws.send(json.dumps(self._auth.ws_login_message()))
            reply = await self._await_event(ws, early)
            if reply.get("event") != "login" or str(reply.get("code", "0")) != "0":
                self.auth_error = f"{reply.get('msg') or 'login refused'} (code {reply.get('code')})"
                self.auth_failed.set()
                raise HandshakeFailed(f"login refused by OKX: {self.auth_error}")
            self.auth_error = None
            self.auth_failed.clear()
        if not self.args:
            return
        await ws.send(json.dumps({"id": str(next(self._ids)), "op": "subscribe", "args": self.args}))
        pending = [dict(a) for a in self.args]
        while pending:
            reply = await self._await_event(ws, early)
            if reply.get("event") == "error":
                raise HandshakeFailed(f"subscription refused by OKX: {reply.get('msg')} (code {reply.get('code')})")
            acked = reply.get("arg") or {}
            if reply.get("event") == "subscribe":
                pending = [a for a in pending if any(acked.get(k) != v for k, v in a.items())]

    async def _await_event(self, ws: ClientConnection, early: list[tuple[dict[str, Any], float]]) -> dict[str, Any]:
        """Read until a login / subscribe / error event arrives; data that comes first is kept for later."""
        while True:
            raw = await ws.recv()
            recv_ts = self._clock.now()
            message = self._decode(raw)
            if message is None:
                continue
            if message.get("event") in ("login", "subscribe", "error"):
                return message
            if "data" in message:
                early.append((message, recv_ts))

    async def _read(self, ws: ClientConnection) -> str:
        last_rx = last_tx = self._clock.now()
        pinged_at: float | None = None
        while True:
            now = self._clock.now()
            if pinged_at is None and now - min(last_rx, last_tx) >= self._ping_interval_s:
                # Silence either way: OKX drops a socket after 30 s, so ping even while data flows in.
                await ws.send(spec.WS_PING)
                self.pings_sent += 1
                last_tx = pinged_at = now
            elif pinged_at is not None and now - pinged_at >= self._pong_timeout_s:
                return f"no data or pong for {now - last_rx:.0f} s"
            due = pinged_at + self._pong_timeout_s if pinged_at is not None else \
                min(last_rx, last_tx) + self._ping_interval_s
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for wraps every recv in a new task
                async with asyncio.timeout(max(0.0, due - now)):
                    raw = await ws.recv()
            except TimeoutError:
                continue
            recv_ts = last_rx = self._clock.now()
            pinged_at = None  # anything received shows the connection alive
            message = self._decode(raw)
            if message is None:
                continue
            event = message.get("event")
            if event == "error":
                log.warning("%s stream: OKX error %s: %s", self.name, message.get("code"), message.get("msg"))
            elif event == "notice":
                return f"OKX notice {message.get('code')}: {message.get('msg')}; reconnecting ahead of it"
            elif event is None:
                self._dispatch(message, recv_ts)

    def _decode(self, raw: str | bytes) -> dict[str, Any] | None:
        text = raw if isinstance(raw, str) else raw.decode()
        if text == spec.WS_PONG:
            return None
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
