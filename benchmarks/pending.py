"""Benchmarks 2 (decision latency) and 3 (wire-to-wire): hooks until the Binance connector lands.

2. Decision latency: the stream's depth messages as raw Binance `depthUpdate` JSON bytes through
   the real code path (decode, book sync, strategy evaluation, order manager) until the engine has
   decided what to place/cancel; p50/p99/p99.9 per message. Baseline: `json.loads` of the bytes.
3. Wire-to-wire on loopback: the Binance exchange server pushes depth frames that each force an
   order action; time from sending the frame to receiving the resulting request; p50/p99.
   Baseline: a plain WebSocket echo round trip with the same libraries.

Wire them here (return a `Section` with figures, as the other benchmarks do) and drop them from
`NOT_BUILT` when `pmm.connectors.binance_perpetual` has its parser, book sync, gateway and server.
"""

from __future__ import annotations

from benchmarks.common import Section

NOT_BUILT = "not built yet: needs the binance_perpetual connector"


def run_decision_latency() -> Section:
    print(f"(2) decision latency: {NOT_BUILT}")
    return Section(2, "decision latency", status="not built", note=NOT_BUILT)


def run_wire_to_wire() -> Section:
    print(f"(3) wire-to-wire: {NOT_BUILT}")
    return Section(3, "wire-to-wire", status="not built", note=NOT_BUILT)
