"""The exchange's agenda: timed items processed in time order, ties first-in first-out."""

from __future__ import annotations

import heapq
from typing import Any


class Scheduler:
    """A heap of (time, seq, kind, payload); `seq` makes equal times first-in first-out."""

    __slots__ = ("_heap", "_seq")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, str, Any]] = []
        self._seq = 0

    def push(self, t: float, kind: str, payload: Any = None) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (t, self._seq, kind, payload))

    def next_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop_due(self, t: float) -> tuple[float, str, Any] | None:
        """The earliest item with time <= t, removed; None if nothing is due."""
        heap = self._heap
        if not heap or heap[0][0] > t:
            return None
        when, _, kind, payload = heapq.heappop(heap)
        return when, kind, payload

    def entries(self) -> list[tuple[float, int, str, Any]]:
        return sorted(self._heap)

    def restore(self, entries: list[tuple[float, int, str, Any]], seq: int) -> None:
        self._heap = list(entries)
        heapq.heapify(self._heap)
        self._seq = seq

    @property
    def seq(self) -> int:
        return self._seq
