"""Gate's futures WebSocket words for the server's stream hub (exchange_apis_more.md §H6), on
`/v4/ws/usdt` (and the TestNet's `/v4/ws/futures/usdt`).

- `{"time", "channel": "futures.ping"}` -> `{"time", "time_ms", "channel": "futures.pong",
  "event": "", "result": null}`.
- `{"id"?, "time", "channel", "event": "subscribe" | "unsubscribe", "payload": [...], "auth"?}`
  -> `{"time", "time_ms", "id"?, "channel", "event", "payload", "error": null, "result":
  {"status": "success"}}`, or the same with `error: {code, message}` and `result: {"status":
  "fail"}`: code 2 for an unknown channel, contract or malformed payload, 4 for a private channel
  whose `auth` is missing or wrong (or an injected refused login). `id` is echoed when sent.
- Public payloads: `futures.order_book_update` `[contract, "20ms"|"100ms", "20"|"50"|"100"]`;
  `futures.trades` / `futures.tickers` one or more contracts. Private: `futures.orders`,
  `futures.usertrades`, `futures.positions` `[user_id, contract | "!all"]`, `futures.balances`
  `[user_id]` (any user id: the server has one account).
- Subscription keys: `(channel, contract, interval, level)` for the book, `(channel, contract)`
  for the other contract channels, `(channel,)` for balances.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.stream_hub import Conn, StreamHub
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.auth import Verifier
from pmm.connectors.gate_io_perpetual.server.private import ALL
from pmm.connectors.gate_io_perpetual.server.streams import BOOK_DEPTHS, BOOK_INTERVALS
from pmm.connectors.gate_io_perpetual.server.wire import GateSymbols, ms
from pmm.core.clock import Clock

PRIVATE_CONTRACT_CHANNELS = (spec.CHANNEL_ORDERS, spec.CHANNEL_USER_TRADES, spec.CHANNEL_POSITIONS)
BAD_ARGUMENT, AUTH_FAILED = 2, 4


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class GateStreamDialect:
    """The Gate server's `StreamDialect` (see module docstring)."""

    def __init__(self, hub: StreamHub, verifier: Verifier, faults: KitFaults, symbols: GateSymbols,
                 clock: Clock) -> None:
        self._hub = hub
        self._verifier = verifier
        self._faults = faults
        self._symbols = symbols
        self._clock = clock

    def on_open(self, conn: Conn) -> None:
        return None

    def on_close(self, conn: Conn) -> None:
        return None

    def _reply(self, conn: Conn, msg: dict[str, Any], event: str, *, error: _Refused | None = None,
               result: Any = None) -> None:
        now = self._clock.now()
        reply: dict[str, Any] = {"time": int(now), "time_ms": ms(now), "conn_id": conn.conn_id}
        if "id" in msg:
            reply["id"] = msg["id"]
        reply.update(channel=msg.get("channel", ""), event=event)
        if "payload" in msg:
            reply["payload"] = msg["payload"]
        reply["error"] = None if error is None else {"code": error.code, "message": error.message}
        reply["result"] = result if error is None else {"status": "fail"}
        self._hub.send(conn, reply)

    def on_text(self, conn: Conn, text: str) -> None:
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            self._reply(conn, {}, "", error=_Refused(1, "invalid request: not a JSON object"))
            return
        channel, event = msg.get("channel"), msg.get("event")
        if channel == spec.CHANNEL_PING:
            now = self._clock.now()
            self._hub.send(conn, {"time": int(now), "time_ms": ms(now), "conn_id": conn.conn_id,
                                  "channel": spec.CHANNEL_PONG, "event": "", "result": None})
            return
        if event not in ("subscribe", "unsubscribe"):
            self._reply(conn, msg, str(event or ""), error=_Refused(1, f"invalid event {event!r}"))
            return
        try:
            keys = self._keys(conn, msg)
        except _Refused as refused:
            self._reply(conn, msg, event, error=refused)
            return
        for key in keys:
            if event == "subscribe":
                self._hub.subscribe(conn, key)
            else:
                self._hub.unsubscribe(conn, key)
        self._reply(conn, msg, event, result={"status": "success"})

    def _keys(self, conn: Conn, msg: dict[str, Any]) -> list[Hashable]:
        channel, payload = msg.get("channel"), msg.get("payload")
        if not isinstance(channel, str) or not isinstance(payload, list) or \
                not all(isinstance(p, str) for p in payload):
            raise _Refused(BAD_ARGUMENT, "invalid argument: channel and a payload of strings are required")
        if channel == spec.CHANNEL_BOOK_UPDATE:
            if len(payload) != 3 or payload[1] not in BOOK_INTERVALS or payload[2] not in map(str, BOOK_DEPTHS):
                raise _Refused(BAD_ARGUMENT, f"invalid argument: payload {payload} (contract, interval, level)")
            return [(channel, self._contract(payload[0]), payload[1], payload[2])]
        if channel in (spec.CHANNEL_TRADES, spec.CHANNEL_TICKERS):
            if not payload:
                raise _Refused(BAD_ARGUMENT, "invalid argument: no contract")
            return [(channel, self._contract(name)) for name in payload]
        if channel in PRIVATE_CONTRACT_CHANNELS or channel == spec.CHANNEL_BALANCES:
            self._authenticate(conn, msg)
            if channel == spec.CHANNEL_BALANCES:
                return [(channel,)]
            if len(payload) != 2:
                raise _Refused(BAD_ARGUMENT, f"invalid argument: payload {payload} (user id, contract or !all)")
            return [(channel, payload[1] if payload[1] == ALL else self._contract(payload[1]))]
        raise _Refused(BAD_ARGUMENT, f"unknown channel {channel}")

    def _contract(self, name: str) -> str:
        if self._symbols.market(name) is None:
            raise _Refused(BAD_ARGUMENT, f"invalid argument: unknown contract {name}")
        return name

    def _authenticate(self, conn: Conn, msg: dict[str, Any]) -> None:
        problem = self._verifier.check_ws(msg.get("auth"), str(msg.get("channel")), str(msg.get("event")),
                                          msg.get("time"))
        if problem is None and self._faults.take_login_rejection():
            problem = "key refused"
        if problem is not None:
            raise _Refused(AUTH_FAILED, f"authentication failed: {problem}")
        conn.logged_in = True
