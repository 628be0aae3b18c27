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
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.server.options import ServerOptions
from pmm.connectors.binance_perpetual.server.streams import Channel, parse_stream
from pmm.connectors.common.wire_json import dumps
from pmm.connectors.common.ws_queue import QueuedSocket
from pmm.core.clock import Clock

WS_ROUTE_PATTERNS = tuple(
    f"{prefix}/{segment}{tail}"
    for prefix in ("", "/{route:public|market|private}")
    for segment in (c.WS_RAW_SEGMENT, c.WS_COMBINED_SEGMENT)
    for tail in ("", "/{tail:.+}")
)


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


class WsClient(QueuedSocket):
    """One connection: its subscriptions, listenKeys and an outgoing queue drained by a task."""

    def __init__(self, ws: web.WebSocketResponse, transport: Any, target: WsTarget, opened: float, queue_max: int):
        super().__init__(ws, transport, queue_max, name="Binance server")
        self.route = target.route
        self.combined = target.combined
        self.events = target.events
        self.opened = opened
        self.subscriptions: dict[str, Channel] = {}
        self.listen_keys: list[str] = []

    @property
    def is_user(self) -> bool:
        return self.route == "private" or bool(self.listen_keys)

    def send_event(self, name: str, raw: str) -> None:
        self.send(f'{{"stream":{json.dumps(name)},"data":{raw}}}' if self.combined else raw)


class StreamHub:
    """All WebSocket connections, indexed by the channels they subscribed to."""

    def __init__(self, options: ServerOptions, clock: Clock, key_is_active: Callable[[str], bool]) -> None:
        self._options = options
        self._clock = clock
        self._key_is_active = key_is_active
        self.clients: set[WsClient] = set()
        self._index: dict[Channel, set[WsClient]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Duplicated / reordered frames (`FaultInjector.shape_frame`); set by the server.
        self.faults: Any = None

    # --- publishing -----------------------------------------------------------------------------

    def has_subscribers(self, channel: Channel) -> bool:
        return bool(self._index.get(channel))

    def publish(self, channel: Channel, payload: dict[str, Any] | list[Any]) -> None:
        subscribers = self._index.get(channel)
        if not subscribers:
            return
        raw = dumps(payload)
        frames = [raw] if self.faults is None or channel[0] != "depth" else self.faults.shape_frame("depth", channel, raw)
        for frame in frames:
            for client in list(subscribers):
                for name, sub in client.subscriptions.items():
                    if sub == channel:
                        client.send_event(name, frame)

    def publish_user(self, event_type: str, payload: dict[str, Any]) -> None:
        """A user-data event to every connection holding a live listenKey (one account)."""
        frames = [(event_type, dumps(payload))]
        if self.faults is not None:
            frames = self.faults.shape_frame("user", "", frames[0])
        for kind, raw in frames:
            for client in list(self.clients):
                if client.events is not None and kind not in client.events:
                    continue
                live = [key for key in client.listen_keys if self._key_is_active(key)]
                if live:
                    client.send_event(live[0], raw)

    def send_to_key(self, key: str, payload: dict[str, Any]) -> None:
        raw = dumps(payload)
        for client in list(self.clients):
            if key in client.listen_keys:
                client.send_event(key, raw)

    # --- faults and housekeeping ----------------------------------------------------------------

    def drop(self, kind: str) -> int:
        victims = [cl for cl in self.clients if kind == "all" or (kind == "user") == cl.is_user]
        for client in victims:
            client.abort()
        return len(victims)

    def close_key(self, key: str) -> None:
        """The listenKey was deleted: close the connections that used it."""
        for client in [cl for cl in self.clients if key in cl.listen_keys]:
            self._close_later(client, WSCloseCode.GOING_AWAY, b"listenKey closed")

    def on_tick(self, now: float) -> None:
        max_age = self._options.ws_max_age_s
        for client in [cl for cl in self.clients if not cl.closing and now - cl.opened >= max_age]:
            self._close_later(client, WSCloseCode.GOING_AWAY, b"connection lifetime exceeded")

    def _close_later(self, client: WsClient, code: int, message: bytes) -> None:
        client.finish()
        task = asyncio.ensure_future(client.ws.close(code=code, message=message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close_all(self) -> None:
        for client in list(self.clients):
            client.finish()
            await client.ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown")

    # --- connections ----------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        target = parse_ws_path(request.path, request.query)
        if target is None:
            raise web.HTTPNotFound()
        # timeout: how long a server-side close waits for the client's close frame.
        ws = web.WebSocketResponse(heartbeat=self._options.ws_ping_interval_s, timeout=2.0)
        await ws.prepare(request)
        invalid = [name for name in target.streams if _is_invalid(name)]
        if invalid:  # a stream the venue does not have, named in the URL: refused, not left silent
            await ws.send_str(dumps(_error(2, f"{c.WS_INVALID_STREAM_MESSAGE}: {invalid[0]}", None)))
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=c.WS_INVALID_STREAM_MESSAGE.encode())
            return ws
        client = WsClient(ws, request.transport, target, self._clock.now(), self._options.ws_send_queue_max)
        self.clients.add(client)
        self._subscribe(client, target.streams)
        self._subscribe(client, target.keys)
        pump = asyncio.create_task(client.pump())
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    client.send(dumps(self._on_request(client, msg.data)))
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._remove(client)
            client.finish()
            pump.cancel()
        return ws

    def _subscribe(self, client: WsClient, names: Iterable[str]) -> None:
        for name in names:
            channel = parse_stream(name)
            if channel is None:
                # A listenKey (user data on this connection) if it is live; noise otherwise.
                if self._key_is_active(name) and name not in client.listen_keys:
                    client.listen_keys.append(name)
                continue
            if name not in client.subscriptions:
                client.subscriptions[name] = channel
                self._index.setdefault(channel, set()).add(client)

    def _unsubscribe(self, client: WsClient, names: Iterable[str]) -> None:
        for name in names:
            if name in client.listen_keys:
                client.listen_keys.remove(name)
            channel = client.subscriptions.pop(name, None)
            if channel is not None and channel not in client.subscriptions.values():
                self._index.get(channel, set()).discard(client)

    def _remove(self, client: WsClient) -> None:
        self.clients.discard(client)
        for channel in set(client.subscriptions.values()):
            self._index.get(channel, set()).discard(client)

    def _on_request(self, client: WsClient, text: str) -> dict[str, Any]:
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
            (self._subscribe if method == c.WS_SUBSCRIBE else self._unsubscribe)(client, params)
            return {"result": None, "id": req_id}
        if method == c.WS_LIST_SUBSCRIPTIONS:
            return {"result": list(client.subscriptions) + client.listen_keys, "id": req_id}
        if method in (c.WS_SET_PROPERTY, c.WS_GET_PROPERTY):
            if not params or not isinstance(params[0], str):
                return _error(2, "Invalid request: property name must be a string", req_id)
            if params[0] != c.WS_PROPERTY_COMBINED:
                return _error(0, "Unknown property", req_id)
            if method == c.WS_GET_PROPERTY:
                return {"result": client.combined, "id": req_id}
            if len(params) != 2 or not isinstance(params[1], bool):
                return _error(1, "Invalid value type: expected Boolean", req_id)
            client.combined = params[1]
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


def _error(code: int, msg: str, req_id: Any) -> dict[str, Any]:
    return {"error": {"code": code, "msg": msg}, "id": req_id}
