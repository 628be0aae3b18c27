"""Benchmark 7: fills persisted per second through the real `StoreWriter`.

N fills are submitted as fast as the caller can, then `flush()` waits until all are committed
(SQLite, WAL, synchronous=NORMAL: what survives `kill -9`, see pmm/store/db.py). Fills/s = N / the
time from the first submit to the end of the flush. Baseline in the same run: the same rows
inserted with the stdlib `sqlite3` module, same pragmas, one `executemany` per 1000 rows, each in
its own transaction: the floor of this database at this durability.

Also here: `build_fill_store`, the 1 M-fill store for `pmm history` (benchmark 5), written through
the store's own statements in large transactions (which keep its `fill_totals` as the writer does).
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.common import REPO, Figure, Section
from benchmarks.workload import cache_dir

T0 = 1_767_225_600.0
RUN_ID = "bench0000000000000000000000000000"


def fill_records(n: int, run_id: str = RUN_ID, start: int = 0) -> list[Any]:
    from pmm.core.model import ClientOrderId, ExchangeOrderId, Liquidity, PositionSide, Side, TradeId
    from pmm.store.records import FillRecord

    out = []
    fee, pnl = Decimal("0.0130"), Decimal("0")
    for i in range(start, start + n):
        out.append(FillRecord(
            venue="sim_perpetual", run_id=run_id, trade_id=TradeId(f"t{i}"), client_id=ClientOrderId(f"pmm-bench-{i}"),
            exchange_id=ExchangeOrderId(str(i)), market="BTC-USDT", side=Side.BUY if i % 2 else Side.SELL,
            price=Decimal(65000 + i % 1000) / 10, amount=Decimal("0.010"), fee=fee, fee_asset="USDT",
            liquidity=Liquidity.MAKER, position_side=PositionSide.LONG, realized_pnl=pnl, ts=T0 + i * 0.5,
        ))
    return out


def writer_rate(n: int, folder: Path) -> float:
    from pmm.store.writer import StoreWriter

    records = fill_records(n)
    writer = StoreWriter(f"sqlite:///{folder}/writer.sqlite")
    try:
        t0 = time.perf_counter()
        for rec in records:
            writer.submit(rec)
        writer.flush(timeout=600.0)
        elapsed = time.perf_counter() - t0
        written = writer.written_fills
    finally:
        writer.close()
    if written != n:
        raise RuntimeError(f"the writer committed {written} fills of {n}")
    return n / elapsed


def sqlite_rate(n: int, folder: Path) -> float:
    from pmm.store.statements import record_row

    rows = [record_row(r) for r in fill_records(n)]
    cols = list(rows[0])
    con = sqlite3.connect(folder / "raw.sqlite", isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=NORMAL")
    con.execute(f"CREATE TABLE fills (id INTEGER PRIMARY KEY, {', '.join(cols)}, "
                "UNIQUE (venue, market, trade_id))")
    con.execute("CREATE INDEX ix_ts ON fills (ts)")
    con.execute("CREATE INDEX ix_run_ts ON fills (run_id, ts)")
    sql = (f"INSERT INTO fills ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)}) "
           "ON CONFLICT DO NOTHING")
    t0 = time.perf_counter()
    for i in range(0, n, 1000):
        params = [tuple(str(v) if isinstance(v, Decimal) else v for v in row.values()) for row in rows[i:i + 1000]]
        con.execute("BEGIN")
        con.executemany(sql, params)
        con.execute("COMMIT")
    elapsed = time.perf_counter() - t0
    con.close()
    return n / elapsed


def run(*, n: int = 100_000) -> Section:
    section = Section(7, "store")
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pmm-bench-store-") as tmp:
        folder = Path(tmp)
        ours = writer_rate(n, folder)
        floor = sqlite_rate(n, folder)
    section.checks["all_fills_committed"] = True
    section.figures.append(Figure(
        key="store.fills_per_s", label="store: fills committed/s via StoreWriter",
        value=ours, unit="fills/s", baseline_label="raw sqlite3 executemany, 1000/txn",
        baseline=floor, better="higher", goal=20_000.0, extra={"fills": n},
    ))
    section.seconds = time.perf_counter() - t_start
    return section


def _schema_key() -> str:
    h = hashlib.sha256()
    for name in ("schema.py", "statements.py", "records.py", "totals.py"):
        h.update((REPO / "pmm" / "store" / name).read_bytes())
    return h.hexdigest()[:12]


def build_fill_store(n: int, folder: Path | None = None) -> Path:
    """A SQLite store with one finished run holding `n` fills (cached by size and store schema)."""
    from pmm.store.db import open_engine
    from pmm.store.records import RunEnded, RunStarted, RunStatus
    from pmm.store.statements import Statements

    folder = folder or cache_dir()
    path = folder / f"history_{n}_{_schema_key()}.sqlite"
    if path.exists():
        _ensure_fill_totals(path)  # so the benchmark times a normal `pmm history`, not a migration
        return path
    tmp = path.with_suffix(".building.sqlite")
    for p in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        p.unlink(missing_ok=True)
    engine = open_engine(f"sqlite:///{tmp}")
    stmts = Statements(engine.dialect.name)
    try:
        with engine.begin() as conn:
            stmts.execute_all(conn, [RunStarted(run_id=RUN_ID, started_ts=T0, pid=None, connector="sim_perpetual",
                                                market="BTC-USDT", config_path="bench.yml", config_text="")])
        step = 50_000
        for start in range(0, n, step):
            with engine.begin() as conn:
                stmts.execute_all(conn, fill_records(min(step, n - start), start=start))
        with engine.begin() as conn:
            stmts.execute_all(conn, [RunEnded(run_id=RUN_ID, ended_ts=T0 + n * 0.5, status=RunStatus.STOPPED,
                                              exit_reason="benchmark")])
    finally:
        engine.dispose()
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    tmp.replace(path)
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    _ensure_fill_totals(path)
    return path


def _ensure_fill_totals(path: Path) -> None:
    """The store's `fill_totals` (kept by the statements above as the fills are inserted) counts
    every fill; rebuilt otherwise (a store from an older cache)."""
    from pmm.store import totals_read
    from pmm.store.db import open_engine

    engine = open_engine(f"sqlite:///{path}")
    try:
        if not totals_read.is_fresh(engine):
            totals_read.rebuild(engine)
    finally:
        engine.dispose()
