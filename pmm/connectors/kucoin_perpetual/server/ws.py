"""KuCoin's WebSocket words for the server's stream hub (§I6).

- A client connects to the endpoint a bullet named, with `?token=<t>&connectId=<id>` (any order,
  other parameters ignored). A token the server did not issue, or a private token refused by an
  injected login fault, gets `{"id", "type": "error", "code": 401, "data": "token is invalid"}` and
  the socket is closed; otherwise `{"id": <connectId>, "type": "welcome"}`. A private token makes a
  private socket (`conn.logged_in`): its topics and every public one may be subscribed there.
- `{"id", "type": "ping"}` -> `{"id", "type": "pong", "timestamp"}`.
- `{"id", "type": "subscribe" | "unsubscribe", "topic", "privateChannel"?, "response"?}` ->
  `{"id", "type": "ack"}` when `response` is true. A topic names one or more symbols after a colon
  (`/contractMarket/level2:XBTUSDTM,ETHUSDTM`) or none (`/contractMarket/tradeOrders`,
  `/contractAccount/wallet`, `/contract/positionAll`, `/contractMarket/advancedOrders`). An unknown
  topic or symbol is an error 404, a private topic on a public socket an error 401, both with the
  request's `id`.
- Subscription keys: `(topic prefix, symbol)`, or `(topic prefix, None)` for the all-symbol topics.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode

from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.stream_hub import Conn, StreamHub
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.server.streams import PUBLIC_TOPICS
from pmm.connectors.common.symbols import ListedSymbols
from pmm.core.clock import Clock

PUBLIC, PRIVATE = "public", "private"
SYMBOL_PRIVATE_TOPICS = (spec.TOPIC_TRADE_ORDERS, spec.TOPIC_POSITION)
ACCOUNT_TOPICS = (spec.TOPIC_TRADE_ORDERS, spec.TOPIC_WALLET, spec.TOPIC_POSITION_ALL, spec.TOPIC_ADVANCED_ORDERS)


class KucoinStreamDialect:
    """The KuCoin server's `StreamDialect` (see module docstring)."""

    def __init__(self, hub: StreamHub, faults: KitFaults, symbols: ListedSymbols, clock: Clock,
                 token_kind: Callable[[str], bool | None],
                 first_messages: Callable[[tuple[str, str | None]], list[dict[str, Any]]],
                 public_topics: tuple[str, ...] = PUBLIC_TOPICS) -> None:
        self._hub = hub
        self._faults = faults
        self._symbols = symbols
        self._clock = clock
        self._token_kind = token_kind  # token -> True private, False public, None unknown
        self._first_messages = first_messages
        self._public_topics = public_topics
        self._tasks: set[asyncio.Task[Any]] = set()

    def on_open(self, conn: Conn) -> None:
        private = self._token_kind(conn.query.get("token", ""))
        connect_id = conn.query.get("connectId") or conn.conn_id
        if private is None or (private and self._faults.take_login_rejection()):
            self._hub.send(conn, {"id": connect_id, "type": "error", "code": 401, "data": "token is invalid"})
            conn.finish()
            task = asyncio.ensure_future(conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"token is invalid"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        conn.kind = PRIVATE if private else PUBLIC
        conn.logged_in = private
        self._hub.send(conn, {"id": connect_id, "type": "welcome"})

    def on_close(self, conn: Conn) -> None:
        return None

    def _error(self, conn: Conn, msg_id: Any, code: int, data: str) -> None:
        self._hub.send(conn, {"id": msg_id, "type": "error", "code": code, "data": data})

    def on_text(self, conn: Conn, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self._error(conn, None, 400, f"message is not valid JSON: {text[:100]}")
            return
        kind, msg_id = msg.get("type"), msg.get("id")
        if kind == "ping":
            self._hub.send(conn, {"id": msg_id, "type": "pong", "timestamp": ms(self._clock.now()) * 1000})
        elif kind in ("subscribe", "unsubscribe"):
            self._subscription(conn, kind, msg)
        else:
            self._error(conn, msg_id, 400, f"unknown message type {kind!r}")

    def _subscription(self, conn: Conn, kind: str, msg: dict[str, Any]) -> None:
        msg_id, topic = msg.get("id"), msg.get("topic")
        if not isinstance(topic, str) or not topic:
            self._error(conn, msg_id, 400, "topic is required")
            return
        prefix, sep, names = topic.partition(":")
        private = prefix in ACCOUNT_TOPICS or prefix == spec.TOPIC_POSITION
        if not private and prefix not in self._public_topics:
            self._error(conn, msg_id, 404, f"topic {topic} is not found")
            return
        if private and not conn.logged_in:
            self._error(conn, msg_id, 401, f"topic {topic} needs a private token (bullet-private)")
            return
        symbols = [s for s in names.split(",") if s] if sep else []
        if (not symbols and prefix not in ACCOUNT_TOPICS) or any(self._symbols.market(s) is None for s in symbols):
            self._error(conn, msg_id, 404, f"topic {topic} is not found")
            return
        keys: list[tuple[str, str | None]] = [(prefix, s) for s in symbols] or [(prefix, None)]
        for key in keys:
            if kind == "subscribe":
                self._hub.subscribe(conn, key)
            else:
                self._hub.unsubscribe(conn, key)
        if msg.get("response") in (True, "true"):
            self._hub.send(conn, {"id": msg_id, "type": "ack"})
        if kind == "subscribe":
            for key in keys:
                for first in self._first_messages(key):
                    self._hub.send(conn, first)
