"""Bybit v5 WebSocket connections (public linear and private) that stay up.

On every (re)connection the session authenticates when it has keys (`{"op": "auth"}` with
`expires` and the HMAC of "GET/realtime" + expires), subscribes its topics and waits for both
acknowledgements before it reports the stream up (`ConnectionChanged(connected=True)`), so nothing
is trusted from a half-set-up socket. Then it reads, and sends `{"op": "ping"}` every 20 s (the
docs' heartbeat): a socket silent for `ping_interval_s + pong_timeout_s` is dropped and
reconnected. Reconnects back off exponentially (`common/reconnecting_ws.py`).

`resubscribe(topics)` unsubscribes and subscribes again on the live connection, which makes Bybit
send a fresh orderbook snapshot (the cure for a gap). `subscribe(topics)` / `unsubscribe(topics)`
add or drop optional topics on this and every later connection: they are asked for in a request of
their own once the connection is up, so a refusal is logged and never keeps the stream down. With
`ping_on_connect` a connection pings as soon as it is up (Bybit's Disconnection Protection counts a
reconnection once its "ping" resumes). A refused authentication is kept in `auth_error` (the
gateway turns it into an `AuthError` at start).

The private stream (`PrivateStream`): `/v5/private`, authenticated, subscribed to the account
topics. Bybit needs no listen key: the socket authenticates itself on every connection and
subscribes `order`, `execution`, `position` and `wallet` (the all-in-one topics). Messages are
`{"id", "topic", "creationTime", "data": [...]}`; each is handed to `on_event(topic, message,
recv_ts)`. After a reconnection, `on_reconnected` lets the gateway re-read what may have been
missed while the socket was down.

`LiveOrders` is what the gateway remembers about its orders (`common/account_gateway.PlacedOrder`) to
complete those messages: an execution row has no position index and no time in force, so the
position side and the order type come from the order as it was placed (or from the order topic /
open orders for others).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection

from pmm.connectors.base import Emit
from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.auth import BybitAuth
from pmm.connectors.bybit_perpetual.parse import MarketOf, is_trade_execution
from pmm.connectors.bybit_perpetual.parse_events import parse_execution
from pmm.connectors.common.backoff import Backoff
from pmm.connectors.common.live_orders import LiveOrders as CommonLiveOrders
from pmm.connectors.common.reconnecting_ws import ReconnectingWebSocket
from pmm.connectors.common.socket_session import Early, HandshakeFailed, SocketSession
from pmm.connectors.common.wire_json import decode_json
from pmm.core.clock import Clock
from pmm.core.events import OrderFilled
from pmm.core.model import ClientOrderId, PositionSide
from pmm.errors import AuthError

log = logging.getLogger("pmm.bybit.ws")
user_log = logging.getLogger("pmm.bybit.user_stream")

Handler = Callable[[Any, float], None]
Sleep = Callable[[float], Awaitable[None]]


class BybitWebSocket(SocketSession):
    """A self-healing Bybit socket. `start()` runs it as a task; `stop()` ends it."""

    handshake_words = "auth/subscribe"

    def __init__(self, *, name: str, connector_id: str, url: str, on_message: Handler, emit: Emit, clock: Clock,
                 topics: Sequence[str] = (), auth: BybitAuth | None = None,
                 on_connected: Callable[[], None] | None = None,
                 on_disconnected: Callable[[str], None] | None = None,
                 ping_interval_s: float = c.WS_PING_INTERVAL_S, pong_timeout_s: float = c.WS_PONG_TIMEOUT_S,
                 ack_timeout_s: float = c.WS_ACK_TIMEOUT_S, backoff_initial_s: float = c.WS_BACKOFF_INITIAL_S,
                 backoff_max_s: float = c.WS_BACKOFF_MAX_S, sleep: Sleep = asyncio.sleep) -> None:
        self.name = name
        self.url = url
        self.topics = list(topics)
        self._on_message = on_message
        self._clock = clock
        self._auth = auth
        self._ping_interval_s = ping_interval_s
        self._pong_timeout_s = pong_timeout_s
        self._ack_timeout_s = ack_timeout_s
        self._req_ids = itertools.count(1)
        self._resubscribe_ids: set[str] = set()
        self.auth_error: str | None = None
        self.pings_sent = 0
        self.optional_topics: list[str] = []
        self.ping_on_connect = False
        self._optional_ids: dict[str, list[str]] = {}  # req_id -> topics of optional (un)subscriptions
        self.bad_frames = 0  # frames that were not JSON or that the handler failed on (each logged)
        self.up_event = asyncio.Event()
        self.auth_failed = asyncio.Event()
        self._socket = ReconnectingWebSocket(
            name=name, connector_id=connector_id, url=url, session=self._session, emit=emit, clock=clock,
            on_connected=on_connected, on_disconnected=on_disconnected,
            backoff=Backoff(backoff_initial_s, backoff_max_s), sleep=sleep)

    def __repr__(self) -> str:
        return f"BybitWebSocket({self.name!r}, {self.url!r}, connected={self.connected})"

    async def resubscribe(self, topics: Sequence[str]) -> bool:
        """Unsubscribe and subscribe `topics` again (a fresh snapshot follows). False if not connected."""
        if not self.connected:
            return False
        req_id = f"resub-{next(self._req_ids)}"
        self._resubscribe_ids.add(req_id)
        ok = await self._socket.send(json.dumps({"req_id": f"un{req_id}", "op": c.WS_OP_UNSUBSCRIBE,
                                                 "args": list(topics)}))
        return ok and await self._socket.send(json.dumps({"req_id": req_id, "op": c.WS_OP_SUBSCRIBE,
                                                          "args": list(topics)}))

    async def subscribe(self, topics: Sequence[str]) -> bool:
        """Add optional `topics` to this connection (if up) and every later one; True if sent now."""
        new = [t for t in topics if t not in self.optional_topics and t not in self.topics]
        self.optional_topics += new
        return bool(new) and await self._send_optional(c.WS_OP_SUBSCRIBE, new)

    async def unsubscribe(self, topics: Sequence[str]) -> bool:
        """Drop optional `topics` from this connection (if up) and every later one; True if sent now."""
        gone = [t for t in topics if t in self.optional_topics]
        self.optional_topics = [t for t in self.optional_topics if t not in gone]
        return bool(gone) and await self._send_optional(c.WS_OP_UNSUBSCRIBE, gone)

    async def ping(self) -> bool:
        """Send a heartbeat now; False if not connected."""
        if not self.connected:
            return False
        sent = await self._socket.send(json.dumps({"req_id": f"ping-{next(self._req_ids)}", "op": c.WS_OP_PING}))
        self.pings_sent += int(sent)
        return sent

    async def _send_optional(self, op: str, topics: list[str]) -> bool:
        if not self.connected:
            return False  # the next connection asks for them once it is up
        req_id = f"opt-{next(self._req_ids)}"
        self._optional_ids[req_id] = topics
        return await self._socket.send(json.dumps({"req_id": req_id, "op": op, "args": topics}))

    # --- the session ------------------------------------------------------------------------------

    async def _after_up(self, ws: ClientConnection) -> None:
        if self.optional_topics:
            req_id = f"opt-{next(self._req_ids)}"
            self._optional_ids[req_id] = list(self.optional_topics)
            await ws.send(json.dumps({"req_id": req_id, "op": c.WS_OP_SUBSCRIBE, "args": self.optional_topics}))

    async def _handshake(self, ws: ClientConnection, early: Early) -> None:
        self._optional_ids.clear()  # requests of an earlier connection get no answer
        if self._auth is not None:
            await ws.send(json.dumps(self._auth.ws_auth_message()))
            reply = await self._await_op(ws, c.WS_OP_AUTH, None, early)
            if not reply.get("success"):
                self.auth_error = str(reply.get("ret_msg") or "authentication refused")
                self.auth_failed.set()
                raise HandshakeFailed(f"authentication refused by Bybit: {self.auth_error}")
            self.auth_error = None
            self.auth_failed.clear()
        if self.topics:
            req_id = str(next(self._req_ids))
            await ws.send(json.dumps({"req_id": req_id, "op": c.WS_OP_SUBSCRIBE, "args": self.topics}))
            reply = await self._await_op(ws, c.WS_OP_SUBSCRIBE, req_id, early)
            if not reply.get("success"):
                raise HandshakeFailed(f"subscription refused by Bybit: {reply.get('ret_msg') or reply}")

    async def _await_op(self, ws: ClientConnection, op: str, req_id: str | None, early: Early) -> dict[str, Any]:
        """Read until the reply to `op` arrives; data frames that come first are kept for later."""
        while True:
            raw = await ws.recv()
            recv_ts = self._clock.now()
            message = self._decode(raw)
            if not isinstance(message, dict):
                continue
            if message.get("op") == op and (req_id is None or str(message.get("req_id") or req_id) == req_id):
                return message
            if "topic" in message:
                early.append((message, recv_ts))

    async def _read(self, ws: ClientConnection) -> str:
        last_rx = self._clock.now()
        next_ping = last_rx if self.ping_on_connect else last_rx + self._ping_interval_s
        while True:
            now = self._clock.now()
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for wraps every recv in a new task
                async with asyncio.timeout(max(0.0, next_ping - now)):
                    raw = await ws.recv()
            except TimeoutError:
                now = self._clock.now()
                if now - last_rx >= self._ping_interval_s + self._pong_timeout_s:
                    return f"no data or pong for {now - last_rx:.0f} s"
                await ws.send(json.dumps({"req_id": f"ping-{next(self._req_ids)}", "op": c.WS_OP_PING}))
                self.pings_sent += 1
                next_ping = now + self._ping_interval_s
                continue
            recv_ts = last_rx = self._clock.now()
            message = self._decode(raw)
            if not isinstance(message, dict):
                continue
            if "op" in message and "topic" not in message:
                failure = self._on_op(message)
                if failure:
                    return failure
                continue
            self._dispatch(message, recv_ts)

    def _on_op(self, message: dict[str, Any]) -> str | None:
        """A control frame (pong, subscribe acks). Returns a reason to reconnect, if any."""
        op, req_id = message.get("op"), str(message.get("req_id") or "")
        if op in (c.WS_OP_PING, c.WS_OP_PONG):
            return None
        if req_id in self._optional_ids:
            topics = self._optional_ids.pop(req_id)
            if not message.get("success"):
                log.warning("%s stream: Bybit refused to %s %s: %s", self.name, op, ", ".join(topics),
                            message.get("ret_msg"))
            return None
        if op == c.WS_OP_SUBSCRIBE and req_id in self._resubscribe_ids:
            self._resubscribe_ids.discard(req_id)
            if not message.get("success"):
                return f"resubscription refused by Bybit: {message.get('ret_msg')}; reconnecting instead"
            return None
        if message.get("success") is False and op != c.WS_OP_UNSUBSCRIBE:
            log.warning("%s stream: %s refused: %s", self.name, op, message.get("ret_msg"))
        return None

    def _decode(self, raw: str | bytes) -> Any:
        try:
            return decode_json(raw if isinstance(raw, str) else raw.decode())
        except ValueError:
            self.bad_frames += 1
            log.warning("%s stream: ignoring a frame that is not JSON", self.name)
            return None


# --- the private stream ---------------------------------------------------------------------------

EventHandler = Callable[[str, dict[str, Any], float], None]

_MAX_REMEMBERED = 100_000


class PrivateStream:
    def __init__(self, *, ws_url: str, auth: BybitAuth, clock: Clock, connector_id: str, on_event: EventHandler,
                 emit: Emit, on_reconnected: Callable[[], None] | None = None,
                 topics: tuple[str, ...] = c.PRIVATE_TOPICS, ws_options: dict[str, Any] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._on_event = on_event
        self._on_reconnected = on_reconnected
        self.ws = BybitWebSocket(name="account", connector_id=connector_id, url=ws_url.rstrip("/") + c.WS_PRIVATE_PATH,
                                 on_message=self._on_message, emit=emit, clock=clock, topics=topics, auth=auth,
                                 on_connected=self._on_connected, sleep=sleep, **(ws_options or {}))

    def __repr__(self) -> str:
        return f"PrivateStream({self.ws!r})"

    async def start(self, wait_s: float = 10.0) -> None:
        """Connect; wait (up to `wait_s`) for the first authenticated subscription.

        A refused authentication is an `AuthError` now, before any order is placed; a socket that is
        merely slow to come up keeps trying in the background (reconciliation covers the gap).
        """
        self.ws.start()
        if await self.ws.wait_up(wait_s):
            return
        if self.ws.auth_error is not None:
            await self.ws.stop()
            raise AuthError(f"Bybit refused the private stream's authentication ({self.ws.auth_error}). Check the "
                            f"API key and secret (`pmm connect {c.CONNECTOR_ID}`) and that the key is for this "
                            "environment (mainnet or testnet).")
        user_log.warning("the Bybit private stream is not up after %.0f s (%s); continuing, it keeps reconnecting",
                    wait_s, self.ws.last_reason or "no answer")

    async def stop(self) -> None:
        await self.ws.stop()

    def _on_connected(self) -> None:
        if self.ws.connections > 1 and self._on_reconnected is not None:
            self._on_reconnected()  # events may have been missed while the socket was down

    def _on_message(self, message: Any, recv_ts: float) -> None:
        if not isinstance(message, dict):
            return
        topic = str(message.get("topic") or "")
        base = topic.split(".", 1)[0]  # "order.linear" and "order" are the same stream for us
        if base in c.PRIVATE_TOPICS:
            self._on_event(base, message, recv_ts)


class LiveOrders(CommonLiveOrders):
    """Our orders in flight (`common/live_orders.py`), plus the position side of any order id seen (bounded)."""

    def __init__(self) -> None:
        super().__init__()
        self._sides: dict[str, PositionSide] = {}

    def remember_side(self, exchange_id: str, side: PositionSide) -> None:
        self._sides[str(exchange_id)] = side
        if len(self._sides) > _MAX_REMEMBERED:  # the oldest ids are the least needed
            del self._sides[next(iter(self._sides))]

    def side_of(self, exchange_id: str) -> PositionSide:
        return self._sides.get(str(exchange_id), PositionSide.BOTH)

    def fill(self, row: dict[str, Any], market_of: MarketOf, recv_ts: float) -> OrderFilled | None:
        """An execution row (a trade) as the fill of the order it belongs to (`on_event` keeps count)."""
        if not is_trade_execution(row):
            return None
        link = str(row.get("orderLinkId") or "")
        live = self.orders.get(ClientOrderId(link)) if link else None
        side = live.position_side if live is not None else None
        if side is None:  # not ours, or placed without a side: the side its order row told
            side = self.side_of(str(row["orderId"]))
        return parse_execution(row, market_of, recv_ts, position_side=side,
                               order_type=live.request.order_type if live is not None else None)
