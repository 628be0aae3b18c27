"""Clocks. Nothing else in pmm reads the wall clock."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the Unix epoch."""
        ...


class LiveClock:
    """The wall clock, or the wall clock's pace from a later start (`offset_s` ahead of it).

    A simulated account a `--fast` run left ahead of the wall clock is resumed in real time at its
    own time (`offset_s` > 0), so its history stays in order (see `sim_perpetual/build.py`).
    """

    def __init__(self, offset_s: float = 0.0) -> None:
        self.offset_s = offset_s

    def now(self) -> float:
        return time.time() + self.offset_s


class VirtualClock:
    """A clock that only moves when told to. Used by `--fast` runs and tests."""

    def __init__(self, start: float) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def advance_to(self, t: float) -> None:
        if t > self._now:
            self._now = t
