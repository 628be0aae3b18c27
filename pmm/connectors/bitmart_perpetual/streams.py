"""BitMart Futures V2 WebSocket connections (public `/api`, private `/user`) that stay up, over
`common/reconnecting_ws.py`.

On every (re)connection the session logs in when it has keys (`{"action": "access", "args": [key,
ts_ms, sign, "web"]}`, `auth.py`; BitMart answers `{"action": "access", "success": true}` or
disconnects), subscribes its topics (`{"action": "subscribe", "args": [...]}`) and waits for every
acknowledgement (`{"action": "subscribe", "group": topic, "success": true}`) before it reports the
stream up, so nothing is trusted from a half-set-up socket. Then it reads, and sends the text
`ping` (BitMart answers `pong`) whenever `ping_interval_s` passed without a frame received or sent
(BitMart closes a socket without data for 20 s); one that brings nothing within `pong_timeout_s`
of a ping is replaced.

`request(topics)` asks for a one-shot push on the live connection (`{"action": "request"}`): a
fresh depth snapshot after a version gap. A refused login is kept in `auth_error`. The spot socket
(`words=SPOT`) says `op` / `event` / `topic` / `table` instead, and its host deflates frames.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection

from pmm.connectors.base import Emit
from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.auth import BitmartAuth
from pmm.connectors.common.backoff import Backoff
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.common.socket_session import SocketSession
from pmm.connectors.common.wire_json import decode_json
from pmm.core.clock import Clock

log = logging.getLogger("pmm.bitmart.ws")

Handler = Callable[[dict[str, Any], float], None]
PING, PONG = "ping", "pong"
_CONTROL = ("access", "subscribe", "unsubscribe", "request", "ping", "error")


@dataclass(frozen=True, slots=True)
class Words:
    """Where a BitMart socket puts things: futures say `{"action", "args"}` and answer
    `{"action", "group", "success"}`, data under `group`; spot says `{"op", "args"}` and answers
    `{"event", "topic"}` (or `{"event": "error", "errorCode"}`), data under `table`."""

    verb: str = "action"
    answer: str = "action"
    answer_topic: str = "group"
    data: str = "group"


FUTURES = Words()
SPOT = Words(verb="op", answer="event", answer_topic="topic", data="table")


class HandshakeFailed(Exception):
    pass


class BitmartSocket(SocketSession):
    """A self-healing BitMart socket. `start()` runs it as a task; `stop()` ends it."""

    def __init__(self, *, name: str, connector_id: str, url: str, topics: Sequence[str], on_message: Handler,
                 emit: Emit, clock: Clock, auth: BitmartAuth | None = None,
                 on_connected: Callable[[], None] | None = None, on_disconnected: Callable[[str], None] | None = None,
                 ping_interval_s: float = spec.WS_PING_INTERVAL_S, pong_timeout_s: float = 8.0,
                 ack_timeout_s: float = 10.0, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep,
                 words: Words = FUTURES) -> None:
        self._open_socket(name=name, connector_id=connector_id, url=url, on_message=on_message, emit=emit, clock=clock,
                          on_connected=on_connected, on_disconnected=on_disconnected,
                          ping_interval_s=ping_interval_s, pong_timeout_s=pong_timeout_s,
                          ack_timeout_s=ack_timeout_s, backoff=backoff, sleep=sleep)
        self.words = words
        self.topics = list(topics)
        self._auth = auth

    def __repr__(self) -> str:
        return f"BitmartSocket({self.name!r}, connected={self.connected})"

    async def request(self, topics: Sequence[str]) -> bool:
        """Ask for a one-shot push of `topics` (a depth snapshot). False if not connected."""
        if not self.connected:
            return False
        return await self._socket.send(json.dumps({self.words.verb: "request", "args": list(topics)}))

    # --- the session ------------------------------------------------------------------------------

    async def _session(self, ws: ClientConnection, up: Callable[[], None]) -> str:
        early: list[tuple[dict[str, Any], float]] = []
        try:
            await asyncio.wait_for(self._handshake(ws, early), self._ack_timeout_s)
        except TimeoutError:
            return f"no answer to access/subscribe within {self._ack_timeout_s:g} s"
        except HandshakeFailed as exc:
            return str(exc)
        up()
        self.up_event.set()
        for message, recv_ts in early:
            self._dispatch(message, recv_ts)
        return await self._read(ws)

    async def _handshake(self, ws: ClientConnection, early: list[tuple[dict[str, Any], float]]) -> None:
        if self._auth is not None:
            await ws.send(json.dumps(self._auth.ws_login_message()))
            try:
                reply = await self._await_control(ws, early)
            except HandshakeFailed:
                self.auth_error = "BitMart closed the socket after the access frame"
                self.auth_failed.set()
                raise
            if reply.get("action") != "access" or reply.get("success") is not True:
                self.auth_error = str(reply.get("error") or "access refused")
                self.auth_failed.set()
                raise HandshakeFailed(f"login refused by BitMart: {self.auth_error}")
            self.auth_error = None
            self.auth_failed.clear()
        if not self.topics:
            return
        words = self.words
        await ws.send(json.dumps({words.verb: "subscribe", "args": self.topics}))
        pending = set(self.topics)
        while pending:
            reply = await self._await_control(ws, early)
            answer = reply.get(words.answer)
            if answer == "error" or reply.get("success") is False:
                raise HandshakeFailed(f"subscription refused by BitMart: {reply.get('error') or reply.get('message')} "
                                      f"({reply.get(words.answer_topic) or reply.get('errorCode')})")
            if answer == "subscribe":
                pending.discard(str(reply.get(words.answer_topic)))

    async def _await_control(self, ws: ClientConnection, early: list[tuple[dict[str, Any], float]]) -> dict[str, Any]:
        """Read until an access / subscribe answer arrives; data that comes first is kept for later."""
        while True:
            try:
                raw = await ws.recv()
            except Exception as exc:  # the venue closes the socket on a refused login
                reason = type(exc).__name__
                raise HandshakeFailed(f"BitMart closed the socket during the handshake ({reason})") from None
            recv_ts = self._clock.now()
            message = self._decode(raw)
            if message is None:
                continue
            if message.get(self.words.answer) in _CONTROL and "data" not in message:
                return message
            if self.words.data in message:
                early.append((message, recv_ts))

    async def _read(self, ws: ClientConnection) -> str:
        last_rx = last_tx = self._clock.now()
        pinged_at: float | None = None
        while True:
            now = self._clock.now()
            if pinged_at is None and now - min(last_rx, last_tx) >= self._ping_interval_s:
                await ws.send(PING)
                self.pings_sent += 1
                last_tx = pinged_at = now
            elif pinged_at is not None and now - pinged_at >= self._pong_timeout_s:
                return f"no data or pong for {now - last_rx:.0f} s"
            due = pinged_at + self._pong_timeout_s if pinged_at is not None else \
                min(last_rx, last_tx) + self._ping_interval_s
            try:
                async with asyncio.timeout(max(0.0, due - now)):
                    raw = await ws.recv()
            except TimeoutError:
                continue
            recv_ts = last_rx = self._clock.now()
            pinged_at = None  # anything received shows the connection alive
            message = self._decode(raw)
            if message is None:
                continue
            if self.words.data in message and "data" in message:
                self._dispatch(message, recv_ts)
            elif message.get("success") is False or message.get(self.words.answer) == "error":
                log.warning("%s stream: BitMart refused %s: %s", self.name, message.get(self.words.answer),
                            message.get("error") or message.get("message"))

    def _decode(self, raw: str | bytes) -> dict[str, Any] | None:
        text = raw if isinstance(raw, str) else _inflate(raw)
        if text == PONG:
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


def _inflate(raw: bytes) -> str:
    """A binary frame: raw DEFLATE on BitMart's compressing spot host, else plain UTF-8."""
    try:
        return zlib.decompress(raw, -zlib.MAX_WBITS).decode()
    except zlib.error:
        return raw.decode()
