"""The store on a real PostgreSQL server (`--db postgresql+psycopg://...`).

The same simulated run, written to PostgreSQL and to SQLite, gives the same `pmm history`; the
writer's idempotent inserts and `fill_totals` hold on PostgreSQL (NUMERIC, RETURNING, row locks);
a stale `fill_totals` is rebuilt. The server is a throwaway cluster (postgres_server.py); without
PostgreSQL's server programs or PMM_TEST_POSTGRES_URL the tests skip.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from helpers import REPO, run_fast, write_config
from postgres_server import ENV_URL, postgres_url
from sqlalchemy import text
from test_fill_totals import _fills, _same_as_every_fill

from pmm.store import queries, totals_read
from pmm.store.db import open_engine
from pmm.store.schema import Base
from pmm.store.writer import StoreWriter

pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with postgres_url() as url:
        if url is None:
            pytest.skip(f"no PostgreSQL server programs on this machine and {ENV_URL} is not set")
        yield url


@pytest.fixture
def pg(server: str) -> str:
    """The server's database, emptied: each test starts with fresh tables."""
    engine = open_engine(server, create_tables=False)
    Base.metadata.drop_all(engine)
    engine.dispose()
    return server


def _history(url: str) -> str:
    done = subprocess.run([sys.executable, "-m", "pmm.cli", "history", "--json", "--db", url], cwd=REPO,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return re.sub(r"[0-9a-f]{32}|pmm-[0-9a-f]{8}", "ID", done.stdout)  # run ids are random


def test_a_run_on_postgresql_reports_what_the_same_run_on_sqlite_reports(pg: str, tmp_path: Path) -> None:
    config = write_config(tmp_path)
    sqlite = f"sqlite:///{tmp_path / 'pmm.sqlite'}"
    for url in (pg, sqlite):
        for hours in (8, 3):  # two runs: per-run rows, totals across runs
            result = run_fast(config, url, hours * 3600.0)
            assert result.fills > 0
    on_pg = _history(pg)
    assert '"fills": ' in on_pg
    assert on_pg == _history(sqlite)
    db = open_engine(pg)
    assert totals_read.is_fresh(db) and _same_as_every_fill(db)
    db.dispose()


def test_duplicated_fills_are_stored_and_counted_once(pg: str, make_fill) -> None:  # type: ignore[no-untyped-def]
    fills = _fills(make_fill, 40)
    with StoreWriter(pg) as writer:
        for f in fills + fills[:15]:
            writer.submit(f)
        writer.flush()
        for f in fills[10:30]:
            writer.submit(f)
    db = open_engine(pg)
    assert len(queries.fills(db)) == 40
    with db.connect() as conn:
        assert conn.execute(text("SELECT sum(buys + sells) FROM fill_totals")).scalar_one() == 40
    assert totals_read.is_fresh(db) and _same_as_every_fill(db)
    db.dispose()


def test_prices_and_fees_keep_their_digits(pg: str, make_fill) -> None:  # type: ignore[no-untyped-def]
    fill = make_fill("d1", price="65000.10", amount="0.00000001", fee="-0.000000005")
    with StoreWriter(pg) as writer:
        writer.submit(fill)
    db = open_engine(pg)
    (stored,) = queries.fills(db)
    assert (stored.price, stored.amount, stored.fee) == (Decimal("65000.10"), Decimal("0.00000001"),
                                                        Decimal("-0.000000005"))
    db.dispose()


def test_a_stale_total_table_is_rebuilt(pg: str, make_fill) -> None:  # type: ignore[no-untyped-def]
    with StoreWriter(pg) as writer:
        for f in _fills(make_fill, 120):
            writer.submit(f)
    db = open_engine(pg)
    with db.begin() as conn:
        conn.execute(text("DELETE FROM fill_totals WHERE market = 'ETH-USDT'"))
    assert not totals_read.is_fresh(db) and totals_read.read(db) is None
    assert totals_read.rebuild(db) == 120
    assert totals_read.is_fresh(db) and _same_as_every_fill(db)
    db.dispose()
