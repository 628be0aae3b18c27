"""`pmm history --plot FILE.png`: the store's equity, inventory and funding drawn as one picture."""

from __future__ import annotations

import json
import sys
from decimal import Decimal

from typer.testing import CliRunner

from helpers import config_text, db_url, run_fast
from pmm.cli import app
from pmm.store import queries
from pmm.store.db import open_engine
from pmm.ui.history_plot import equity_points, inventory_points

PNG = b"\x89PNG\r\n\x1a\n"


def _store(tmp_path) -> str:
    text = config_text(bid_spread=0.02, ask_spread=0.02, order_refresh_time=5, filled_order_delay=2)
    path = tmp_path / "cfg.yml"
    path.write_text(text.replace("funding_interval_hours: 8", "funding_interval_hours: 1"))
    url = db_url(tmp_path)
    run_fast(path, url, 2 * 3600.0)
    return url


def test_history_plot_draws_what_the_store_holds(tmp_path):
    url = _store(tmp_path)
    out = tmp_path / "history.png"
    result = CliRunner().invoke(app, ["history", "--plot", str(out), "--db", url])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(PNG) and str(out) in result.output
    # What the picture draws adds up to the history's own figures.
    db = open_engine(url)
    fills, funding = queries.fills(db), queries.funding_payments(db)
    db.dispose()
    assert fills and funding
    market = json.loads(CliRunner().invoke(app, ["history", "--json", "--db", url]).output)["markets"][0]
    _, closed, fees, paid = equity_points(fills, funding)[-1]
    assert fees == Decimal(market["fees_in_quote"]) and paid == Decimal(market["funding_net"])
    assert closed == Decimal(market["realized_pnl"]) - fees + paid
    assert inventory_points(fills)["BTC-USDT"][-1][1] == Decimal(market["position"])


def test_history_plot_without_records_or_matplotlib_says_what_to_do(tmp_path, monkeypatch):
    url = db_url(tmp_path)
    empty = CliRunner().invoke(app, ["history", "--plot", str(tmp_path / "x.png"), "--db", url])
    assert empty.exit_code == 0 and "No records yet" in empty.output  # no store at all: as `pmm history`
    url = _store(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    result = CliRunner().invoke(app, ["history", "--plot", str(tmp_path / "x.png"), "--db", url])
    assert result.exit_code == 2 and 'pip install -e ".[plot]"' in result.output
