"""Collapses repeated log lines: the first one is written, the repeats within a window are counted.

A condition that holds for a while (margin too low for any quote, the venue unreachable) is logged
by every evaluation that meets it: twice per book update, once a second. The operator needs it
once, and then how long it went on, one line a minute:

    00:00:00 INFO    pmm.strategy: Insufficient balance: BUY order (price: 64967.5, size: 0.01) is omitted.
    00:01:00 INFO    pmm.strategy: Insufficient balance: BUY order (price: 65040.8, size: 0.01) is omitted.
                     (repeated 59 times in the last 60 s)
    00:02:00 INFO    pmm.strategy: ... (repeated 60 times in the last 60 s)

Two records repeat each other when they come from the same logger at the same level with the
same text. A record logged with `extra=SAME_UP_TO_FIGURES` restates a condition whose figures
(prices, sizes, seconds) move from one evaluation to the next: its numbers are ignored when
comparing. The window runs on the clock `now` returns (the engine's, so a `--fast` run collapses
by simulated time). A summary carries the text of the last repeat, so its figures are current.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

SAME_UP_TO_FIGURES: Final = {"collapse_figures": True}
DEFAULT_WINDOW_S: Final = 60.0

_FIGURE = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def without_figures(text: str) -> str:
    return _FIGURE.sub("#", text)


@dataclass
class _Window:
    start: float
    seen_ts: float  # the last time the line came (written or held back)
    repeats: int = 0
    last: logging.LogRecord | None = None


class RepeatCollapser(logging.Handler):
    """A handler that forwards records to `targets`, holding back repeats (see the module docstring).

    A record opens a window of `window_s` and is forwarded; its repeats within the window are
    counted. When the window ends with repeats, one summary line is forwarded and a new window
    opens at once, so a condition that goes on gives one line per window; a window that ends with
    no repeats closes silently, and a line that comes back after a whole window of quiet is written
    again as a new occurrence. `flush_due(now)` ends the windows due; it runs on every record and
    should also run from a timer, so a condition that stopped is summarised without waiting for
    the next log line. `close()` writes every pending summary.
    """

    def __init__(self, targets: Sequence[logging.Handler], now: Callable[[], float] | None = None,
                 window_s: float = DEFAULT_WINDOW_S) -> None:
        super().__init__(logging.NOTSET)
        self.targets = list(targets)
        self.now = now
        self.window_s = window_s
        self.held_back = 0  # records not forwarded, for tests and the curious
        self._windows: dict[tuple[str, int, str], _Window] = {}

    def _clock(self, record: logging.LogRecord | None = None) -> float:
        if self.now is not None:
            return self.now()
        return record.created if record is not None else 0.0

    def emit(self, record: logging.LogRecord) -> None:
        now = self._clock(record)
        self.flush_due(now)
        text = record.getMessage()
        key = (record.name, record.levelno,
               without_figures(text) if getattr(record, "collapse_figures", False) else text)
        window = self._windows.get(key)
        if window is not None and now - window.seen_ts >= self.window_s:
            # Quiet for a whole window since the line last came: a new occurrence, written as such.
            self._end(key, now, go_on=False)
            window = None
        if window is not None:
            window.repeats += 1
            window.last, window.seen_ts = record, now
            self.held_back += 1
            return
        self._windows[key] = _Window(start=now, seen_ts=now)
        self._forward(record)

    def flush_due(self, now: float | None = None) -> None:
        if now is None:
            now = self._clock()
        for key, window in list(self._windows.items()):
            # (a clock that went backwards ends the window too)
            if not window.start <= now < window.start + self.window_s:
                self._end(key, now, go_on=True)

    def close(self) -> None:
        try:
            now = self._clock()
            for key in list(self._windows):
                self._end(key, now, go_on=False)
        finally:
            super().close()

    def _end(self, key: tuple[str, int, str], now: float, go_on: bool) -> None:
        window = self._windows.pop(key)
        if window.repeats == 0 or window.last is None:
            return
        last = window.last
        end = min(now, window.start + self.window_s) if now >= window.start else now
        span = max(1, round(end - window.start)) if now >= window.start else 1
        summary = logging.makeLogRecord(dict(last.__dict__))
        summary.msg = f"{last.getMessage()} (repeated {window.repeats} times in the last {span} s)"
        summary.args = None
        summary.exc_info = summary.exc_text = None
        self._forward(summary)
        if go_on and now < window.start + 2 * self.window_s:
            # The condition may go on: its next repeats (if it comes back within a window of the last
            # one) count towards the next summary.
            self._windows[key] = _Window(start=end, seen_ts=window.seen_ts)

    def _forward(self, record: logging.LogRecord) -> None:
        for target in self.targets:
            if record.levelno >= target.level:
                target.handle(record)
