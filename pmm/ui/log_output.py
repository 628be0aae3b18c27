"""Where `pmm start` writes its log: the terminal (plain lines, or the live view's log panel) and a file.

Every line is stamped with the engine's clock (simulated time in `--fast` runs) and goes through
one `RepeatCollapser`, so the terminal and the file show the same lines. The file is
`--log-file PATH`, by default `logs/pmm-<UTC start>-<run>.log` beside a SQLite store's file
(`data/logs/` for the default store), or `./data/logs/` for any other store URL.
"""

from __future__ import annotations

import logging
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pmm.errors import ConfigError, PmmError
from pmm.log_repeats import RepeatCollapser

LINE_FORMAT = "%(clock)s %(levelname)-7s %(name)s: %(message)s"
_ROOT_LOGGER = "pmm"


def default_log_dir(db_url: str) -> Path:
    """`logs/` beside a SQLite store's file; `data/logs` (working directory) for any other store."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(db_url)
    except ArgumentError:
        return Path("data") / "logs"
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and database and database != ":memory:" \
            and not database.startswith("file:"):
        return Path(database).parent / "logs"
    return Path("data") / "logs"


def log_file_name(run_id: str, started: datetime) -> str:
    return f"pmm-{started:%Y%m%d-%H%M%S}-{run_id[:8]}.log"


class ClockStamp(logging.Filter):
    """Stamps records with the engine clock, so logs of a `--fast` run show simulated time."""

    def __init__(self) -> None:
        super().__init__()
        self.clock: Any = None

    def now(self, record: logging.LogRecord | None = None) -> float:
        if self.clock is not None:
            return float(self.clock.now())
        return record.created if record is not None else datetime.now(UTC).timestamp()

    def filter(self, record: logging.LogRecord) -> bool:
        record.clock = datetime.fromtimestamp(self.now(record), UTC).strftime("%Y-%m-%d %H:%M:%S")
        return True


class RingHandler(logging.Handler):
    """Keeps the last `size` formatted lines, for the live view's log panel."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=size)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class LogOutputs:
    """The `pmm` logger's handlers for one run: `open()` attaches them, `close()` detaches them."""

    def __init__(self, terminal: logging.Handler, *, log_file: Path | None, explicit_file: bool,
                 verbose: bool = False) -> None:
        self.terminal = terminal
        self.log_file = log_file
        self._explicit = explicit_file
        self.verbose = verbose
        self.stamp = ClockStamp()
        self.warnings: list[str] = []  # said on stderr by the caller, e.g. a default log file not writable
        self._file_handler: logging.Handler | None = None
        self._collapser: RepeatCollapser | None = None
        self._saved: tuple[int, bool] | None = None

    def open(self) -> None:
        targets = [self.terminal]
        if self.log_file is not None:
            try:
                self.log_file.parent.mkdir(parents=True, exist_ok=True)
                self._file_handler = logging.FileHandler(self.log_file, encoding="utf-8")
            except OSError as exc:
                path, self.log_file = self.log_file, None  # no file: nothing may point to it
                if self._explicit:
                    raise ConfigError(f"Cannot write the log file {path}: {exc.strerror or exc}. "
                                      f"Pass --log-file with a writable file path.") from exc
                self.warnings.append(f"cannot write the log file {path} ({exc.strerror or exc}); "
                                     f"running without a log file. Pass --log-file PATH to choose one.")
            else:
                targets.append(self._file_handler)
        formatter = logging.Formatter(LINE_FORMAT)
        for target in targets:
            target.setFormatter(formatter)
            target.addFilter(self.stamp)
        self._collapser = RepeatCollapser(targets, now=self.stamp.now)
        logger = logging.getLogger(_ROOT_LOGGER)
        self._saved = (logger.level, logger.propagate)  # given back by close(): a process may run bots in turn
        logger.setLevel(logging.DEBUG if self.verbose else logging.INFO)
        logger.propagate = False
        logger.addHandler(self._collapser)

    def set_clock(self, clock: Any) -> None:
        self.stamp.clock = clock

    def tick(self) -> None:
        """Writes the summaries of repeats whose window has ended (called from a timer)."""
        if self._collapser is not None:
            self._collapser.flush_due()

    def record_failure(self, exc: BaseException) -> None:
        """The error that ends the run goes to the log too; a bug with its traceback."""
        log = logging.getLogger(_ROOT_LOGGER)
        if isinstance(exc, PmmError):
            log.error("%s", exc)
        else:
            log.error("internal error: %s: %s", type(exc).__name__, exc, exc_info=exc)

    def close(self) -> None:
        logger = logging.getLogger(_ROOT_LOGGER)
        if self._saved is not None:
            logger.setLevel(self._saved[0])
            logger.propagate = self._saved[1]
            self._saved = None
        if self._collapser is not None:
            logger.removeHandler(self._collapser)
            self._collapser.close()  # writes the pending summaries
            self._collapser = None
        for handler in (self.terminal, self._file_handler):
            if handler is not None:
                handler.close()
