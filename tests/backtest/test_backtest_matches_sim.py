"""A recording of a simulated market, backtested with the simulator's own fill rule (`--queue none`: a
print at our price fills us) and its latency, gives the same fills, funding and ledger as the
`pmm start --fast` run on that market: the backtest runs the same strategy and engine code, and
its recorded feed + simulated exchange match orders as the simulated venue does."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from helpers import config_text, db_url, run_fast
from pmm.backtest.record import record_simulated
from pmm.backtest.run import BacktestOptions, run_backtest
from pmm.config import load_config
from pmm.store import queries
from pmm.store.db import open_engine

HOURS = 3


def test_backtest_of_a_recorded_simulated_market_equals_the_fast_run(tmp_path):
    # Tight quotes, quick refreshes and hourly funding: fills, exits and funding within three hours.
    text = config_text(bid_spread=0.02, ask_spread=0.02, order_refresh_time=5, filled_order_delay=2,
                       long_profit_taking_spread=0.05, short_profit_taking_spread=0.05)
    path = tmp_path / "cfg.yml"
    path.write_text(text.replace("funding_interval_hours: 8", "funding_interval_hours: 1"))
    config = load_config(path)
    recording = tmp_path / "sim.jsonl.gz"
    record_simulated(config, "BTC-USDT", recording, HOURS * 3600.0)

    url = db_url(tmp_path)
    run_fast(path, url, HOURS * 3600.0)
    db = open_engine(url)
    fast_fills = [(f.ts, str(f.side), f.price, f.amount, f.fee, f.realized_pnl) for f in queries.fills(db)]
    fast_funding = [(p.funding_time_ms / 1000, p.amount) for p in queries.funding_payments(db)]
    db.dispose()

    result = asyncio.run(run_backtest(config, BacktestOptions(data=(recording,), queue="none")))
    fills = [(f.ts, str(f.side), f.price, f.amount, f.fee, f.realized_pnl) for f in result.recorder.fills]
    funding = [(p.ts, p.amount) for p in result.recorder.funding_payments]

    assert len(fast_fills) >= 10 and len(fast_funding) >= 2, "the run must trade and pay funding to compare"
    assert result.latency_s == 0.05  # the config's sim.latency_ms, as in the fast run
    assert fills == fast_fills
    assert funding == fast_funding
    ledger = sum((f[5] - f[4] for f in fills), Decimal(0)) + sum((p[1] for p in funding), Decimal(0))
    assert ledger == sum((f[5] - f[4] for f in fast_fills), Decimal(0)) + sum((p[1] for p in fast_funding),
                                                                              Decimal(0))
