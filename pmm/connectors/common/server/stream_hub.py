"""The WebSocket half of every loopback venue server: connections, subscriptions, fan-out.

The hub owns the sockets; the venue's `StreamDialect` owns the words. Every text frame a client
sends goes to `dialect.on_text(conn, text)`, which answers (pong, ack, error, login result) with
`hub.send` and changes subscriptions with `hub.subscribe` / `hub.unsubscribe`. A subscription is a
hashable key the venue chooses (e.g. channel + instrument type + instrument); the venue publishes
a frame on a key and every connection subscribed to it gets the same text. Private keys are subscribed only
after a login, and `expire_logins` ends every logged-in session as a venue does when a key lapses.

Faults (`KitFaults`): `drop` cuts TCP without a close frame; frames published with `shape="depth"`
or `"user"` go through the injector's duplicate / reorder rules; a connection silent for longer
than `idle_cutoff_s` (or its own `Conn.idle_cutoff_s`, set by the dialect when a venue lets the client
choose) is closed with the venue's `idle_close` frame, as venues close idle sockets.

A venue whose frames differ per connection (one that names the stream a client subscribed by, or
wraps frames per the connection's own setting) sets `Conn.render`: it turns the one published
frame into what that connection gets (none, one or several texts). `heartbeat_s` makes the hub
ping every socket, closing one that does not answer, as venues that ping do.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Protocol

from aiohttp import WSCloseCode, WSMsgType, web

from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.wire_json import dumps
from pmm.connectors.common.ws_queue import QueuedSocket
from pmm.core.clock import Clock


class Conn(QueuedSocket):
    """One client connection: the kind of socket, its subscriptions, login and last sign of life."""

    def __init__(self, ws: web.WebSocketResponse, transport: Any, kind: str, opened: float, queue_max: int,
                 name: str, path: str = "", query: dict[str, str] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(ws, transport, queue_max, name=name)
        self.kind = kind
        self.path = path  # the upgrade request's path and query (tokens, listen keys, options)
        self.query = query or {}
        self.headers: Mapping[str, str] = headers or {}  # the upgrade request's (a venue may sign it)
        self.conn_id = uuid.uuid4().hex[:8]
        self.subscriptions: set[Hashable] = set()
        self.logged_in = False
        self.last_seen = opened
        self.idle_cutoff_s: float | None = None  # this socket's own idle rule (None: the hub's)
        # The frames this socket gets for one published on a key (None: that frame as it is).
        self.render: Callable[[Hashable, str], list[str]] | None = None


class StreamDialect(Protocol):
    """A venue's WebSocket words (see module docstring)."""

    def on_open(self, conn: Conn) -> None: ...
    def on_text(self, conn: Conn, text: str) -> None: ...
    def on_close(self, conn: Conn) -> None: ...


class StreamHub:
    """Every WebSocket connection of one server, indexed by subscription key."""

    def __init__(self, clock: Clock, faults: FaultInjector, *, name: str, idle_cutoff_s: float,
                 queue_max: int = 10_000,
                 idle_close: tuple[int, bytes] = (WSCloseCode.POLICY_VIOLATION, b"No data received in time"),
                 heartbeat_s: float | None = None, close_timeout_s: float = 10.0) -> None:
        self._clock = clock
        self._faults = faults
        self._name = name
        self.idle_cutoff_s = idle_cutoff_s
        self._idle_close = idle_close  # the close frame a venue sends a silent socket
        self._queue_max = queue_max
        self._heartbeat_s = heartbeat_s
        self._close_timeout_s = close_timeout_s  # how long a server-side close waits for the client's frame
        self.dialect: StreamDialect | None = None
        self.clients: set[Conn] = set()
        self._index: dict[Hashable, set[Conn]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # --- subscriptions and sending ------------------------------------------------------------------

    def subscribe(self, conn: Conn, key: Hashable) -> bool:
        """Add `key` to the connection's subscriptions; False when it already had it."""
        if key in conn.subscriptions:
            return False
        conn.subscriptions.add(key)
        self._index.setdefault(key, set()).add(conn)
        return True

    def unsubscribe(self, conn: Conn, key: Hashable) -> bool:
        if key not in conn.subscriptions:
            return False
        conn.subscriptions.discard(key)
        self._index.get(key, set()).discard(conn)
        return True

    def has_subscribers(self, key: Hashable) -> bool:
        return bool(self._index.get(key))

    def send(self, conn: Conn, payload: Any) -> None:
        conn.send(payload if isinstance(payload, str) else dumps(payload))

    def publish(self, key: Hashable, payload: Any, *, shape: str | None = None) -> None:
        """One frame to every subscriber of `key`; `shape` ("depth", "user") applies frame faults."""
        subscribers = self._index.get(key)
        if not subscribers:
            return
        text = payload if isinstance(payload, str) else dumps(payload)
        frames = self._faults.shape_frame(shape, key, text) if shape is not None else [text]
        for frame in frames:
            for conn in list(subscribers):
                for text in (conn.render(key, frame) if conn.render is not None else (frame,)):
                    conn.send(text)

    # --- faults and housekeeping ------------------------------------------------------------------

    def drop(self, kind: str = "all") -> int:
        """Cut the TCP connection (no close frame) of every socket of `kind` ("all": every one)."""
        victims = [conn for conn in self.clients if kind == "all" or conn.kind == kind]
        for conn in victims:
            conn.abort()
        return len(victims)

    def expire_logins(self) -> int:
        """Close every logged-in socket (close frame 1000), as when the venue ends a session."""
        victims = [conn for conn in self.clients if conn.logged_in and not conn.closing]
        for conn in victims:
            conn.logged_in = False
            self._close_later(conn, WSCloseCode.OK, b"session expired")
        return len(victims)

    def on_tick(self, now: float) -> None:
        """Close the sockets that were silent for their idle cutoff (the venue's idle rule)."""
        for conn in [c for c in self.clients if not c.closing and now - c.last_seen >= self._cutoff(c)]:
            self._close_later(conn, *self._idle_close)

    def _cutoff(self, conn: Conn) -> float:
        return conn.idle_cutoff_s if conn.idle_cutoff_s is not None else self.idle_cutoff_s

    def close(self, conn: Conn, code: int, message: bytes) -> None:
        """Close one socket with a close frame (whatever was sent to it before still goes out first)."""
        self._close_later(conn, code, message)

    def _close_later(self, conn: Conn, code: int, message: bytes) -> None:
        conn.finish()
        task = asyncio.ensure_future(conn.ws.close(code=code, message=message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_all(self) -> None:
        for conn in list(self.clients):
            conn.finish()
            await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    # --- connections ------------------------------------------------------------------------------

    async def handle(self, request: web.Request, kind: str) -> web.StreamResponse:
        assert self.dialect is not None, "StreamHub.dialect is set by the venue server"
        ws = web.WebSocketResponse(heartbeat=self._heartbeat_s, timeout=self._close_timeout_s)
        await ws.prepare(request)
        conn = Conn(ws, request.transport, kind, self._clock.now(), self._queue_max, self._name,
                    path=request.path, query=dict(request.query), headers=request.headers)
        self.clients.add(conn)
        pump = asyncio.create_task(conn.pump())
        try:
            self.dialect.on_open(conn)
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    conn.last_seen = self._clock.now()
                    self.dialect.on_text(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.clients.discard(conn)
            for key in conn.subscriptions:
                self._index.get(key, set()).discard(conn)
            conn.finish()
            pump.cancel()
            self.dialect.on_close(conn)
        return ws
