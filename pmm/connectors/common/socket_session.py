"""`SocketSession`: what every venue's stream session shows of its reconnecting WebSocket.

A venue's session (its login or auth, subscriptions and acknowledgements) owns one
`ReconnectingWebSocket` as `_socket` and sets `up_event` once the first connection is up
(authenticated and subscribed) or `auth_failed` when the venue refused the keys. The connection
state, start/stop/reconnect and the wait for the first connection are the same on every venue, so
they live here once; the venue class adds its own protocol.
"""

from __future__ import annotations

import asyncio

from pmm.connectors.common.reconnecting_ws import ReconnectingWebSocket

__all__ = ["SocketSession"]


class SocketSession:
    _socket: ReconnectingWebSocket
    up_event: asyncio.Event
    auth_failed: asyncio.Event

    @property
    def connected(self) -> bool:
        return self._socket.connected

    @property
    def connections(self) -> int:
        return self._socket.connections

    @property
    def last_reason(self) -> str:
        return self._socket.last_reason

    def start(self) -> None:
        self._socket.start()

    async def stop(self) -> None:
        await self._socket.stop()

    async def reconnect(self, reason: str) -> None:
        await self._socket.reconnect(reason)

    async def wait_up(self, timeout_s: float) -> bool:
        """Wait until the first connection is up (authenticated and subscribed), or the venue
        refused the keys; True when it is up."""
        waiters = [asyncio.ensure_future(self.up_event.wait()), asyncio.ensure_future(self.auth_failed.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
        return self.up_event.is_set()
