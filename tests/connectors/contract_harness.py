"""Builds a connector bundle for the contract suite and pumps its events.

One harness per connector id. The suite only uses the contract (feed, gateway, pacer), so the same
statements hold for the simulated venue and for every live venue served on loopback.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from helpers import write_config
from pmm.config import load_config
from pmm.connectors.base import ConnectorBundle
from pmm.core.events import Event
from pmm.engine.pacer import WakeEvent

MARKET = "BTC-USDT"


@dataclass
class Harness:
    bundle: ConnectorBundle
    events: list[Event] = field(default_factory=list)
    wake: WakeEvent = field(default_factory=WakeEvent)

    def emit(self, event: Event) -> None:
        self.events.append(event)
        self.wake.set()

    async def pump_until(self, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
        """Let the venue run (virtual or real time) until `predicate()` holds."""
        clock = self.bundle.clock
        deadline = clock.now() + timeout_s
        loop_deadline = asyncio.get_running_loop().time() + timeout_s + 5
        while not predicate():
            if clock.now() >= deadline or asyncio.get_running_loop().time() > loop_deadline:
                raise AssertionError(f"condition not reached within {timeout_s} s; last events: {self.events[-5:]}")
            self.wake.clear()
            await self.bundle.pacer.wait(min(deadline, clock.now() + 0.25), self.wake)
            await asyncio.sleep(0)

    def of_type(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]


@asynccontextmanager
async def sim_harness(tmp_path) -> AsyncIterator[Harness]:
    from pmm.connectors.sim_perpetual.build import build

    bundle = build(load_config(write_config(tmp_path)), fast=True)
    harness = Harness(bundle)
    await bundle.gateway.start(harness.emit)
    await bundle.feed.start([MARKET], harness.emit)
    try:
        yield harness
    finally:
        await bundle.feed.stop()
        await bundle.gateway.stop()


HARNESSES: dict[str, Callable[[Any], Any]] = {"sim_perpetual": sim_harness}


@asynccontextmanager
async def _live_harness(venue: str, tmp_path, paper: bool = False) -> AsyncIterator[Harness]:
    """A live connector (or its paper-trade twin) against that venue's server on loopback."""
    from pmm.connectors.registry import build_connector
    from venue_servers import credentials_env, running_server

    with running_server(venue) as server:
        derivative = f"{venue}_paper_trade" if paper else venue
        config = load_config(write_config(
            tmp_path, derivative=derivative,
            connector=f"{{rest_url: '{server.rest_url}', ws_url: '{server.ws_url}'}}"))
        options = {} if paper else {"env": credentials_env(venue)}
        bundle = build_connector(derivative, config, fast=False, **options)
        for part in (bundle.feed, bundle.gateway):
            prepare = getattr(part, "prepare", None)
            if prepare is not None:
                await prepare([MARKET])
        harness = Harness(bundle)
        await bundle.gateway.start(harness.emit)
        await bundle.feed.start([MARKET], harness.emit)
        try:
            yield harness
        finally:
            await bundle.feed.stop()
            await bundle.gateway.stop()


def _live(venue: str, paper: bool = False) -> Callable[[Any], Any]:
    return lambda tmp_path: _live_harness(venue, tmp_path, paper)


HARNESSES.update({
    "binance_perpetual": _live("binance_perpetual"),
    "bybit_perpetual": _live("bybit_perpetual"),
    "binance_perpetual_paper_trade": _live("binance_perpetual", paper=True),
    "bybit_perpetual_paper_trade": _live("bybit_perpetual", paper=True),
    "okx_perpetual": _live("okx_perpetual"),
    "okx_perpetual_paper_trade": _live("okx_perpetual", paper=True),
})
