"""Fault injection for tests of Binance clients (DESIGN.md §5): the shared faults of
`common/fault_injector.py` (error answers, delays, order rejections, sequence gaps, duplicated and
reordered frames, a skewed clock) plus what is Binance's own: cut sockets and lapsed listenKeys.

On Binance's wire: `fail_next(..., code=...)` answers Binance's `{"code", "msg"}` body for that
code; a skipped depth id shows as a diff-depth event whose `pu` no longer equals the previous
event's `u` (and `U` jumps too); order rejections carry a Binance error code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pmm.connectors.common.fault_injector import Failure, SkewedClock
from pmm.connectors.common.fault_injector import FaultInjector as _SharedFaults

__all__ = ["Failure", "FaultInjector", "SkewedClock", "SocketKind"]

SocketKind = Literal["market", "user", "all"]


class FaultInjector(_SharedFaults):
    """What the next requests, diffs and orders should suffer. Every method takes effect at once."""

    def __init__(
        self,
        drop: Callable[[SocketKind], int] | None = None,
        expire: Callable[[str | None], int] | None = None,
    ) -> None:
        super().__init__()
        self._drop = drop
        self._expire = expire

    def bind(self, drop: Callable[[SocketKind], int], expire: Callable[[str | None], int]) -> None:
        """Connect to the server's sockets and listenKeys (done by `BinanceServer`)."""
        self._drop, self._expire = drop, expire

    def drop_sockets(self, kind: SocketKind = "all") -> int:
        """Cut the TCP connection (no close frame) of every market-data socket, every user-data
        socket (one that carries a listenKey or was opened on /private) or all; returns how many."""
        if kind not in ("market", "user", "all"):
            raise ValueError(f"drop_sockets: kind must be 'market', 'user' or 'all', was {kind!r}")
        if self._drop is None:
            raise RuntimeError("drop_sockets: the fault injector is not bound to a server")
        return self._drop(kind)

    def expire_listen_key(self, listen_key: str | None = None) -> int:
        """Lapse `listen_key` (default: every active key) now: listenKeyExpired is pushed, user
        events stop, and PUT keepalive answers -1125. Returns how many keys lapsed."""
        if self._expire is None:
            raise RuntimeError("expire_listen_key: the fault injector is not bound to a server")
        return self._expire(listen_key)
