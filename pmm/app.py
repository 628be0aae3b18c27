"""Composition root: config -> connector + strategy + engine + store, and the run's lifecycle."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pmm.engine.engine import Engine, EngineOptions
from pmm.errors import SafetyStop

log = logging.getLogger("pmm.app")


@dataclass(frozen=True)
class StartOptions:
    db_url: str
    duration_s: float | None = None
    fast: bool = False


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
    from pmm.connectors import registry
    from pmm.connectors.common.venue_spec import ConnectorMode
    from pmm.engine.store_recorder import StoreRecorder
    from pmm.store import queries
    from pmm.store.db import open_engine
    from pmm.store.records import RunEnded, RunStarted, RunStatus
    from pmm.store.writer import StoreWriter
    from pmm.strategy import PerpetualMarketMaking

    params = config.to_strategy_params()
    db = open_engine(options.db_url)
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
    db.dispose()

    build_options: dict[str, Any] = {}
    if ask_password is not None and not simulated:
        build_options["ask_password"] = ask_password
    bundle = registry.build_connector(config.derivative, config, fast=options.fast, restored_state=restored,
                                      **build_options)
    markets = [params.market] + ([m] if (m := params_external_market(config)) else [])
    # Live venues learn trading rules and fee rates over REST: load them before anything reads them.
    await bundle.feed.prepare(markets)
    await bundle.gateway.prepare([params.market])
    rules = bundle.feed.trading_rules(params.market)
    strategy = PerpetualMarketMaking(params, rules)
    run_id = uuid.uuid4().hex
    # --fast: the simulation can outrun the writer thread; bound its queue (see StoreWriter).
    writer = StoreWriter(options.db_url, max_queued=200 if options.fast else None)
    recorder = StoreRecorder(writer, bundle.gateway.venue, run_id)
    engine_options = EngineOptions(
        duration_s=options.duration_s,
        # A fast run covers days in seconds: snapshot by simulated time, not every simulated second.
        status_interval_s=300.0 if options.fast else 1.0,
        venue_state_interval_s=6 * 3600.0 if options.fast else 60.0,
        backfill_since_ts=backfill_since,
    )
    external = params_external_market(config)
    engine = Engine(bundle=bundle, strategy=strategy, params=params, recorder=recorder, run_id=run_id,
                    options=engine_options, external_market=external, risk=config.risk.to_limits())
    writer.submit(RunStarted(run_id=run_id, started_ts=bundle.clock.now(), pid=os.getpid(),
                             connector=config.derivative, market=params.market, config_path=str(config.path),
                             config_text=config.source_text))
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
        # `pmm stop --flatten` from another terminal: stop, and close the position too.
        loop.add_signal_handler(signal.SIGUSR1, engine.request_stop, "pmm stop --flatten", True)
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


def params_external_market(config: Any) -> str | None:
    """The second market of the same connector used as price source, if any."""
    if config.price_source == "external_market" and config.price_source_derivative == config.derivative:
        return str(config.price_source_market)
    return None


def _start_custom_api(config: Any, engine: Engine) -> asyncio.Task[None] | None:
    if config.price_source != "custom_api":
        return None
    from pmm.engine.custom_api import CustomApiPriceSource

    source = CustomApiPriceSource(str(config.price_source_custom_api), float(config.custom_api_update_interval),
                                  engine.clock, engine.emit)
    return asyncio.get_running_loop().create_task(source.run())
