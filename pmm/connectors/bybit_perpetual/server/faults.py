"""Fault injection for tests of Bybit clients (DESIGN.md §5): the kit's faults
(`common/server/faults.py`: error answers, delays, order rejections, `u` gaps, duplicated and
reordered frames, a skewed clock, cut sockets, lapsed sessions, refused logins, order book
restarts). Bybit's names for the session faults are `expire_auth` and `reject_next_auth`.

On Bybit's wire: `fail_next(..., code=...)` answers the envelope with that retCode (HTTP 200 + code
is a business error); without a code, 403 is the IP-ban text, 429 retCode 10006 with rate-limit
headers, anything else retCode 10016. A skipped depth id makes the next orderbook delta of every
depth stream carry the previous `u` + 1 + n. Order rejections carry a Bybit retCode. A refused
auth answers `"success": false`, "Params Error". An expired session closes the private sockets
with frame 1000, as when `max_active_time` lapses.
"""

from __future__ import annotations

from pmm.connectors.common.fault_injector import Failure, SkewedClock
from pmm.connectors.common.server.faults import KitFaults

__all__ = ["Failure", "FaultInjector", "SkewedClock"]

_KINDS = ("public", "private", "market", "user", "all")


class FaultInjector(KitFaults):
    """What the next requests, book updates, orders and auths should suffer; effective at once.
    `restart_orderbook()` starts every depth stream again at u=1 with a snapshot pushed to its
    subscribers (Bybit: "u=1 ... overwrite your local orderbook")."""

    def drop_sockets(self, kind: str = "all") -> int:
        """Cut the TCP connection (no close frame) of every public socket (`/v5/public/linear`;
        alias "market"), every private socket (`/v5/private`; alias "user") or all; returns how
        many were cut."""
        if kind not in _KINDS:
            raise ValueError(f"drop_sockets: kind must be one of {', '.join(_KINDS)}, was {kind!r}")
        return super().drop_sockets(kind)
