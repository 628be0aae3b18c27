"""Rough throughput of StoreWriter on SQLite (not a test; run `python tests/store/bench_store_writer.py`).

Prints:
- the caller's cost of `submit` (what the event loop pays per fill),
- fills/s persisted when fills arrive in a burst (the writer batches what is queued),
- commits/s when every fill is flushed on its own (one transaction per fill: the worst case,
  and the acknowledged-fill latency).
"""

from __future__ import annotations

import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from pmm.core.model import ClientOrderId, ExchangeOrderId, Liquidity, PositionSide, Side, TradeId
from pmm.store.records import FillRecord
from pmm.store.writer import StoreWriter


def fill(i: int) -> FillRecord:
    return FillRecord(
        venue="sim_perpetual", run_id="bench", trade_id=TradeId(str(i)), client_id=ClientOrderId(f"c{i}"),
        exchange_id=ExchangeOrderId(f"e{i}"), market="BTC-USDT", side=Side.BUY if i % 2 else Side.SELL,
        price=Decimal("65000.10"), amount=Decimal("0.012"), fee=Decimal("0.156"), fee_asset="USDT",
        liquidity=Liquidity.MAKER, position_side=PositionSide.LONG, realized_pnl=Decimal("1.25"), ts=float(i),
    )  # fmt: skip


def main(n: int = 50_000, single: int = 2_000) -> None:
    with tempfile.TemporaryDirectory() as d:
        w = StoreWriter(f"sqlite:///{Path(d) / 'bench.sqlite'}")
        records = [fill(i) for i in range(n)]
        t0 = time.perf_counter()
        for r in records:
            w.submit(r)
        t1 = time.perf_counter()
        w.flush(timeout=300)
        t2 = time.perf_counter()
        print(f"submit: {(t1 - t0) / n * 1e6:.2f} us per fill on the caller's thread")
        print(f"burst: {n} fills persisted in {t2 - t0:.2f} s = {n / (t2 - t0):,.0f} fills/s")

        t0 = time.perf_counter()
        for i in range(n, n + single):
            w.submit(fill(i))
            w.flush()
        t1 = time.perf_counter()
        print(f"one at a time: {single / (t1 - t0):,.0f} fills/s ({(t1 - t0) / single * 1e3:.2f} ms per acknowledged fill)")
        w.close()


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
