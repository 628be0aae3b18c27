"""`pmm backtest`'s report: report.json's figures add up, the pictures are drawn (or the report says how
to get them), the summary table and the progress line are printed."""

from __future__ import annotations

import json
import sys
from decimal import Decimal

import pytest
from typer.testing import CliRunner

from helpers import config_text
from pmm.backtest.record import record_simulated
from pmm.cli import app
from pmm.config import load_config

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Two hours of a busy simulated market across a UTC midnight (two days of daily PnL)."""
    folder = tmp_path_factory.mktemp("report")
    text = config_text(bid_spread=0.02, ask_spread=0.02, order_refresh_time=5, filled_order_delay=2,
                       long_profit_taking_spread=0.05, short_profit_taking_spread=0.05)
    text = text.replace("start_time: 2026-01-01T00:00:00Z", "start_time: 2025-12-31T23:00:00Z")
    config = folder / "cfg.yml"
    config.write_text(text.replace("funding_interval_hours: 8", "funding_interval_hours: 1"))
    recording = folder / "sim.jsonl.gz"
    record_simulated(load_config(config), "BTC-USDT", recording, 7200.0)
    return config, recording


def _run(config, recording, report_dir, *args):
    return CliRunner().invoke(app, ["backtest", "-c", str(config), "--data", str(recording), "--report",
                                    str(report_dir), "--queue", "none", *args])


def test_report_json_adds_up_and_the_pictures_are_drawn(recorded, tmp_path):
    config, recording = recorded
    result = _run(*recorded, tmp_path / "out")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    pnl = {k: Decimal(v) for k, v in report["pnl"].items() if k != "quote_asset"}
    assert pnl["net"] == pnl["spread_capture"] + pnl["inventory"] - pnl["fees"] + pnl["funding"]
    assert pnl["net"] == pnl["realized"] + pnl["unrealized"] - pnl["fees"] + pnl["funding"]
    fills = report["fill_list"]
    assert report["fills"]["count"] == len(fills) > 0
    assert pnl["fees"] == sum(Decimal(f["fee"]) for f in fills)
    spread = sum((Decimal(f["mid"]) - Decimal(f["price"])) * Decimal(f["amount"]) * (1 if f["side"] == "buy" else -1)
                 for f in fills)
    assert pnl["spread_capture"] == spread
    assert report["funding_payments"] >= 1 and pnl["funding"] != 0
    days = report["daily_pnl"]
    assert [d["day"] for d in days] == ["2025-12-31", "2026-01-01"]
    assert sum(Decimal(d["pnl"]) for d in days) == pnl["net"]
    assert report["daily_pnl_std"] is not None
    assert Decimal(report["max_drawdown"]["amount"]) >= 0
    quoting = report["quoting"]
    assert 0 < quoting["time_quoting_pct"] < 100
    assert quoting["time_quoting_pct"] + sum(r["pct"] for r in quoting["not_quoting"]) == pytest.approx(100, abs=0.1)
    assert report["data"]["hours"] == pytest.approx(2, abs=0.01)
    for name in ("equity.png", "inventory.png", "price.png"):
        assert (tmp_path / "out" / name).read_bytes().startswith(PNG)
    assert "Net PnL" in result.output and pnl_text(report) in result.output
    assert "records/s" in result.output  # the progress line (stderr)


def pnl_text(report: dict) -> str:
    return f"{report['pnl']['net']} {report['pnl']['quote_asset']}"


def test_without_matplotlib_the_report_says_how_to_get_the_pictures(recorded, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError
    result = _run(*recorded, tmp_path / "out", "--to", "2025-12-31T23:10:00")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["pictures"]["files"] == []
    assert 'pip install -e ".[plot]"' in report["pictures"]["note"] and 'pip install -e ".[plot]"' in result.output
    assert not list((tmp_path / "out").glob("*.png"))


def test_ctrl_c_stops_at_the_data_reached_and_still_reports(recorded):
    import asyncio
    import os
    import signal

    from pmm.backtest.run import BacktestOptions, run_backtest

    config, recording = recorded
    sent = []

    def progress(p):
        if not sent:  # the first progress call: Ctrl-C now
            sent.append(p.data_ts)
            os.kill(os.getpid(), signal.SIGINT)

    result = asyncio.run(run_backtest(load_config(config), BacktestOptions(data=(recording,), queue="none"),
                                      progress=progress, install_signal_handlers=True))
    assert result.reason == "received SIGINT"
    assert result.data_end < result.data_start + 7200 - 60, "it stopped long before the end of the data"
    assert result.sampler.samples[-1].ts >= sent[0]
