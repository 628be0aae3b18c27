"""BitMEX's WebSocket words for the server's stream hub: `/realtime` (BitMEX WebSocket API;
exchange_apis_more.md §P).

- On open: the welcome `{"info": "Welcome to the BitMEX Realtime API.", "version", "timestamp",
  "docs", "limit": {"remaining"}}`. Keys may come as `api-key` / `api-expires` / `api-signature`
  headers on the upgrade (signed over `GET/realtime` + expires), and topics as `?subscribe=a,b`.
- Text `ping` is answered with text `pong`.
- `{"op": "authKeyExpires", "args": [key, expires, signature]}` -> `{"success": true, "request": ...}`,
  or `{"status": 401, "error": ..., "meta": {}, "request": ...}` (expires in seconds or milliseconds).
- `{"op": "subscribe" | "unsubscribe", "args": "table:SYMBOL" | [...]}` -> one `{"success": true,
  "subscribe": topic, "request": ...}` per topic, then the table's `partial` (with `keys`, `types`,
  `foreignKeys`, `attributes` and `filter`); an unknown table or symbol is a 400 error, a private table
  before authentication a 401.
- `{"op": "cancelAllAfter", "args": ms}` arms the dead-man switch (0 disarms).
Subscription keys are `(table, symbol or None)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.auth import Verifier
from pmm.connectors.bitmex_perpetual.server.streams import PrivateTables, PublicTables
from pmm.connectors.bitmex_perpetual.server.wire import BitmexSymbols, dumps, iso
from pmm.connectors.common.server.dead_man import DeadManSwitch
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.stream_hub import Conn, StreamHub
from pmm.core.clock import Clock

REALTIME = "realtime"
PUBLIC_TABLES = (spec.TABLE_BOOK, spec.TABLE_TRADE, spec.TABLE_INSTRUMENT, spec.TABLE_QUOTE)
PRIVATE_TABLES = spec.PRIVATE_TABLES
KEYS = {spec.TABLE_BOOK: ["symbol", "id", "side"], spec.TABLE_TRADE: [], spec.TABLE_INSTRUMENT: ["symbol"],
        spec.TABLE_QUOTE: [], spec.TABLE_ORDER: ["orderID"], spec.TABLE_EXECUTION: ["execID"],
        spec.TABLE_POSITION: ["account", "symbol", "currency"], spec.TABLE_MARGIN: ["account", "currency"],
        spec.TABLE_WALLET: ["account", "currency"]}
_ATTRIBUTES = {spec.TABLE_BOOK: {"symbol": "parted", "id": "sorted"}, spec.TABLE_TRADE: {"timestamp": "sorted",
                                                                                       "symbol": "grouped"},
               spec.TABLE_ORDER: {"orderID": "grouped", "account": "grouped", "ordStatus": "grouped",
                                  "workingIndicator": "grouped"},
               spec.TABLE_POSITION: {"account": "sorted", "symbol": "grouped", "currency": "grouped"},
               spec.TABLE_MARGIN: {"account": "sorted", "currency": "grouped"}}
NOT_AUTHENTICATED = "You must be authenticated to subscribe to this table."


class _Refused(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error


class BitmexStreamDialect:
    """The BitMEX server's `StreamDialect` (see module docstring)."""

    def __init__(self, hub: StreamHub, verifier: Verifier, faults: KitFaults, symbols: BitmexSymbols,
                 public: PublicTables, private: PrivateTables, dead_man: DeadManSwitch, clock: Clock,
                 open_orders: Callable[[], list[dict[str, Any]]]) -> None:
        self._hub = hub
        self._verifier = verifier
        self._faults = faults
        self._symbols = symbols
        self._public = public
        self._private = private
        self._dead_man = dead_man
        self._clock = clock
        self._open_orders = open_orders

    def _send(self, conn: Conn, payload: Any) -> None:
        self._hub.send(conn, payload if isinstance(payload, str) else dumps(payload))

    def _error(self, conn: Conn, status: int, error: str, request: Any) -> None:
        self._send(conn, {"status": status, "error": error, "meta": {}, "request": request})

    def on_open(self, conn: Conn) -> None:
        self._send(conn, {"info": "Welcome to the BitMEX Realtime API.", "version": "2.0.0",
                          "timestamp": iso(self._clock.now()), "docs": "https://www.bitmex.com/app/wsAPI",
                          "heartbeatEnabled": False, "limit": {"remaining": 39}})
        if conn.headers.get("api-key"):
            message = self._verifier.check_ws_headers(conn.headers)
            if message is None and self._faults.take_login_rejection():
                message = "Invalid API Key."
            if message is not None:
                self._error(conn, 401, message, {"op": "authKeyExpires", "args": []})
            else:
                conn.logged_in = True
        topics = unquote(conn.query.get("subscribe", ""))
        if topics:
            request = {"op": "subscribe", "args": topics.split(",")}
            for topic in topics.split(","):
                self._subscription(conn, "subscribe", topic, request)

    def on_close(self, conn: Conn) -> None:
        return None

    def on_text(self, conn: Conn, text: str) -> None:
        if text == spec.WS_PING:
            self._hub.send(conn, spec.WS_PONG)
            return
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self._error(conn, 400, "Unrecognized request. See the docs or send 'help' for more details.", text)
            return
        op, args = msg.get("op"), msg.get("args")
        if op in ("authKeyExpires", "authKey"):
            self._auth(conn, args, msg)
        elif op in ("subscribe", "unsubscribe"):
            topics = [args] if isinstance(args, str) else args
            if not isinstance(topics, list) or not topics or not all(isinstance(t, str) for t in topics):
                self._error(conn, 400, f"Invalid args for {op}", msg)
                return
            for topic in topics:
                self._subscription(conn, op, topic, msg)
        elif op == "cancelAllAfter":
            self._cancel_all_after(conn, args, msg)
        elif op == "ping":
            self._hub.send(conn, spec.WS_PONG)
        else:
            self._error(conn, 400, f"Unknown or unsupported operation: {op}", msg)

    def _auth(self, conn: Conn, args: Any, request: Any) -> None:
        message = self._verifier.check_ws_auth(args)
        if message is None and self._faults.take_login_rejection():
            message = "Invalid API Key."
        if message is not None:
            self._error(conn, 401, message, request)
            return
        conn.logged_in = True
        self._send(conn, {"success": True, "request": request})

    def _cancel_all_after(self, conn: Conn, args: Any, request: Any) -> None:
        timeout = args[0] if isinstance(args, list) and args else args
        if not conn.logged_in:
            self._error(conn, 401, "Not authenticated.", request)
            return
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            self._error(conn, 400, "Invalid timeout", request)
            return
        deadline = self._dead_man.arm(float(timeout) / 1000)
        now = self._clock.now()
        self._send(conn, {"now": iso(now), "cancelTime": iso(deadline) if deadline is not None else "0",
                          "request": request})

    def _subscription(self, conn: Conn, op: str, topic: str, request: Any) -> None:
        table, _, symbol = topic.partition(":")
        try:
            key = self._key(conn, table, symbol or None)
        except _Refused as refused:
            self._error(conn, refused.status, refused.error, request)
            return
        if op == "subscribe":
            self._hub.subscribe(conn, key)
        else:
            self._hub.unsubscribe(conn, key)
        self._send(conn, {"success": True, op: topic, "request": request})
        if op == "subscribe":
            self._send(conn, self.partial(table, symbol or None))

    def _key(self, conn: Conn, table: str, symbol: str | None) -> tuple[str, str | None]:
        if table not in PUBLIC_TABLES and table not in PRIVATE_TABLES:
            raise _Refused(400, f"Unknown table: {table}")
        if symbol is not None and symbol not in self._symbols.symbols():
            raise _Refused(400, f"Unknown or expired symbol: {symbol}")
        if table in PRIVATE_TABLES and not conn.logged_in:
            raise _Refused(401, NOT_AUTHENTICATED)
        return table, symbol

    def partial(self, table: str, symbol: str | None) -> dict[str, Any]:
        symbols = [symbol] if symbol is not None else self._symbols.symbols()
        if table == spec.TABLE_BOOK:
            rows = [r for s in symbols for r in self._public.book_rows(s)]
        elif table == spec.TABLE_TRADE:
            rows = [r for s in symbols for r in self._public.trade_rows(s)]
        elif table == spec.TABLE_INSTRUMENT:
            rows = [self._public.instrument(s) for s in symbols]
        elif table == spec.TABLE_QUOTE:
            rows = [q for s in symbols if (q := self._public.quote(s)) is not None]
        else:
            rows = self._private.rows(table, symbol, self._open_orders())
        out: dict[str, Any] = {"table": table, "action": "partial", "keys": KEYS.get(table, []),
                               "types": {}, "foreignKeys": {"symbol": "instrument"} if table != spec.TABLE_INSTRUMENT
                               else {}, "attributes": _ATTRIBUTES.get(table, {}), "filter": {}, "data": rows}
        if symbol is not None:
            out["filter"] = {"symbol": symbol}
        if table in PRIVATE_TABLES:
            out["filter"] = {**out["filter"], "account": 2_840_711}
        return out
