"""`pmm backtest`: the config's strategy and the engine over recorded market data, on a virtual clock.

The same `PerpetualMarketMaking` strategy and `Engine` as `pmm start` (composed here as app.py
composes them), trading on the backtest connector (bundle.py: the recording + the simulated
exchange). Nothing is written to a store: the run's fills, funding and samples stay in memory
(collect.py) for the report. Log lines below WARNING are not emitted unless `verbose`: a backtest
places and cancels hundreds of thousands of orders, and formatting their lines would cost more
than trading them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pmm.backtest.bundle import backtest_bundle
from pmm.backtest.collect import BacktestRecorder, Sampler
from pmm.backtest.data import LATENCY_SAMPLES, MarketData, open_data
from pmm.core.model import TradingRules
from pmm.errors import ConfigError
from pmm.sim.queue import QUEUE_MODELS
from pmm.sim.settings import SimMarketSettings, SimSettings
from pmm.strategy.params import PriceSource

log = logging.getLogger("pmm.backtest")

QUEUE_CHOICES = ("none", *QUEUE_MODELS)
RECORDED = "recorded"


@dataclass(frozen=True)
class BacktestOptions:
    data: tuple[Path, ...]
    t_from: float | None = None
    t_to: float | None = None
    latency: str | None = None  # milliseconds, or "recorded"; None: the config's `sim.latency_ms`
    queue: str = "risk_averse"
    verbose: bool = False


@dataclass(frozen=True)
class Progress:
    data_ts: float
    data_start: float
    data_end: float | None  # the --to bound when given
    records: int
    wall_s: float
    fraction: float | None  # of the data's bytes read (None: unknown)


@dataclass
class BacktestResult:
    config: Any
    market: str
    reason: str
    data_start: float
    data_end: float
    records: int
    wall_s: float
    latency_s: float
    latency_source: str
    queue: str
    rules: TradingRules
    recorder: BacktestRecorder
    sampler: Sampler
    final_mid: Any
    orders_placed: int
    orders_cancelled: int
    kill_switch: str | None
    data_files: tuple[Path, ...] = ()


def _fallback_rules(settings: SimSettings, market: str) -> TradingRules:
    """Rules for data that carries none (Tardis CSVs): the config's `sim.markets` entry, else the defaults."""
    from pmm.sim.settings import ExternalMarket

    entry = next((m for m in settings.markets if m.market == market), SimMarketSettings(market, ExternalMarket()))
    base, _, quote = market.partition("-")
    return TradingRules(market, base, quote, entry.tick_size, entry.step_size, entry.min_size, entry.min_notional,
                        entry.max_leverage)


def _latency(option: str | None, settings: SimSettings, data: MarketData) -> tuple[float, str]:
    if option is None:
        return settings.latency_s, "the config's `sim.latency_ms`"
    if option == RECORDED:
        recorded = data.recorded_latency_s()  # the samples of its look-ahead (see run_backtest)
        if recorded is None:
            raise ConfigError("--latency-ms recorded needs the venue's times in the data (`venue_ts` of a `pmm "
                              "record` recording, `timestamp` of Tardis CSVs); this data has none. Give "
                              "--latency-ms N (milliseconds).")
        return recorded, "the recording (median of local receive time minus the venue's time)"
    try:
        ms = float(option)
    except ValueError:
        ms = -1.0
    if not 0 <= ms <= 60_000:
        raise ConfigError(f"--latency-ms must be milliseconds between 0 and 60000, or `recorded`; was {option!r}.")
    return ms / 1000, "--latency-ms"


