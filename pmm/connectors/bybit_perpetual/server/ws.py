"""WebSocket side of the Bybit server: `/v5/public/linear` and `/v5/private`, Bybit's JSON ops
(subscribe, unsubscribe, ping, auth) and fan-out of topic messages to connections.

Replies follow the linear docs (exchange_apis.md §B5, §B6): a public ack is
`{"success", "ret_msg", "conn_id", "req_id", "op"}`, a public pong is the same with op "ping" and
ret_msg "pong"; the private socket answers a ping with `{"req_id", "op": "pong", "args": [ms],
"conn_id"}`. `req_id` is echoed as sent (integer or string; "" when absent). A request naming an
unknown topic fails as a whole. Private topics need a successful auth first; `expires` may be an
integer (pybit) or a string (ccxt). One account: every authenticated private connection gets every
private message, on the topic name it subscribed with (`order` or `order.linear`, ...). The private
`dcp` topics carry no messages; watchers (`watch()`, the server's Disconnection Protection) hear of
each private connection's subscriptions, pings and end.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from aiohttp import WSCloseCode, WSMsgType, web

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server.auth import Authenticator
from pmm.connectors.bybit_perpetual.server.faults import FaultInjector
from pmm.connectors.bybit_perpetual.server.options import ServerOptions
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.wire_json import dumps
from pmm.connectors.common.ws_queue import QueuedSocket
from pmm.core.clock import Clock

PUBLIC, PRIVATE = "public", "private"
_ACTIVE_TIME = re.compile(r"^(\d+)([sm])$")
Topic = tuple[str, str, int | None]  # (kind, symbol, depth)


class WsConn(QueuedSocket):
    """One connection: its kind, subscriptions, auth state and last sign of life."""

    def __init__(self, ws: web.WebSocketResponse, transport: Any, kind: str, opened: float, queue_max: int,
                 idle_cutoff_s: float) -> None:
        super().__init__(ws, transport, queue_max)
        self.kind = kind
        self.conn_id = str(uuid.uuid4())
        self.subscriptions: set[str] = set()
        self.authed = False
        self.last_seen = opened
        self.idle_cutoff_s = idle_cutoff_s


class ConnectionWatcher(Protocol):
    """Told about authenticated private connections (`server_dcp.DisconnectProtection`)."""

    def on_subscriptions(self, conn: Any, topics: Iterable[str]) -> None: ...
    def on_ping(self, conn: Any) -> None: ...
    def on_closed(self, conn: Any) -> None: ...


class StreamHub:
    """All WebSocket connections, indexed by the topics they subscribed to."""

    def __init__(self, options: ServerOptions, clock: Clock, auth: Authenticator, faults: FaultInjector,
                 parse_topic: Callable[[str], Topic | str],
                 initial: Callable[[str, str, int | None, float], dict[str, Any] | None]) -> None:
        self._options = options
        self._clock = clock
        self._auth = auth
        self._faults = faults
        self._parse_topic = parse_topic
        self._initial = initial
        self.clients: set[WsConn] = set()
        self._index: dict[str, set[WsConn]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._watchers: list[ConnectionWatcher] = []

    def watch(self, watcher: ConnectionWatcher) -> None:
        self._watchers.append(watcher)

    # --- publishing -----------------------------------------------------------------------------

    def has_subscribers(self, topic: str) -> bool:
        return bool(self._index.get(topic))

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        subscribers = self._index.get(topic)
        if subscribers:
            raw = dumps(payload)
            frames = self._faults.shape_frame("depth", topic, raw) if topic.startswith("orderbook.") else [raw]
            for frame in frames:
                for conn in list(subscribers):
                    conn.send(frame)

    def has_private_subscribers(self, kind: str) -> bool:
        return any(conn.authed and any(c.PRIVATE_TOPIC_ALIASES.get(t) == kind for t in conn.subscriptions)
                   for conn in self.clients)

    def publish_private(self, kind: str, data: list[dict[str, Any]], created: float) -> None:
        """A private message of topic kind `kind` (order, execution, position, wallet)."""
        # One id per message, so a duplicated frame (`FaultInjector.shape_frame`) is the same message.
        for frame_kind, rows, ts, msg_id in self._faults.shape_frame("user", "", (kind, data, created,
                                                                                  str(uuid.uuid4()))):
            for conn in list(self.clients):
                if not conn.authed:
                    continue
                for name in conn.subscriptions:
                    if c.PRIVATE_TOPIC_ALIASES.get(name) == frame_kind:
                        conn.send(dumps({"id": msg_id, "topic": name, "creationTime": ms(ts), "data": rows}))

    # --- faults and housekeeping ----------------------------------------------------------------

    def drop(self, kind: str) -> int:
        victims = [conn for conn in self.clients if kind == "all" or conn.kind == kind]
        for conn in victims:
            conn.abort()
        return len(victims)

    def expire_auth(self) -> int:
        victims = [conn for conn in self.clients if conn.kind == PRIVATE and conn.authed and not conn.closing]
        for conn in victims:
            conn.authed = False
            self._close_later(conn, WSCloseCode.OK, b"session expired")
        return len(victims)

    def on_tick(self, now: float) -> None:
        for conn in [cn for cn in self.clients if not cn.closing and now - cn.last_seen >= cn.idle_cutoff_s]:
            self._close_later(conn, WSCloseCode.OK, b"idle timeout")

    def _close_later(self, conn: WsConn, code: int, message: bytes) -> None:
        conn.finish()
        task = asyncio.ensure_future(conn.ws.close(code=code, message=message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_all(self) -> None:
        for conn in list(self.clients):
            conn.finish()
            await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    # --- connections ----------------------------------------------------------------------------

    async def handle(self, request: web.Request, kind: str) -> web.StreamResponse:
        idle = self._options.ws_idle_cutoff_s
        if kind == PRIVATE and (match := _ACTIVE_TIME.match(request.query.get(c.WS_MAX_ACTIVE_TIME_PARAM, ""))):
            seconds = int(match.group(1)) * (60 if match.group(2) == "m" else 1)
            idle = min(max(seconds, 30), 600)
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        conn = WsConn(ws, request.transport, kind, self._clock.now(), self._options.ws_send_queue_max, idle)
        self.clients.add(conn)
        pump = asyncio.create_task(conn.pump())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    conn.last_seen = self._clock.now()
                    self._on_message(conn, msg.data)
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._remove(conn)
            conn.finish()
            pump.cancel()
            if conn.kind == PRIVATE:
                for watcher in self._watchers:
                    watcher.on_closed(conn)
        return ws

    def _remove(self, conn: WsConn) -> None:
        self.clients.discard(conn)
        for topic in conn.subscriptions:
            self._index.get(topic, set()).discard(conn)

    def _on_message(self, conn: WsConn, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            conn.send(dumps(self._ack(conn, "", None, False, c.WS_MSG_INVALID_JSON)))
            return
        op, req_id, args = msg.get("op"), msg.get("req_id"), msg.get("args")
        if op == c.WS_OP_PING:
            conn.send(dumps(self._pong(conn, req_id)))
            if conn.kind == PRIVATE and conn.authed:
                for watcher in self._watchers:
                    watcher.on_ping(conn)
        elif op == c.WS_OP_AUTH and conn.kind == PRIVATE:
            self._on_auth(conn, req_id, args)
        elif op in (c.WS_OP_SUBSCRIBE, c.WS_OP_UNSUBSCRIBE):
            self._on_subscription(conn, op, req_id, args)
        else:
            conn.send(dumps(self._ack(conn, op if isinstance(op, str) else "", req_id, False, c.WS_MSG_INVALID_OP)))

    def _ack(self, conn: WsConn, op: str, req_id: Any, success: bool, ret_msg: str) -> dict[str, Any]:
        if conn.kind == PUBLIC:
            return {"success": success, "ret_msg": ret_msg, "conn_id": conn.conn_id,
                    "req_id": "" if req_id is None else req_id, "op": op}
        reply: dict[str, Any] = {"success": success, "ret_msg": ret_msg, "op": op, "conn_id": conn.conn_id}
        if req_id is not None:
            reply["req_id"] = req_id
        return reply

    def _pong(self, conn: WsConn, req_id: Any) -> dict[str, Any]:
        if conn.kind == PUBLIC:
            return self._ack(conn, c.WS_OP_PING, req_id, True, c.WS_MSG_PONG)
        return {"req_id": "" if req_id is None else req_id, "op": c.WS_OP_PONG,
                "args": [str(ms(self._clock.now()))], "conn_id": conn.conn_id}

    def _on_auth(self, conn: WsConn, req_id: Any, args: Any) -> None:
        if conn.authed:
            conn.send(dumps(self._ack(conn, c.WS_OP_AUTH, req_id, False, c.WS_MSG_ALREADY_AUTHED)))
            return
        problem = self._auth.check_ws_auth(args)
        if problem is None and self._faults.take_auth_rejection():
            problem = c.WS_MSG_AUTH_PARAMS
        conn.authed = problem is None
        conn.send(dumps(self._ack(conn, c.WS_OP_AUTH, req_id, conn.authed, problem or "")))

    def _on_subscription(self, conn: WsConn, op: str, req_id: Any, args: Any) -> None:
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            conn.send(dumps(self._ack(conn, op, req_id, False, c.WS_MSG_INVALID_JSON)))
            return
        problem = self._check_topics(conn, op, args)
        if problem is not None:
            conn.send(dumps(self._ack(conn, op, req_id, False, problem)))
            return
        if op == c.WS_OP_UNSUBSCRIBE:
            for topic in args:
                conn.subscriptions.discard(topic)
                self._index.get(topic, set()).discard(conn)
        else:
            for topic in args:
                conn.subscriptions.add(topic)
                self._index.setdefault(topic, set()).add(conn)
        conn.send(dumps(self._ack(conn, op, req_id, True, "")))
        if conn.kind == PRIVATE:
            for watcher in self._watchers:
                watcher.on_subscriptions(conn, conn.subscriptions)
        if op == c.WS_OP_SUBSCRIBE and conn.kind == PUBLIC:
            now = self._clock.now()
            for topic in args:
                parsed = self._parse_topic(topic)
                if isinstance(parsed, tuple) and (first := self._initial(*parsed, now)) is not None:
                    conn.send(dumps(first))

    def _check_topics(self, conn: WsConn, op: str, topics: list[str]) -> str | None:
        for topic in topics:
            if op == c.WS_OP_SUBSCRIBE and topic in conn.subscriptions:
                return c.WS_MSG_ALREADY_SUBSCRIBED.format(topic=topic)
            if op == c.WS_OP_UNSUBSCRIBE and topic not in conn.subscriptions:
                return c.WS_MSG_NOT_SUBSCRIBED.format(topic=topic)
            if conn.kind == PRIVATE:
                if topic not in c.PRIVATE_TOPIC_ALIASES and topic not in c.DCP_TOPIC_PRODUCTS:
                    return c.WS_MSG_HANDLER_NOT_FOUND.format(topic=topic)
                if not conn.authed:
                    return c.WS_MSG_NOT_AUTHORIZED
                continue
            parsed = self._parse_topic(topic)
            if isinstance(parsed, str):
                return parsed
        return None
