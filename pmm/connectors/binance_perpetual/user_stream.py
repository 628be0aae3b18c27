"""The Binance user data stream: listenKey lifecycle and the private WebSocket.

A listenKey lives 60 minutes unless extended. `ListenKey` creates it (POST), extends it every
`keepalive_s` (PUT, 30 min by default) and replaces it when it is gone: a failed keep-alive, an
age past its validity, or a `listenKeyExpired` event all lead to a POST (which returns the
account's active key or a new one) and a reconnect with that key. Time comes from the injected
clock, so the schedule is testable without waiting.

Account events are handed to `on_event`; what they mean is the gateway's business.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.parse import parse_listen_key
from pmm.connectors.binance_perpetual.rest import BinanceRestClient, Sleep
from pmm.connectors.binance_perpetual.ws import BinanceWebSocket
from pmm.core.clock import Clock
from pmm.errors import PmmError

log = logging.getLogger("pmm.binance.user_stream")


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
            log.warning("listenKey keep-alive failed (%s); replacing the key", exc)
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
            log.info("closing the listenKey failed (%s); it expires on its own", exc)
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
        log.warning("user data stream: %s; renewing the listenKey and reconnecting", reason)
        await self.ws.reconnect(reason)

    async def _keepalive_loop(self) -> None:
        while True:
            await self._sleep(self._check_interval_s)
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("listenKey keep-alive check failed")

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
