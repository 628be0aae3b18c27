"""Bitget's WebSocket words for the server's stream hub (Bitget "Websocket API", exchange_apis_more.md
§J6, §L2): `/v2/ws/public` and `/v2/ws/private`.

- Text `ping` is answered with text `pong`; a socket silent for two minutes is closed.
- `{"op": "login", "args": [{apiKey, passphrase, timestamp, sign}]}` (timestamp in seconds or
  milliseconds, a string or a number; ccxt adds a top-level "url", ignored) ->
  `{"event": "login", "code": "0", "msg": ""}`, or `{"event": "error", "code", "msg"}` with the
  reason's code (30011 key, 30013 / 30014 timestamp, 30012 passphrase, 30015 signature; 30005 for
  an injected refusal), after which the socket is closed, as Bitget does.
- `{"op": "subscribe" | "unsubscribe", "args": [{instType, channel, instId | coin}]}` -> one
  `{"event": "subscribe", "arg"}` per arg, or `{"event": "error", "arg", "code", "msg"}`: 30001 for
  an unknown channel or symbol, 30004 for a private channel before login, 30002 for a malformed
  request, 30003 for an unknown op.
- Subscription keys: public `(channel, symbol)`; private `(channel, instType, instId or coin)`.
  The first messages after a subscribe are the channel's snapshot (books, trades, ticker,
  positions, account).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode

from pmm.connectors.bitget_perpetual import errors, spec
from pmm.connectors.bitget_perpetual.auth import Verifier
from pmm.connectors.bitget_perpetual.server.private import PRIVATE_CHANNELS
from pmm.connectors.bitget_perpetual.server.streams import PUBLIC_CHANNELS
from pmm.connectors.bitget_perpetual.server.wire import BitgetSymbols
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.stream_hub import Conn, StreamHub

PUBLIC, PRIVATE = "public", "private"
IDLE_CUTOFF_S = 120.0


class _Refused(Exception):
    def __init__(self, code: int, msg: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.msg = msg or errors.message(code)


class BitgetStreamDialect:
    """The Bitget server's `StreamDialect` (see module docstring)."""

    def __init__(self, hub: StreamHub, verifier: Verifier, faults: KitFaults, symbols: BitgetSymbols,
                 public_first: Callable[[str, str], list[dict[str, Any]]],
                 private_first: Callable[[tuple[Any, ...]], list[dict[str, Any]]],
                 inst_type: str = spec.PRODUCT_TYPE, public_channels: tuple[str, ...] = PUBLIC_CHANNELS) -> None:
        self._inst_type = inst_type  # USDT-FUTURES, or SPOT for the spot server
        self._public_channels = public_channels
        self._hub = hub
        self._verifier = verifier
        self._faults = faults
        self._symbols = symbols
        self._public_first = public_first
        self._private_first = private_first
        self._tasks: set[asyncio.Task[Any]] = set()

    def on_open(self, conn: Conn) -> None:
        return None

    def on_close(self, conn: Conn) -> None:
        return None

    def _error(self, conn: Conn, code: int, msg: str | None = None, arg: Any = None) -> None:
        reply: dict[str, Any] = {"event": "error", "code": str(code), "msg": msg or errors.message(code)}
        if arg is not None:
            reply["arg"] = arg
        self._hub.send(conn, reply)

    def on_text(self, conn: Conn, text: str) -> None:
        if text == spec.WS_PING:
            self._hub.send(conn, spec.WS_PONG)
            return
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self._error(conn, 30002, f"Illegal request: {text[:100]}")
            return
        op = msg.get("op")
        if op == "login":
            self._login(conn, msg.get("args"))
        elif op in ("subscribe", "unsubscribe"):
            args = msg.get("args")
            if not isinstance(args, list) or not args or not all(isinstance(a, dict) for a in args):
                self._error(conn, 30002)
                return
            for arg in args:
                self._subscription(conn, op, arg)
        else:
            self._error(conn, 30003, f"Invalid op: {op}")

    def _login(self, conn: Conn, args: Any) -> None:
        code = self._verifier.check_ws_login(args[0]) if isinstance(args, list) and len(args) == 1 else 30002
        if code is None and self._faults.take_login_rejection():
            code = 30005
        if code is not None:
            self._error(conn, code)
            conn.finish()  # "If login fails, it will automatically disconnect"
            task = asyncio.ensure_future(conn.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"login failed"))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        conn.logged_in = True
        self._hub.send(conn, {"event": "login", "code": "0", "msg": ""})

    def _subscription(self, conn: Conn, op: str, arg: dict[str, Any]) -> None:
        try:
            key = self._key(conn, arg)
        except _Refused as refused:
            self._error(conn, refused.code, refused.msg, arg)
            return
        if op == "subscribe":
            self._hub.subscribe(conn, key)
        else:
            self._hub.unsubscribe(conn, key)
        self._hub.send(conn, {"event": op, "arg": arg})
        if op == "subscribe":
            first = self._public_first(*key) if len(key) == 2 else self._private_first(key)
            for message in first:
                self._hub.send(conn, message)

    def _key(self, conn: Conn, arg: dict[str, Any]) -> tuple[Any, ...]:
        """The subscription key of one arg; `_Refused` when Bitget would refuse it."""
        channel, inst_type = arg.get("channel"), str(arg.get("instType") or "").upper()
        if not isinstance(channel, str) or inst_type != self._inst_type:
            raise _Refused(30001, f"instType:{arg.get('instType')},channel:{channel} doesn't exist")
        if conn.kind == PUBLIC:
            symbol = str(arg.get("instId") or "")
            if channel not in self._public_channels or self._symbols.market(symbol) is None:
                raise _Refused(30001, f"instType:{inst_type},channel:{channel},instId:{symbol} doesn't exist")
            return channel, symbol.upper()
        if channel not in PRIVATE_CHANNELS:
            raise _Refused(30001, f"instType:{inst_type},channel:{channel} doesn't exist")
        if not conn.logged_in:
            raise _Refused(30004)
        target = str(arg.get("coin" if channel == spec.CHANNEL_ACCOUNT else "instId") or spec.INST_ID_ALL)
        if channel == spec.CHANNEL_ACCOUNT:
            target = spec.INST_ID_ALL
        elif target != spec.INST_ID_ALL:
            if self._symbols.market(target) is None:
                raise _Refused(30001, f"instType:{inst_type},channel:{channel},instId:{target} doesn't exist")
            target = target.upper()
        return channel, spec.PRODUCT_TYPE, target
