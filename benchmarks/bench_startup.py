"""Benchmarks 5 (start-up and commands) and 6 (memory).

5. Wall time, from spawn to exit, of `pmm --help` (median of several runs), of `pmm start` on the
   quickstart config (real-time clock) until its first quote is live on the sim (the first plain log
   line "placing"), and of `pmm history` on a store holding 1 M fills. Baseline: `python -c pass`
   with the same interpreter, in the same run (median).
6. Peak RSS (VmHWM, read from /proc while it runs) of the quickstart bot running in real time for a few seconds
   after its first quote, beside the peak RSS of `python -c pass`; and the growth of VmRSS over a
   simulated week with `--fast` (sampled from /proc by the parent: at the first quote and at the
   last sample before the bot starts stopping), beside the RSS at the first quote.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_store import build_fill_store
from benchmarks.common import (
    REPO,
    Figure,
    Section,
    config_from_quickstart,
    idle_python_peak_mb,
    median,
    pmm_command,
    run_bot,
    stopped_line,
    wall,
)

QUICKSTART = REPO / "configs" / "quickstart.yml"


def python_pass(repeats: int) -> tuple[float, float]:
    runs = [wall([sys.executable, "-c", "pass"]) for _ in range(repeats)]
    return median([t for t, _ in runs]), max(r for _, r in runs)


def run_startup(*, repeats: int = 7, fills: int = 1_000_000) -> Section:
    section = Section(5, "start-up and commands")
    t_start = time.perf_counter()
    base_s, _ = python_pass(repeats)
    helps = [wall(pmm_command() + ["--help"])[0] for _ in range(repeats)]
    with tempfile.TemporaryDirectory(prefix="pmm-bench-start-") as tmp:
        bot = run_bot(["start", "-c", str(QUICKSTART), "--plain", "--db", f"sqlite:///{tmp}/start.sqlite"],
                      stop_when="placing", timeout=120.0)
    first_quote = bot.first("placing")
    section.checks["quoted"] = first_quote is not None
    store = build_fill_store(fills)
    history = [wall(pmm_command() + ["history", "--db", f"sqlite:///{store}"])[0]]
    if history[0] < 5.0:  # a second run when it is cheap
        history.append(wall(pmm_command() + ["history", "--db", f"sqlite:///{store}"])[0])
    base_s = min(base_s, python_pass(repeats)[0])
    section.figures += [
        Figure("startup.help_ms", "pmm --help", median(helps) * 1e3, "ms", "python -c pass", base_s * 1e3,
               "lower", goal=120.0, extra={"runs_ms": [t * 1e3 for t in helps]}),
        Figure("startup.first_quote_ms", "pmm start -> first quote live (quickstart)",
               (first_quote or float("nan")) * 1e3, "ms", "python -c pass", base_s * 1e3, "lower", goal=1000.0,
               extra={"stop_s": bot.wall}),
        Figure("startup.history_ms", f"pmm history, {fills:,} fills", median(history) * 1e3, "ms", "python -c pass",
               base_s * 1e3, "lower", goal=1000.0, extra={"runs_ms": [t * 1e3 for t in history], "fills": fills}),
    ]
    section.seconds = time.perf_counter() - t_start
    if first_quote is None:
        section.status = "failed"
        section.note = "the bot never logged 'placing'"
    return section


def run_memory(*, hold_s: float = 5.0, days: float = 7.0, sample_every: float = 0.1) -> Section:
    section = Section(6, "memory")
    t_start = time.perf_counter()
    base_rss = idle_python_peak_mb()
    with tempfile.TemporaryDirectory(prefix="pmm-bench-mem-") as tmp:
        # real time, quickstart: run `hold_s` seconds past the first quote (its peak RSS)
        live = run_bot(["start", "-c", str(QUICKSTART), "--plain", "--db", f"sqlite:///{tmp}/live.sqlite"],
                       stop_when="placing", stop_delay=hold_s, timeout=120.0 + hold_s, sample_rss_every=0.05)
        # a simulated week, --fast, RSS sampled by the parent
        config = config_from_quickstart(Path(tmp) / "week.yml")
        week = run_bot(["start", "-c", str(config), "--fast", "--plain", "--duration", str(days * 86400),
                        "--db", f"sqlite:///{tmp}/week.sqlite"], sample_rss_every=sample_every, timeout=3600.0)
    summary = stopped_line(week)
    t_quote = week.first("placing")
    t_stop = week.first("pmm.engine: stopping")
    samples = week.rss_samples
    assert t_quote is not None and samples, "no quote or no RSS samples in the week run"
    start_abs = week.started + t_quote
    stop_abs = week.started + (t_stop if t_stop is not None else week.wall)
    during = [(t, rss) for t, rss in samples if start_abs <= t <= stop_abs] or samples
    rss_start, rss_end = during[0][1], during[-1][1]
    section.checks["week_stop_reason"] = summary["reason"]
    section.checks["week_fills"] = summary["fills"]
    section.figures += [
        Figure("memory.peak_rss_mb", f"peak RSS, quickstart bot ({hold_s:g} s live)", live.peak_rss_mb, "MB",
               "idle python", base_rss, "lower", goal=80.0),
        Figure("memory.week_growth_mb", f"RSS growth over {days:g} simulated days (--fast)", rss_end - rss_start, "MB",
               "RSS at first quote", rss_start, "lower", goal=5.0,
               extra={"rss_start_mb": rss_start, "rss_end_mb": rss_end, "rss_max_mb": max(r for _, r in during),
                      "peak_rss_mb": week.peak_rss_mb, "wall_s": week.wall, "samples": len(during),
                      "events": summary["events"]}),
    ]
    section.seconds = time.perf_counter() - t_start
    return section
