"""Running the whole bot in-process against a venue server while a scenario injects faults.

`run_campaign(venue, phases, tmp_path)` starts a venue server on its own thread (`ServerThread`),
runs `run_bot` on the calling thread, and drives `phases` as a task on the bot's event loop: each
phase injects a fault through the server's `FaultInjector` and waits (bounded) until the bot has
recovered. What every phase saw and the final state of the store and of the venue come back in a
`CampaignResult` that the tests assert on.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from helpers import db_url, write_config
from venue_servers import ServerThread, busy_market

from pmm.core.events import (
    BookResyncRequired,
    BookSnapshot,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
)
from pmm.core.model import OrderStatus, Side

# Every bounded wait below gets this factor: a wait returns as soon as its condition holds, so the
# slack only matters on a machine slowed by other work, where it keeps a bound from being a flake.
WAIT_SLACK = 2.0
# What each running campaign is doing, by thread name, for the report on one that overran.
_LIVE: dict[str, dict[str, Any]] = {}


@dataclass
class Phase:
    name: str
    run: Callable[[Campaign], Awaitable[None]]


@dataclass
class PhaseResult:
    name: str
    ok: bool = False
    problems: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class CampaignResult:
    venue: str
    db_url: str
    phases: dict[str, PhaseResult]
    logs: list[logging.LogRecord]
    reason: str
    error: str | None
    start_wallet: Decimal
    end_wallet: Decimal
    venue_fills: list[Any]
    venue_funding: list[Any]
    venue_open_orders: list[Any]
    venue_positions: list[Any]
    rejections: list[OrderRejected]
    fill_events: list[OrderFilled]
    stop_ts: float  # wall clock, when the bot was asked to stop

    def log_text(self) -> str:
        formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
        return "\n".join(formatter.format(r) for r in self.logs)


class _Capture(logging.Handler):
    """Every pmm log record emitted on one thread (two venues may run at once)."""

    def __init__(self, thread: str) -> None:
        super().__init__(logging.DEBUG)
        self.thread = thread
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.threadName == self.thread:
            self.records.append(record)


class Campaign:
    """What a phase can do: inject faults, wait for conditions, look at the bot and the venue."""

    def __init__(self, venue: str, server: ServerThread, engine: Any, capture: _Capture) -> None:
        self.venue = venue
        self.server = server
        self.engine = engine
        self.capture = capture
        self.events: Counter[str] = Counter()
        self.rejections: list[OrderRejected] = []
        self.fill_events: list[OrderFilled] = []
        self.accepted_at: list[float] = []  # monotonic times of OrderAccepted events
        self.current: PhaseResult | None = None
        handle = engine._handle

        def spy(event: Any) -> None:  # sees every event the engine processes, in order
            self.events[type(event).__name__] += 1
            if isinstance(event, OrderRejected):
                self.rejections.append(event)
            elif isinstance(event, OrderFilled):
                self.fill_events.append(event)
            elif isinstance(event, OrderAccepted):
                self.accepted_at.append(time.monotonic())
            handle(event)

        engine._handle = spy

    # --- venue side -------------------------------------------------------------------------------

    async def at_venue(self, fn: Callable[[], Any]) -> Any:
        """`fn()` on the server's thread (the sim is not thread-safe)."""
        return await asyncio.to_thread(self.server.call, fn)

    async def inject(self, action: Callable[[Any], Any]) -> Any:
        return await self.at_venue(lambda: action(self.server.server.faults))

    async def venue_fill_count(self) -> int:
        return len(await self.at_venue(lambda: self.server.exchange.fills_since(0)))

    # --- bot side ---------------------------------------------------------------------------------

    def problem(self, text: str) -> None:
        assert self.current is not None
        self.current.problems.append(text)

    def note(self, key: str, value: Any) -> None:
        assert self.current is not None
        self.current.notes[key] = value

    async def until(self, predicate: Callable[[], bool], timeout: float, what: str) -> bool:
        timeout *= WAIT_SLACK
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            await asyncio.sleep(0.02)
        if predicate():
            return True
        self.problem(f"not within {timeout:g} s: {what}")
        return False

    async def until_async(self, predicate: Callable[[], Awaitable[bool]], timeout: float, what: str) -> bool:
        timeout *= WAIT_SLACK
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await predicate():
                return True
            await asyncio.sleep(0.05)
        self.problem(f"not within {timeout:g} s: {what}")
        return False

    def quoting(self) -> bool:
        """Trading normally again: the strategy quotes (or, with a position open, manages it) and at
        least one order of ours rests open at the venue."""
        engine = self.engine
        decision = engine.last_decision
        if decision is None:
            return False
        managing = bool(engine.account.market_positions(engine.market)) and not decision.reason.startswith(
            "not quoting")
        if not (decision.quoting or managing):
            return False
        return any(o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)
                   for o in engine.tracker.active(engine.market))

    def book_ready(self) -> bool:
        state = self.engine.markets[self.engine.market]
        return state.ready and not state.book.is_empty

    def unsettled(self) -> list[Any]:
        """Orders whose placement or cancel has no answer yet (pending, unknown or cancelling)."""
        return [o for o in self.engine.tracker.active(self.engine.market)
                if o.status in (OrderStatus.PENDING_NEW, OrderStatus.UNKNOWN) or o.cancel_sent_ts is not None]

    def logged(self, text: str, since: int = 0) -> bool:
        return any(text in r.getMessage() for r in self.capture.records[since:])

    def log_mark(self) -> int:
        return len(self.capture.records)

    async def book_matches_venue(self, depth: int = 5, tries: int = 60) -> bool:
        """The bot's book equals the venue's (top `depth` levels) at some moment of `tries` samples.

        The market moves every 0.25 s, so a sample can fall between a change at the venue and its
        diff reaching the bot; a correct book matches on most samples, a corrupt one on none.
        """
        market = self.engine.market
        for _ in range(tries):
            ours = self._levels(self.engine.markets[market].book, depth)
            theirs = await self.at_venue(lambda: self._levels(self.server.exchange.book(market), depth))
            if ours == theirs and ours[0] and ours[1]:
                return True
            await asyncio.sleep(0.03)
        return False

    @staticmethod
    def _levels(book: Any, depth: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        return (tuple((p.normalize(), s.normalize()) for p, s in book.levels(Side.BUY, depth)),
                tuple((p.normalize(), s.normalize()) for p, s in book.levels(Side.SELL, depth)))

    async def positions_match_venue(self, tries: int = 40) -> bool:
        """The bot's position equals the venue's (side and size) at some moment of `tries` samples."""
        market = self.engine.market
        for _ in range(tries):
            ours = sorted((str(p.side), p.amount) for p in self.engine.account.market_positions(market))
            theirs = sorted((str(p.side), p.amount) for p in await self.at_venue(
                lambda: self.server.exchange.positions()) if p.market == market and p.amount != 0)
            if ours == theirs:
                return True
            await asyncio.sleep(0.05)
        return False

    def resyncs(self) -> int:
        return self.events[BookResyncRequired.__name__]

    def snapshots(self) -> int:
        return self.events[BookSnapshot.__name__]


def campaign_config(tmp_path: Path, venue: str, server: ServerThread, **overrides: Any) -> Path:
    values: dict[str, Any] = {
        "derivative": venue, "order_refresh_time": 1, "filled_order_delay": 0.5, "bid_spread": 0.01,
        "ask_spread": 0.01, "long_profit_taking_spread": 0.02, "short_profit_taking_spread": 0.02,
        # A tight stop-loss renewed every second keeps orders and cancels flowing while a position
        # is open (each phase waits for its fault to be met by a real request).
        "stop_loss_spread": 0.03, "stop_loss_slippage_buffer": 0.01, "time_between_stop_loss_orders": 1,
        "connector": f"{{rest_url: '{server.rest_url}', ws_url: '{server.ws_url}'}}"}
    values.update(overrides)
    return write_config(tmp_path, **values)


def run_campaign(venue: str, phases: list[Phase], tmp_path: Path, *, phase_timeout_s: float = 90.0,
                 settings: Any = None, engine_tweaks: dict[str, Any] | None = None) -> CampaignResult:
    """Run the bot on `venue` through `phases` (in order), stop it cleanly, and collect the result."""
    from dataclasses import replace

    from pmm.app import StartOptions, run_bot
    from pmm.config import load_config

    url = db_url(tmp_path)
    thread = threading.current_thread().name
    capture = _Capture(thread)
    pmm_logger = logging.getLogger("pmm")
    old_level = pmm_logger.level
    pmm_logger.setLevel(logging.INFO)
    pmm_logger.addHandler(capture)
    results: dict[str, PhaseResult] = {}
    error: list[str] = []
    holder: dict[str, Any] = {}
    _LIVE[thread] = {"results": results, "capture": capture}
    server = ServerThread(venue, settings or busy_market()).start()
    try:
        start_wallet = server.call(lambda: {b.asset: b.total for b in server.exchange.balances()})["USDT"]
        config = load_config(campaign_config(tmp_path, venue, server))

        async def drive(campaign: Campaign) -> None:
            engine = campaign.engine
            try:
                for phase in phases:
                    result = PhaseResult(phase.name)
                    results[phase.name] = result
                    campaign.current = result
                    t0 = time.monotonic()
                    try:
                        await asyncio.wait_for(phase.run(campaign), phase_timeout_s)
                    except TimeoutError:
                        result.problems.append(f"phase did not finish within {phase_timeout_s:g} s")
                    except Exception:  # noqa: BLE001 - a broken phase must not hide the others
                        result.problems.append(traceback.format_exc())
                    result.seconds = time.monotonic() - t0
                    result.ok = not result.problems
            finally:
                holder["stop_ts"] = time.time()
                engine.request_stop("fault campaign finished")

        def on_engine(engine: Any) -> None:
            _LIVE[thread]["loop"] = asyncio.get_running_loop()
            if engine_tweaks:
                engine.options = replace(engine.options, **engine_tweaks)
            campaign = Campaign(venue, server, engine, capture)
            holder["campaign"] = campaign
            campaign.task = asyncio.get_running_loop().create_task(drive(campaign))  # type: ignore[attr-defined]

        reason = "not started"
        try:
            result = asyncio.run(run_bot(config, StartOptions(db_url=url, duration_s=300.0),
                                         install_signal_handlers=False, on_engine=on_engine))
            reason = result.reason
        except Exception:  # noqa: BLE001 - reported by the tests
            error.append(traceback.format_exc())
        venue_fills = server.call(lambda: server.exchange.fills_since(0))
        venue_funding = server.call(lambda: server.exchange.funding_payments_since(0))
        end_wallet = server.call(lambda: {b.asset: b.total for b in server.exchange.balances()})["USDT"]
        open_orders = server.call(lambda: server.exchange.open_orders())
        positions = server.call(lambda: [p for p in server.exchange.positions() if p.amount != 0])
    finally:
        server.stop()
        pmm_logger.removeHandler(capture)
        pmm_logger.setLevel(old_level)
    campaign = holder.get("campaign")
    return CampaignResult(
        venue=venue, db_url=url, phases=results, logs=capture.records, reason=reason,
        error=error[0] if error else None, start_wallet=start_wallet, end_wallet=end_wallet,
        venue_fills=venue_fills, venue_funding=venue_funding, venue_open_orders=open_orders,
        venue_positions=positions, rejections=campaign.rejections if campaign else [],
        fill_events=campaign.fill_events if campaign else [], stop_ts=holder.get("stop_ts", time.time()))


#: Campaigns run at most this many at once: each is a bot and a venue server busy in real time,
#: and a 2-core CI machine running eight at once starves their timers (a funding payment not seen
#: within a minute, a phase overrunning its deadline).
MAX_PARALLEL = 3


def run_in_parallel(jobs: dict[str, Callable[[], CampaignResult]], *, deadline_s: float = 240.0,
                    max_parallel: int = MAX_PARALLEL) -> dict[str, CampaignResult]:
    """Run each job on its own thread (named after its key), `max_parallel` at a time, and wait for
    all of them.

    A job still running `deadline_s` after it began fails the call with what it was doing (its
    phase, its stacks, its last log lines), instead of running into the test timeout, which shows
    none of it.
    """
    out: dict[str, CampaignResult] = {}
    failures: dict[str, BaseException] = {}
    slots = threading.Semaphore(max_parallel)
    began: dict[str, float] = {}

    def target(name: str, job: Callable[[], CampaignResult]) -> None:
        with slots:
            began[name] = time.monotonic()
            try:
                out[name] = job()
            except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
                failures[name] = exc

    # pmm's logger stays at INFO for the whole run: each campaign (and each bot's log output) saves
    # the level it finds and puts it back when it ends, so with campaigns overlapping, one that ends
    # would otherwise lower the level under one still running and hide its INFO lines.
    pmm_logger = logging.getLogger("pmm")
    old_level = pmm_logger.level
    pmm_logger.setLevel(logging.INFO)
    threads = [threading.Thread(target=target, args=(name, job), name=name, daemon=True) for name, job in jobs.items()]
    try:
        for t in threads:
            t.start()
        rounds = -(-len(threads) // max(1, max_parallel))
        overall = time.monotonic() + deadline_s * rounds
        while any(t.is_alive() for t in threads):
            now = time.monotonic()
            overdue = [t for t in threads if t.is_alive() and t.name in began and now - began[t.name] > deadline_s]
            if overdue or now > overall:
                break
            for t in threads:
                if t.is_alive():
                    t.join(0.5)
                    break
    finally:
        if not any(t.is_alive() for t in threads):
            pmm_logger.setLevel(old_level)
    late = [t for t in threads if t.is_alive()]
    if late:
        raise RuntimeError(f"still running after {deadline_s:g} s:\n" + "\n".join(_what_is_running(t) for t in late)
                           + "\n" + _every_thread())
    if failures:
        name, exc = next(iter(failures.items()))
        raise RuntimeError(f"campaign on {name} failed") from exc
    return out


def _what_is_running(thread: threading.Thread) -> str:
    """A report on a campaign thread that overran: phases, thread and task stacks, last logs."""
    lines = [f"=== {thread.name}"]
    live = _LIVE.get(thread.name, {})
    for name, phase in live.get("results", {}).items():
        lines.append(f"phase {name}: {phase.seconds:.1f} s ok={phase.ok} problems={phase.problems}")
    loop = live.get("loop")
    if loop is not None:
        try:
            tasks = list(asyncio.all_tasks(loop))
        except RuntimeError:  # the set changed while being read from this thread
            tasks = []
        for task in tasks:
            stack = task.get_stack(limit=6)
            where = " <- ".join(f"{f.f_code.co_name}:{f.f_lineno}" for f in reversed(stack))
            lines.append(f"task {task.get_name()}: {where}")
    capture = live.get("capture")
    if capture is not None:
        formatter = logging.Formatter("%(relativeCreated)d %(levelname)s %(name)s: %(message)s")
        lines.append("last log lines:\n" + "\n".join(formatter.format(r) for r in capture.records[-60:]))
    return "\n".join(lines)


def _every_thread() -> str:
    """The innermost frames of every thread (a venue server's loop, the store writers, executors)."""
    names = {t.ident: t.name for t in threading.enumerate()}
    lines = ["every thread:"]
    for ident, frame in sys._current_frames().items():
        lines.append(f"--- {names.get(ident, ident)}\n" + "".join(traceback.format_stack(frame, limit=8)))
    return "\n".join(lines)
