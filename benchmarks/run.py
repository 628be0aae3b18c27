"""Run the benchmarks of issue 5, print a table, write JSON.

    python -m benchmarks                  # everything, full size (about 5 minutes)
    python -m benchmarks --scale quick    # smaller inputs (about a minute)
    python -m benchmarks --only 1,4       # some of them
    python benchmarks/run.py --json out.json

Every figure stands beside a baseline measured in the same run; `ratio` = value / baseline.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import REPO, Figure, Section  # noqa: E402

RESULTS = REPO / "benchmarks" / "results" / "latest.json"

SCALES: dict[str, dict[str, Any]] = {
    # messages of the L2 stream, simulated days for memory, fills in the history store / store bench,
    # depth frames pushed to the bot on loopback (wire-to-wire: about 0.1 s each)
    "full": {"n": 200_000, "days": 7.0, "history_fills": 1_000_000, "store_fills": 100_000, "repeats": 7,
             "hold_s": 5.0, "wire_frames": 600},
    "quick": {"n": 50_000, "days": 1.0, "history_fills": 100_000, "store_fills": 20_000, "repeats": 5,
              "hold_s": 2.0, "wire_frames": 200},
    "tiny": {"n": 300, "days": 0.02, "history_fills": 500, "store_fills": 300, "repeats": 1, "hold_s": 0.0,
             "wire_frames": 6},
}


def _benchmarks(scale: dict[str, Any]) -> dict[int, Callable[[], Section]]:
    from benchmarks import (
        bench_backtest,
        bench_book,
        bench_decision,
        bench_replay,
        bench_startup,
        bench_store,
        bench_wire,
    )

    return {
        1: lambda: bench_book.run(n=scale["n"], check_reads=min(20_000, scale["n"]), chunk=min(5_000, scale["n"])),
        2: lambda: bench_decision.run(n=scale["n"]),
        3: lambda: bench_wire.run(n=scale["wire_frames"]),
        4: lambda: bench_replay.run(n=scale["n"]),
        5: lambda: bench_startup.run_startup(repeats=scale["repeats"], fills=scale["history_fills"]),
        6: lambda: bench_startup.run_memory(hold_s=scale["hold_s"], days=scale["days"]),
        7: lambda: bench_store.run(n=scale["store_fills"]),
        8: lambda: _merged(bench_backtest.run_backtest_throughput(n=scale["n"]),
                           bench_backtest.run_book_from_strings(n=scale["n"])),
    }


def _merged(first: Section, second: Section) -> Section:
    """Two measurements of one numbered benchmark as one section."""
    first.figures += second.figures
    first.checks.update(second.checks)
    first.seconds += second.seconds
    if second.status != "ok":
        first.status, first.note = second.status, (first.note + " " + second.note).strip()
    return first


def _fmt(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if abs(x) >= 10_000:
        return f"{x:,.0f}"
    if abs(x) >= 100:
        return f"{x:.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}"


def table(sections: list[Section]) -> str:
    rows = [("#", "benchmark", "value", "baseline", "ratio", "goal", "met")]
    for s in sections:
        if s.status == "not built" or not s.figures:
            rows.append((str(s.number), s.name, s.status, s.note, "", "", ""))
            continue
        for f in s.figures:
            goal = "" if f.goal is None else ("≥ " if f.better == "higher" else "≤ ") + f"{_fmt(f.goal)} {f.unit}"
            if "goal_ratio" in f.extra:
                goal = f"≥ {f.extra['goal_ratio']}× baseline"
                met = "yes" if f.ratio >= f.extra["goal_ratio"] else "NO"
            else:
                met = {True: "yes", False: "NO", None: ""}[f.goal_met]
            rows.append((str(s.number), f.label, f"{_fmt(f.value)} {f.unit}", f"{_fmt(f.baseline)} {f.unit} ({f.baseline_label})",
                         f"{f.ratio:.2f}×", goal, met))
        bad = [k for k, v in s.checks.items() if v is False]
        if s.status != "ok" or bad:
            rows.append(("", f"  ! {s.status}: {s.note or ', '.join(bad)}", "", "", "", "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |")
        if n == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    ap.add_argument("--only", default="", help="comma-separated benchmark numbers (1-8), default all")
    ap.add_argument("--scale", choices=sorted(SCALES), default="full")
    ap.add_argument("--json", type=Path, default=RESULTS, help=f"where to write results (default {RESULTS})")
    args = ap.parse_args(argv)
    scale = SCALES[args.scale]
    benches = _benchmarks(scale)
    wanted = [int(x) for x in args.only.split(",") if x.strip()] or sorted(benches)
    sections: list[Section] = []
    t0 = time.perf_counter()
    for number in wanted:
        t = time.perf_counter()
        print(f"running ({number}) ...", file=sys.stderr, flush=True)
        try:
            section = benches[number]()
        except Exception as exc:  # one broken benchmark must not hide the others
            section = Section(number, f"benchmark {number}", status="failed",
                              note=f"{type(exc).__name__}: {exc}".splitlines()[0][:300])
            traceback.print_exc()
        section.seconds = section.seconds or time.perf_counter() - t
        sections.append(section)
    print(table(sections))
    result = {
        "scale": args.scale,
        "params": scale,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "seconds": round(time.perf_counter() - t0, 1),
        "machine": {"python": platform.python_version(), "implementation": platform.python_implementation(),
                    "platform": platform.platform(), "cpus": os.cpu_count()},
        "sections": [s.to_json() for s in sections],
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"wrote {args.json}", file=sys.stderr)
    failed = [s.number for s in sections if s.status == "failed"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
