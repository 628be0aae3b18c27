"""The Binance streams of the client: one WebSocket connection that stays up (`BinanceWebSocket`),
used by the feed, and the user data stream over it (`ListenKey`, `UserStream`), used by the gateway.

BinanceWebSocket: connect, subscribe, read, reconnect.

- Subscribes with `{"method": "SUBSCRIBE", "params": [...], "id": n}` and reports the connection
  up (`ConnectionChanged(connected=True)`, then `on_connected`) only once the venue acknowledged
  it, so a consumer that fetches a snapshot on connect never fetches it before its diffs flow.
- Answers the venue's pings (the websockets library does) and pings the venue itself, so a
  half-open connection is noticed within `ping_interval_s + ping_timeout_s`.
- Reconnects with exponential back-off (`backoff_initial_s` doubling up to `backoff_max_s`,
  reset after a connection that worked: the kit's `ReconnectingWebSocket`) and rotates proactively
  after `rotate_after_s`, before Binance's 24 h limit cuts the connection mid-stream.
- Combined-stream frames (`{"stream": ..., "data": ...}`) are unwrapped; handlers get the data.

The user data stream: listenKey lifecycle and the private WebSocket.

A listenKey lives 60 minutes unless extended. `ListenKey` creates it (POST), extends it every
`keepalive_s` (PUT, 30 min by default) and replaces it when it is gone: a failed keep-alive, an
age past its validity, or a `listenKeyExpired` event all lead to a POST (which returns the
account's active key or a new one) and a reconnect with that key. Time comes from the injected
clock, so the schedule is testable without waiting.

Account events are handed to `on_event`; what they mean is the gateway's business.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from websockets.asyncio.client import ClientConnection

from pmm.connectors.base import Emit
from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.parse import parse_listen_key
from pmm.connectors.binance_perpetual.rest import BinanceRestClient
from pmm.connectors.common.backoff import Backoff
from pmm.connectors.common.reconnecting_ws import ReconnectingWebSocket
from pmm.connectors.common.socket_session import SocketSession
from pmm.connectors.common.wire_json import decode_json
from pmm.core.clock import Clock
from pmm.errors import PmmError

log = logging.getLogger("pmm.binance.ws")

UrlSource = str | Callable[[], Awaitable[str]]
Handler = Callable[[Any, float], None]
Sleep = Callable[[float], Awaitable[None]]

_SUBSCRIBE_TIMEOUT_S = 10.0


_LISTEN_KEY_IN_TEXT = re.compile(rf"{c.WS_LISTEN_KEY_PARAM}=[^\s&'\"]+")


def redact(text: str) -> str:
    """Text for logs and events: a listenKey grants read access to the account's stream."""
    return _LISTEN_KEY_IN_TEXT.sub(f"{c.WS_LISTEN_KEY_PARAM}=****", text)


