"""Fault injection for tests of Bybit clients (DESIGN.md §5): the shared faults of
`common/fault_injector.py` (error answers, delays, order rejections, `u` gaps, duplicated and
reordered frames, a skewed clock) plus what is Bybit's own: cut sockets, orderbook restarts, lapsed
private sessions and refused WebSocket auths.

The method names are the other venue servers' (a listen-key venue's among them), so tests treat
every venue alike; Bybit has no listenKey, so `expire_listen_key` ends the private sessions (`expire_auth`) instead.

On Bybit's wire: `fail_next(..., code=...)` answers the envelope with that retCode (HTTP 200 + code
is a business error); without a code, 403 is the IP-ban text, 429 retCode 10006 with rate-limit
headers, anything else retCode 10016. A skipped depth id makes the next orderbook delta of every
depth stream carry the previous `u` + 1 + n. Order rejections carry a Bybit retCode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pmm.connectors.common.fault_injector import Failure, SkewedClock
from pmm.connectors.common.fault_injector import FaultInjector as _SharedFaults

__all__ = ["Failure", "FaultInjector", "SkewedClock", "SocketKind"]

SocketKind = Literal["public", "private", "market", "user", "all"]
_KINDS = {"public": "public", "market": "public", "private": "private", "user": "private", "all": "all"}


class FaultInjector(_SharedFaults):
    """What the next requests, book updates, orders and auths should suffer; effective at once."""

    def __init__(self) -> None:
        super().__init__()
        self._drop: Callable[[str], int] | None = None
        self._expire: Callable[[], int] | None = None
        self._restart: Callable[[], int] | None = None
        self._auth_rejections = 0

    def bind(self, drop: Callable[[str], int], expire: Callable[[], int], restart: Callable[[], int]) -> None:
        """Connect to the server's sockets and order books (done by `BybitServer`)."""
        self._drop, self._expire, self._restart = drop, expire, restart

    def _bound(self, name: str, fn: Callable[..., int] | None) -> Callable[..., int]:
        if fn is None:
            raise RuntimeError(f"{name}: the fault injector is not bound to a server")
        return fn

    def drop_sockets(self, kind: SocketKind = "all") -> int:
        """Cut the TCP connection (no close frame) of every public socket (`/v5/public/linear`;
        alias "market"), every private socket (`/v5/private`; alias "user") or all; returns how
        many were cut."""
        if kind not in _KINDS:
            raise ValueError(f"drop_sockets: kind must be one of {', '.join(_KINDS)}, was {kind!r}")
        return self._bound("drop_sockets", self._drop)(_KINDS[kind])

    def restart_orderbook(self) -> int:
        """Simulate a restart of the orderbook service: every depth stream starts again at u=1 with
        a snapshot pushed to its subscribers (Bybit: "u=1 ... overwrite your local orderbook").
        Returns how many snapshots were pushed."""
        return self._bound("restart_orderbook", self._restart)()

    def expire_auth(self) -> int:
        """End every authenticated private session now: the venue closes the sockets (close frame
        1000, as when `max_active_time` lapses); clients must reconnect and auth again. Returns how
        many sockets were closed."""
        return self._bound("expire_auth", self._expire)()

    def expire_listen_key(self, listen_key: str | None = None) -> int:
        """A listen-key venue's name for a lapsed user stream: here `expire_auth()` (`listen_key`
        is ignored: Bybit has none)."""
        return self.expire_auth()

    def reject_next_auth(self, count: int = 1) -> None:
        """Refuse the next `count` WebSocket auth ops (`"success": false`, "Params Error") even when
        they are correct, as an out-of-sync clock or a revoked key would."""
        if count < 1:
            raise ValueError(f"reject_next_auth: count must be >= 1, was {count}")
        self._auth_rejections += count

    def take_auth_rejection(self) -> bool:
        if self._auth_rejections:
            self._auth_rejections -= 1
            return True
        return False

    def clear(self) -> None:
        """Forget every pending fault and delay, refused auths included."""
        super().clear()
        self._auth_rejections = 0
