"""Errors a user can act on (issue 9 §4): each says what happened, why and what to do, with the exit
code of its class (2 usage/config, 4 unavailable), never "This is a bug in pmm" (exit 1).

Also: the read-only commands on a store nothing has run with exit 0 with "no records yet" (and
`--json` gives an empty, valid document), and `pmm stop` with nothing running exits 0.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import db_url, write_config
from pmm.cli import app

runner = CliRunner()
READ_COMMANDS = (["status"], ["history"], ["balance"])


def _fails(args: list[str], code: int, *words: str) -> str:
    result = runner.invoke(app, args)
    out = result.output
    assert result.exit_code == code, out
    assert "bug in pmm" not in out and "internal error" not in out and "Traceback" not in out, out
    for word in words:
        assert word in out, out
    return out


def _closed_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed when the block ends: nothing listens there


# --- --db ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [*READ_COMMANDS, ["stop"]])
def test_a_garbage_db_url_is_a_usage_error(command):
    _fails([*command, "--db", "not a url"], 2, "not a URL", "--db", "sqlite:///")


def test_a_garbage_db_url_stops_pmm_start(tmp_path):
    _fails(["start", "-c", str(write_config(tmp_path)), "--fast", "--db", "::garbage::"], 2, "not a URL")


def test_an_unknown_kind_of_database_is_a_usage_error():
    _fails(["status", "--db", "nosuchdb://host/x"], 2, "nosuchdb", "does not know")


@pytest.mark.skipif(importlib.util.find_spec("MySQLdb") is not None, reason="the MySQL driver is installed here")
def test_a_missing_database_driver_names_what_to_install():
    out = _fails(["history", "--db", "mysql://pmm:s3cretpw@127.0.0.1/pmm"], 2, "MySQLdb", "pip install")
    assert "s3cretpw" not in out  # the password of the URL is never echoed


def test_an_unreachable_postgresql_is_unavailable():
    pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")
    port = _closed_loopback_port()
    url = f"postgresql+psycopg://pmm:s3cretpw@127.0.0.1:{port}/pmm"
    for command in READ_COMMANDS:
        out = _fails([*command, "--db", url], 4, f"127.0.0.1:{port}", "running")
        assert "s3cretpw" not in out


def test_an_unreachable_postgresql_stops_pmm_start_before_anything_runs(tmp_path):
    pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")
    url = f"postgresql+psycopg://pmm@127.0.0.1:{_closed_loopback_port()}/pmm"
    _fails(["start", "-c", str(write_config(tmp_path)), "--fast", "--duration", "60", "--db", url], 4,
           "Cannot reach the database server")


def test_a_read_only_store_stops_pmm_start_but_still_reads(tmp_path):
    # `?mode=ro` makes SQLite refuse writes even to root (file permissions would not).
    config = write_config(tmp_path)
    writable = db_url(tmp_path)
    assert runner.invoke(app, ["start", "-c", str(config), "--fast", "--duration", "60", "--db", writable]).exit_code == 0
    read_only = f"sqlite:///file:{tmp_path / 'pmm.sqlite'}?mode=ro&uri=true"
    _fails(["start", "-c", str(config), "--fast", "--duration", "60", "--db", read_only], 2,
           "cannot be written", "writable")
    assert runner.invoke(app, ["status", "--db", read_only]).exit_code == 0


def test_a_working_directory_where_the_store_cannot_be_created(tmp_path, monkeypatch):
    # The default store is data/pmm.sqlite under the working directory; a file named `data` is in
    # the way whoever runs the test (root ignores a read-only folder).
    config = write_config(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    (work / "data").write_text("not a folder")
    monkeypatch.chdir(work)
    monkeypatch.delenv("PMM_DB", raising=False)
    _fails(["start", "-c", str(config), "--fast", "--duration", "60"], 2, str(work / "data"), "in the way")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_working_directory(tmp_path, monkeypatch):
    config = write_config(tmp_path)
    work = tmp_path / "ro"
    work.mkdir()
    work.chmod(0o555)
    monkeypatch.chdir(work)
    monkeypatch.delenv("PMM_DB", raising=False)
    try:
        _fails(["start", "-c", str(config), "--fast", "--duration", "60"], 2, "Cannot create the folder")
    finally:
        work.chmod(0o755)


def test_a_db_path_that_is_a_folder(tmp_path):
    _fails(["status", "--db", f"sqlite:///{tmp_path}"], 2, "is a folder")


# --- --csv and exchange-sim --port -------------------------------------------------------------------


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("errors")
    url = db_url(tmp)
    assert runner.invoke(app, ["start", "-c", str(write_config(tmp)), "--fast", "--duration", "7200",
                               "--db", url]).exit_code == 0
    return url


def test_csv_naming_a_folder_is_a_usage_error(store, tmp_path):
    _fails(["history", "--csv", str(tmp_path), "--db", store], 2, "is a folder", "history.csv")


def test_csv_at_an_impossible_path_is_a_usage_error(store, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _fails(["history", "--csv", str(blocker / "out" / "history.csv"), "--db", store], 2, "Cannot write --csv")


@pytest.mark.parametrize("venue", ["binance_perpetual", "bybit_perpetual"])
def test_exchange_sim_on_a_port_in_use(venue):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        _fails(["exchange-sim", venue, "--port", str(port)], 2, f"port {port} is already in use", "--port 0")


# --- nothing recorded yet -----------------------------------------------------------------------------


def test_history_and_balance_of_an_empty_store_exit_0(tmp_path):
    url = db_url(tmp_path, "nothing.sqlite")
    for command in (["history"], ["balance"]):
        result = runner.invoke(app, [*command, "--db", url])
        assert result.exit_code == 0, result.output
        assert "No records yet" in result.output
    history = json.loads(runner.invoke(app, ["history", "--json", "--db", url]).stdout)
    assert history["markets"] == history["runs"] == history["fills"] == history["funding_payments"] == []
    balance = json.loads(runner.invoke(app, ["balance", "--json", "--db", url]).stdout)
    assert balance["balances"] == balance["positions"] == [] and balance["derivative"] == "sim_perpetual"
    assert not Path(tmp_path / "nothing.sqlite").exists()  # reading creates no store


def test_stop_with_nothing_running_exits_0(store, tmp_path):
    for url in (db_url(tmp_path, "nothing.sqlite"), store):
        result = runner.invoke(app, ["stop", "--db", url])
        assert result.exit_code == 0, result.output
        assert "No running bot to stop" in result.output


def test_history_market_is_case_insensitive(store):
    exact = json.loads(runner.invoke(app, ["history", "--json", "--market", "BTC-USDT", "--db", store]).stdout)
    lower = json.loads(runner.invoke(app, ["history", "--json", "--market", "btc-usdt", "--db", store]).stdout)
    assert exact["fills"] and lower == exact


def test_per_run_net_pnl_adds_up_to_the_market_across_an_inherited_position(tmp_path):
    from decimal import Decimal

    config, url = write_config(tmp_path), db_url(tmp_path)
    for seconds in ("43200", "7200"):  # the first run stops with a position open (seeded), the second inherits it
        assert runner.invoke(app, ["start", "-c", str(config), "--fast", "--duration", seconds, "--db", url]).exit_code == 0
    data = json.loads(runner.invoke(app, ["history", "--json", "--db", url]).stdout)
    (market,) = data["markets"]
    first, second = data["runs"]
    assert Decimal(first["position"]) != 0 and Decimal(second["unrealized_inherited"]) == Decimal(first["unrealized_pnl"])
    assert sum(Decimal(r["net_pnl"]) for r in data["runs"]) == Decimal(market["net_pnl"])
    assert "Unrealized PnL inherited" in runner.invoke(app, ["history", "--db", url]).stdout
