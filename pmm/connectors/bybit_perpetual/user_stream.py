"""The Bybit private stream: `/v5/private`, authenticated, subscribed to the account topics.

Bybit needs no listen key: the socket authenticates itself (`ws.py`) on every connection and
subscribes `order`, `execution`, `position` and `wallet` (the all-in-one topics). Messages are
`{"id", "topic", "creationTime", "data": [...]}`; each is handed to `on_event(topic, message,
recv_ts)`. What they mean is the gateway's business. After a reconnection, `on_reconnected` lets
the gateway re-read what may have been missed while the socket was down.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.auth import BybitAuth
from pmm.connectors.bybit_perpetual.ws import BybitWebSocket, Sleep
from pmm.core.clock import Clock
from pmm.errors import AuthError

log = logging.getLogger("pmm.bybit.user_stream")

EventHandler = Callable[[str, dict[str, Any], float], None]


class PrivateStream:
    def __init__(self, *, ws_url: str, auth: BybitAuth, clock: Clock, connector_id: str, on_event: EventHandler,
                 emit: Emit, on_reconnected: Callable[[], None] | None = None, topics: tuple[str, ...] = c.PRIVATE_TOPICS,
                 ws_options: dict[str, Any] | None = None, sleep: Sleep = asyncio.sleep) -> None:
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
        log.warning("the Bybit private stream is not up after %.0f s (%s); continuing, it keeps reconnecting",
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
