"""Fault injection for tests of Binance clients (DESIGN.md §5): the kit's faults
(`common/server/faults.py`: error answers, delays, order rejections, sequence gaps, duplicated and
reordered frames, a skewed clock, cut sockets) plus Binance's own lapsed listenKeys.

On Binance's wire: `fail_next(..., code=...)` answers Binance's `{"code", "msg"}` body for that
code; a skipped depth id shows as a diff-depth event whose `pu` no longer equals the previous
event's `u` (and `U` jumps too); order rejections carry a Binance error code; `drop_sockets("user")`
cuts the sockets that came on /private or hold a listenKey, `"market"` the others.
"""

from __future__ import annotations

from collections.abc import Callable

from pmm.connectors.common.fault_injector import Failure, SkewedClock
from pmm.connectors.common.server.faults import KitFaults

__all__ = ["Failure", "FaultInjector", "SkewedClock"]


class FaultInjector(KitFaults):
    """What the next requests, diffs and orders should suffer. Every method takes effect at once."""

    _expire: Callable[[str | None], int] | None = None

    def bind_listen_keys(self, expire: Callable[[str | None], int]) -> None:
        """Connect to the server's listenKeys (done by `BinanceServer`)."""
        self._expire = expire

    def expire_listen_key(self, listen_key: str | None = None) -> int:
        """Lapse `listen_key` (default: every active key) now: listenKeyExpired is pushed, user
        events stop, and PUT keepalive answers -1125. Returns how many keys lapsed."""
        if self._expire is None:
            raise RuntimeError("expire_listen_key: the fault injector is not bound to a server")
        return self._expire(listen_key)
