"""Gate's futures WebSocket (`/v4/ws/usdt`) as a connection that stays up, over
`common/reconnecting_ws.py`.

Every frame is `{"time", "id"?, "channel", "event", "payload"?, "auth"?}` (exchange_apis_more.md §H6).
On every (re)connection the session subscribes its channels, one frame each: a private channel's
frame carries `auth` (`auth.py`, signed over channel, event and the frame's time). It waits for
every answer (`{"id", "event": "subscribe", "error": null, "result": {"status": "success"}}`)
before it reports the stream up, so nothing is trusted from a half-set-up socket; an answer with
`error.code` 4 is a refused key, kept in `auth_error`. Then it reads, and sends Gate's
application ping (`futures.ping`, answered by `futures.pong`) whenever `ping_interval_s` passed
without a frame received or sent; one that brings nothing within `pong_timeout_s` is replaced.
Pushes (`event` "update" or "all") go to `on_message(message, recv_ts)`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.client import ClientConnection

from pmm.connectors.base import Emit
from pmm.connectors.common.backoff import Backoff
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.common.socket_session import SocketSession
from pmm.connectors.common.wire_json import decode_json
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.auth import GateAuth
from pmm.core.clock import Clock

log = logging.getLogger("pmm.gate.ws")

Handler = Callable[[dict[str, Any], float], None]
AUTH_FAILED_CODE = 4


@dataclass(frozen=True, slots=True)
class Sub:
    """One subscription: a channel and its payload; `private` ones are signed."""

    channel: str
    payload: tuple[str, ...]
    private: bool = False


class HandshakeFailed(Exception):
    pass


class GateSocket(SocketSession):
    """A self-healing Gate futures socket. `start()` runs it as a task; `stop()` ends it."""

    def __init__(self, *, name: str, connector_id: str, url: str, subs: Sequence[Sub], on_message: Handler,
                 emit: Emit, clock: Clock, auth: GateAuth | None = None,
                 on_connected: Callable[[], None] | None = None, on_disconnected: Callable[[str], None] | None = None,
                 ping_interval_s: float = spec.WS_PING_INTERVAL_S, pong_timeout_s: float = 8.0,
                 ack_timeout_s: float = 10.0, backoff: Backoff | None = None, sleep: Sleep = asyncio.sleep,
                 ping_channel: str = spec.CHANNEL_PING) -> None:
        self._open_socket(name=name, connector_id=connector_id, url=url, on_message=on_message, emit=emit, clock=clock,
                          on_connected=on_connected, on_disconnected=on_disconnected,
                          ping_interval_s=ping_interval_s, pong_timeout_s=pong_timeout_s,
                          ack_timeout_s=ack_timeout_s, backoff=backoff, sleep=sleep)
        self._ping_channel = ping_channel  # "futures.ping", or "spot.ping" on the spot socket
        self.subs = list(subs)
        self._auth = auth
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"GateSocket({self.name!r}, connected={self.connected})"

    def _frame(self, sub: Sub, event: str) -> tuple[int, str]:
        msg_id = next(self._ids)
        now = self._auth.ws_time() if self._auth is not None else int(self._clock.now())
        frame: dict[str, Any] = {"id": msg_id, "time": now, "channel": sub.channel, "event": event,
                                 "payload": list(sub.payload)}
        if sub.private:
            assert self._auth is not None, "a private channel needs keys"
            frame["auth"] = self._auth.ws_auth(sub.channel, event, now)
        return msg_id, json.dumps(frame)

    async def resubscribe(self, subs: Sequence[Sub]) -> bool:
        """Unsubscribe and subscribe `subs` again on the live connection. False if not connected."""
        if not self.connected:
            return False
        for sub in subs:
            for event in ("unsubscribe", "subscribe"):
                if not await self._socket.send(self._frame(sub, event)[1]):
                    return False
        return True

    # --- the session ------------------------------------------------------------------------------

    async def _session(self, ws: ClientConnection, up: Callable[[], None]) -> str:
        early: list[tuple[dict[str, Any], float]] = []
        try:
            await asyncio.wait_for(self._handshake(ws, early), self._ack_timeout_s)
        except TimeoutError:
            return f"no answer to the subscriptions within {self._ack_timeout_s:g} s"
        except HandshakeFailed as exc:
            return str(exc)
        up()
        self.up_event.set()
        for message, recv_ts in early:
            self._dispatch(message, recv_ts)
        return await self._read(ws)

    async def _handshake(self, ws: ClientConnection, early: list[tuple[dict[str, Any], float]]) -> None:
        pending: dict[int, Sub] = {}
        for sub in self.subs:
            msg_id, text = self._frame(sub, "subscribe")
            pending[msg_id] = sub
            await ws.send(text)
        while pending:
            raw = await ws.recv()
            recv_ts = self._clock.now()
            message = self._decode(raw)
            if message is None:
                continue
            if message.get("event") != "subscribe":
                if message.get("event") in ("update", "all"):
                    early.append((message, recv_ts))
                continue
            sub = pending.pop(message.get("id"), None)  # type: ignore[arg-type]
            error = message.get("error")
            if sub is not None and error:
                reason = f"{error.get('message') or 'refused'} (code {error.get('code')})"
                if sub.private and error.get("code") == AUTH_FAILED_CODE:
                    self.auth_error = reason
                    self.auth_failed.set()
                    raise HandshakeFailed(f"Gate refused the keys on {sub.channel}: {reason}")
                raise HandshakeFailed(f"Gate refused the subscription to {sub.channel}: {reason}")
        self.auth_error = None
        self.auth_failed.clear()

    async def _read(self, ws: ClientConnection) -> str:
        last_rx = last_tx = self._clock.now()
        pinged_at: float | None = None
        while True:
            now = self._clock.now()
            if pinged_at is None and now - min(last_rx, last_tx) >= self._ping_interval_s:
                await ws.send(json.dumps({"time": int(now), "channel": self._ping_channel}))
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
            pinged_at = None
            message = self._decode(raw)
            if message is None:
                continue
            event = message.get("event")
            if message.get("error"):
                log.warning("%s stream: Gate error on %s: %s", self.name, message.get("channel"), message["error"])
            elif event in ("update", "all"):
                self._dispatch(message, recv_ts)
            elif message.get("type") == "upgrade":
                return f"Gate announced a service upgrade ({message.get('msg')}); reconnecting ahead of it"

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
