"""A simulated day of the quickstart market, end to end through app, engine, sim and store."""

from __future__ import annotations

from decimal import Decimal

import pytest

from helpers import db_url, run_fast, write_config
from pmm.store import queries
from pmm.store.db import open_engine
from pmm.store.performance import ledger_difference

DAY = 24 * 3600.0


@pytest.fixture(scope="module")
def day_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("day")
    url = db_url(tmp)
    result = run_fast(write_config(tmp), url, DAY)
    db = open_engine(url)
    return result, db


def _sim_state(db):
    snapshot = queries.sim_account(db, "sim_perpetual")
    assert snapshot is not None, "the simulated account must be persisted"
    return snapshot.data()


def test_day_run_trades_and_pays_funding(day_run):
    result, db = day_run
    assert result.reason.startswith("--duration")
    fills = queries.fills(db)
    assert len(fills) >= 10
    assert {f.side for f in fills} == {"buy", "sell"}
    funding = queries.funding_payments(db)
    assert len(funding) >= 1
    with db.connect() as conn:
        from sqlalchemy import text

        opened = conn.execute(text("select count(*) from position_snapshots where amount != '0'")).scalar()
    assert opened > 0, "a position must have been recorded"


def test_day_run_places_take_profit_and_stop_loss_orders(day_run):
    _, db = day_run
    with db.connect() as conn:
        from sqlalchemy import text

        rows = conn.execute(text("select purpose, count(*) from orders group by purpose")).all()
    counts = dict(rows)
    assert counts.get("quote", 0) > 0
    assert counts.get("take_profit", 0) > 0
    assert counts.get("stop_loss", 0) > 0


def test_ledger_matches_the_simulated_account_to_the_last_decimal(day_run):
    _, db = day_run
    state = _sim_state(db)
    from pmm.sim.exchange import account_summary

    summary = account_summary(state)
    usdt = next(b for b in summary["balances"] if b["asset"] == "USDT")
    end_wallet = Decimal(usdt["total"])
    fills = queries.fills(db)
    funding = queries.funding_payments(db)
    assert ledger_difference(Decimal("10000"), end_wallet, fills, funding) == 0
    # Nothing lost, nothing duplicated: the store holds exactly the venue's fills and payments.
    assert sorted(f.trade_id for f in fills) == sorted(f["trade_id"] for f in state["fills"])
    assert len(funding) == len(state["funding"])


def test_no_order_is_left_open_after_the_run(day_run):
    _, db = day_run
    state = _sim_state(db)
    assert state["orders"] == []
    run = queries.latest_run(db)
    assert queries.open_orders(db, run.run_id) == []
    assert str(run.status) == "stopped"


def test_same_seed_same_results(tmp_path):
    two_hours = 2 * 3600.0
    runs = []
    for name in ("a", "b"):
        url = db_url(tmp_path, f"{name}.sqlite")
        run_fast(write_config(tmp_path), url, two_hours)
        db = open_engine(url)
        runs.append([(f.side, f.price, f.amount, f.fee, f.ts) for f in queries.fills(db)])
    assert runs[0], "two simulated hours of the quickstart market should produce fills"
    assert runs[0] == runs[1]
