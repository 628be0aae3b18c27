"""The read-only commands over a store filled by a short simulated run."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import db_url, run_fast, write_config
from pmm.cli import app
from pmm.connectors import registry

runner = CliRunner()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    url = db_url(tmp)
    run_fast(write_config(tmp), url, 12 * 3600.0)
    return url


def _invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_status_json_describes_the_last_run(store):
    data = json.loads(_invoke("status", "--json", "--db", store))
    assert data["run"]["state"] == "stopped"
    assert data["run"]["exit_reason"].startswith("--duration")
    status = data["status"]
    assert status["markets"][0]["market"] == "BTC-USDT"
    assert status["markets"][0]["ref_price_type"] == "mid_price"
    assert status["assets"][0]["asset"] == "USDT"
    assert status["reason"].startswith("stopped")
    assert "funding" not in status
    with_funding = json.loads(_invoke("status", "--json", "--funding-rate", "--db", store))["status"]["funding"]
    assert {"rate", "mark_price", "index_price", "next_funding_ts", "estimated_payment"} <= set(with_funding)


def test_status_table_shows_sections_and_funding(store):
    out = _invoke("status", "--funding-rate", "--db", store)
    for section in ("Markets", "Assets", "Funding", "Not quoting: stopped"):
        assert section in out
    assert "Est. Payment" in out and "Index" in out
    plain = _invoke("status", "--db", store)
    assert "Est. Payment" not in plain  # the funding table only with --funding-rate


def test_status_without_any_run_says_how_to_start(tmp_path):
    out = _invoke("status", "--db", db_url(tmp_path, "empty.sqlite"))
    assert "pmm start -c configs/quickstart.yml" in out


def test_balance_reads_the_simulated_account(store):
    data = json.loads(_invoke("balance", "--derivative", "sim_perpetual", "--json", "--db", store))
    usdt = next(b for b in data["balances"] if b["asset"] == "USDT")
    assert usdt["total"] != "10000"  # fees and PnL moved it
    out = _invoke("balance", "--derivative", "sim_perpetual", "--db", store)
    assert "USDT" in out and "Assets" in out


def test_balance_of_a_venue_without_connector_is_a_clear_error(store):
    if not registry.PLANNED:
        pytest.skip("every planned venue is built")
    venue = registry.PLANNED[0].venue
    result = runner.invoke(app, ["balance", "--derivative", venue, "--db", store])
    assert result.exit_code == 2
    assert venue in result.output


def test_history_json_csv_and_filters(store, tmp_path):
    data = json.loads(_invoke("history", "--json", "--db", store))
    market = data["markets"][0]
    assert market["market"] == "BTC-USDT"
    assert market["fills"] == len(data["fills"]) > 0
    assert len(data["runs"]) == 1 and data["runs"][0]["run_id"]
    csv_path = tmp_path / "out" / "history.csv"
    _invoke("history", "--csv", str(csv_path), "--db", store)
    rows = list(csv.DictReader(csv_path.open()))
    assert sum(r["type"] == "fill" for r in rows) == market["fills"]
    assert sum(r["type"] == "funding" for r in rows) == market["funding_payments"]
    narrow = json.loads(_invoke("history", "--json", "--days", "0.1", "--db", store))
    assert len(narrow["fills"]) < len(data["fills"])
    other = json.loads(_invoke("history", "--json", "--market", "ETH-USDT", "--db", store))
    assert other["fills"] == [] and other["markets"] == []


def test_history_table_has_performance_rows(store):
    out = _invoke("history", "--db", store)
    for row in ("Realized PnL", "Fees", "Funding paid", "Funding received", "Unrealized PnL", "Net PnL", "Per run"):
        assert row in out


def test_history_of_a_store_from_before_the_fill_totals(store, tmp_path, monkeypatch):
    import shutil

    from sqlalchemy import text

    from pmm.store.db import open_engine, sqlite_file_path
    from pmm.ui import history_view

    source = sqlite_file_path(store)
    for suffix in ("", "-wal"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", tmp_path / f"old.sqlite{suffix}")
    old = db_url(tmp_path, "old.sqlite")
    db = open_engine(old)
    with db.begin() as conn:
        conn.execute(text("DROP TABLE fill_totals"))  # what a store written by an older pmm lacks
    db.dispose()
    monkeypatch.setattr(history_view, "_REBUILD_NOTICE_FILLS", 1)  # say it even for a small store
    read_only = runner.invoke(app, ["history", "--db", f"sqlite:///file:{tmp_path / 'old.sqlite'}?mode=ro&uri=true"])
    assert read_only.exit_code == 0, read_only.output
    assert "Could not store the fill totals" in read_only.stderr  # and every fill is added up instead
    first = runner.invoke(app, ["history", "--db", old])
    assert first.exit_code == 0, first.output
    assert "Adding up the" in first.stderr and "Fill totals stored" in first.stderr
    again = runner.invoke(app, ["history", "--db", old])
    assert again.exit_code == 0 and again.stderr == ""
    assert read_only.stdout == first.stdout == again.stdout == runner.invoke(app, ["history", "--db", store]).stdout


def test_bad_config_exits_2_naming_each_key(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text("derivative: sim_perpetual\nmarket: BTC-USDT\nleverage: 0\nbid_spread: 150\nask_sprad: 1\n"
                   "order_amount: 0.01\norder_refresh_time: 10\n")
    result = runner.invoke(app, ["start", "-c", str(bad), "--db", db_url(tmp_path)])
    assert result.exit_code == 2
    for fragment in ("`leverage`", "was 0", "`bid_spread`", "was 150", "`ask_sprad`", "did you mean `ask_spread`"):
        assert fragment in result.output
    assert not (tmp_path / "pmm.sqlite").exists(), "nothing may start on a bad config"


def test_fast_on_a_live_connector_is_refused(tmp_path):
    result = runner.invoke(app, ["start", "-c", "configs/conservative.yml", "--fast", "--db", db_url(tmp_path)])
    assert result.exit_code == 2
    assert "--fast" in result.output
