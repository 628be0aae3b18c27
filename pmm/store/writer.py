"""`StoreWriter`: persistence off the event loop, on one background thread.

`submit(record)` is a lock-free queue put and never waits for the disk. The thread takes whatever
is queued (up to `batch_max`), writes it in one transaction and commits at once: there is no timed
batching delay, so a fill is committed as soon as the writer gets to it, and batches grow only when
records arrive faster than commits. `flush()` returns once everything submitted before it is
committed; with SQLite in WAL mode a committed row survives `kill -9` (see `db.py`).

Every insert is idempotent: fills and funding payments ignore duplicates of their natural key,
orders, status snapshots and sim accounts are upserts, runs rows are upserted/updated by run_id.
A failed batch is retried (transient errors such as a locked database), then written record by
record so one bad record cannot take its neighbours with it; whatever still fails is logged,
counted in `failed`, kept in `error`, and raised by the next `flush()`/`close()`.

The queue is unbounded by default: a live bot must never wait for the disk. A run on a virtual
clock (`--fast`) produces records as fast as the CPU allows, and its event loop can keep the GIL
from the writer thread for seconds at a time (worse on a busy machine): over a simulated week of
the quickstart the queue was seen at 15,000-20,000 records and the process 6-7 MB larger for it.
`max_queued` bounds the queue for such runs: `submit` waits, giving up the GIL, while that many
records are queued.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import URL
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from pmm.errors import PmmError
from pmm.store.db import WRITER_CACHE_KIB, open_engine
from pmm.store.records import Heartbeat, Record, SimAccountSnapshot, StatusSnapshot
from pmm.store.statements import Statements

log = logging.getLogger(__name__)

# Waits between attempts at a batch that failed with an OperationalError (on top of busy_timeout).
_RETRY_DELAYS_S = (0.05, 0.25, 1.0, 3.0)


class StoreWriteError(PmmError):
    """Records could not be persisted, or the writer is closed or dead."""


@dataclass(eq=False)
class _Flush:
    done: threading.Event = field(default_factory=threading.Event)


@dataclass(eq=False)
class _Stop:
    done: threading.Event = field(default_factory=threading.Event)


class StoreWriter:
    """Owns a background thread and its own engine; see the module docstring."""

    def __init__(
        self,
        url: str | URL,
        *,
        batch_max: int = 1000,
        engine_factory: Callable[[str | URL], Engine] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        name: str = "pmm-store-writer",
        max_queued: int | None = None,
    ) -> None:
        """Start the thread and wait until its engine is open (a bad URL raises here).

        `on_error` is called on the writer thread with each write error (records lost), so the
        owner can react at once, e.g. `lambda e: loop.call_soon_threadsafe(engine.store_failed, e)`.
        """
        self._on_error = on_error
        self.url = url
        self.batch_max = batch_max
        self.max_queued = max_queued
        self._engine_factory = engine_factory or _writer_engine
        self._queue: queue.SimpleQueue[Record | _Flush | _Stop] = queue.SimpleQueue()
        self._committed: Counter[str] = Counter()
        self._counts_lock = threading.Lock()  # the thread updates counts, callers read them
        self._failed = 0
        self._failed_reported = 0
        self.error: BaseException | None = None  # the latest write error, for callers to inspect
        self._closed = False
        self._dead = False  # the thread exited on an unexpected error
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._start_error is not None:
            raise StoreWriteError(f"Cannot open the database {url!s}: {self._start_error}") from self._start_error
        # Safety net: a daemon thread dies with the interpreter, so flush what is queued at exit.
        ref = weakref.ref(self)
        self._atexit = lambda: (w := ref()) is not None and w._close_quietly()
        atexit.register(self._atexit)

    # --- caller side ------------------------------------------------------------------------

    def submit(self, record: Record) -> None:
        """Queue `record` for writing. Never blocks, unless `max_queued` records are already queued
        (then it waits for the writer). Raises StoreWriteError if closed or dead."""
        if self._closed or self._dead:
            raise StoreWriteError(
                "The store writer is " + ("closed" if self._closed else "dead") + f"; {type(record).__name__} "
                "was not persisted. Restart pmm; check the log for the writer's error."
            )
        if self.max_queued is not None:
            while self._queue.qsize() >= self.max_queued and self._thread.is_alive() and not self._dead:
                time.sleep(0.001)  # gives the GIL to the writer thread
        self._queue.put(record)

    def flush(self, timeout: float | None = 10.0) -> None:
        """Block until every record submitted before this call is committed.

        Raises TimeoutError after `timeout` seconds, and StoreWriteError if records failed to be
        written since the previous flush (each failure is reported once) or the thread is dead.
        """
        if self._closed:
            self._raise_new_failures()
            return
        marker = _Flush()
        self._queue.put(marker)
        self._wait(marker.done, timeout, "flush")
        self._raise_new_failures()

    def close(self, timeout: float | None = 10.0) -> None:
        """Write everything queued, stop the thread, dispose the engine. Idempotent."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._atexit)
        stop = _Stop()
        self._queue.put(stop)
        self._wait(stop.done, timeout, "close")
        self._thread.join(timeout)
        self._raise_new_failures()

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def written_fills(self) -> int:
        """Fill records committed (a duplicate of a stored fill counts; it is ignored by the DB)."""
        with self._counts_lock:
            return self._committed["FillRecord"]

    @property
    def committed(self) -> dict[str, int]:
        """Records committed so far, by record class name."""
        with self._counts_lock:
            return dict(self._committed)

    @property
    def failed(self) -> int:
        """Records that could not be written."""
        return self._failed

    @property
    def alive(self) -> bool:
        return self._thread.is_alive() and not self._dead

    def _wait(self, done: threading.Event, timeout: float | None, what: str) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not done.wait(0.05):
            if not self._thread.is_alive():
                raise StoreWriteError(f"The store writer died before {what} completed: {self.error}") from self.error
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"store writer {what} did not complete within {timeout} s")

    def _raise_new_failures(self) -> None:
        new = self._failed - self._failed_reported
        if new > 0:
            self._failed_reported = self._failed
            raise StoreWriteError(f"{new} record(s) could not be written to the database: {self.error}") from self.error

    def _close_quietly(self) -> None:
        try:
            self.close(timeout=5.0)
        except Exception:  # at interpreter exit there is no one left to tell but the log
            log.exception("store writer: close at exit failed")

    # --- writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            engine = self._engine_factory(self.url)
        except BaseException as exc:  # reported to the constructor, which raises it
            self._start_error = exc
            self._ready.set()
            return
        try:
            stmts = Statements(engine.dialect.name)
        except BaseException as exc:
            engine.dispose()
            self._start_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while True:
                batch = [self._queue.get()]
                # Take what is already queued, without waiting for more: commit latency stays
                # one transaction, batches grow only under load.
                while len(batch) < self.batch_max:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if self._process(engine, stmts, batch):
                    return
        except BaseException as exc:  # a bug in the writer itself: make it loud, stop accepting
            self.error = exc
            self._dead = True
            log.exception("store writer thread died")
            if self._on_error is not None:
                self._on_error(exc)
        finally:
            engine.dispose()

    def _process(self, engine: Engine, stmts: Statements, batch: list[Record | _Flush | _Stop]) -> bool:
        """Write `batch`; release flush/stop markers after what precedes them. True = stop."""
        records: list[Record] = []
        for item in batch:
            if isinstance(item, (_Flush, _Stop)):
                self._write(engine, stmts, records)
                records = []
                item.done.set()
                if isinstance(item, _Stop):
                    return True
            else:
                records.append(item)
        self._write(engine, stmts, records)
        return False

    def _write(self, engine: Engine, stmts: Statements, records: list[Record]) -> None:
        if not records:
            return
        records = _coalesce(records)
        for attempt, delay in enumerate((*_RETRY_DELAYS_S, None)):
            try:
                with engine.begin() as conn:
                    stmts.execute_all(conn, records)
            except OperationalError as exc:
                # Locked database, I/O error, disk full: the same batch may succeed a bit later.
                if delay is None:
                    self._fail(records, exc)  # still failing: the database, not a record, is the problem
                    return
                log.warning("store writer: batch of %d failed (attempt %d), retrying: %s", len(records), attempt + 1,
                            exc)
                time.sleep(delay)
            except Exception as exc:
                log.warning("store writer: batch of %d failed, writing one by one: %s", len(records), exc)
                break
            else:
                self._count(records)
                return
        for i, rec in enumerate(records):  # isolate the bad record(s)
            try:
                with engine.begin() as conn:
                    stmts.execute_all(conn, [rec])
            except OperationalError as exc:
                self._fail(records[i:], exc)
                return
            except Exception as exc:
                self._fail([rec], exc)
            else:
                self._count([rec])

    def _count(self, records: list[Record]) -> None:
        with self._counts_lock:
            self._committed.update(type(r).__name__ for r in records)

    def _fail(self, records: list[Record], exc: BaseException) -> None:
        self.error = exc
        self._failed += len(records)
        for rec in records:
            log.error("store writer: could not write %r: %s", rec, exc)
        if self._on_error is not None:
            try:
                self._on_error(exc)
            except Exception:
                log.exception("store writer: on_error callback failed")


def _writer_engine(url: str | URL) -> Engine:
    # A bounded SQLite page cache: this connection lives as long as the bot (see db.py).
    return open_engine(url, cache_kib=WRITER_CACHE_KIB)


def _coalesce(records: list[Record]) -> list[Record]:
    """Drop records superseded later in the same batch (latest-only rows), keeping order."""
    seen: set[tuple[type, str]] = set()
    out: list[Record] = []
    for rec in reversed(records):
        if isinstance(rec, (StatusSnapshot, Heartbeat)):
            key = (type(rec), rec.run_id)
        elif isinstance(rec, SimAccountSnapshot):
            key = (type(rec), rec.venue)
        else:
            out.append(rec)
            continue
        if key not in seen:
            seen.add(key)
            out.append(rec)
    out.reverse()
    return out

