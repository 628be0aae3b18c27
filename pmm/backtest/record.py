"""`pmm record`: a venue's public market data written to a recording (recording.py), no keys.

The venue's feed comes from the registry (`build_price_feed`: the `MarketDataFeed` of any built
connector id, the same public feed a price source or paper trading reads), so every built venue
records the same way and nothing here knows one. Endpoint overrides come from a config's
`connector:` section (`rest_url`, `ws_url`), as for `pmm balance -c`: a local `pmm exchange-sim`,
a proxy. The feed keeps its book in sync by the venue's own sequence rules and resyncs on a gap;
the recording gets the `resync` line and the new snapshot.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from pmm.backtest.recording import RecordingStats, RecordingWriter
from pmm.core.clock import LiveClock
from pmm.core.events import Event
from pmm.errors import ConfigError, ExchangeUnavailable, PmmError

log = logging.getLogger("pmm.record")

Progress = Callable[["RecordProgress"], None]
PROGRESS_INTERVAL_S = 1.0
START_TIMEOUT_S = 60.0  # no first snapshot by then: the venue is not answering


@dataclass(frozen=True)
class RecordProgress:
    elapsed_s: float
    duration_s: float | None
    stats: RecordingStats
    bytes_written: int


@dataclass(frozen=True)
class RecordResult:
    path: Path
    reason: str
    elapsed_s: float
    stats: RecordingStats
    bytes_written: int


def public_feed(connector_id: str, config: Any, clock: LiveClock) -> Any:
    """The public feed of `connector_id`, at the hosts of `config.connector` when it sets them."""
    from pmm.connectors import registry

    recordable = recordable_connectors()
    if registry.spec_of(connector_id) is None:
        raise ConfigError(f"Unknown connector `{connector_id}`. Connectors with a public feed to record: "
                          f"{', '.join(recordable)}.")
    if connector_id not in recordable:
        raise ConfigError(f"`{connector_id}` has no public feed to record over the network: the simulated exchange "
                          f"generates its market in-process. Record it with -c CONFIG (its `sim:` market) and "
                          f"--duration S, or record a venue: {', '.join(recordable)}.")
    overrides = getattr(config, "connector", None) if config is not None else None
    # The registry's feed builder reads the price-source host overrides: hand it the connector's own.
    hosts = SimpleNamespace(price_source_rest_url=getattr(overrides, "rest_url", None),
                            price_source_ws_url=getattr(overrides, "ws_url", None))
    return registry.build_price_feed(connector_id, SimpleNamespace(connector=hosts), clock)


def recordable_connectors() -> list[str]:
    """The perpetual connector ids whose public feed can be recorded (every built venue's)."""
    from pmm.connectors import registry

    return [i for i in registry.price_sources() if registry.spec_of(i) is not None]


async def record(connector_id: str, market: str, out: Path, *, duration_s: float | None = None,
                 config: Any = None, progress: Progress | None = None,
                 install_signal_handlers: bool = True) -> RecordResult:
    """Record until `duration_s` has passed or SIGINT/SIGTERM; the file is closed cleanly either way."""
    clock = LiveClock()
    feed = public_feed(connector_id, config, clock)
    stop = asyncio.Event()
    reason = "stopped"

    def request_stop(why: str) -> None:
        nonlocal reason
        if not stop.is_set():
            reason = why
            stop.set()

    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM) if install_signal_handlers else ()
    for sig in signals:
        loop.add_signal_handler(sig, request_stop, f"received {signal.Signals(sig).name}")
    writer: RecordingWriter | None = None
    try:
        try:
            await feed.prepare([market])
        except PmmError:  # the venue client's own message says what and what to do
            raise
        except Exception as exc:
            raise ExchangeUnavailable(f"Cannot read the trading rules of {market} from {connector_id} ({exc}). "
                                      f"Check the network, or the `connector:` hosts of the config.") from exc
        started = clock.now()
        writer = RecordingWriter(out, connector_id, market, feed.trading_rules(market), started)
        got_snapshot = asyncio.Event()
        sink = writer

        def emit(event: Event) -> None:
            recv_ts = getattr(event, "recv_ts", None) or clock.now()
            sink.add(event, recv_ts)
            if sink.stats.snapshots:
                got_snapshot.set()

        await feed.start([market], emit)
        deadline = None if duration_s is None else started + duration_s
        while not stop.is_set():
            now = clock.now()
            if deadline is not None and now >= deadline:
                request_stop(f"--duration of {duration_s:g} s reached")
                break
            if not got_snapshot.is_set() and now - started > START_TIMEOUT_S:
                raise ExchangeUnavailable(f"No order book snapshot of {market} from {connector_id} within "
                                          f"{START_TIMEOUT_S:g} s; nothing recorded. Check the venue's hosts.")
            if progress is not None:
                progress(RecordProgress(now - started, duration_s, writer.stats, writer.bytes_written))
            wait = PROGRESS_INTERVAL_S if deadline is None else max(0.0, min(PROGRESS_INTERVAL_S, deadline - now))
            try:
                await asyncio.wait_for(stop.wait(), wait)
            except TimeoutError:
                pass
        elapsed = clock.now() - started
    finally:
        for sig in signals:
            loop.remove_signal_handler(sig)
        try:
            await feed.stop()
        finally:
            if writer is not None:
                writer.close(reason)
    if progress is not None:
        progress(RecordProgress(elapsed, duration_s, writer.stats, writer.bytes_written))
    return RecordResult(out, reason, elapsed, writer.stats, writer.bytes_written)


def record_simulated(config: Any, market: str, out: Path, duration_s: float,
                     progress: Progress | None = None) -> RecordResult:
    """The public feed of the config's simulated market (`sim:`), generated on a virtual clock from
    `sim.start_time` for `duration_s`: what a `--fast` run of the same config sees, bot or not (the
    simulated market never moves because of our orders)."""
    import time

    from pmm.config.names import SIM_CONNECTOR
    from pmm.sim.exchange import SimExchange

    settings = config.to_sim_settings()
    if market not in [m.market for m in settings.markets]:
        raise ConfigError(f"The config's `sim.markets` has no market {market}; it has "
                          f"{', '.join(m.market for m in settings.markets) or 'none'}.")
    exchange = SimExchange(settings)
    start, end = settings.start_ts, settings.start_ts + duration_s
    writer = RecordingWriter(out, SIM_CONNECTOR, market, exchange.trading_rules(market), start)
    exchange.subscribe_public(lambda event: writer.add(event, event.recv_ts) if _of(event) == market else None)
    shown = time.monotonic()
    try:
        while (t := exchange.next_event_time()) is not None and t <= end:
            exchange.advance_to(t)
            if progress is not None and time.monotonic() - shown >= PROGRESS_INTERVAL_S:
                shown = time.monotonic()
                progress(RecordProgress(t - start, duration_s, writer.stats, writer.bytes_written))
    finally:
        writer.close(f"--duration of {duration_s:g} s reached")
        exchange.close()
    return RecordResult(out, f"--duration of {duration_s:g} s reached", duration_s, writer.stats,
                        writer.bytes_written)


def _of(event: Event) -> str | None:
    info = getattr(event, "info", None)
    return info.market if info is not None else getattr(event, "market", None)
