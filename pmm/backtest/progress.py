"""Progress lines of `pmm record` and `pmm backtest` on stderr: redrawn in place on a terminal, a line
every `PLAIN_EVERY_S` of wall time otherwise (a log file or CI stays short)."""

from __future__ import annotations

import sys
import time
from typing import IO

PLAIN_EVERY_S = 10.0


def hms(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def size_text(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


class ProgressLine:
    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()
        self._last_plain = 0.0
        self._shown = False

    def show(self, text: str, *, final: bool = False) -> None:
        if self._tty:
            self._stream.write("\r\x1b[2K" + text + ("\n" if final else ""))
            self._stream.flush()
            self._shown = not final
            return
        now = time.monotonic()
        if final or now - self._last_plain >= PLAIN_EVERY_S:
            self._last_plain = now
            self._stream.write(text + "\n")
            self._stream.flush()

    def clear(self) -> None:
        if self._tty and self._shown:
            self._stream.write("\r\x1b[2K")
            self._stream.flush()
            self._shown = False
