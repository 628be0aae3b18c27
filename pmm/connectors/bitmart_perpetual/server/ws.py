"""BitMart's WebSocket words for the server's stream hub (Futures V2 "WebSocket", exchange_apis_more.md
§K6): `/api` (public) and `/user` (private), each with `?protocol=1.1`.

- Text `ping` is answered with text `pong`; `{"action": "ping"}` (the SDK's) with
  `{"action": "ping", "success": true}`.
- `{"action": "access", "args": [key, ts_ms, sign, device]}` -> `{"action": "access", "success": true}`,
  or `{"action": "access", "success": false, "error"}` and the socket is closed (BitMart disconnects
  a failed login).
- `{"action": "subscribe" | "unsubscribe", "args": [topic, ...]}` -> one
  `{"action", "group": topic, "success": true, "request": {...}}` per topic, or `success` false with
  the `error`: an unknown channel or symbol, a private channel before login or on the public path.
- `{"action": "request", "args": [topic]}`: a one-shot push (a depth snapshot, the funding rate).
- Subscription keys are the topics themselves ("futures/order", "futures/asset:USDT", ...). The
  first messages after a subscribe are the channel's snapshot where BitMart sends one (depth,
  ticker, funding rate; positions on the private path).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.auth import Verifier
from pmm.connectors.bitmart_perpetual.server.streams import (
    DEPTHS,
    SPEEDS,
    WHOLE_DEPTH_CHANNELS,
    depth_channel,
    parse_topic,
)
from pmm.connectors.bitmart_perpetual.server.wire import BitmartSymbols
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.stream_hub import Conn, StreamHub

PUBLIC, PRIVATE = "public", "private"
PUBLIC_CHANNELS = (spec.CHANNEL_TRADE, spec.CHANNEL_TICKER, spec.CHANNEL_FUNDING,
                   *(depth_channel(d) for d in DEPTHS), *WHOLE_DEPTH_CHANNELS)
PRIVATE_CHANNELS = (spec.CHANNEL_ORDER, spec.CHANNEL_POSITION)
ASSETS = ("USDT", "BTC", "ETH")
_CLOSE_DELAY_S = 0.05  # the refusal frame goes out before the close


class BitmartStreamDialect:
    """The BitMart server's `StreamDialect` (see module docstring)."""

    def __init__(self, hub: StreamHub, verifier: Verifier, faults: KitFaults, symbols: BitmartSymbols,
                 first_messages: Callable[[str, bool], list[dict[str, Any]]]) -> None:
        self._hub = hub
        self._verifier = verifier
        self._faults = faults
        self._symbols = symbols
        self._first_messages = first_messages  # (topic, requested?) -> pushes
        self._tasks: set[asyncio.Task[None]] = set()

    def on_open(self, conn: Conn) -> None:
        return None

    def on_close(self, conn: Conn) -> None:
        return None

    def on_text(self, conn: Conn, text: str) -> None:
        if text == "ping":
            self._hub.send(conn, "pong")
            return
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self._hub.send(conn, {"action": "unknown", "success": False, "error": f"invalid request: {text[:100]}"})
            return
        action, args = msg.get("action"), msg.get("args")
        if action == "ping":
            self._hub.send(conn, {"action": "ping", "success": True, "request": msg})
        elif action == "access":
            self._access(conn, args, msg)
        elif action in ("subscribe", "unsubscribe", "request"):
            if not isinstance(args, list) or not args or not all(isinstance(a, str) for a in args):
                self._hub.send(conn, {"action": action, "success": False, "error": "args must be a list of topics",
                                      "request": msg})
                return
            for topic in args:
                self._topic(conn, action, topic)
        else:
            self._hub.send(conn, {"action": action, "success": False, "error": f"unknown action {action!r}",
                                  "request": msg})

    def _access(self, conn: Conn, args: Any, msg: dict[str, Any]) -> None:
        error = self._verifier.check_ws_login(args)
        if error is None and self._faults.take_login_rejection():
            error = "access refused"
        if error is not None:
            self._hub.send(conn, {"action": "access", "success": False, "error": error, "request": msg})
            self._close_soon(conn)
            return
        conn.logged_in = True
        self._hub.send(conn, {"action": "access", "success": True})

    def _close_soon(self, conn: Conn) -> None:
        async def close() -> None:
            await asyncio.sleep(_CLOSE_DELAY_S)
            conn.finish()
            await conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"access failed")

        task = asyncio.ensure_future(close())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _topic(self, conn: Conn, action: str, topic: str) -> None:
        error = self._check(conn, topic)
        request = {"action": action, "args": [topic]}
        if error is not None:
            self._hub.send(conn, {"action": action, "group": topic, "success": False, "error": error,
                                  "request": request})
            return
        if action == "request":
            for push in self._first_messages(topic, True):
                self._hub.send(conn, push)
            return
        if action == "subscribe":
            self._hub.subscribe(conn, topic)
        else:
            self._hub.unsubscribe(conn, topic)
        self._hub.send(conn, {"action": action, "group": topic, "success": True, "request": request})
        if action == "subscribe":
            for push in self._first_messages(topic, False):
                self._hub.send(conn, push)

    def _check(self, conn: Conn, topic: str) -> str | None:
        """Why BitMart would refuse `topic` on this socket, or None."""
        if conn.kind == PRIVATE:
            channel, _, currency = topic.partition(":")
            if not conn.logged_in:
                return "Need login first"
            if topic in PRIVATE_CHANNELS or (channel == spec.CHANNEL_ASSET and currency in ASSETS):
                return None
            return f"topic {topic} not found"
        parts = parse_topic(topic)
        if parts is None or parts[0] not in PUBLIC_CHANNELS or parts[1] not in self._symbols.symbols():
            return f"topic {topic} not found"
        channel, _, speed = parts
        if channel.startswith("futures/depthIncrease"):
            known_speed = speed in SPEEDS  # the versioned book names its speed
        elif channel in WHOLE_DEPTH_CHANNELS:
            known_speed = speed in ("", *SPEEDS)  # optional: ccxt subscribes without one
        else:
            known_speed = not speed
        return None if known_speed else f"topic {topic} not found"
