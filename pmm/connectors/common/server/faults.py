"""Fault injection of a kit server: the shared faults (`common/fault_injector.py`: error answers,
delays, order rejections, sequence gaps, duplicated and reordered frames, a skewed clock) plus what
every kit server does to its sockets: cut them, end the logged-in sessions, refuse logins.

Socket kinds are the venue's paths' kinds ("public", "private", ...); the aliases "market" and
"user" (the names of the older servers) stand for "public" and "private", so tests and campaigns
treat every venue alike. Each venue says in its server docstring how these faults look on its wire.
"""

from __future__ import annotations

from collections.abc import Callable

from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.server.stream_hub import StreamHub

_ALIASES = {"market": "public", "user": "private"}


class KitFaults(FaultInjector):
    """What the next requests, frames, orders and logins should suffer; effective at once."""

    def __init__(self) -> None:
        super().__init__()
        self._hub: StreamHub | None = None
        self._restart_books: Callable[[], int] | None = None
        self._login_rejections = 0

    def bind(self, hub: StreamHub, restart_books: Callable[[], int] | None = None) -> None:
        """Connect to the server's sockets, and to the restart of its order book service where the
        venue has one to simulate (done by the server)."""
        self._hub = hub
        self._restart_books = restart_books

    def restart_orderbook(self) -> int:
        """Restart the server's order book service: every depth stream starts its numbering again
        with a snapshot to its subscribers, as the venue's does. Returns how many were pushed."""
        if self._restart_books is None:
            raise RuntimeError("restart_orderbook: this server simulates no order book restart")
        return self._restart_books()

    def _bound(self, name: str) -> StreamHub:
        if self._hub is None:
            raise RuntimeError(f"{name}: the fault injector is not bound to a server")
        return self._hub

    def drop_sockets(self, kind: str = "all") -> int:
        """Cut the TCP connection (no close frame) of every socket of `kind` ("public", "private",
        a venue's other kinds, or "all"); returns how many were cut."""
        return self._bound("drop_sockets").drop(_ALIASES.get(kind, kind))

    def expire_logins(self) -> int:
        """End every logged-in session now (close frame 1000); clients must log in again."""
        return self._bound("expire_logins").expire_logins()

    expire_auth = expire_logins  # the older servers' name

    def expire_listen_key(self, listen_key: str | None = None) -> int:
        """The older servers' name for a lapsed private session: `expire_logins()`."""
        return self.expire_logins()

    def reject_next_login(self, count: int = 1) -> None:
        """Refuse the next `count` WebSocket logins even when they are correct, as a revoked key or
        a skewed clock would."""
        if count < 1:
            raise ValueError(f"reject_next_login: count must be >= 1, was {count}")
        self._login_rejections += count

    reject_next_auth = reject_next_login  # the older servers' name

    def take_login_rejection(self) -> bool:
        if self._login_rejections:
            self._login_rejections -= 1
            return True
        return False

    def clear(self) -> None:
        """Forget every pending fault and delay, refused logins included."""
        super().clear()
        self._login_rejections = 0
