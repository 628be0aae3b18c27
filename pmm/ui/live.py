"""What `pmm start` shows while it runs.

On a terminal: a rich live view of the status payload plus the latest log lines (laid out for the
terminal's size by `pmm.ui.live_layout`), redrawn by a task on the event loop (never from another
thread, so it never reads state mid-update); a `--fast` run adds its progress (simulated time done,
speed, ETA). Without a terminal: plain log lines stamped with the engine's clock (virtual time in
`--fast` runs). Either way the lines also go to the log file (`pmm.ui.log_output`).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pmm.ui.log_output import LogOutputs, RingHandler

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from pmm.engine.engine import Engine

_REDRAW_S = 0.25
_REPEATS_CHECK_S = 1.0  # how often pending "repeated N times" summaries are looked at
_LOG_LINES = 50  # kept for the log panel; the layout shows as many as fit
_BAR_WIDTH = 8


class LiveRun:
    def __init__(self, interactive: bool, *, log_file: Path | None = None, explicit_log_file: bool = False,
                 verbose: bool = False, console: Console | None = None,
                 notice: Callable[[str], None] | None = None) -> None:
        """`notice` is told where the log goes (and any problem with it) before the live view starts."""
        self.interactive = interactive
        self._notice = notice
        terminal: logging.Handler = RingHandler(_LOG_LINES) if interactive else logging.StreamHandler(sys.stdout)
        self.outputs = LogOutputs(terminal, log_file=log_file, explicit_file=explicit_log_file, verbose=verbose)
        self._console = console
        self._live: Any = None
        self._engine: Engine | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._sim_start = 0.0
        self._wall_start = 0.0

    @property
    def log_file(self) -> Path | None:
        return self.outputs.log_file

    def __enter__(self) -> LiveRun:
        self.outputs.open()
        if self._notice is not None:
            for warning in self.outputs.warnings:
                self._notice(f"warning: {warning}")
            if self.outputs.log_file is not None:
                self._notice(f"log file: {self.outputs.log_file}")
        if self.interactive:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(console=self._console or Console(), auto_refresh=False, transient=False)
            self._live.__enter__()
        return self

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        for task in self._tasks:
            task.cancel()
        try:
            if self._live is not None:
                self._redraw()
                self._live.__exit__(None, None, None)
            if exc is not None and not isinstance(exc, KeyboardInterrupt):
                self.outputs.record_failure(exc)
        finally:
            self.outputs.close()

    def attach(self, engine: Engine) -> None:
        """Called by the app once the engine exists (inside the running event loop)."""
        self._engine = engine
        self.outputs.set_clock(engine.clock)
        self._sim_start, self._wall_start = engine.clock.now(), time.monotonic()
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._every(_REPEATS_CHECK_S, self.outputs.tick)))
        if self.interactive:
            self._tasks.append(loop.create_task(self._every(_REDRAW_S, self._redraw)))

    @staticmethod
    async def _every(seconds: float, action: Any) -> None:
        while True:
            action()
            await asyncio.sleep(seconds)

    def frame(self, width: int, height: int) -> RenderableType:
        """The view for a terminal of `width` x `height`."""
        from pmm.ui.live_layout import render_live

        engine = self._engine
        assert engine is not None
        header = (f"pmm {engine.state}  {engine.connector_id} {engine.market}  "
                  f"{datetime.fromtimestamp(engine.clock.now(), UTC):%Y-%m-%d %H:%M:%S} UTC  Ctrl-C to stop")
        terminal = self.outputs.terminal
        lines = list(terminal.lines) if isinstance(terminal, RingHandler) else []
        return render_live(engine.status(), width=width, height=height, header=header,
                           progress=self._progress(), log_lines=lines)

    def _progress(self) -> RenderableType | None:
        """A `--fast` run: simulated time done (of --duration), speed and ETA, in one line."""
        from rich.text import Text

        from pmm.ui.format import fmt_duration

        engine = self._engine
        if engine is None or not engine.bundle.pacer.virtual:
            return None
        done = max(0.0, engine.clock.now() - self._sim_start)
        wall = max(1e-9, time.monotonic() - self._wall_start)
        speed = f"{done / wall:,.0f}x real time"
        total = engine.options.duration_s
        if not total:
            return Text(f"Simulated {fmt_duration(done)} in {fmt_duration(wall)} at {speed} (no --duration: "
                        f"until the market ends or Ctrl-C)")
        fraction = min(1.0, done / total)
        eta = fmt_duration(wall * (1 - fraction) / fraction) if fraction > 0 else "-"
        filled = round(fraction * _BAR_WIDTH)
        return Text.assemble(("━" * filled, "green"), ("━" * (_BAR_WIDTH - filled), "grey35"),
                             f" Simulated {fmt_duration(done)} of {fmt_duration(total)} ({fraction:.0%}) at "
                             f"{speed}, ETA {eta}")

    def _redraw(self) -> None:
        if self._engine is None or self._live is None:
            return
        width, height = self._live.console.size
        self._live.update(self.frame(width, height), refresh=True)
