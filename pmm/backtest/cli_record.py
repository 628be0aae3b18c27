"""`pmm record`'s terminal side: the config's endpoint overrides, the progress line, the summary."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer

from pmm.backtest.progress import ProgressLine, hms, size_text
from pmm.backtest.record import RecordProgress, record, record_simulated
from pmm.errors import ConfigError


def _endpoint_config(connector: str, config_path: Path | None) -> Any:
    if config_path is None:
        return None
    from pmm.config import load_config
    from pmm.connectors import registry

    config = load_config(config_path)
    if registry.spec_of(config.derivative) is not registry.spec_of(connector):
        raise ConfigError(f"--connector {connector} is not a connector of `derivative` {config.derivative} in "
                          f"{config_path}: its `connector:` hosts are for another venue. Use a config of the same "
                          f"venue, or drop -c.")
    return config


def _progress_text(p: RecordProgress) -> str:
    of = f" of {hms(p.duration_s)}" if p.duration_s is not None else " (Ctrl-C to stop)"
    rate = p.stats.records / p.elapsed_s if p.elapsed_s > 0 else 0.0
    return (f"recording {hms(p.elapsed_s)}{of}: {p.stats.records:,} records ({rate:,.0f}/s), "
            f"{p.stats.trades:,} trades, {p.stats.resyncs} resyncs, {size_text(p.bytes_written)}")


def run_record(connector: str, market: str, out: Path, duration_s: float | None, config_path: Path | None) -> None:
    if out.exists() and out.is_dir():
        raise ConfigError(f"--out {out} is a folder; give a file name, e.g. {out / 'btc.jsonl.gz'}.")
    config = _endpoint_config(connector, config_path)
    line = ProgressLine()
    from pmm.connectors import registry

    spec = registry.spec_of(connector)
    if spec is not None and spec.simulated and config is not None:
        if duration_s is None:
            raise ConfigError("Recording the simulated market runs on a virtual clock: give --duration S (simulated "
                              "seconds from the config's `sim.start_time`).")
        result = record_simulated(config, market, out, duration_s, progress=lambda p: line.show(_progress_text(p)))
    else:
        result = asyncio.run(record(connector, market, out, duration_s=duration_s, config=config,
                                    progress=lambda p: line.show(_progress_text(p))))
    line.clear()
    stats = result.stats
    typer.echo(f"recorded {connector} {market} for {hms(result.elapsed_s)} ({result.reason}): {stats.records:,} "
               f"records ({stats.snapshots} snapshots, {stats.deltas:,} deltas, {stats.trades:,} trades, "
               f"{stats.resyncs} resyncs), {size_text(result.bytes_written)} in {result.path}. "
               f"Backtest it with `pmm backtest -c CONFIG --data {result.path}`.")
