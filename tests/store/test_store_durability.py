"""A fill acknowledged by the writer survives `kill -9` of the process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import text

from pmm.store.db import open_engine

N = 500
REPO = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import sys, time
    from decimal import Decimal
    from pmm.core.model import ClientOrderId, ExchangeOrderId, Liquidity, PositionSide, Side, TradeId
    from pmm.store.records import FillRecord
    from pmm.store.writer import StoreWriter

    url, n = sys.argv[1], int(sys.argv[2])

    def fill(i):
        return FillRecord(
            venue="sim_perpetual", run_id="run1", trade_id=TradeId(str(i)), client_id=ClientOrderId(f"c{i}"),
            exchange_id=ExchangeOrderId(f"e{i}"), market="BTC-USDT", side=Side.BUY if i % 2 else Side.SELL,
            price=Decimal("65000.10"), amount=Decimal("0.00000001"), fee=Decimal("0.0001"), fee_asset="USDT",
            liquidity=Liquidity.MAKER, position_side=PositionSide.LONG, realized_pnl=Decimal("0"), ts=float(i),
        )

    w = StoreWriter(url)
    for i in range(n):
        w.submit(fill(i))
    w.flush(timeout=60)
    print("ACK", w.written_fills, flush=True)
    # Keep the writer busy with unacknowledged fills when the kill arrives.
    i = n
    while True:
        w.submit(fill(i))
        i += 1
        if i % 100 == 0:
            time.sleep(0.001)
    """
)


def test_acknowledged_fills_survive_sigkill(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'pmm.sqlite'}"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, str(N)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.split() == ["ACK", str(N)], f"child said {line!r}; stderr: {proc.stderr.read() if proc.stderr else ''}"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    engine = open_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        ids = {int(t) for t in conn.execute(text("SELECT trade_id FROM fills")).scalars()}
        amounts = set(conn.execute(text("SELECT amount FROM fills")).scalars())
    assert set(range(N)) <= ids  # every acknowledged fill is there (later ones may be too)
    assert amounts == {"0.00000001"}
    engine.dispose()
