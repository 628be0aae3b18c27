"""Parsing one replay line (pmm/sim/replay_records.py): the remembered Decimal texts change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmm.sim import replay_records
from pmm.sim.replay_records import BadRecord, DecimalTexts, ReplayRecord, parse_record

D = Decimal


def _delta(bids, asks=()):
    return {"type": "delta", "ts_ms": 1000, "bids": [list(b) for b in bids], "asks": [list(a) for a in asks]}


def test_a_repeated_text_gives_the_same_decimal_as_the_first_time():
    texts = DecimalTexts()
    first, _ = parse_record(_delta([("100.50", "1.0")]), texts)
    again, _ = parse_record(_delta([("100.50", "1.0")], [("100.50", "0")]), texts)
    assert first == ReplayRecord(1.0, "delta", ((D("100.50"), D("1.0")),), ())
    assert again.bids[0][0] is first.bids[0][0]  # shared: Decimals are immutable
    assert str(again.bids[0][0]) == "100.50" and str(again.asks[0][1]) == "0"


@pytest.mark.parametrize(("bids", "message"), [
    ([("0", "1")], "`price` must be > 0"),  # "0" is a remembered size, never a price
    ([("NaN", "1")], "`price` must be finite"),
    ([("100", "-1")], "`size` must be >= 0"),
    ([("100", "Infinity")], "`size` must be finite"),
])
def test_a_text_remembered_for_one_use_is_checked_for_another(bids, message):
    texts = DecimalTexts()
    parse_record(_delta([("100", "0"), ("1", "1")]), texts)  # "0" and "1" seen as sizes, "100" as price
    with pytest.raises(BadRecord, match=message):
        parse_record(_delta(bids), texts)


def test_numbers_and_odd_rows_still_take_the_checked_path():
    texts = DecimalTexts()
    record, _ = parse_record({"type": "delta", "ts": Decimal("1.5"), "bids": [[Decimal("99.5"), 2]]}, texts)
    assert record.bids == ((D("99.5"), D(2)),) and record.ts == 1.5
    with pytest.raises(BadRecord, match=r"\[price, size\] pairs"):
        parse_record({"type": "delta", "ts_ms": 1000, "bids": ["12"]}, texts)  # a 2-character string is no pair


def test_the_tables_stay_bounded(monkeypatch):
    monkeypatch.setattr(replay_records, "_TEXTS_MAX", 8)
    texts = DecimalTexts()
    for i in range(1, 30):
        record, _ = parse_record(_delta([(f"{i}.5", f"0.{i}")]), texts)
        assert record.bids == ((D(f"{i}.5"), D(f"0.{i}")),)
        assert len(texts.positive) <= 8 and len(texts.non_negative) <= 8


def test_trade_prices_share_the_table():
    texts = DecimalTexts()
    trade, _ = parse_record({"type": "trade", "ts_ms": 2000, "price": "100.1", "amount": "0.5", "side": "sell"}, texts)
    delta, _ = parse_record(_delta([("100.1", "3")]), texts)
    assert trade.price is delta.bids[0][0] and trade.amount == D("0.5") and trade.ts == 2.0