def _log_handler(clock: Any) -> logging.Handler:
    """--verbose: the bot's log lines on stderr, stamped with the data's time (the virtual clock)."""
    from datetime import UTC, datetime

    class DataTime(logging.Formatter):
        def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
            return datetime.fromtimestamp(clock.now(), UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]

    handler = logging.StreamHandler()
    handler.setFormatter(DataTime("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    return handler


def _check_config(config: Any) -> list[str]:
    """Refuses what a recording cannot feed; returns warnings about what the backtest leaves out."""
    if config.price_source != PriceSource.CURRENT_MARKET:
        raise ConfigError(f"`price_source` {config.price_source} needs a second live feed, which a recording does not "
                          "have. Backtest with `price_source: current_market`.")
    warnings = []
    if config.exchange_stop_loss:
        warnings.append("`exchange_stop_loss` is ignored: the backtest's venue keeps no resting stop orders (the "
                        "bot's own stop-loss still runs).")
    return warnings


async def run_backtest(config: Any, options: BacktestOptions, progress: Callable[[Progress], None] | None = None,
                       install_signal_handlers: bool = False) -> BacktestResult:
    from pmm.engine.engine import Engine, EngineOptions
    from pmm.strategy import PerpetualMarketMaking

    for warning in _check_config(config):
        log.warning("%s", warning)
    if options.queue not in QUEUE_CHOICES:
        raise ConfigError(f"--queue must be one of {', '.join(QUEUE_CHOICES)}, was {options.queue!r}.")
    params = config.to_strategy_params()
    base_settings: SimSettings = config.to_sim_settings()
    data = open_data(options.data, params.market, t_from=options.t_from, t_to=options.t_to,
                     funding_interval_s=base_settings.funding_interval_s,
                     fallback_rules=_fallback_rules(base_settings, params.market))
    rules = data.rules or _fallback_rules(base_settings, params.market)
    if options.latency == RECORDED:
        # The latency comes from the data's first records: read them once, from a second reader.
        sample = open_data(options.data, params.market, t_from=options.t_from, t_to=options.t_to,
                           funding_interval_s=base_settings.funding_interval_s)
        while len(sample.latency_samples) < LATENCY_SAMPLES and sample.next_time() is not None:
            sample.pop()
        data.latency_samples = sample.latency_samples
    latency_s, latency_source = _latency(options.latency, base_settings, data)
    settings = dataclasses.replace(base_settings, latency_s=latency_s,
                                   queue_model=None if options.queue == "none" else options.queue)
    start = data.next_time()
    assert start is not None
    wall_start = time.monotonic()

    def on_step(t: float) -> None:
        if progress is not None:
            progress(Progress(t, start, options.t_to, pacer.records, time.monotonic() - wall_start,
                              data.fraction_read()))

    bundle, exchange, pacer = backtest_bundle(settings, data, rules, on_step)
    recorder = BacktestRecorder()
    run_id = uuid.uuid4().hex
    engine = Engine(bundle=bundle, strategy=PerpetualMarketMaking(params, rules), params=params, recorder=recorder,
                    run_id=run_id, options=EngineOptions(status_interval_s=3600.0, venue_state_interval_s=1e9,
                                                         stuck_timeout_s=max(5.0, 20 * latency_s)),
                    risk=config.risk.to_limits())
    # One book for both: the engine reads the venue's copy of the recorded book, which has already
    # applied each record when the engine gets it (its own application of the same delta is a no-op).
    engine.markets[params.market].book = exchange.book(params.market)
    sampler = Sampler(engine, next_due=start)
    pacer.sampler = sampler
    recorder.mid = lambda: engine.markets[params.market].book.mid
    logger = logging.getLogger("pmm")
    level = logger.level
    handler = _log_handler(engine.clock) if options.verbose else None
    if handler is not None:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    else:
        logger.setLevel(logging.WARNING)
    loop = asyncio.get_running_loop()
    if install_signal_handlers:
        # Ctrl-C stops at the data reached so far: the bot shuts down as at the end, and the report is written.
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, engine.request_stop, f"received {signal.Signals(sig).name}")
    try:
        reason = await engine.run()
    finally:
        if install_signal_handlers:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
        logger.setLevel(level)
        if handler is not None:
            logger.removeHandler(handler)
        exchange.close()
    end = data.last_ts if data.last_ts is not None else start
    sampler.sample(max(end, engine.clock.now()))
    return BacktestResult(
        config=config, market=params.market, reason=reason, data_start=start, data_end=end,
        records=pacer.records, wall_s=time.monotonic() - wall_start, latency_s=latency_s,
        latency_source=latency_source, queue=options.queue, rules=rules, recorder=recorder, sampler=sampler,
        final_mid=engine.markets[params.market].book.mid, orders_placed=engine.orders.placed,
        orders_cancelled=engine.orders.cancelled, kill_switch=engine.safety.monitor.tripped,
        data_files=options.data)