class BinanceWebSocket(SocketSession):
    """A self-healing WebSocket: the kit's `ReconnectingWebSocket` running Binance's session
    (SUBSCRIBE and its acknowledgement, combined-frame unwrapping, rotation before 24 h); the
    connection state, `start()` / `stop()` / `reconnect()` are the kit's `SocketSession`."""

    def __init__(self, *, name: str, connector_id: str, url: UrlSource, on_message: Handler, emit: Emit,
                 clock: Clock, subscriptions: Sequence[str] = (), on_connected: Callable[[], None] | None = None,
                 on_disconnected: Callable[[str], None] | None = None,
                 backoff_initial_s: float = c.WS_BACKOFF_INITIAL_S, backoff_max_s: float = c.WS_BACKOFF_MAX_S,
                 rotate_after_s: float = c.WS_ROTATE_AFTER_S, ping_interval_s: float = c.WS_PING_INTERVAL_S,
                 ping_timeout_s: float = c.WS_PING_TIMEOUT_S, sleep: Sleep = asyncio.sleep) -> None:
        self.name = name
        self._on_message = on_message
        self._clock = clock
        self.subscriptions = list(subscriptions)
        self._rotate_after_s = rotate_after_s
        self._ids = itertools.count(1)
        self.bad_frames = 0  # frames that were not JSON or that the handler failed on (each logged)
        self._socket = ReconnectingWebSocket(
            name=name, connector_id=connector_id, url=url, session=self._session, emit=emit, clock=clock,
            on_connected=on_connected, on_disconnected=on_disconnected,
            backoff=Backoff(backoff_initial_s, backoff_max_s), sleep=sleep, redact=redact,
            ping_interval_s=ping_interval_s, ping_timeout_s=ping_timeout_s)

    def backoff(self, attempt: int) -> float:
        return self._socket.backoff.delay(attempt)

    async def _session(self, ws: ClientConnection, up: Callable[[], None]) -> str:
        """Subscribe, report up, read until closed or due for rotation. Returns why it ended."""
        opened = self._clock.now()
        ack_id: int | None = None
        if self.subscriptions:
            ack_id = next(self._ids)
            await ws.send(json.dumps({"method": c.WS_SUBSCRIBE, "params": self.subscriptions, "id": ack_id}))
            ack_deadline = opened + _SUBSCRIBE_TIMEOUT_S
        else:
            up()
        while True:
            now = self._clock.now()
            deadline = opened + self._rotate_after_s
            if ack_id is not None:
                deadline = min(deadline, ack_deadline)
            try:
                # asyncio.timeout, not wait_for: on 3.11 wait_for wraps every recv in a new task
                async with asyncio.timeout(max(0.0, deadline - now)):
                    raw = await ws.recv()
            except TimeoutError:
                if ack_id is not None and self._clock.now() >= ack_deadline:
                    return f"no answer to SUBSCRIBE within {_SUBSCRIBE_TIMEOUT_S:g} s"
                log.info("%s stream: rotating the connection before the 24 h limit", self.name)
                reason = "rotating before the 24 h connection limit"
                await self._socket.reconnect(reason)  # at once, without back-off
                return reason
            recv_ts = self._clock.now()
            try:
                message = decode_json(raw if isinstance(raw, str) else raw.decode())
            except ValueError:
                self.bad_frames += 1
                log.warning("%s stream: ignoring a frame that is not JSON", self.name)
                continue
            if isinstance(message, dict) and "id" in message and ("result" in message or "error" in message):
                if message.get("error"):
                    return f"SUBSCRIBE refused: {message['error']}"
                if ack_id is not None and message.get("id") == ack_id:
                    ack_id = None
                    up()
                continue
            if isinstance(message, dict) and "stream" in message and "data" in message:
                message = message["data"]
            try:
                self._on_message(message, recv_ts)
            except Exception:  # one bad payload must not take the stream down
                self.bad_frames += 1
                log.exception("%s stream: handler failed on a message", self.name)


_user_log = logging.getLogger("pmm.binance.user_stream")


class ListenKey:
    """One account's listenKey and its keep-alive schedule."""

    def __init__(self, rest: BinanceRestClient, clock: Clock, *, keepalive_s: float = c.LISTEN_KEY_KEEPALIVE_S,
                 validity_s: float = c.LISTEN_KEY_VALIDITY_S) -> None:
        self._rest = rest
        self._clock = clock
        self.keepalive_s = keepalive_s
        self.validity_s = validity_s
        self.key: str | None = None
        self.extended_ts = 0.0  # when the venue last (re)started the key's 60 minutes
        self.created = 0
        self.keepalives = 0

    def __repr__(self) -> str:
        return f"ListenKey(key={'set' if self.key else None}, extended_ts={self.extended_ts})"

    def keepalive_due(self) -> bool:
        return self.key is not None and self._clock.now() - self.extended_ts >= self.keepalive_s

    def expired(self) -> bool:
        return self.key is None or self._clock.now() - self.extended_ts >= self.validity_s

    async def obtain(self) -> str:
        """A usable key: the current one if still valid, else a POST (active key or a new one)."""
        if self.key is not None and not self.expired():
            return self.key
        payload = await self._rest.with_key("POST", c.LISTEN_KEY_PATH)
        self.key = parse_listen_key(payload)
        self.extended_ts = self._clock.now()
        self.created += 1
        return self.key

    async def keepalive(self) -> bool:
        """Extend the key (PUT). False when it is gone and must be replaced."""
        if self.key is None:
            return False
        try:
            await self._rest.with_key("PUT", c.LISTEN_KEY_PATH, [(c.WS_LISTEN_KEY_PARAM, self.key)])
        except PmmError as exc:  # -1125 (key gone) or the venue unreachable: replace it
            _user_log.warning("listenKey keep-alive failed (%s); replacing the key", exc)
            self.key = None
            return False
        self.extended_ts = self._clock.now()
        self.keepalives += 1
        return True

    def forget(self) -> None:
        self.key = None

    async def close(self) -> None:
        if self.key is None:
            return
        try:
            await self._rest.with_key("DELETE", c.LISTEN_KEY_PATH, [(c.WS_LISTEN_KEY_PARAM, self.key)])
        except PmmError as exc:
            _user_log.info("closing the listenKey failed (%s); it expires on its own", exc)
        self.key = None


