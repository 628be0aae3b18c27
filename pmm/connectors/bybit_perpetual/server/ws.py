"""Bybit's WebSocket words for the kit's stream hub: `/v5/public/linear` and `/v5/private`, Bybit's
JSON ops (subscribe, unsubscribe, ping, auth).

Replies follow the linear docs (exchange_apis.md §B5, §B6): a public ack is
`{"success", "ret_msg", "conn_id", "req_id", "op"}`, a public pong is the same with op "ping" and
ret_msg "pong"; the private socket answers a ping with `{"req_id", "op": "pong", "args": [ms],
"conn_id"}`. `req_id` is echoed as sent (integer or string; "" when absent). A request naming an
unknown topic fails as a whole. Private topics need a successful auth first; `expires` may be an
integer (pybit) or a string (ccxt). One account: every authenticated private connection gets every
private message, on the topic name it subscribed with (`order` or `order.linear`, ...). The private
`dcp` topics carry no messages; watchers (`watch()`, the server's Disconnection Protection) hear of
each private connection's subscriptions, pings and end. Subscription keys are the topic names.
A private socket may ask for its own idle cutoff (`?max_active_time=1m`, 30 s to 10 min); a silent
socket is closed with frame 1000 "idle timeout".
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from aiohttp import WSCloseCode

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server.auth import Authenticator
from pmm.connectors.bybit_perpetual.server.faults import FaultInjector
from pmm.connectors.bybit_perpetual.server.options import ServerOptions
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.stream_hub import Conn, StreamHub
from pmm.connectors.common.wire_json import dumps
from pmm.core.clock import Clock

PUBLIC, PRIVATE = "public", "private"
_ACTIVE_TIME = re.compile(r"^(\d+)([sm])$")
Topic = tuple[str, str, int | None]  # (kind, symbol, depth)


class ConnectionWatcher(Protocol):
    """Told about authenticated private connections (`dcp.DisconnectProtection`)."""

    def on_subscriptions(self, conn: Any, topics: Iterable[str]) -> None: ...
    def on_ping(self, conn: Any) -> None: ...
    def on_closed(self, conn: Any) -> None: ...


def make_hub(options: ServerOptions, clock: Clock, faults: FaultInjector, name: str) -> StreamHub:
    """The kit's hub with Bybit's idle rule."""
    return StreamHub(clock, faults, name=name, idle_cutoff_s=options.ws_idle_cutoff_s,
                     queue_max=options.ws_send_queue_max, idle_close=(WSCloseCode.OK, b"idle timeout"))


class BybitStreams:
    """The hub's `StreamDialect` for Bybit, and publishing in Bybit's terms (see module docstring)."""

    def __init__(self, hub: StreamHub, clock: Clock, auth: Authenticator, faults: FaultInjector,
                 parse_topic: Callable[[str], Topic | str],
                 initial: Callable[[str, str, int | None, float], dict[str, Any] | None]) -> None:
        self._hub = hub
        self._clock = clock
        self._auth = auth
        self._faults = faults
        self._parse_topic = parse_topic
        self._initial = initial
        self._watchers: list[ConnectionWatcher] = []
        hub.dialect = self

    def watch(self, watcher: ConnectionWatcher) -> None:
        self._watchers.append(watcher)

    # --- publishing -----------------------------------------------------------------------------

    def has_subscribers(self, topic: str) -> bool:
        return self._hub.has_subscribers(topic)

    def publish(self, topic: str, payload: dict[str, Any]) -> None:
        self._hub.publish(topic, payload, shape="depth" if topic.startswith("orderbook.") else None)

    def has_private_subscribers(self, kind: str) -> bool:
        return any(conn.logged_in and any(c.PRIVATE_TOPIC_ALIASES.get(str(t)) == kind for t in conn.subscriptions)
                   for conn in self._hub.clients)

    def publish_private(self, kind: str, data: list[dict[str, Any]], created: float) -> None:
        """A private message of topic kind `kind` (order, execution, position, wallet)."""
        # One id per message, so a duplicated frame (`FaultInjector.shape_frame`) is the same message.
        for frame_kind, rows, ts, msg_id in self._faults.shape_frame("user", "", (kind, data, created,
                                                                                  str(uuid.uuid4()))):
            for conn in list(self._hub.clients):
                if not conn.logged_in:
                    continue
                for name in conn.subscriptions:
                    if c.PRIVATE_TOPIC_ALIASES.get(str(name)) == frame_kind:
                        conn.send(dumps({"id": msg_id, "topic": name, "creationTime": ms(ts), "data": rows}))

    # --- StreamDialect --------------------------------------------------------------------------

    def on_open(self, conn: Conn) -> None:
        conn.conn_id = str(uuid.uuid4())
        if conn.kind == PRIVATE and (match := _ACTIVE_TIME.match(conn.query.get(c.WS_MAX_ACTIVE_TIME_PARAM, ""))):
            seconds = int(match.group(1)) * (60 if match.group(2) == "m" else 1)
            conn.idle_cutoff_s = min(max(seconds, 30), 600)

    def on_close(self, conn: Conn) -> None:
        if conn.kind == PRIVATE:
            for watcher in self._watchers:
                watcher.on_closed(conn)

    def on_text(self, conn: Conn, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self._hub.send(conn, self._ack(conn, "", None, False, c.WS_MSG_INVALID_JSON))
            return
        op, req_id, args = msg.get("op"), msg.get("req_id"), msg.get("args")
        if op == c.WS_OP_PING:
            self._hub.send(conn, self._pong(conn, req_id))
            if conn.kind == PRIVATE and conn.logged_in:
                for watcher in self._watchers:
                    watcher.on_ping(conn)
        elif op == c.WS_OP_AUTH and conn.kind == PRIVATE:
            self._on_auth(conn, req_id, args)
        elif op in (c.WS_OP_SUBSCRIBE, c.WS_OP_UNSUBSCRIBE):
            self._on_subscription(conn, op, req_id, args)
        else:
            self._hub.send(conn, self._ack(conn, op if isinstance(op, str) else "", req_id, False, c.WS_MSG_INVALID_OP))

    def _ack(self, conn: Conn, op: str, req_id: Any, success: bool, ret_msg: str) -> dict[str, Any]:
        if conn.kind == PUBLIC:
            return {"success": success, "ret_msg": ret_msg, "conn_id": conn.conn_id,
                    "req_id": "" if req_id is None else req_id, "op": op}
        reply: dict[str, Any] = {"success": success, "ret_msg": ret_msg, "op": op, "conn_id": conn.conn_id}
        if req_id is not None:
            reply["req_id"] = req_id
        return reply

    def _pong(self, conn: Conn, req_id: Any) -> dict[str, Any]:
        if conn.kind == PUBLIC:
            return self._ack(conn, c.WS_OP_PING, req_id, True, c.WS_MSG_PONG)
        return {"req_id": "" if req_id is None else req_id, "op": c.WS_OP_PONG,
                "args": [str(ms(self._clock.now()))], "conn_id": conn.conn_id}

    def _on_auth(self, conn: Conn, req_id: Any, args: Any) -> None:
        if conn.logged_in:
            self._hub.send(conn, self._ack(conn, c.WS_OP_AUTH, req_id, False, c.WS_MSG_ALREADY_AUTHED))
            return
        problem = self._auth.check_ws_auth(args)
        if problem is None and self._faults.take_login_rejection():
            problem = c.WS_MSG_AUTH_PARAMS
        conn.logged_in = problem is None
        self._hub.send(conn, self._ack(conn, c.WS_OP_AUTH, req_id, conn.logged_in, problem or ""))

    def _on_subscription(self, conn: Conn, op: str, req_id: Any, args: Any) -> None:
        if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
            self._hub.send(conn, self._ack(conn, op, req_id, False, c.WS_MSG_INVALID_JSON))
            return
        problem = self._check_topics(conn, op, args)
        if problem is not None:
            self._hub.send(conn, self._ack(conn, op, req_id, False, problem))
            return
        for topic in args:
            if op == c.WS_OP_UNSUBSCRIBE:
                self._hub.unsubscribe(conn, topic)
            else:
                self._hub.subscribe(conn, topic)
        self._hub.send(conn, self._ack(conn, op, req_id, True, ""))
        if conn.kind == PRIVATE:
            for watcher in self._watchers:
                watcher.on_subscriptions(conn, [str(topic) for topic in conn.subscriptions])
        if op == c.WS_OP_SUBSCRIBE and conn.kind == PUBLIC:
            now = self._clock.now()
            for topic in args:
                parsed = self._parse_topic(topic)
                if isinstance(parsed, tuple) and (first := self._initial(*parsed, now)) is not None:
                    self._hub.send(conn, first)

    def _check_topics(self, conn: Conn, op: str, topics: list[str]) -> str | None:
        for topic in topics:
            if op == c.WS_OP_SUBSCRIBE and topic in conn.subscriptions:
                return c.WS_MSG_ALREADY_SUBSCRIBED.format(topic=topic)
            if op == c.WS_OP_UNSUBSCRIBE and topic not in conn.subscriptions:
                return c.WS_MSG_NOT_SUBSCRIBED.format(topic=topic)
            if conn.kind == PRIVATE:
                if topic not in c.PRIVATE_TOPIC_ALIASES and topic not in c.DCP_TOPIC_PRODUCTS:
                    return c.WS_MSG_HANDLER_NOT_FOUND.format(topic=topic)
                if not conn.logged_in:
                    return c.WS_MSG_NOT_AUTHORIZED
                continue
            parsed = self._parse_topic(topic)
            if isinstance(parsed, str):
                return parsed
        return None
