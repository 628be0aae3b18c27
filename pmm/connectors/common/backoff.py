"""Exponential back-off for reconnects and retries."""

from __future__ import annotations


class Backoff:
    """Delays `initial_s`, `2 * initial_s`, ... capped at `max_s`; `reset()` after a success."""

    def __init__(self, initial_s: float = 0.5, max_s: float = 30.0, factor: float = 2.0) -> None:
        if initial_s <= 0 or max_s < initial_s or factor < 1:
            raise ValueError(f"bad back-off ({initial_s}, {max_s}, {factor})")
        self.initial_s = initial_s
        self.max_s = max_s
        self.factor = factor
        self.attempt = 0

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.initial_s * self.factor ** attempt)

    def next(self) -> float:
        """The delay before the next attempt (and count this one)."""
        delay = self.delay(self.attempt)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0