class UserStream:
    """The private WebSocket on `/private/ws?listenKey=…`, kept alive and renewed."""

    def __init__(self, rest: BinanceRestClient, *, ws_url: str, clock: Clock, connector_id: str,
                 on_event: Callable[[dict[str, Any], float], None], emit: Emit,
                 on_reconnected: Callable[[], None] | None = None, check_interval_s: float = 60.0,
                 keepalive_s: float = c.LISTEN_KEY_KEEPALIVE_S, ws_options: dict[str, Any] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.listen_key = ListenKey(rest, clock, keepalive_s=keepalive_s)
        self._ws_url = ws_url.rstrip("/")
        self._clock = clock
        self._on_event = on_event
        self._on_reconnected = on_reconnected
        self._check_interval_s = check_interval_s
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self._renewing: asyncio.Task[None] | None = None
        self.ws = BinanceWebSocket(name="account", connector_id=connector_id, url=self._url, emit=emit,
                                   on_message=self._on_message, on_connected=self._on_connected, clock=clock,
                                   sleep=sleep, **(ws_options or {}))

    async def _url(self) -> str:
        key = await self.listen_key.obtain()
        return f"{self._ws_url}{c.WS_PRIVATE_PATH}?{c.WS_LISTEN_KEY_PARAM}={key}"

    async def start(self) -> None:
        await self.listen_key.obtain()  # fail fast on bad keys, before any order is placed
        self.ws.start()
        self._task = asyncio.get_running_loop().create_task(self._keepalive_loop(), name="binance-listen-key")

    async def stop(self) -> None:
        for task in (self._task, self._renewing):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._task = self._renewing = None
        await self.ws.stop()
        await self.listen_key.close()

    async def tick(self) -> None:
        """One keep-alive check: extend when due; replace the key and reconnect when it is gone."""
        due = self.listen_key.keepalive_due() or self.listen_key.expired()
        if due and not await self.listen_key.keepalive():
            await self.renew("listenKey could not be extended")

    async def renew(self, reason: str) -> None:
        """Get a valid key and reconnect the socket with it."""
        self.listen_key.forget()
        _user_log.warning("user data stream: %s; renewing the listenKey and reconnecting", reason)
        await self.ws.reconnect(reason)

    async def _keepalive_loop(self) -> None:
        while True:
            await self._sleep(self._check_interval_s)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                _user_log.exception("listenKey keep-alive check failed")

    def _on_connected(self) -> None:
        if self.ws.connections > 1 and self._on_reconnected is not None:
            self._on_reconnected()  # events may have been missed while the socket was down

    def _on_message(self, message: Any, recv_ts: float) -> None:
        if not isinstance(message, dict):
            return
        if message.get("e") == c.EVENT_LISTEN_KEY_EXPIRED:
            if self._renewing is None or self._renewing.done():
                self._renewing = asyncio.get_running_loop().create_task(self.renew("listenKey expired"))
            return
        self._on_event(message, recv_ts)
