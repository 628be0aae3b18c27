"""Clocks. Nothing else in pmm reads the wall clock."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class LiveClock:
    def now(self) -> float:
        return time.time()


class VirtualClock:
    """A clock that only moves when told to. Used by `--fast` runs and tests."""

    def __init__(self, start: float) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance_to(self, t: float) -> None:
        if t > self._now:
            self._now = t
