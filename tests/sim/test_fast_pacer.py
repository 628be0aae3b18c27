"""The `--fast` pacer (pmm/connectors/sim_perpetual/pacer.py): it goes through the event loop only
every `FAST_STEPS_PER_YIELD` steps, and that changes neither the order of events nor the timers."""

from __future__ import annotations

import asyncio
import json

from pmm.connectors.sim_perpetual import pacer as pacer_module
from pmm.connectors.sim_perpetual.pacer import FAST_STEPS_PER_YIELD, SimPacer
from pmm.core.clock import VirtualClock
from pmm.core.events import BookDelta
from pmm.core.pacer import WakeEvent
from pmm.sim.exchange import SimExchange

from .simkit import START, replay_market, settings

STEPS = 3 * FAST_STEPS_PER_YIELD + 5


def _replay(path):
    lines = [{"type": "snapshot", "ts": 0, "bids": [["99.0", "1"]], "asks": [["101.0", "1"]]}]
    lines += [{"type": "delta", "ts": i / 4, "bids": [[f"{99 + (i % 9) / 10:.1f}", "1"]], "asks": []}
              for i in range(1, STEPS + 1)]
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


async def _drive(exchange: SimExchange, timer_at: float) -> tuple[list[tuple[float, float]], list[float], list[int]]:
    """Step as the engine does; returns (event ts, clock at its step), the clock per step, and the
    step count each time another task got to run."""
    clock = VirtualClock(START)
    pacer = SimPacer(exchange, clock, fast=True)
    wake = WakeEvent()
    seen: list[tuple[float, float]] = []
    exchange.subscribe_public(lambda e: seen.append((e.ts, clock.now())) if isinstance(e, BookDelta) else None)
    steps: list[float] = []
    ran_at: list[int] = []

    async def other_task() -> None:
        while True:
            ran_at.append(len(steps))
            await asyncio.sleep(0)

    task = asyncio.get_running_loop().create_task(other_task())
    deadline: float | None = timer_at
    while len(steps) < STEPS:
        await pacer.wait(deadline, wake)
        steps.append(clock.now())
        if deadline is not None and clock.now() >= deadline:
            deadline = None  # the timer fired
    task.cancel()
    return seen, steps, ran_at


def test_fast_steps_keep_their_order_and_timers_fire_on_time(tmp_path):
    exchange = SimExchange(settings(replay_market(_replay(tmp_path / "r.jsonl"))))
    timer_at = START + 10.1  # between two market steps (10.0 and 10.25)
    seen, steps, ran_at = asyncio.run(_drive(exchange, timer_at))
    # One market step per wait, in file order, each delivered at its own time, and the timer's
    # deadline reached exactly, as its own step.
    assert [ts for ts, _ in seen] == sorted(ts for ts, _ in seen)
    assert all(ts == at for ts, at in seen)
    assert timer_at in steps and steps == sorted(steps)
    assert len(seen) == len([t for t in steps if t != timer_at]) - 1  # the first wait starts the exchange
    # Other tasks still run, at least once every FAST_STEPS_PER_YIELD steps.
    assert ran_at and all(b - a <= FAST_STEPS_PER_YIELD for a, b in zip([0, *ran_at], ran_at + [STEPS]))
    exchange.close()


def test_yielding_less_often_gives_the_same_steps(tmp_path, monkeypatch):
    path = _replay(tmp_path / "r.jsonl")
    results = []
    for every in (1, FAST_STEPS_PER_YIELD):
        monkeypatch.setattr(pacer_module, "FAST_STEPS_PER_YIELD", every)
        exchange = SimExchange(settings(replay_market(path)))
        seen, steps, _ = asyncio.run(_drive(exchange, START + 10.1))
        results.append((seen, steps))
        exchange.close()
    assert results[0] == results[1]
