"""Benchmark 3 (wire-to-wire): a hook, not built yet.

3. Wire-to-wire on loopback: the Binance exchange server pushes depth frames that each force an
   order action; time from sending the frame to receiving the resulting request; p50/p99.
   Baseline: a plain WebSocket echo round trip with the same libraries.

Wire it here (return a `Section` with figures, as the other benchmarks do). Benchmark 2 (decision
latency) is `bench_decision.py`.
"""

from __future__ import annotations

from benchmarks.common import Section

NOT_BUILT = "not built yet: the loopback harness (server pushing frames, bot answering) is to do"


def run_wire_to_wire() -> Section:
    print(f"(3) wire-to-wire: {NOT_BUILT}")
    return Section(3, "wire-to-wire", status="not built", note=NOT_BUILT)
