"""The bots a store knows: one lease per account and market, kept alive while the bot runs.

`pmm start` claims a lease before it touches the venue (`claim`): a second bot for the same
account and market is refused while the first lives, and takes the lease over once the first is
judged dead (`liveness.py`: process identity on its host, else its heartbeat). While the bot runs,
a `LeaseKeeper` thread refreshes the heartbeat and watches for a stop request; `pmm stop` writes
one (`request_stop`), so stopping works the same for a bot on this host or on another host of a
shared PostgreSQL store, and never signals a process by a stored pid. A clean stop deletes the
lease (`release`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, inspect, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from pmm.core.clock import Clock
from pmm.store.liveness import HEARTBEAT_S, ProcessIdentity, is_alive
from pmm.store.records import RunStatus
from pmm.store.schema import BotLeaseRow, Run

log = logging.getLogger("pmm.store")

WHOLE_ACCOUNT = "*"  # the scope of a bot that holds its whole account
STOP, FLATTEN = "stop", "flatten"

_leases = BotLeaseRow.__table__
_runs = Run.__table__


@dataclass(frozen=True, slots=True)
class BotLease:
    connector: str
    account: str
    scope: str  # the market, or WHOLE_ACCOUNT
    run_id: str
    market: str
    process: ProcessIdentity
    started_ts: float
    alive_ts: float
    stop_request: str | None = None

    def row(self) -> dict[str, Any]:
        p = self.process
        return {"connector": self.connector, "account": self.account, "scope": self.scope, "run_id": self.run_id,
                "market": self.market, "host": p.host, "boot_id": p.boot_id, "pid": p.pid,
                "process_start": p.start, "started_ts": self.started_ts, "alive_ts": self.alive_ts,
                "stop_request": self.stop_request}


def _lease(r: Any) -> BotLease:
    return BotLease(connector=r.connector, account=r.account, scope=r.scope, run_id=r.run_id, market=r.market,
                    process=ProcessIdentity(r.host, r.boot_id, r.pid, r.process_start), started_ts=r.started_ts,
                    alive_ts=r.alive_ts, stop_request=r.stop_request)


def leases(engine: Engine) -> list[BotLease]:
    """Every lease, oldest first: the bots running now and those that died holding one."""
    if not inspect(engine).has_table(_leases.name):
        return []  # a read-only store an older pmm wrote: no bot of this version runs on it
    with engine.connect() as conn:
        return [_lease(r) for r in conn.execute(select(_leases).order_by(_leases.c.started_ts)).all()]


def live_bots(engine: Engine, *, here: ProcessIdentity, now: float) -> list[BotLease]:
    return [b for b in leases(engine) if is_alive(b.process, b.alive_ts, here=here, now=now)]


def claim(engine: Engine, lease: BotLease, *, here: ProcessIdentity, now: float) -> BotLease | None:
    """Take the lease of `lease`'s account and scope. Returns the live bot holding it, or None.

    A holder judged dead is marked crashed (if its run still says running) and replaced.
    """
    for _ in range(3):  # another start may release or take the lease between our statements
        try:
            with engine.begin() as conn:
                conn.execute(_leases.insert().values(**lease.row()))
            return None
        except IntegrityError:
            pass
        with engine.connect() as conn:
            row = conn.execute(select(_leases).where(
                _leases.c.connector == lease.connector, _leases.c.account == lease.account,
                _leases.c.scope == lease.scope)).first()
        if row is None:
            continue
        holder = _lease(row)
        if is_alive(holder.process, holder.alive_ts, here=here, now=now):
            return holder
        log.warning("run %s (pid %d on %s) ended without a clean stop; run %s takes its place",
                    holder.run_id[:8], holder.process.pid, holder.process.host, lease.run_id[:8])
        with engine.begin() as conn:
            conn.execute(delete(_leases).where(_leases.c.run_id == holder.run_id))
            conn.execute(update(_runs).where(_runs.c.run_id == holder.run_id,
                                             _runs.c.status == RunStatus.RUNNING.value).values(
                status=RunStatus.CRASHED.value, ended_ts=_runs.c.heartbeat_ts,
                exit_reason="the process ended without a clean stop"))
    raise RuntimeError(f"could not claim the lease of {lease.connector} {lease.scope}: it changed hands 3 times")


def request_stop(engine: Engine, run_id: str, *, flatten: bool) -> bool:
    """Ask the bot of `run_id` to stop (and flatten). False if it holds no lease."""
    with engine.begin() as conn:
        done = conn.execute(update(_leases).where(_leases.c.run_id == run_id).values(
            stop_request=FLATTEN if flatten else STOP))
    return bool(done.rowcount)


def release(engine: Engine, run_id: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(_leases).where(_leases.c.run_id == run_id))


class LeaseKeeper:
    """Keeps a claimed lease alive and passes `pmm stop`'s request on, from its own thread.

    A thread, because the event loop of a `--fast` run is busy for seconds at a time and a
    heartbeat must not wait for it; `on_stop(flatten)` is called from this thread once.
    """

    def __init__(self, engine: Engine, run_id: str, clock: Clock, *, poll_s: float = 1.0,
                 heartbeat_s: float = HEARTBEAT_S) -> None:
        self._engine = engine
        self._run_id = run_id
        self._clock = clock
        self._on_stop: Callable[[bool], None] = lambda _flatten: None
        self._poll_s = poll_s
        self._heartbeat_s = heartbeat_s
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pmm-lease-{run_id[:8]}", daemon=True)

    def start(self, on_stop: Callable[[bool], None]) -> None:
        self._on_stop = on_stop
        self._thread.start()

    def close(self) -> None:
        """Stop the thread and give the lease back (the run has recorded how it ended)."""
        self._closing.set()
        if self._thread.is_alive():
            self._thread.join(10)
        try:
            release(self._engine, self._run_id)
        except SQLAlchemyError as exc:  # the next start judges the dead process and takes over
            log.warning("could not release the store's record of this bot (%s)", exc)
        self._engine.dispose()

    def _run(self) -> None:
        next_beat = self._clock.now() + self._heartbeat_s
        asked = False
        while not self._closing.wait(self._poll_s):
            try:
                now = self._clock.now()
                with self._engine.begin() as conn:
                    if now >= next_beat:
                        next_beat = now + self._heartbeat_s
                        conn.execute(update(_leases).where(_leases.c.run_id == self._run_id).values(alive_ts=now))
                    request = conn.execute(select(_leases.c.stop_request).where(
                        _leases.c.run_id == self._run_id)).scalar()
            except SQLAlchemyError as exc:  # a busy or unreachable store: try again at the next poll
                log.warning("could not refresh this bot's heartbeat in the store (%s)", exc)
                continue
            if request and not asked:
                asked = True
                self._on_stop(request == FLATTEN)
