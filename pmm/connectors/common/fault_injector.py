"""Fault injection shared by the loopback venue servers: error answers, delays, order rejections,
depth-sequence gaps, duplicated and reordered frames, and a skewed clock (DESIGN.md §5).

A plain object with methods. Tests call them in-process on `server.faults`; the server consults the
pending faults on every request, depth update, frame and order. Each venue subclasses
`FaultInjector` for what only its dialect has (how sockets are cut, how a private session lapses)
and says in its docstring what the injected answers look like on its wire.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pmm.core.clock import Clock

LatencyStage = Literal["before", "after"]
FrameKind = Literal["depth", "user"]
_F = TypeVar("_F")


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
    method: str | None = None  # only requests with this HTTP method (None: any)


@dataclass(slots=True)
class Latency:
    seconds: float
    path_prefix: str | None
    stage: LatencyStage


class FaultInjector:
    """What the next requests, depth updates, frames and orders should suffer; effective at once."""

    def __init__(self) -> None:
        self._failures: list[Failure] = []
        self._latencies: list[Latency] = []
        self._order_rejections: list[int] = []
        self._depth_skip = 0
        self._frame_duplicates: dict[str, int] = {}
        self._frame_reorders: dict[str, int] = {}
        self._held_frames: dict[tuple[str, object], Any] = {}
        self.clock_offset_s = 0.0

    # --- depth sequence -------------------------------------------------------------------------

    def skip_depth_update_ids(self, n: int = 1) -> None:
        """The next depth update skips `n` update ids, as if `n` updates were lost (how the gap
        shows in the venue's ids: see the venue's injector). Clients must resync."""
        if n < 1:
            raise ValueError(f"skip_depth_update_ids: n must be >= 1, was {n}")
        self._depth_skip += n

    def take_depth_skip(self) -> int:
        skip, self._depth_skip = self._depth_skip, 0
        return skip

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
        method: str | None = None,
    ) -> None:
        """Answer the next `count` requests whose path starts with `path_prefix` with HTTP
        `status` and, if `code` is given, the venue's error body for that code (else the venue's
        default answer for that status). `retry_after` adds a Retry-After header. With
        `execute=True` the request is still carried out and only its answer is lost (the order may
        exist). `method` (e.g. "DELETE") limits the failure to requests with that HTTP method: a
        new order and its cancel may share one path."""
        if count < 1:
            raise ValueError(f"fail_next: count must be >= 1, was {count}")
        self._failures.append(Failure(path_prefix, status, code, count, retry_after, msg, execute,
                                      method.upper() if method else None))

    def take_failure(self, path: str, method: str | None = None) -> Failure | None:
        for failure in self._failures:
            if path.startswith(failure.path_prefix) and (failure.method is None or failure.method == method):
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
        """Refuse the next `count` new orders with the venue's error `code` (never sent to the sim)."""
        self._order_rejections.extend([code] * count)

    def take_order_rejection(self) -> int | None:
        return self._order_rejections.pop(0) if self._order_rejections else None

    def clear(self) -> None:
        """Forget every pending fault and delay."""
        self._failures.clear()
        self._latencies.clear()
        self._order_rejections.clear()
        self._depth_skip = 0
        self._frame_duplicates.clear()
        self._frame_reorders.clear()
        self._held_frames.clear()
        self.clock_offset_s = 0.0

    # --- frames and clock -----------------------------------------------------------------------

    def duplicate_next_frames(self, kind: FrameKind, n: int = 1) -> None:
        """The next `n` frames of `kind` ("depth": depth updates; "user": private account events) are
        each sent twice in a row, as a venue that retransmits does. Clients must not apply them twice."""
        _check_frame_kind("duplicate_next_frames", kind, n)
        self._frame_duplicates[kind] = self._frame_duplicates.get(kind, 0) + n

    def reorder_next_frames(self, kind: FrameKind, n: int = 1) -> None:
        """The next `n` frames of `kind` are each held back and sent right after the frame that
        follows it on the same stream: two frames swap places. A held frame waits for that next one."""
        _check_frame_kind("reorder_next_frames", kind, n)
        self._frame_reorders[kind] = self._frame_reorders.get(kind, 0) + n

    def shape_frame(self, kind: str, stream: object, frame: _F) -> list[_F]:
        """The frames to send now instead of `frame` of `kind` on `stream` (the server asks for every
        depth and user frame): none (held back), the frame, the frame twice, or it and the frame held
        back before it."""
        if not self._frame_duplicates and not self._frame_reorders and not self._held_frames:
            return [frame]
        held = self._held_frames.pop((kind, stream), None)
        if held is None and self._frame_reorders.get(kind, 0) > 0:
            self._take(self._frame_reorders, kind)
            self._held_frames[(kind, stream)] = frame
            return []
        out = [frame]
        if self._frame_duplicates.get(kind, 0) > 0:
            self._take(self._frame_duplicates, kind)
            out.append(frame)
        if held is not None:
            out.append(held)
        return out

    @staticmethod
    def _take(counts: dict[str, int], kind: str) -> None:
        counts[kind] -= 1
        if counts[kind] <= 0:
            del counts[kind]

    def set_clock_offset(self, seconds: float) -> None:
        """Skew the venue's clock by `seconds` (negative: the venue is behind) as the timestamp checks
        of signed requests and the server-time endpoint see it: what a client whose own clock drifted
        by -`seconds` meets. Past the venue's tolerance, signed requests are refused with a timestamp
        error until the client re-measures the server clock. `set_clock_offset(0)` removes it."""
        self.clock_offset_s = float(seconds)

    def stop_frame_faults(self) -> None:
        """Stop duplicating and reordering frames; a frame held back goes out with the next one."""
        self._frame_duplicates.clear()
        self._frame_reorders.clear()


def _check_frame_kind(name: str, kind: str, n: int) -> None:
    if kind not in ("depth", "user"):
        raise ValueError(f"{name}: kind must be 'depth' or 'user', was {kind!r}")
    if n < 1:
        raise ValueError(f"{name}: n must be >= 1, was {n}")


class SkewedClock:
    """The server's clock as seen through `FaultInjector.set_clock_offset` (auth and server time)."""

    def __init__(self, clock: Clock, faults: FaultInjector) -> None:
        self._clock = clock
        self._faults = faults

    def now(self) -> float:
        return self._clock.now() + self._faults.clock_offset_s
