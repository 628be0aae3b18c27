"""`pmm history` folds the stored fills without loading them: the same report as from `fills()`."""

from __future__ import annotations

from random import Random

from pmm.core.model import Side
from pmm.store import queries
from pmm.store.db import open_engine
from pmm.store.performance import performance_report, performance_report_of


def _fills(make_fill):  # type: ignore[no-untyped-def]
    rng = Random(5)
    out = []
    for i in range(400):
        run = "run1" if i < 150 else ("run2" if i < 300 else "run3")
        market = "ETH-USDT" if i % 7 == 0 else "BTC-USDT"
        venue = "binance_perpetual" if run == "run3" else "sim_perpetual"
        price = f"{64000 + rng.randrange(0, 20000) / 10:.1f}" if i % 5 else f"{65000 + rng.randrange(0, 100) / 100:.2f}"
        amount = rng.choice(["0.010", "0.001", "0.25", "1"])
        fee = rng.choice(["0.13", "0.0130", "-0.00650", "0"])
        realized = rng.choice(["0", "0", "12.345678", "-3.1", "0.00000001"])
        out.append(make_fill(f"t{i}", side=Side.BUY if rng.random() < 0.5 else Side.SELL, price=price, amount=amount,
                             fee=fee, fee_asset="BNB" if i % 11 == 0 else "USDT", realized=realized,
                             ts=1_767_225_600.0 + i * 0.5, market=market, venue=venue, run_id=run))
    return out


def test_fill_totals_give_the_report_of_the_loaded_fills(writer, db_url, make_fill):  # type: ignore[no-untyped-def]
    for fill in _fills(make_fill):
        writer.submit(fill)
    writer.flush()
    db = open_engine(db_url)
    for since, market in ((None, None), (1_767_225_600.0 + 100, None), (None, "BTC-USDT")):
        fills = queries.fills(db, since_ts=since, market=market)
        per_market, per_run = queries.fill_totals(db, since_ts=since, market=market)
        expected = performance_report(fills, [], [])
        expected_runs = performance_report(fills, [], [], per_run=True)
        got = performance_report_of(per_market, [], [])
        got_runs = performance_report_of(per_run, [], [], per_run=True)
        # Same numbers, digit for digit (the JSON shows each Decimal's exponent too).
        assert got.to_json() == expected.to_json()
        assert got_runs.to_json() == expected_runs.to_json()
        assert queries.last_fills(db, 20, since_ts=since, market=market) == fills[-20:]
    db.dispose()
