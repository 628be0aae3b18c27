"""Benchmark 4: replay throughput of the whole bot.

The L2 stream becomes a replay file (docs/replay_format.md) once, cached beside the workload: one
snapshot, then per message its trades (each before the delta that carries its level change) and
the delta, 250 ms apart. `pmm start --fast --plain` runs the quickstart strategy on sim_perpetual
with that replay market until the file ends. Throughput = replay records / seconds from the run's
first log line (everything set up) to the process exit; the whole process wall time is reported
too.

Baseline in the same run: reading the same file and `json.loads` of every line, the floor for
anything that replays it.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from benchmarks.common import Figure, Section, config_from_quickstart, run_bot, stopped_line
from benchmarks.workload import Stream, cache_dir, load_stream, price_text, size_text

START_TS_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
STEP_MS = 250  # Binance's default diff-depth cadence


def write_replay(stream: Stream, path: Path) -> int:
    """Write the stream as a replay file; returns the number of records."""
    off, nbid, ticks, lots = stream.msg_off, stream.msg_nbid, stream.upd_tick, stream.upd_lots
    trades_at: dict[int, list[tuple[int, int, int]]] = {}
    for msg, tick, qty, side in stream.trades:
        trades_at.setdefault(msg, []).append((tick, qty, side))
    records = 0
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="ascii") as f:
        snap = {"type": "snapshot", "ts_ms": START_TS_MS,
                "bids": [[price_text(t), size_text(q)] for t, q in stream.snap_bids],
                "asks": [[price_text(t), size_text(q)] for t, q in stream.snap_asks]}
        f.write(json.dumps(snap, separators=(",", ":")) + "\n")
        records += 1
        for i in range(stream.n):
            ts = START_TS_MS + (i + 1) * STEP_MS
            for tick, qty, side in trades_at.get(i, ()):
                f.write(f'{{"type":"trade","ts_ms":{ts},"price":"{price_text(tick)}",'
                        f'"amount":"{size_text(qty)}","side":"{"buy" if side > 0 else "sell"}"}}\n')
                records += 1
            a, b = off[i], off[i + 1]
            m = a + nbid[i]
            bids = ",".join(f'["{price_text(ticks[j])}","{size_text(lots[j])}"]' for j in range(a, m))
            asks = ",".join(f'["{price_text(ticks[j])}","{size_text(lots[j])}"]' for j in range(m, b))
            f.write(f'{{"type":"delta","ts_ms":{ts},"bids":[{bids}],"asks":[{asks}]}}\n')
            records += 1
    tmp.replace(path)
    return records


def replay_file(stream: Stream, folder: Path | None = None) -> tuple[Path, int]:
    """The cached replay file of `stream` and its record count (written on first use)."""
    folder = folder or cache_dir()
    path = folder / f"replay_{stream.n}_{stream.seed}.jsonl"
    count = folder / f"replay_{stream.n}_{stream.seed}.count"
    if not path.exists() or not count.exists():
        count.write_text(str(write_replay(stream, path)))
    return path, int(count.read_text())


def json_floor(path: Path) -> float:
    """Seconds to read the file and json.loads every line."""
    loads = json.loads
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        for line in f:
            loads(line)
    return time.perf_counter() - t0


def run(stream: Stream | None = None, *, n: int | None = None, workdir: Path | None = None) -> Section:
    section = Section(4, "replay throughput")
    t_start = time.perf_counter()
    if stream is None:
        stream = load_stream() if n is None else load_stream(n)
    path, records = replay_file(stream, workdir)
    with tempfile.TemporaryDirectory(prefix="pmm-bench-replay-") as tmp:
        config = config_from_quickstart(
            Path(tmp) / "replay.yml",
            **{"sim.markets.BTC-USDT.generator": {"type": "replay", "path": str(path)},
               "sim.start_time": START_TS_MS // 1000},
        )
        floor = json_floor(path)
        # The run stops by itself at the end of the file; --duration (an hour past the file's
        # span) only guards against a run that would not.
        span_s = stream.n * STEP_MS / 1000.0
        bot = run_bot(["start", "-c", str(config), "--fast", "--plain", "--duration", f"{span_s + 3600:.3f}",
                       "--db", f"sqlite:///{tmp}/replay.sqlite"])
        floor = min(floor, json_floor(path))  # before and after: the better of the two
    summary = stopped_line(bot)
    ready = bot.first("pmm.app: run ") or 0.0
    busy = bot.wall - ready
    section.checks["stop_reason"] = summary["reason"]
    section.checks["replayed_to_the_end"] = "no more events" in summary["reason"]
    section.checks["quoted"] = bot.first("placing") is not None
    section.figures.append(Figure(
        key="replay.events_per_s", label="replay: records/s through the whole bot (--fast)",
        value=records / busy, unit="ev/s", baseline_label="json.loads of the file",
        baseline=records / floor, better="higher", goal=100_000.0,
        extra={"records": records, "engine_events": summary["events"], "fills": summary["fills"],
               "process_wall_s": bot.wall, "setup_s": ready, "busy_s": busy,
               "records_per_s_whole_process": records / bot.wall, "json_floor_s": floor},
    ))
    section.seconds = time.perf_counter() - t_start
    if not section.checks["replayed_to_the_end"]:
        section.status = "failed"
        section.note = f"the bot stopped early: {summary['reason']}"
    return section
