"""WebSocket side of the Binance server: every path shape clients use, the JSON subscription
protocol, and fan-out of stream events to connections.

Path shapes (exchange_apis.md §0.3, §D3), all accepted: `/ws`, `/ws/<stream>[/<stream>...]`,
`/stream?streams=a/b`, and the routed `/public|/market|/private` + `/ws[/<x>]` or `/stream`, with a
listenKey as `?listenKey=` or as a path segment (`/ws/<listenKey>`, `/private/ws/<listenKey>`).
A segment that is neither a stream name nor a live listenKey (ccxt's connection number in
`/public/ws/0`) is ignored. `/stream` paths wrap each event as `{"stream": name, "data": event}`;
`/ws` paths send raw events (SET_PROPERTY combined switches). Request ids may be integers or
strings (the official SDK sends a UUID string). Routes are not enforced: every stream is served
on every route. A stream the venue does not have is refused (code 2, "Invalid request: invalid
stream"), never acknowledged and left silent.

The kit's `StreamHub` (`common/server/stream_hub.py`) owns the sockets; this dialect owns the words.
Market streams are subscribed by channel (the stream name parsed), user data by `USER` while the
socket holds a live listenKey; each socket's `render` names the frame by the stream the client
asked for (or by its listenKey) and wraps it when the socket is combined. A socket is "private"
(for `drop_sockets("user")`) when it came on /private or holds a listenKey.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSCloseCode

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.server.streams import Channel, parse_stream
from pmm.connectors.common.server.stream_hub import Conn, StreamHub
from pmm.connectors.common.wire_json import dumps

WS_ROUTE_PATTERNS = tuple(
    f"{prefix}/{segment}{tail}"
    for prefix in ("", "/{route:public|market|private}")
    for segment in (c.WS_RAW_SEGMENT, c.WS_COMBINED_SEGMENT)
    for tail in ("", "/{tail:.+}")
)
USER: Channel = ("user",)  # the subscription key of user data events
WS_CLOSE_TIMEOUT_S = 2.0  # how long a server-side close waits for the client's close frame


@dataclass(frozen=True, slots=True)
class WsTarget:
    """What a connection asked for in its URL."""

    route: str  # "public" / "market" / "private", or "" for the legacy unrouted paths
    combined: bool
    streams: tuple[str, ...]
    keys: tuple[str, ...]  # listenKey candidates
    events: frozenset[str] | None  # /private ...&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE


def parse_ws_path(path: str, query: Mapping[str, str]) -> WsTarget | None:
    """The streams, listenKeys and framing a WebSocket URL asks for; None if it is no WS path."""
    parts = [part for part in path.split("/") if part]
    route = parts.pop(0) if parts and parts[0] in c.WS_ROUTES else ""
    if not parts or parts[0] not in (c.WS_RAW_SEGMENT, c.WS_COMBINED_SEGMENT):
        return None
    combined = parts[0] == c.WS_COMBINED_SEGMENT
    tokens = parts[1:] + [s for s in query.get(c.WS_STREAMS_PARAM, "").split("/") if s]
    streams = tuple(t for t in tokens if parse_stream(t) is not None)
    keys = [t for t in tokens if parse_stream(t) is None]
    if query.get(c.WS_LISTEN_KEY_PARAM):
        keys.append(query[c.WS_LISTEN_KEY_PARAM])
    events_text = query.get(c.WS_EVENTS_PARAM, "")
    events = frozenset(e for e in events_text.split("/") if e) or None
    return WsTarget(route, combined, streams, tuple(keys), events)


@dataclass(slots=True)
class _Socket:
    """What one connection asked for: its framing, event filter, streams and listenKeys."""

    route: str
    combined: bool
    events: frozenset[str] | None
    opened: float
    names: dict[str, Channel] = field(default_factory=dict)  # stream name -> channel, in order
    listen_keys: list[str] = field(default_factory=list)


class BinanceStreams:
    """Binance's WebSocket dialect over the kit's stream hub (see module docstring)."""

    def __init__(self, hub: StreamHub, key_is_active: Callable[[str], bool], max_age_s: float) -> None:
        self._hub = hub
        self._key_is_active = key_is_active
        self._max_age_s = max_age_s
        self._sockets: dict[Conn, _Socket] = {}

    # --- publishing -----------------------------------------------------------------------------

    def publish(self, channel: Channel, payload: Any) -> None:
        self._hub.publish(channel, payload, shape="depth" if channel[0] == "depth" else None)

    def publish_user(self, event_type: str, payload: dict[str, Any]) -> None:
        """A user-data event to every connection holding a live listenKey (one account); each socket's
        `events=` filter reads the event's own "e" (what `event_type` names)."""
        self._hub.publish(USER, payload, shape="user")

    def send_to_key(self, key: str, payload: dict[str, Any]) -> None:
        text = dumps(payload)
        for conn, state in list(self._sockets.items()):
            if key in state.listen_keys:
                conn.send(_framed(state, key, text))

    def key_gone(self, key: str, *, close: bool) -> None:
        """The listenKey lapsed (user events stop) or was deleted (`close`: its sockets close too)."""
        for conn, state in list(self._sockets.items()):
            if key in state.listen_keys:
                self._sync_user(conn)
                if close:
                    self._hub.close(conn, WSCloseCode.GOING_AWAY, b"listenKey closed")

    def user_sockets(self) -> int:
        """Sockets that get user data now (tests)."""
        return sum(1 for conn in self._sockets if USER in conn.subscriptions)

    def _render(self, conn: Conn, key: Hashable, text: str) -> list[str]:
        state = self._sockets.get(conn)
        if state is None:
            return []
        if key == USER:
            if state.events is not None and json.loads(text).get("e") not in state.events:
                return []
            live = [k for k in state.listen_keys if self._key_is_active(k)]
            return [_framed(state, live[0], text)] if live else []
        return [_framed(state, name, text) for name, channel in state.names.items() if channel == key]

    # --- connections (the hub's StreamDialect) ----------------------------------------------------

    def on_open(self, conn: Conn) -> None:
        target = parse_ws_path(conn.path, conn.query)
        if target is None:
            self._hub.close(conn, WSCloseCode.POLICY_VIOLATION, b"not a stream path")
            return
        invalid = [name for name in target.streams if _is_invalid(name)]
        if invalid:  # a stream the venue does not have, named in the URL: refused, not left silent
            conn.send(dumps(_error(2, f"{c.WS_INVALID_STREAM_MESSAGE}: {invalid[0]}", None)))
            self._hub.close(conn, WSCloseCode.POLICY_VIOLATION, c.WS_INVALID_STREAM_MESSAGE.encode())
            return
        self._sockets[conn] = _Socket(target.route, target.combined, target.events, conn.last_seen)
        conn.render = lambda key, text: self._render(conn, key, text)
        self._subscribe(conn, target.streams)
        self._subscribe(conn, target.keys)

    def on_text(self, conn: Conn, text: str) -> None:
        if conn in self._sockets:
            self._hub.send(conn, self._answer(conn, text))

    def on_close(self, conn: Conn) -> None:
        self._sockets.pop(conn, None)

    def on_tick(self, now: float) -> None:
        """Close every connection at its maximum age (the venue's 24 h rule)."""
        for conn, state in list(self._sockets.items()):
            if not conn.closing and now - state.opened >= self._max_age_s:
                self._hub.close(conn, WSCloseCode.GOING_AWAY, b"connection lifetime exceeded")

    # --- subscriptions --------------------------------------------------------------------------

    def _subscribe(self, conn: Conn, names: Iterable[str]) -> None:
        state = self._sockets[conn]
        for name in names:
            channel = parse_stream(name)
            if channel is None:
                # A listenKey (user data on this connection) if it is live; noise otherwise.
                if self._key_is_active(name) and name not in state.listen_keys:
                    state.listen_keys.append(name)
                continue
            if name not in state.names:
                state.names[name] = channel
                self._hub.subscribe(conn, channel)
        self._sync_user(conn)

    def _unsubscribe(self, conn: Conn, names: Iterable[str]) -> None:
        state = self._sockets[conn]
        for name in names:
            if name in state.listen_keys:
                state.listen_keys.remove(name)
            channel = state.names.pop(name, None)
            if channel is not None and channel not in state.names.values():
                self._hub.unsubscribe(conn, channel)
        self._sync_user(conn)

    def _sync_user(self, conn: Conn) -> None:
        """User data while the socket holds a live listenKey; "private" while it holds any."""
        state = self._sockets[conn]
        if any(self._key_is_active(k) for k in state.listen_keys):
            self._hub.subscribe(conn, USER)
        else:
            self._hub.unsubscribe(conn, USER)
        conn.kind = "private" if state.route == "private" or state.listen_keys else "public"

    def _answer(self, conn: Conn, text: str) -> dict[str, Any]:
        """Answer one JSON request (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS, SET/GET_PROPERTY)."""
        try:
            msg = json.loads(text)
        except ValueError as exc:
            return _error(3, f"Invalid JSON: {exc}", None)
        if not isinstance(msg, dict):
            return _error(2, "Invalid request: expected a JSON object", None)
        req_id = msg.get("id")
        if isinstance(req_id, bool) or not (req_id is None or isinstance(req_id, str) or
                                            (isinstance(req_id, int) and req_id >= 0)):
            return _error(2, "Invalid request: request ID must be an unsigned integer", None)
        method, params = msg.get("method"), msg.get("params", [])
        if method is None:
            return _error(2, "Invalid request: missing field `method`", req_id)
        if not isinstance(params, list):
            return _error(2, "Invalid request: params must be a list", req_id)
        if method in (c.WS_SUBSCRIBE, c.WS_UNSUBSCRIBE):
            if not all(isinstance(p, str) for p in params):
                return _error(2, "Invalid request: stream names must be strings", req_id)
            if method == c.WS_SUBSCRIBE and any(_is_invalid(p) for p in params):
                return _error(2, c.WS_INVALID_STREAM_MESSAGE, req_id)  # nothing of the request is subscribed
            (self._subscribe if method == c.WS_SUBSCRIBE else self._unsubscribe)(conn, params)
            return {"result": None, "id": req_id}
        if method == c.WS_LIST_SUBSCRIPTIONS:
            state = self._sockets[conn]
            return {"result": list(state.names) + state.listen_keys, "id": req_id}
        if method in (c.WS_SET_PROPERTY, c.WS_GET_PROPERTY):
            if not params or not isinstance(params[0], str):
                return _error(2, "Invalid request: property name must be a string", req_id)
            if params[0] != c.WS_PROPERTY_COMBINED:
                return _error(0, "Unknown property", req_id)
            if method == c.WS_GET_PROPERTY:
                return {"result": self._sockets[conn].combined, "id": req_id}
            if len(params) != 2 or not isinstance(params[1], bool):
                return _error(1, "Invalid value type: expected Boolean", req_id)
            self._sockets[conn].combined = params[1]
            return {"result": None, "id": req_id}
        return _error(
            2,
            f"Invalid request: unknown variant `{method}`, expected one of `SUBSCRIBE`, `UNSUBSCRIBE`, "
            "`LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, `GET_PROPERTY`",
            req_id,
        )



def _is_invalid(name: str) -> bool:
    channel = parse_stream(name)
    return channel is not None and channel[0] == "invalid"


def _framed(state: _Socket, name: str, text: str) -> str:
    """`/stream` sockets get `{"stream": name, "data": event}`, `/ws` sockets the raw event."""
    return f'{{"stream":{json.dumps(name)},"data":{text}}}' if state.combined else text


def _error(code: int, msg: str, req_id: Any) -> dict[str, Any]:
    return {"error": {"code": code, "msg": msg}, "id": req_id}
