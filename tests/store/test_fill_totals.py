"""The `fill_totals` table: kept by the writer with the fills it inserts, rebuilt for old stores,
never disagreeing with `fills` after a kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import insert, text

from pmm.core.model import Side
from pmm.store import queries, totals_read
from pmm.store.db import open_engine
from pmm.store.performance import performance_report, performance_report_of
from pmm.store.schema import Fill
from pmm.store.statements import record_row
from pmm.store.writer import StoreWriter

REPO = Path(__file__).resolve().parents[2]
T0 = 1_767_225_600.0


def _fills(make_fill, n, start=0, run_id="run1"):  # type: ignore[no-untyped-def]
    return [make_fill(f"t{i}", side=Side.BUY if i % 3 else Side.SELL, price=f"{65000 + i % 17}.{i % 10}",
                      amount=("0.010", "0.25", "1")[i % 3], fee=("0.13", "-0.0065")[i % 2],
                      realized=("0", "1.5", "-0.25")[i % 3], ts=T0 + i * 3600.5,
                      market="ETH-USDT" if i % 5 == 0 else "BTC-USDT", run_id=run_id)
            for i in range(start, start + n)]


def _same_as_every_fill(db) -> bool:  # type: ignore[no-untyped-def]
    kept = totals_read.read(db)
    assert kept is not None
    fills = queries.fills(db)
    return (performance_report_of(kept[0], []).to_json() == performance_report(fills, []).to_json()
            and performance_report_of(kept[1], [], per_run=True).to_json()
            == performance_report(fills, [], per_run=True).to_json())


def _make_old(db_url: str) -> None:
    """Turn the store into one written before `fill_totals` existed."""
    db = open_engine(db_url)
    with db.begin() as conn:
        conn.execute(text("DROP TABLE fill_totals"))
    db.dispose()


def test_duplicates_are_counted_once(writer, db_url, make_fill):  # type: ignore[no-untyped-def]
    fills = _fills(make_fill, 30)
    for f in fills + fills[:10]:
        writer.submit(f)
    writer.flush()
    for f in fills[5:15]:
        writer.submit(f)
    writer.flush()
    db = open_engine(db_url)
    assert totals_read.is_fresh(db)
    with db.connect() as conn:
        assert conn.execute(text("SELECT sum(buys + sells) FROM fill_totals")).scalar_one() == 30
    assert _same_as_every_fill(db)
    db.dispose()


def test_a_failed_transaction_leaves_neither_fills_nor_totals(db_url, make_fill):  # type: ignore[no-untyped-def]
    from pmm.store.statements import Statements

    db = open_engine(db_url)
    stmts = Statements(db.dialect.name)
    with db.begin() as conn:
        stmts.execute_all(conn, _fills(make_fill, 5))
    with pytest.raises(RuntimeError), db.begin() as conn:
        stmts.execute_all(conn, _fills(make_fill, 5, start=5))
        raise RuntimeError("killed between the fills and the commit")
    assert totals_read.is_fresh(db)
    assert sum(t.buys + t.sells for t in (totals_read.read(db) or ({}, {}))[0].values()) == 5
    db.dispose()


def test_an_old_store_is_folded_until_rebuilt_then_read(db_url, make_fill):  # type: ignore[no-untyped-def]
    with StoreWriter(db_url) as w:
        for f in _fills(make_fill, 200):
            w.submit(f)
    _make_old(db_url)
    db = open_engine(db_url)  # creates the missing table, empty
    assert not totals_read.is_fresh(db)
    assert totals_read.read(db) is None
    fills = queries.fills(db)
    folded = queries.fill_totals(db)  # falls back to folding the fills: still right
    assert performance_report_of(folded[0], []).to_json() == performance_report(fills, []).to_json()
    # The new writer adds to the (stale) table meanwhile; the rebuild replaces it.
    with StoreWriter(db_url) as w:
        for f in _fills(make_fill, 20, start=200):
            w.submit(f)
    assert not totals_read.is_fresh(db)
    seen: list[tuple[int, int]] = []
    assert totals_read.rebuild(db, lambda done, total: seen.append((done, total))) == 220
    assert seen[0] == (0, 220) and seen[-1] == (220, 220)
    assert totals_read.is_fresh(db) and _same_as_every_fill(db)
    db.dispose()


def test_fills_written_by_an_older_pmm_make_the_table_stale(writer, db_url, make_fill):  # type: ignore[no-untyped-def]
    for f in _fills(make_fill, 20):
        writer.submit(f)
    writer.flush()
    db = open_engine(db_url)
    assert totals_read.is_fresh(db)
    with db.begin() as conn:  # an INSERT that does not know about fill_totals
        conn.execute(insert(Fill.__table__), [record_row(f) for f in _fills(make_fill, 3, start=20)])
    assert not totals_read.is_fresh(db) and totals_read.read(db) is None
    totals_read.rebuild(db)
    assert totals_read.is_fresh(db) and _same_as_every_fill(db)
    with db.begin() as conn:  # a fill deleted by hand
        conn.execute(text("DELETE FROM fills WHERE trade_id = 't7'"))
    assert not totals_read.is_fresh(db)
    totals_read.rebuild(db)
    assert _same_as_every_fill(db)
    db.dispose()


def test_rebuild_counts_fills_written_while_it_runs(db_url, make_fill):  # type: ignore[no-untyped-def]
    with StoreWriter(db_url) as w:
        for f in _fills(make_fill, 100):
            w.submit(f)
    _make_old(db_url)
    db = open_engine(db_url)
    writer = StoreWriter(db_url)
    calls = []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if len(calls) == 1:  # between the two passes' snapshots: a bot writes on
            for f in _fills(make_fill, 10, start=100, run_id="run2"):
                writer.submit(f)
            writer.flush()

    try:
        assert totals_read.rebuild(db, progress) == 110
    finally:
        writer.close()
    assert totals_read.is_fresh(db) and _same_as_every_fill(db)
    db.dispose()


def test_rebuild_starts_again_when_counted_fills_change(db_url, make_fill):  # type: ignore[no-untyped-def]
    with StoreWriter(db_url) as w:
        for f in _fills(make_fill, 50):
            w.submit(f)
    _make_old(db_url)
    db = open_engine(db_url)
    deleted = []

    def progress(done: int, total: int) -> None:
        if not deleted:
            with db.begin() as conn:
                conn.execute(text("DELETE FROM fills WHERE trade_id = 't3'"))
            deleted.append(1)

    assert totals_read.rebuild(db, progress) == 49
    assert totals_read.is_fresh(db) and _same_as_every_fill(db)
    db.dispose()


def test_a_read_only_old_store_is_folded(db_url, make_fill, tmp_path):  # type: ignore[no-untyped-def]
    with StoreWriter(db_url) as w:
        for f in _fills(make_fill, 40):
            w.submit(f)
    _make_old(db_url)
    ro = open_engine(f"sqlite:///file:{tmp_path / 'data' / 'pmm.sqlite'}?mode=ro&uri=true")
    assert not totals_read.is_fresh(ro) and totals_read.read(ro) is None
    with pytest.raises(totals_read.RebuildFailed, match="readonly"):
        totals_read.rebuild(ro)
    fills = queries.fills(ro)
    per_market, _ = queries.fill_totals(ro)
    assert performance_report_of(per_market, []).to_json() == performance_report(fills, []).to_json()
    ro.dispose()


CHILD = textwrap.dedent(
    """
    import sys
    from decimal import Decimal
    from pmm.core.model import ClientOrderId, ExchangeOrderId, Liquidity, PositionSide, Side, TradeId
    from pmm.store.records import FillRecord
    from pmm.store.writer import StoreWriter

    url, round_ = sys.argv[1], int(sys.argv[2])

    def fill(i):
        return FillRecord(
            venue="sim_perpetual", run_id=f"run{round_}", trade_id=TradeId(str(i)), client_id=ClientOrderId(f"c{i}"),
            exchange_id=ExchangeOrderId(f"e{i}"), market=("BTC-USDT", "ETH-USDT")[i % 2],
            side=Side.BUY if i % 3 else Side.SELL, price=Decimal(f"6500{i % 10}.{i % 7}"),
            amount=Decimal("0.001") * (1 + i % 4), fee=Decimal("0.0130"), fee_asset="USDT",
            liquidity=Liquidity.MAKER, position_side=PositionSide.LONG, realized_pnl=Decimal(i % 5) / 4,
            ts=1767225600.0 + i * 37.5,
        )

    w = StoreWriter(url, batch_max=200)
    print("READY", flush=True)
    i = 0
    while True:  # new fills, and again fills an earlier round (or this one) stored: duplicates
        w.submit(fill(i))
        w.submit(fill(max(0, i - 1500)))
        i += 1
    """
)


def test_the_totals_agree_with_the_fills_after_kill_9(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data' / 'pmm.sqlite'}"
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    for round_, delay in enumerate((0.7, 1.3, 0.4)):
        proc = subprocess.Popen([sys.executable, "-c", CHILD, url, str(round_)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "READY", proc.stderr.read() if proc.stderr else ""
            time.sleep(delay)
            os.kill(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=10) == -signal.SIGKILL
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        db = open_engine(url)
        with db.connect() as conn:
            assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
            assert conn.execute(text("SELECT count(*) FROM fills")).scalar_one() > 0
        assert totals_read.is_fresh(db), f"round {round_}: fill_totals disagrees with fills after kill -9"
        assert _same_as_every_fill(db)
        db.dispose()
