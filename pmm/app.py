"""Composition root: config -> connector + strategy + engine + store, and the run's lifecycle."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pmm.core.urls import mask_urls
from pmm.engine.engine import Engine, EngineOptions
from pmm.engine.external_source import ExternalPriceSource
from pmm.errors import ConfigError, SafetyStop

if TYPE_CHECKING:
    from pmm.metrics import BotMetrics

log = logging.getLogger("pmm.app")


@dataclass(frozen=True)
class StartOptions:
    db_url: str
    duration_s: float | None = None
    fast: bool = False
    run_id: str | None = None  # chosen by the caller (it names the log file), else a new one
    metrics_port: int | None = None  # serve Prometheus metrics on 127.0.0.1:PORT (0: any free port)


@dataclass(frozen=True)
class RunResult:
    run_id: str
    reason: str
    events: int
    fills: int


async def run_bot(config: Any, options: StartOptions, *,
                  on_engine: Callable[[Engine], None] | None = None,
                  install_signal_handlers: bool = True,
                  ask_password: Callable[[str], str] | None = None) -> RunResult:
    """Run one bot until it stops. Everything is persisted through a background writer."""
    metrics = None
    if options.metrics_port is not None:
        from pmm.metrics import BotMetrics

        metrics = BotMetrics(config.derivative, config.market)
        await metrics.serve(options.metrics_port)  # first: a port in use stops the start before anything opens
    try:
        return await _run(config, options, metrics, on_engine=on_engine,
                          install_signal_handlers=install_signal_handlers, ask_password=ask_password)
    finally:
        if metrics is not None:
            await metrics.close()


async def _run(config: Any, options: StartOptions, metrics: BotMetrics | None, *,
               on_engine: Callable[[Engine], None] | None, install_signal_handlers: bool,
               ask_password: Callable[[str], str] | None) -> RunResult:
    from pmm.connectors import registry
    from pmm.connectors.common.venue_spec import ConnectorMode
    from pmm.store import queries
    from pmm.store.db import open_engine

    params = config.to_strategy_params()
    db = open_engine(options.db_url, writable=True)  # a read-only store fails here, not at the first record
    venue = config.derivative
    simulated = registry.mode_of(venue) in (ConnectorMode.SIMULATED, ConnectorMode.PAPER_TRADE)
    snapshot = queries.sim_account(db, venue) if simulated else None
    restored = snapshot.data() if snapshot is not None else None
    backfill_since = queries.last_fill_ts(db, venue=venue) or 0.0
    if backfill_since:
        # A crash can lose a funding payment while a later fill still reaches the store: read the
        # venue's history from the last recorded payment (or, with none, from the first run on this
        # venue) as well. What the store already holds is ignored.
        last_funding_ms = queries.last_funding_time_ms(db, venue=venue)
        starts = [r.started_ts for r in queries.list_runs(db) if r.connector == venue]
        funding_since = last_funding_ms / 1000 if last_funding_ms is not None else min(starts, default=backfill_since)
        backfill_since = min(backfill_since, funding_since)
    recorded_fills, recorded_funding = queries.recorded_since(db, venue, params.market, backfill_since)
    db.dispose()

    build_options: dict[str, Any] = {}
    if ask_password is not None and not simulated:
        build_options["ask_password"] = ask_password
    bundle = registry.build_connector(config.derivative, config, fast=options.fast, restored_state=restored,
                                      **build_options)
    if config.exchange_stop_loss and bundle.conditional_orders is None:
        raise ConfigError(f"`exchange_stop_loss` is true, but {config.derivative} cannot rest a stop at the venue "
                          f"(no conditional orders: the simulated venue and paper trading have none). Set "
                          f"`exchange_stop_loss` to false (the bot's own stop-loss still works), or trade on a venue "
                          f"with conditional orders.")
    run_id = options.run_id or uuid.uuid4().hex
    # Before anything touches the venue: a second bot on this account and market is refused.
    lease = await asyncio.to_thread(_claim_lease, options.db_url, bundle, params.market, run_id)
    try:
        return await _run_claimed(config, options, bundle, run_id, lease, backfill_since, metrics,
                                  (recorded_fills, recorded_funding), on_engine=on_engine,
                                  install_signal_handlers=install_signal_handlers)
    finally:
        await asyncio.to_thread(lease.close)


async def _run_claimed(config: Any, options: StartOptions, bundle: Any, run_id: str, lease: Any,
                       backfill_since: float, metrics: BotMetrics | None,
                       recorded: tuple[frozenset[str], frozenset[int]], *, on_engine: Callable[[Engine], None] | None,
                       install_signal_handlers: bool) -> RunResult:
    from pmm.connectors.common.startup import prepare_bundle
    from pmm.engine.recorder import Recorder, RecorderFanOut
    from pmm.engine.store_recorder import StoreRecorder
    from pmm.store.records import RunEnded, RunStarted, RunStatus
    from pmm.store.writer import StoreWriter
    from pmm.strategy import PerpetualMarketMaking

    params = config.to_strategy_params()
    markets = [params.market] + ([m] if (m := params_external_market(config)) else [])
    # Live venues learn trading rules and fee rates over REST: load them before anything reads them
    # (retried while the venue does not answer; the bundle is stopped if this fails).
    await prepare_bundle(bundle, ((bundle.feed, markets), (bundle.gateway, [params.market])))
    external_source = await _external_price_source(config, bundle, options)
    rules = bundle.feed.trading_rules(params.market)
    strategy = PerpetualMarketMaking(params, rules)
    # --fast: the simulation can outrun the writer thread; bound its queue (see StoreWriter).
    writer = StoreWriter(options.db_url, max_queued=200 if options.fast else None)
    recorder: Recorder = StoreRecorder(writer, bundle.gateway.venue, run_id)
    if metrics is not None:
        recorder = RecorderFanOut(recorder, metrics.recorder)
    engine_options = EngineOptions(
        duration_s=options.duration_s,
        # A fast run covers days in seconds: snapshot by simulated time, not every simulated second.
        status_interval_s=300.0 if options.fast else 1.0,
        venue_state_interval_s=6 * 3600.0 if options.fast else 60.0,
        backfill_since_ts=backfill_since,
        recorded_trade_ids=recorded[0],
        recorded_funding_ms=recorded[1],
    )
    external = params_external_market(config)
    engine = Engine(bundle=bundle, strategy=strategy, params=params, recorder=recorder, run_id=run_id,
                    options=engine_options, external_market=external, risk=config.risk.to_limits(),
                    external_source=external_source, exchange_stop_loss=config.exchange_stop_loss)
    if metrics is not None:
        metrics.read_status_from(engine.status)
    writer.submit(RunStarted(run_id=run_id, started_ts=bundle.clock.now(), pid=os.getpid(),
                             connector=config.derivative, market=params.market, config_path=str(config.path),
                             config_text=mask_urls(config.source_text)))  # URLs may carry tokens
    # Committed before the first order, so `pmm status` and `pmm stop` see the run at once.
    await asyncio.to_thread(writer.flush)
    if on_engine is not None:
        on_engine(engine)
    from sqlalchemy.engine import make_url

    log.info("run %s: %s on %s%s; records in %s", run_id[:8], params.market, config.derivative,
             " (virtual clock, --fast)" if options.fast else "",
             make_url(options.db_url).render_as_string(hide_password=True))
    loop = asyncio.get_running_loop()
    if install_signal_handlers:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, engine.request_stop, f"received {signal.Signals(sig).name}")
        # SIGUSR1 (`kill -USR1 PID`): stop, and close the position too, as `pmm stop --flatten`.
        loop.add_signal_handler(signal.SIGUSR1, engine.request_stop, "pmm stop --flatten", True)
    # `pmm stop` asks through the store (this host or another): the lease's thread passes it on.
    lease.start(lambda flatten: loop.call_soon_threadsafe(
        engine.request_stop, "asked by `pmm stop --flatten`" if flatten else "asked by `pmm stop`", flatten))
    poller = _start_custom_api(config, engine)
    status = RunStatus.CRASHED
    reason = "crashed"
    try:
        reason = await engine.run()
        status = RunStatus.STOPPED
    finally:
        if poller is not None:
            poller.cancel()
        if install_signal_handlers:
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1):
                loop.remove_signal_handler(sig)
        writer.submit(RunEnded(run_id=run_id, ended_ts=engine.clock.now(), status=status, exit_reason=reason))
        await asyncio.to_thread(writer.close)
    tripped = engine.safety.monitor.tripped
    if tripped is not None:
        flat = not engine.account.market_positions(engine.market)
        closed = "" if not engine.safety.flatten_requested else (
            "; the position was closed" if flat else "; the position could NOT be fully closed, check the venue")
        raise SafetyStop(
            f"Kill switch tripped: {tripped}. Every own order was cancelled{closed}"
            f". Review the `risk:` limits in the config before starting again (run {run_id[:8]}, see `pmm history`).")
    return RunResult(run_id=run_id, reason=reason, events=engine.events_processed, fills=engine.session.fills)


def _claim_lease(db_url: str, bundle: Any, market: str, run_id: str) -> Any:
    """The store's lease of this bot's account and market, or ConfigError naming the bot that holds it."""
    from datetime import UTC, datetime

    from pmm.core.clock import LiveClock
    from pmm.errors import ConfigError
    from pmm.store import bots
    from pmm.store.db import open_engine
    from pmm.store.liveness import this_process

    # The store keeps a simulated account (it is exported to the store): one process at a time.
    whole = bundle.export_state is not None
    here, wall = this_process(), LiveClock()
    now = wall.now()
    lease = bots.BotLease(connector=bundle.connector_id, account=bundle.account,
                          scope=bots.WHOLE_ACCOUNT if whole else market, run_id=run_id, market=market,
                          process=here, started_ts=now, alive_ts=now)
    db = open_engine(db_url)
    holder = bots.claim(db, lease, here=here, now=now)
    if holder is None:
        return bots.LeaseKeeper(db, run_id, wall)
    db.dispose()
    since = datetime.fromtimestamp(holder.started_ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    running = (f"run {holder.run_id[:8]} on {holder.market} (pid {holder.process.pid} on {holder.process.host}, "
               f"started {since})")
    stop = f"Stop it first (`pmm stop --run {holder.run_id[:8]}`)"
    if whole:
        raise ConfigError(f"Another bot is running on the simulated {bundle.connector_id} account of this store: "
                          f"{running}. The store keeps one simulated account per connector and only one bot can "
                          f"trade it at a time. {stop}, or give this bot its own store with --db.")
    raise ConfigError(f"Another bot is running on {bundle.connector_id} {market} with the same account in this "
                      f"store: {running}. Two bots on one market and account would cancel each other's orders. "
                      f"{stop}, or trade another market or account.")


def params_external_market(config: Any) -> str | None:
    """The second market of the same connector used as price source, if any (another connector's
    market is an `ExternalPriceSource`)."""
    if config.price_source == "external_market" and config.price_source_derivative == config.derivative:
        return str(config.price_source_market)
    return None


async def _external_price_source(config: Any, bundle: Any, options: StartOptions) -> ExternalPriceSource | None:
    """Another connector's public feed when `price_source_derivative` is not `derivative` (another
    venue's perpetual, or a venue's spot market). Its market is checked here, before anything starts."""
    source = config.price_source_derivative
    if config.price_source != "external_market" or source is None or source == config.derivative:
        return None
    from pmm.config.names import SIM_CONNECTOR
    from pmm.connectors.registry import build_price_feed

    if options.fast:
        raise ConfigError(f"--fast runs a virtual clock, but `price_source_derivative` {source} is a live feed that "
                          "moves in real time. Drop --fast, or take the price from a second simulated market "
                          f"(`price_source_derivative: {SIM_CONNECTOR}`, configs/sim_external_price.yml).")
    feed = build_price_feed(source, config, bundle.clock)
    await feed.prepare([str(config.price_source_market)])  # an unlisted pair is a config error (exit 2)
    log.info("reference price from %s on %s (public market data)", config.price_source_market, source)
    return ExternalPriceSource(feed, source, str(config.price_source_market))


def _start_custom_api(config: Any, engine: Engine) -> asyncio.Task[None] | None:
    if config.price_source != "custom_api":
        return None
    from pmm.engine.custom_api import CustomApiPriceSource

    source = CustomApiPriceSource(str(config.price_source_custom_api), float(config.custom_api_update_interval),
                                  engine.clock, engine.emit)
    return asyncio.get_running_loop().create_task(source.run())
