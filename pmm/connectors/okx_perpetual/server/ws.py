"""OKX's WebSocket words for the server's stream hub (docs-v5 "WebSocket", exchange_apis_more.md
§G8, §G9): `/ws/v5/public`, `/ws/v5/private` and `/ws/v5/business`.

- Text `ping` is answered with text `pong`.
- `{"op": "login", "args": [{apiKey, passphrase, timestamp, sign}]}` (timestamp in seconds, a
  string or an int) -> `{"event": "login", "code": "0", "msg": "", "connId"}`, or
  `{"event": "error", "code", "msg", "connId"}` with the reason's code (60005 key, 60004/60006
  timestamp, 60024 passphrase, 60007 signature; 60009 for an injected refusal).
- `{"id"?, "op": "subscribe" | "unsubscribe", "args": [{channel, ...}]}` -> one
  `{"id"?, "event": "subscribe", "arg", "connId"}` per arg, or an error event: 60018 for an unknown
  channel or instrument, 60011 for a private channel before login, 64003 for the VIP book
  channels, 60012 for a malformed request. `id` is echoed when sent.
- Subscription keys: public `(channel, instId)`; private `(channel, instType, instFamily, instId)`
  (`orders`, `positions`, `orders-algo`; instType SWAP or ANY), `("account", ccy)`,
  `("balance_and_position",)`. The first message after a subscribe is the channel's snapshot
  where OKX sends one (books, tickers, mark price, funding, positions, account).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from typing import Any

from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.stream_hub import Conn, StreamHub
from pmm.connectors.okx_perpetual import errors, spec
from pmm.connectors.okx_perpetual.auth import Verifier
from pmm.connectors.okx_perpetual.server.streams import PUBLIC_CHANNELS, VIP_BOOK_CHANNELS, index_id
from pmm.connectors.okx_perpetual.server.wire import OkxSymbols

PUBLIC, PRIVATE, BUSINESS = "public", "private", "business"
INST_TYPES = (spec.INST_TYPE, "ANY")
ORDER_LIKE = (spec.CHANNEL_ORDERS, spec.CHANNEL_POSITIONS)
ALGO_CHANNELS = (spec.CHANNEL_ALGO_ORDERS, "algo-advance")
ACCOUNT_CHANNELS = (spec.CHANNEL_ACCOUNT, "balance_and_position")


def echo_arg(key: tuple[Any, ...], uid: str | None = None) -> dict[str, Any]:
    """The `arg` of acks and pushes for a subscription key (OKX adds `uid` to private pushes)."""
    channel = key[0]
    if channel in ORDER_LIKE or channel in ALGO_CHANNELS:
        arg: dict[str, Any] = {"channel": channel, "instType": key[1]}
        if key[2] is not None:
            arg["instFamily"] = key[2]
        if key[3] is not None:
            arg["instId"] = key[3]
    elif channel == spec.CHANNEL_ACCOUNT:
        arg = {"channel": channel} if key[1] is None else {"channel": channel, "ccy": key[1]}
    elif channel == "balance_and_position":
        arg = {"channel": channel}
    else:
        arg = {"channel": channel, "instId": key[1]}
    if uid is not None:
        arg["uid"] = uid
    return arg


class _Refused(Exception):
    """A subscription OKX would refuse: its code, and the message (from `param0` or given whole)."""

    def __init__(self, code: int, param0: str = "", *, msg: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.msg = msg if msg is not None else errors.message(code, param0=param0)


class OkxStreamDialect:
    """The OKX server's `StreamDialect` (see module docstring)."""

    def __init__(self, hub: StreamHub, verifier: Verifier, faults: KitFaults, symbols: OkxSymbols,
                 first_messages: Callable[[tuple[Any, ...]], list[dict[str, Any]]]) -> None:
        self._hub = hub
        self._verifier = verifier
        self._faults = faults
        self._symbols = symbols
        self._first_messages = first_messages

    def on_open(self, conn: Conn) -> None:
        return None

    def on_close(self, conn: Conn) -> None:
        return None

    def _error(self, conn: Conn, code: int, msg: str | None = None, msg_id: Any = None) -> None:
        reply: dict[str, Any] = {"event": "error", "code": str(code), "msg": msg or errors.message(code),
                                 "connId": conn.conn_id}
        if msg_id is not None:
            reply = {"id": msg_id, **reply}
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
            self._error(conn, 60012, errors.message(60012, param0=text))
            return
        op, msg_id = msg.get("op"), msg.get("id")
        if op == "login":
            self._login(conn, msg.get("args"))
        elif op in ("subscribe", "unsubscribe"):
            args = msg.get("args")
            if not isinstance(args, list) or not args or not all(isinstance(a, dict) for a in args):
                self._error(conn, 60012, errors.message(60012, param0=text), msg_id)
                return
            for arg in args:
                self._subscription(conn, op, arg, msg_id)
        else:
            self._error(conn, 60019, errors.message(60019, param0=op), msg_id)

    def _login(self, conn: Conn, args: Any) -> None:
        if not isinstance(args, list) or len(args) != 1:
            self._error(conn, 60013)
            return
        code = self._verifier.check_ws_login(args[0])
        if code is None and self._faults.take_login_rejection():
            code = 60009
        if code is not None:
            self._error(conn, code)
            return
        conn.logged_in = True
        self._hub.send(conn, {"event": "login", "code": "0", "msg": "", "connId": conn.conn_id})

    def _subscription(self, conn: Conn, op: str, arg: dict[str, Any], msg_id: Any) -> None:
        try:
            key = self._key(conn, arg)
        except _Refused as refused:
            self._error(conn, refused.code, refused.msg, msg_id)
            return
        if op == "subscribe":
            self._hub.subscribe(conn, key)
        else:
            self._hub.unsubscribe(conn, key)
        ack: dict[str, Any] = {"event": op, "arg": echo_arg(key), "connId": conn.conn_id}
        self._hub.send(conn, ack if msg_id is None else {"id": msg_id, **ack})
        if op == "subscribe":
            for first in self._first_messages(key):
                self._hub.send(conn, first)

    def _key(self, conn: Conn, arg: dict[str, Any]) -> tuple[Any, ...]:
        """The subscription key of one arg; `_Refused` when OKX would refuse it."""
        channel = arg.get("channel")
        missing = _Refused(60018, f"channel:{channel}")
        if not isinstance(channel, str):
            raise _Refused(60013)
        if channel in VIP_BOOK_CHANNELS:
            raise _Refused(64003)
        inst_id = arg.get("instId") or None
        if conn.kind == PUBLIC:
            if channel not in PUBLIC_CHANNELS:
                raise missing
            known = ([index_id(s) for s in self._symbols.symbols()] if channel == spec.CHANNEL_INDEX_TICKERS
                     else self._symbols.symbols())
            if inst_id not in known:
                raise _Refused(60018, f"channel:{channel},instId:{inst_id}")
            return channel, inst_id
        private_channels = ALGO_CHANNELS if conn.kind == BUSINESS else ORDER_LIKE + ACCOUNT_CHANNELS
        if channel not in private_channels:
            raise missing
        if not conn.logged_in:
            raise _Refused(60011)
        if channel == spec.CHANNEL_ACCOUNT:
            return channel, arg.get("ccy") or None
        if channel == "balance_and_position":
            return (channel,)
        inst_type = arg.get("instType")
        if inst_type not in INST_TYPES:
            raise _Refused(60018, f"channel:{channel},instType:{inst_type}")
        if inst_id is not None and inst_id not in self._symbols.symbols():
            raise _Refused(60018, f"channel:{channel},instId:{inst_id}")
        return channel, inst_type, arg.get("instFamily") or None, inst_id


def private_keys(channel: str, symbol: str) -> list[Hashable]:
    """Every subscription key a private push about `symbol` on `channel` goes to."""
    family = index_id(symbol)
    return [(channel, inst_type, fam, inst) for inst_type in INST_TYPES
            for fam, inst in ((None, None), (family, None), (None, symbol))]
