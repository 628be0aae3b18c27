"""What the conformance round trip needs around a client library: bounded calls, condition waits,
an event loop for async clients, and the truth read from the simulated exchange behind a server.

Independent clients run their own threads and sockets (most venue SDKs) or their own event loop
(ccxt.pro); any of them can hang on a loaded machine. Every call into a client goes
through `bounded`, which runs it in a daemon thread and fails the test with the step's name when it
does not return in time: a hung client fails its test with a message, it never hangs CI (and a
daemon thread cannot keep the test process from exiting).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from venue_servers import ServerThread

from pmm.core.events import Trade
from pmm.core.model import FillReport, FundingPaymentReport, OrderReport, Position, Side, TradingRules

T = TypeVar("T")

STEP_S = 30.0  # one client call; generous, the machine may be loaded
WAIT_S = 20.0  # one condition (a stream catching up, a funding payment)
CLOSE_S = 15.0

Level = tuple[Decimal, Decimal]


def bounded(what: str, fn: Callable[[], T], seconds: float = STEP_S) -> T:
    """`fn()` run in a daemon thread; the test fails naming `what` if it does not return in time."""
    box: dict[str, Any] = {}
    done = threading.Event()

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=f"conformance: {what}", daemon=True).start()
    if not done.wait(seconds):
        pytest.fail(f"{what}: the client did not return within {seconds:g} s (a hung client; its thread is "
                    "abandoned)", pytrace=False)
    if "error" in box:
        raise box["error"]
    return box["value"]


def wait_until(what: str, probe: Callable[[], T], holds: Callable[[T], bool], seconds: float = WAIT_S) -> T:
    """Poll `probe()` until `holds(value)`; fail naming `what` and showing the last value."""
    deadline = time.monotonic() + seconds
    while True:
        value = probe()
        if holds(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached within {seconds:g} s; last seen: {value!r}", pytrace=False)
        time.sleep(0.05)


def decimal(value: Any) -> Decimal:
    """A client's number as a Decimal: strings as written, floats by their shortest repr (ccxt)."""
    return Decimal(value if isinstance(value, str) else repr(value))


class LoopThread:
    """An asyncio loop in a daemon thread, so a sync scenario can drive an async client (ccxt.pro)."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Start a background task (a `watch_*` loop); `stop` cancels it."""
        self.loop.call_soon_threadsafe(self.loop.create_task, coro)

    def stop(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self.loop.is_running():
            asyncio.run_coroutine_threadsafe(cancel_all(), self.loop).result(CLOSE_S)
            self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(CLOSE_S)
        if not self._thread.is_alive():
            self.loop.close()


class Venue:
    """What the simulated exchange behind a venue server holds, read on the server's own loop (the
    simulator is not thread-safe). Public trades are recorded from the moment this is created."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self.market: str = server.call(lambda: server.exchange.markets()[0])
        self._trades: list[Trade] = []
        server.call(lambda: server.exchange.subscribe_public(self._on_public))

    def _on_public(self, event: Any) -> None:
        if isinstance(event, Trade):
            self._trades.append(event)

    def _read(self, fn: Callable[[Any], T]) -> T:
        return self.server.call(lambda: fn(self.server.exchange))

    def rules(self) -> TradingRules:
        return self._read(lambda ex: ex.trading_rules(self.market))

    def book(self, depth: int) -> tuple[list[Level], list[Level]]:
        def both_sides(ex: Any) -> tuple[list[Level], list[Level]]:
            book = ex.book(self.market)
            return list(book.iter_levels(Side.BUY, depth)), list(book.iter_levels(Side.SELL, depth))

        return self._read(both_sides)

    def trades(self) -> list[Trade]:
        return self._read(lambda ex: list(self._trades))

    def leverage(self) -> int:
        return self._read(lambda ex: ex.leverage(self.market))

    def open_orders(self) -> list[OrderReport]:
        return self._read(lambda ex: ex.open_orders(self.market))

    def fills(self) -> list[FillReport]:
        return self._read(lambda ex: ex.fills_since(0.0, self.market))

    def positions(self) -> list[Position]:
        return self._read(lambda ex: [p for p in ex.positions() if p.market == self.market])

    def wallet_balance(self) -> Decimal:
        """The quote asset's wallet balance (deposits, realised PnL, fees, funding)."""
        quote = self.rules().quote
        return self._read(lambda ex: next(b.total for b in ex.balances() if b.asset == quote))

    def funding_rate(self) -> Decimal:
        return self._read(lambda ex: ex.funding_info(self.market).rate)

    def funding_payments(self) -> list[FundingPaymentReport]:
        return self._read(lambda ex: ex.funding_payments_since(0.0, self.market))
