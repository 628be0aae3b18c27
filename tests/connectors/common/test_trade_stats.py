"""Candles and the rolling window the venue servers derive from their trades."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pmm.connectors.common.trade_stats import CandleSeries, Interval, TradeWindow

D = Decimal


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_interval_starts_weeks_on_monday_and_months_on_the_first() -> None:
    thursday = _ms("2026-01-01T10:00:00")
    assert Interval(7 * 1440).start_of(thursday) == _ms("2025-12-29T00:00:00")
    assert Interval(60).start_of(thursday + 59 * 60_000) == thursday
    month = Interval(months=1)
    assert month.start_of(_ms("2026-02-28T23:59:59")) == _ms("2026-02-01T00:00:00")
    assert month.after(_ms("2026-12-01T00:00:00")) == _ms("2027-01-01T00:00:00")


def test_candles_merge_minutes_and_fill_untraded_intervals_at_the_last_close() -> None:
    series = CandleSeries()
    start = _ms("2026-01-01T10:00:00")
    series.add(start + 1_000, D("100"), D("1"), 1, True)
    series.add(start + 2_000, D("103"), D("2"), 2, False)
    series.add(start + 3 * 60_000, D("99"), D("1"), 3, True)
    minutes = series.candles(Interval(1), now_ms=start + 4 * 60_000 + 1)
    assert [(k.open, k.high, k.low, k.close, k.volume, k.count) for k in minutes] == [
        (D(100), D(103), D(100), D(103), D(3), 2),
        (D(103), D(103), D(103), D(103), D(0), 0),
        (D(103), D(103), D(103), D(103), D(0), 0),
        (D(99), D(99), D(99), D(99), D(1), 1),
        (D(99), D(99), D(99), D(99), D(0), 0),
    ]
    assert (minutes[0].taker_buy_volume, minutes[0].turnover, minutes[0].first_id, minutes[0].last_id) == (
        D(1), D(306), 1, 2)
    [five] = series.candles(Interval(5), now_ms=start + 4 * 60_000)
    assert (five.open, five.high, five.low, five.close, five.count, five.first_id, five.last_id) == (
        D(100), D(103), D(99), D(99), 3, 1, 3)
    # A window that starts after the last trade still shows flat candles at the last close.
    later = series.candles(Interval(1), now_ms=start + 6 * 60_000, since_ms=start + 5 * 60_000)
    assert [(k.start_ms - start, k.close, k.count) for k in later] == [(300_000, D(99), 0), (360_000, D(99), 0)]


def test_trade_window_forgets_what_left_it() -> None:
    window = TradeWindow(60.0)
    window.add(0.0, D("10"), D("1"), 1)
    window.add(30.0, D("12"), D("2"), 2)
    window.add(59.0, D("11"), D("1"), 3)
    assert (window.high(D(0)), window.low(D(0)), window.volume, window.count) == (D(12), D(10), D(4), 3)
    window.prune(61.0)
    assert (window.first_price(D(0)), window.low(D(0)), window.volume, window.first_id()) == (D(12), D(11), D(3), 2)
    window.prune(200.0)
    assert (window.count, window.first_id(), window.high(D(7))) == (0, -1, D(7))
