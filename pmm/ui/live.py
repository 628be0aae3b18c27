"""What `pmm start` shows while it runs.

On a terminal: a rich live view of the status payload plus the latest log lines, redrawn by a task
on the event loop (never from another thread, so it never reads state mid-update). Without a
terminal: plain log lines stamped with the engine's clock (virtual time in `--fast` runs).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pmm.engine.engine import Engine

_REDRAW_S = 0.25
_LOG_LINES = 10


class _ClockFilter(logging.Filter):
    """Stamps records with the engine clock, so logs of a --fast run show simulated time."""

    def __init__(self) -> None:
        super().__init__()
        self.clock: Any = None

    def filter(self, record: logging.LogRecord) -> bool:
        ts = self.clock.now() if self.clock is not None else record.created
        record.clock = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")
        return True


class _RingHandler(logging.Handler):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class LiveRun:
    def __init__(self, interactive: bool) -> None:
        self.interactive = interactive
        self._filter = _ClockFilter()
        self._handler: logging.Handler | None = None
        self._live: Any = None
        self._engine: Engine | None = None
        self._task: asyncio.Task[None] | None = None

    def __enter__(self) -> LiveRun:
        logger = logging.getLogger("pmm")
        logger.setLevel(logging.INFO)
        logger.propagate = False
        handler: logging.Handler
        if self.interactive:
            handler = _RingHandler(_LOG_LINES)
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=Console(), auto_refresh=False, transient=False)
            self._live.__enter__()
        else:
            handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(clock)s %(levelname)-7s %(name)s: %(message)s"))
        handler.addFilter(self._filter)
        logger.addHandler(handler)
        self._handler = handler
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._live is not None:
            self._redraw()
            self._live.__exit__(None, None, None)
        if self._handler is not None:
            logging.getLogger("pmm").removeHandler(self._handler)

    def attach(self, engine: Engine) -> None:
        """Called by the app once the engine exists (inside the running event loop)."""
        self._engine = engine
        self._filter.clock = engine.clock
        if self.interactive:
            self._task = asyncio.get_running_loop().create_task(self._redraw_forever())

    async def _redraw_forever(self) -> None:
        while True:
            self._redraw()
            await asyncio.sleep(_REDRAW_S)

    def _redraw(self) -> None:
        if self._engine is None or self._live is None:
            return
        from rich.console import Group
        from rich.panel import Panel
        from rich.text import Text

        from pmm.ui.status_view import render_status

        engine = self._engine
        header = (f"pmm {engine.state} - {engine.connector_id} {engine.market} - "
                  f"{datetime.fromtimestamp(engine.clock.now(), UTC):%Y-%m-%d %H:%M:%S} UTC - Ctrl-C to stop")
        body = render_status(engine.status(), funding=True, header=header)
        assert isinstance(self._handler, _RingHandler)
        logs = Panel(Text("\n".join(self._handler.lines) or "(no log lines yet)"), title="log", title_align="left")
        self._live.update(Group(body, logs), refresh=True)
