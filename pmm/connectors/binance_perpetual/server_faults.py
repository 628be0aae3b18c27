"""Fault injection for tests of Binance clients: drops, sequence gaps, error answers, delays,
order rejections and lapsed listenKeys (DESIGN.md §5).

A plain object with methods. Tests call them in-process on `server.faults`; the server consults
the pending faults on every request, diff and order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

SocketKind = Literal["market", "user", "all"]
LatencyStage = Literal["before", "after"]


@dataclass(slots=True)
class Failure:
    """An HTTP failure to answer instead of the real response."""

    path_prefix: str
    status: int
    code: int | None
    count: int
    retry_after: float | None
    msg: str | None
    execute: bool  # True: the request is still carried out, only its answer is lost


@dataclass(slots=True)
class Latency:
    seconds: float
    path_prefix: str | None
    stage: LatencyStage


class FaultInjector:
    """What the next requests, diffs and orders should suffer. Every method takes effect at once."""

    def __init__(
        self,
        drop: Callable[[SocketKind], int] | None = None,
        expire: Callable[[str | None], int] | None = None,
    ) -> None:
        self._drop = drop
        self._expire = expire
        self._failures: list[Failure] = []
        self._latencies: list[Latency] = []
        self._order_rejections: list[int] = []
        self._depth_skip = 0

    def bind(self, drop: Callable[[SocketKind], int], expire: Callable[[str | None], int]) -> None:
        """Connect to the server's sockets and listenKeys (done by `BinanceServer`)."""
        self._drop, self._expire = drop, expire

    # --- WebSocket ------------------------------------------------------------------------------

    def drop_sockets(self, kind: SocketKind = "all") -> int:
        """Cut the TCP connection (no close frame) of every market-data socket, every user-data
        socket (one that carries a listenKey or was opened on /private) or all; returns how many."""
        if kind not in ("market", "user", "all"):
            raise ValueError(f"drop_sockets: kind must be 'market', 'user' or 'all', was {kind!r}")
        if self._drop is None:
            raise RuntimeError("drop_sockets: the fault injector is not bound to a server")
        return self._drop(kind)

    def skip_depth_update_ids(self, n: int = 1) -> None:
        """The next diff-depth event skips `n` update ids: its `pu` no longer equals the previous
        event's `u` (and `U` jumps too), as if `n` updates were lost. Clients must resync."""
        if n < 1:
            raise ValueError(f"skip_depth_update_ids: n must be >= 1, was {n}")
        self._depth_skip += n

    def take_depth_skip(self) -> int:
        skip, self._depth_skip = self._depth_skip, 0
        return skip

    def expire_listen_key(self, listen_key: str | None = None) -> int:
        """Lapse `listen_key` (default: every active key) now: listenKeyExpired is pushed, user
        events stop, and PUT keepalive answers -1125. Returns how many keys lapsed."""
        if self._expire is None:
            raise RuntimeError("expire_listen_key: the fault injector is not bound to a server")
        return self._expire(listen_key)

    # --- REST -----------------------------------------------------------------------------------

    def fail_next(
        self,
        path_prefix: str,
        status: int,
        code: int | None = None,
        count: int = 1,
        retry_after: float | None = None,
        *,
        msg: str | None = None,
        execute: bool = False,
    ) -> None:
        """Answer the next `count` requests whose path starts with `path_prefix` with HTTP
        `status` and, if `code` is given, Binance's body for it (else the venue's default body for
        that status). `retry_after` adds a Retry-After header. With `execute=True` the request is
        still carried out (a 503 "unknown execution status": the order may exist)."""
        if count < 1:
            raise ValueError(f"fail_next: count must be >= 1, was {count}")
        self._failures.append(Failure(path_prefix, status, code, count, retry_after, msg, execute))

    def take_failure(self, path: str) -> Failure | None:
        for failure in self._failures:
            if path.startswith(failure.path_prefix):
                failure.count -= 1
                if failure.count <= 0:
                    self._failures.remove(failure)
                return failure
        return None

    def add_latency(self, seconds: float, path_prefix: str | None = None, stage: LatencyStage = "before") -> None:
        """Delay every request (or those under `path_prefix`, WebSocket upgrades included) by
        `seconds`: "before" it is processed (the request reaches the venue late) or "after" (the
        answer is late). `add_latency(0, prefix)` removes the delays of that prefix."""
        self._latencies = [lat for lat in self._latencies if lat.path_prefix != path_prefix or lat.stage != stage]
        if seconds > 0:
            self._latencies.append(Latency(seconds, path_prefix, stage))

    def latency(self, path: str, stage: LatencyStage) -> float:
        return sum(
            lat.seconds
            for lat in self._latencies
            if lat.stage == stage and (lat.path_prefix is None or path.startswith(lat.path_prefix))
        )

    # --- orders ---------------------------------------------------------------------------------

    def reject_next_order(self, code: int, count: int = 1) -> None:
        """Refuse the next `count` new orders with Binance error `code` (never sent to the sim)."""
        self._order_rejections.extend([code] * count)

    def take_order_rejection(self) -> int | None:
        return self._order_rejections.pop(0) if self._order_rejections else None

    def clear(self) -> None:
        """Forget every pending fault and delay."""
        self._failures.clear()
        self._latencies.clear()
        self._order_rejections.clear()
        self._depth_skip = 0
