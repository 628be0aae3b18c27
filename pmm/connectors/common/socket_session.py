"""`SocketSession`: what every venue's stream session shows of its reconnecting WebSocket.

A venue's session (its login or auth, subscriptions and acknowledgements) owns one
`ReconnectingWebSocket` as `_socket` and sets `up_event` once the first connection is up
(authenticated and subscribed) or `auth_failed` when the venue refused the keys. The connection
state, start/stop/reconnect and the wait for the first connection are the same on every venue, so
they live here once; the venue class adds its own protocol.

A session that logs in and subscribes before it counts as up can also leave the connection's life
to `_session`: the venue's `_handshake` (within `_ack_timeout_s`; `HandshakeFailed` when refused),
then "up", the venue's `_after_up` requests, the data frames that came during the handshake, and
the venue's `_read` until the connection ends. `_dispatch` hands one frame to the venue's
`_on_message`: a handler that fails on it costs that frame, never the stream.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from websockets.asyncio.client import ClientConnection

from pmm.connectors.base import Emit
from pmm.connectors.common.reconnecting_ws import Backoff, ReconnectingWebSocket
from pmm.core.clock import Clock

__all__ = ["HandshakeFailed", "SocketSession"]

log = logging.getLogger("pmm.connectors.ws")

Early = list[tuple[Any, float]]  # data frames that came during the handshake, with their receive times


class HandshakeFailed(Exception):
    """The venue refused the login or the subscriptions: the connection ends with this reason."""


class SocketSession:
    _socket: ReconnectingWebSocket
    up_event: asyncio.Event
    auth_failed: asyncio.Event
    # What `_session` and `_dispatch` use (a venue's session that leaves the connection's life to them).
    name: str
    bad_frames: int
    _ack_timeout_s: float
    _on_message: Callable[[Any, float], None]
    handshake_words = "login/subscribe"  # what the handshake asks for, in the reason it timed out

    def _open_socket(self, *, name: str, connector_id: str, url: str, on_message: Callable[[Any, float], None],
                     emit: Emit, clock: Clock, on_connected: Callable[[], None] | None,
                     on_disconnected: Callable[[str], None] | None, ping_interval_s: float, pong_timeout_s: float,
                     ack_timeout_s: float, backoff: Backoff | None,
                     sleep: Callable[[float], Awaitable[None]]) -> None:
        """The state every session that leaves the connection's life to `_session` starts with, and
        its reconnecting WebSocket (not connected until `start`)."""
        self.name = name
        self._on_message = on_message
        self._clock = clock
        self._ping_interval_s = ping_interval_s
        self._pong_timeout_s = pong_timeout_s
        self._ack_timeout_s = ack_timeout_s
        self.auth_error: str | None = None
        self.bad_frames = 0
        self.pings_sent = 0
        self.up_event = asyncio.Event()
        self.auth_failed = asyncio.Event()
        self._socket = ReconnectingWebSocket(
            name=name, connector_id=connector_id, url=url, session=self._session, emit=emit, clock=clock,
            on_connected=on_connected, on_disconnected=on_disconnected, backoff=backoff or Backoff(0.5, 30.0),
            sleep=sleep)

    @property
    def connected(self) -> bool:
        return self._socket.connected

    @property
    def connections(self) -> int:
        return self._socket.connections

    @property
    def last_reason(self) -> str:
        return self._socket.last_reason

    def start(self) -> None:
        self._socket.start()

    async def stop(self) -> None:
        await self._socket.stop()

    async def reconnect(self, reason: str) -> None:
        await self._socket.reconnect(reason)

    async def wait_up(self, timeout_s: float) -> bool:
        """Wait until the first connection is up (authenticated and subscribed), or the venue
        refused the keys; True when it is up."""
        waiters = [asyncio.ensure_future(self.up_event.wait()), asyncio.ensure_future(self.auth_failed.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return self.up_event.is_set()

    # --- a connection's life: handshake, up, early frames, read ---------------------------------

    async def _session(self, ws: ClientConnection, up: Callable[[], None]) -> str:
        """One connection, until it ends; returns why (see module docstring)."""
        early: Early = []
        try:
            await asyncio.wait_for(self._handshake(ws, early), self._ack_timeout_s)
        except TimeoutError:
            return f"no answer to {self.handshake_words} within {self._ack_timeout_s:g} s"
        except HandshakeFailed as exc:
            return str(exc)
        up()
        self.up_event.set()
        await self._after_up(ws)
        for message, recv_ts in early:
            self._dispatch(message, recv_ts)
        return await self._read(ws)

    async def _handshake(self, ws: ClientConnection, early: Early) -> None:
        """Log in and subscribe, keeping data frames that come meanwhile in `early`."""
        raise NotImplementedError

    async def _after_up(self, ws: ClientConnection) -> None:
        """Requests to send once the connection is up (optional subscriptions). Default: none."""

    async def _read(self, ws: ClientConnection) -> str:
        """Read until the connection ends; returns why."""
        raise NotImplementedError

    def _dispatch(self, message: Any, recv_ts: float) -> None:
        try:
            self._on_message(message, recv_ts)
        except Exception:  # one bad payload must not take the stream down
            self.bad_frames += 1
            log.exception("%s stream: handler failed on a message", self.name)
