"""Repeated log lines collapse into one line a window, on the engine's clock."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace

from pmm.engine.reconcile import Reconciler
from pmm.errors import ExchangeUnavailable
from pmm.log_repeats import SAME_UP_TO_FIGURES, RepeatCollapser


class _Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def now(self) -> float:
        return self.t


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _logger(name: str = "pmm.test-repeats") -> tuple[logging.Logger, _Lines, _Clock, RepeatCollapser]:
    clock, sink = _Clock(), _Lines()
    collapser = RepeatCollapser([sink], now=clock.now, window_s=60.0)
    logger = logging.getLogger(name)
    logger.handlers[:] = [collapser]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, sink, clock, collapser


def test_an_identical_line_is_written_once_then_summarised_once_a_window():
    logger, sink, clock, collapser = _logger()
    for _ in range(150):  # 150 s of one line a second
        logger.warning("could not reach the venue")
        clock.t += 1.0
    collapser.close()
    assert sink.lines == [
        "could not reach the venue",
        "could not reach the venue (repeated 59 times in the last 60 s)",
        "could not reach the venue (repeated 60 times in the last 60 s)",
        "could not reach the venue (repeated 30 times in the last 30 s)",
    ]
    assert collapser.held_back == 149


def test_a_condition_that_stops_is_summarised_when_its_window_ends():
    logger, sink, clock, collapser = _logger()
    for _ in range(5):
        logger.info("same")
        clock.t += 1.0
    clock.t += 100
    collapser.flush_due()  # the timer's call: no new log line needed
    assert sink.lines == ["same", "same (repeated 4 times in the last 60 s)"]
    logger.info("same")  # much later: written again at once
    assert sink.lines[-1] == "same"


def test_figures_are_ignored_only_for_lines_that_say_so():
    logger, sink, clock, collapser = _logger()
    for i in range(10):
        logger.info("Insufficient balance: BUY order (price: %s, size: 0.01) is omitted.", 64000 + i / 10,
                    extra=SAME_UP_TO_FIGURES)
        logger.info("placing buy 0.01 BTC-USDT @ %s as pmm-034c671f-%d", 64000 + i / 10, i)
        clock.t += 1.0
    collapser.close()
    placing = [line for line in sink.lines if line.startswith("placing")]
    omitted = [line for line in sink.lines if line.startswith("Insufficient")]
    assert len(placing) == 10  # every order line is its own fact
    assert omitted == ["Insufficient balance: BUY order (price: 64000.0, size: 0.01) is omitted.",
                       "Insufficient balance: BUY order (price: 64000.9, size: 0.01) is omitted. "
                       "(repeated 9 times in the last 10 s)"]  # the summary shows the latest figures


def test_loggers_and_levels_are_kept_apart():
    logger, sink, clock, collapser = _logger("pmm.test-repeats-a")
    other = logging.getLogger("pmm.test-repeats-b")
    other.handlers[:] = [collapser]
    other.setLevel(logging.DEBUG)
    other.propagate = False
    logger.info("x")
    logger.warning("x")
    other.info("x")
    logger.info("x")
    assert sink.lines == ["x", "x", "x"]
    clock.t += 5.0
    collapser.close()
    assert sink.lines == ["x", "x", "x", "x (repeated 1 times in the last 5 s)"]


def test_an_unreachable_venue_asked_every_second_logs_a_line_a_minute():
    logger, sink, clock, collapser = _logger("pmm.reconcile")

    class Gateway:
        calls = 0

        async def open_orders(self, market: str) -> list:
            Gateway.calls += 1
            raise ExchangeUnavailable(f"Binance did not answer GET /fapi/v1/openOrders within 10 s "
                                      f"(attempt {Gateway.calls})")

    desk = SimpleNamespace(clock=clock, market="BTC-USDT",
                           tracker=SimpleNamespace(stuck=lambda now, timeout: ["an order"]))
    reconciler = Reconciler(desk, Gateway(), control=None, emit=print, params=None,  # type: ignore[arg-type]
                            connector_id="a_venue", options=lambda: SimpleNamespace(stuck_timeout_s=5.0))

    async def ten_minutes_down() -> None:
        for _ in range(600):
            await reconciler.settle_stuck_orders()
            clock.t += 1.0

    asyncio.run(ten_minutes_down())
    collapser.close()
    assert Gateway.calls == 600
    assert 10 <= len(sink.lines) <= 12, sink.lines
    assert sink.lines[0].startswith("could not ask the venue about unanswered orders")
    repeated = sum(int(line.split("(repeated ")[1].split()[0]) for line in sink.lines[1:])
    assert 1 + repeated == 600
