"""`pmm backtest`'s terminal side: options, the progress line, the report folder, the summary table."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import typer

from pmm.backtest.progress import ProgressLine, hms
from pmm.backtest.run import BacktestOptions, Progress, run_backtest
from pmm.errors import ConfigError


def parse_time(text: str | None, option: str) -> float | None:
    """`--from` / `--to`: seconds since the epoch, or a UTC date/time (2026-01-01, 2026-01-01T08:00)."""
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{option} must be a UTC date/time like 2026-01-01T08:00 or seconds since the epoch, "
                          f"was {text!r}.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _progress_text(p: Progress) -> str:
    rate = p.records / p.wall_s if p.wall_s > 0 else 0.0
    done = None
    if p.data_end is not None and p.data_end > p.data_start:
        done = (p.data_ts - p.data_start) / (p.data_end - p.data_start)
    elif p.fraction is not None:
        done = p.fraction
    left = ""
    if done is not None and 0 < done <= 1:
        left = f", {100 * done:.0f} %, {hms(p.wall_s * (1 - done) / done)} left"
    return (f"backtest at {_stamp(p.data_ts)} ({hms(p.data_ts - p.data_start)} of data){left}: "
            f"{p.records:,} records, {rate:,.0f} records/s")


def run_backtest_command(config_path: Path, data: list[Path], t_from: str | None, t_to: str | None,
                         latency: str | None, queue: str, report_dir: Path, verbose: bool) -> None:
    from pmm.config import load_config

    config = load_config(config_path)
    for warning in config.warnings:
        typer.echo(f"warning: {warning}", err=True)
    options = BacktestOptions(data=tuple(data), t_from=parse_time(t_from, "--from"), t_to=parse_time(t_to, "--to"),
                              latency=latency, queue=queue, verbose=verbose)
    if options.t_from is not None and options.t_to is not None and options.t_to <= options.t_from:
        raise ConfigError(f"--to ({t_to}) must be after --from ({t_from}).")
    if report_dir.exists() and not report_dir.is_dir():
        raise ConfigError(f"--report {report_dir} is a file; give a folder for report.json and the pictures.")
    line = ProgressLine()
    result = asyncio.run(run_backtest(config, options, progress=lambda p: line.show(_progress_text(p)),
                                      install_signal_handlers=True))
    line.clear()
    from pmm.backtest.plots import write_pictures
    from pmm.backtest.report import build_report

    report = build_report(result)
    report_dir.mkdir(parents=True, exist_ok=True)
    report["pictures"] = write_pictures(result, report_dir)
    (report_dir / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    _print_summary(report, report_dir)


def _print_summary(report: dict, report_dir: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Backtest of {report['market']}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    from pmm.backtest.report import summary_rows

    for name, value in summary_rows(report):
        table.add_row(name, value)
    Console(width=max(100, Console().width)).print(table)
    pictures = report["pictures"]
    if pictures.get("files"):
        typer.echo(f"report: {report_dir / 'report.json'}; pictures: {', '.join(pictures['files'])}")
    else:
        typer.echo(f"report: {report_dir / 'report.json'}; no pictures: {pictures['note']}")
