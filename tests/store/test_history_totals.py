"""`pmm history` adds up the fills from the kept `fill_totals`: the same report as from `fills()`."""

from __future__ import annotations

from random import Random

import pytest

from pmm.core.model import Side
from pmm.store import queries, totals, totals_read
from pmm.store.db import open_engine
from pmm.store.performance import performance_report, performance_report_of

T0 = 1_767_225_600.0  # a UTC midnight
DAY = 86_400.0


def _fills(make_fill):  # type: ignore[no-untyped-def]
    """400 fills over three runs, two venues, two markets, two fee assets and four UTC days, with
    fills on and just before midnight, zeros with exponents and a negative zero."""
    rng = Random(5)
    out = []
    for i in range(400):
        run = "run1" if i < 150 else ("run2" if i < 300 else "run3")
        market = "ETH-USDT" if i % 7 == 0 else "BTC-USDT"
        venue = "binance_perpetual" if run == "run3" else "sim_perpetual"
        price = f"{64000 + rng.randrange(0, 20000) / 10:.1f}" if i % 5 else f"{65000 + rng.randrange(0, 100) / 100:.2f}"
        amount = rng.choice(["0.010", "0.001", "0.25", "1", "1E+1"])
        fee = rng.choice(["0.13", "0.0130", "-0.00650", "0", "-0.000"])
        realized = rng.choice(["0", "0", "12.345678", "-3.1", "0.00000001", "0E-8"])
        ts = T0 + i * 800.25  # about 3.7 days
        if i == 100:
            ts = T0 + DAY  # exactly midnight
        elif i == 101:
            ts = T0 + DAY - 1e-6
        out.append(make_fill(f"t{i}", side=Side.BUY if rng.random() < 0.5 else Side.SELL, price=price, amount=amount,
                             fee=fee, fee_asset="BNB" if i % 11 == 0 else "USDT", realized=realized,
                             ts=ts, market=market, venue=venue, run_id=run))
    return out


# Windows of `--days`: none, mid-day, exactly midnight, a microsecond either side, past the end.
WINDOWS = [None, T0 + 100, T0 + DAY, T0 + DAY - 1e-6, T0 + DAY + 1e-6, T0 + 2.5 * DAY, T0 + 10 * DAY, T0 - DAY]


def _reports(per_market, per_run):  # type: ignore[no-untyped-def]
    # The JSON shows each Decimal's digits and exponent: equal JSON is equal digit for digit.
    return (performance_report_of(per_market, [], []).to_json(),
            performance_report_of(per_run, [], [], per_run=True).to_json())


def _expected(db, since, market):  # type: ignore[no-untyped-def]
    fills = queries.fills(db, since_ts=since, market=market)
    return performance_report(fills, [], []).to_json(), performance_report(fills, [], [], per_run=True).to_json()


def test_kept_totals_give_the_report_of_the_loaded_fills(writer, db_url, make_fill):  # type: ignore[no-untyped-def]
    fills = _fills(make_fill)
    for i, fill in enumerate(fills):
        writer.submit(fill)
        if i % 3 == 0:
            writer.submit(fill)  # a duplicate in the same batch: ignored, not counted
        if i % 50 == 49:
            writer.flush()
    for fill in fills[::7]:
        writer.submit(fill)  # duplicates of stored fills, in later batches
    writer.flush()
    db = open_engine(db_url)
    assert totals_read.is_fresh(db)
    for since in WINDOWS:
        for market in (None, "BTC-USDT", "ETH-USDT", "SOL-USDT"):
            kept = totals_read.read(db, since, market)
            assert kept is not None, "the kept totals are up to date: history must not fold every fill"
            expected = _expected(db, since, market)
            assert _reports(*kept) == expected
            assert _reports(*queries.fill_totals(db, since_ts=since, market=market)) == expected
            assert _reports(*queries.fill_totals(db, since_ts=since, market=market, kept=False)) == expected
            assert queries.last_fills(db, 20, since_ts=since, market=market) == \
                queries.fills(db, since_ts=since, market=market)[-20:]
    per_market, _ = totals_read.read(db) or ({}, {})
    assert sum(t.buys + t.sells for t in per_market.values()) == len(fills)
    db.dispose()


def test_a_rounded_sum_makes_history_fold_the_fills(writer, db_url, make_fill):  # type: ignore[no-untyped-def]
    # 22 + 9 significant digits: the product has more than the context's 28, so it is rounded,
    # and a rounded sum depends on the order of its terms.
    writer.submit(make_fill("a", price="1234567890123.456789012", amount="1.23456789", ts=T0))
    writer.submit(make_fill("b", price="65000.1", amount="0.01", ts=T0 + 1))
    writer.flush()
    db = open_engine(db_url)
    assert totals_read.is_fresh(db)
    assert totals_read.read(db) is None
    assert _reports(*queries.fill_totals(db)) == _expected(db, None, None)
    db.dispose()


@pytest.mark.parametrize("since", WINDOWS[:3])
def test_days_window_reads_whole_days_and_folds_the_first(since, writer, db_url, make_fill):  # type: ignore[no-untyped-def]
    for fill in _fills(make_fill):
        writer.submit(fill)
    writer.flush()
    db = open_engine(db_url)
    got = totals_read.read(db, since)
    assert got is not None and _reports(*got) == _expected(db, since, None)
    db.dispose()


def test_day_of_is_exact_at_midnight() -> None:
    assert totals.day_of(T0) == 20454
    assert totals.day_of(T0 - 1e-6) == 20453
    assert totals.day_of(T0 + DAY - 1e-6) == 20454
    assert totals.day_of(-0.5) == -1
    assert totals.first_whole_day(T0) == 20454
    assert totals.first_whole_day(T0 + 1e-6) == 20455
    for ts in (T0 * 1.0000001, 1e9 + 0.1, 86400.0 * 3 - 2**-30):
        d = totals.day_of(ts)
        assert d * 86400 <= ts < (d + 1) * 86400
