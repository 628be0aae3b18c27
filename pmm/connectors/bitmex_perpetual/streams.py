"""The BitMEX `/realtime` WebSocket that stays up, over `common/reconnecting_ws.py`.

On every (re)connection the session reads BitMEX's welcome (`{"info": ..., "version": ...}`), then,
with keys, authenticates with `{"op": "authKeyExpires", "args": [key, expires, signature]}` (answered
`{"success": true, "request": ...}` or `{"status": 401, "error": ...}`), subscribes its topics
(`orderBookL2:XBTUSDT`, `execution`, ...) and waits until every topic is acknowledged (`{"success":
true, "subscribe": topic}`) before it reports the stream up. Then it reads table messages, and sends
the text `ping` (BitMEX answers `pong`) whenever `ping_interval_s` passed without a frame; one that
brings nothing within `pong_timeout_s` of a ping is replaced.

`resubscribe(topics)` unsubscribes and subscribes again on the live connection: BitMEX then sends a
new `partial` (the cure for a table gap). A refused authentication is kept in `auth_error`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection

from pmm.connectors.base import Emit
from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.auth import BitmexAuth
from pmm.connectors.common.backoff import Backoff
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.common.socket_session import SocketSession
from pmm.connectors.common.wire_json import decode_json
from pmm.core.clock import Clock

log = logging.getLogger("pmm.bitmex.ws")

Handler = Callable[[dict[str, Any], float], None]


class HandshakeFailed(Exception):
    pass


class BitmexSocket(SocketSession):
    """A self-healing BitMEX socket. `start()` runs it as a task; `stop()` ends it."""

    def __init__(self, *, name: str, connector_id: str, url: str, topics: Sequence[str], on_message: Handler,
                 emit: Emit, clock: Clock, auth: BitmexAuth | None = None,
                 on_connected: Callable[[], None] | None = None, on_disconnected: Callable[[str], None] | None = None,
                 ping_interval_s: float = spec.WS_PING_INTERVAL_S, pong_timeout_s: float = 8.0,
                 ack_timeout_s: float = 10.0, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self._open_socket(name=name, connector_id=connector_id, url=url, on_message=on_message, emit=emit, clock=clock,
                          on_connected=on_connected, on_disconnected=on_disconnected,
                          ping_interval_s=ping_interval_s, pong_timeout_s=pong_timeout_s,
                          ack_timeout_s=ack_timeout_s, backoff=backoff, sleep=sleep)
        self.topics = list(topics)
        self._auth = auth

    def __repr__(self) -> str:
        return f"BitmexSocket({self.name!r}, connected={self.connected})"

    async def resubscribe(self, topics: Sequence[str]) -> bool:
        """Unsubscribe and subscribe `topics` again (a fresh partial follows). False if not connected."""
        if not self.connected:
            return False
        return await self._op("unsubscribe", topics) and await self._op("subscribe", topics)

    async def _op(self, op: str, args: Any) -> bool:
        return await self._socket.send(json.dumps({"op": op, "args": args}))

    # --- the session ------------------------------------------------------------------------------

    async def _session(self, ws: ClientConnection, up: Callable[[], None]) -> str:
        early: list[tuple[dict[str, Any], float]] = []
        try:
            await asyncio.wait_for(self._handshake(ws, early), self._ack_timeout_s)
        except TimeoutError:
            return f"no answer to authKeyExpires/subscribe within {self._ack_timeout_s:g} s"
        except HandshakeFailed as exc:
            return str(exc)
        up()
        self.up_event.set()
        for message, recv_ts in early:
            self._dispatch(message, recv_ts)
        return await self._read(ws)

    async def _handshake(self, ws: ClientConnection, early: list[tuple[dict[str, Any], float]]) -> None:
        if self._auth is not None:
            await ws.send(json.dumps(self._auth.ws_auth_message()))
            reply = await self._await_reply(ws, early)
            if reply.get("success") is not True:
                self.auth_error = f"{reply.get('error') or 'authentication refused'} (status {reply.get('status')})"
                self.auth_failed.set()
                raise HandshakeFailed(f"authKeyExpires refused by BitMEX: {self.auth_error}")
            self.auth_error = None
            self.auth_failed.clear()
        if not self.topics:
            return
        await ws.send(json.dumps({"op": "subscribe", "args": self.topics}))
        pending = set(self.topics)
        while pending:
            reply = await self._await_reply(ws, early)
            if reply.get("error") is not None:
                raise HandshakeFailed(f"subscription refused by BitMEX: {reply.get('error')} "
                                      f"(status {reply.get('status')})")
            pending.discard(str(reply.get("subscribe")))

    async def _await_reply(self, ws: ClientConnection, early: list[tuple[dict[str, Any], float]]) -> dict[str, Any]:
        """Read until an answer to a request arrives; table data that comes first is kept for later."""
        while True:
            raw = await ws.recv()
            recv_ts = self._clock.now()
            message = self._decode(raw)
            if message is None:
                continue
            if "success" in message or "error" in message:
                return message
            if "table" in message:
                early.append((message, recv_ts))

    async def _read(self, ws: ClientConnection) -> str:
        last_rx = self._clock.now()
        pinged_at: float | None = None
        while True:
            now = self._clock.now()
            if pinged_at is None and now - last_rx >= self._ping_interval_s:
                await ws.send(spec.WS_PING)
                self.pings_sent += 1
                pinged_at = now
            elif pinged_at is not None and now - pinged_at >= self._pong_timeout_s:
                return f"no data or pong for {now - last_rx:.0f} s"
            due = pinged_at + self._pong_timeout_s if pinged_at is not None else last_rx + self._ping_interval_s
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
            if "table" in message:
                self._dispatch(message, recv_ts)
            elif message.get("error") is not None:
                log.warning("%s stream: BitMEX error %s: %s", self.name, message.get("status"), message.get("error"))

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
