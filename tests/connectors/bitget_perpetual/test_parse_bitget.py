"""bitget_perpetual/parse.py and checksum.py against Bitget's documented payloads (fixtures/README.md)."""

from __future__ import annotations

import json
import zlib
from decimal import Decimal as D
from pathlib import Path

import pytest

from pmm.connectors.bitget_perpetual import checksum, parse
from pmm.connectors.common.payloads import UnmappedValue
from pmm.core.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from pmm.core.model import Liquidity, MarginMode, OrderStatus, OrderType, PositionSide, Side
from pmm.errors import ConfigError, OrderError

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def market_of(symbol: str) -> str:
    return {"ETHUSDT": "ETH-USDT", "BTCUSDT": "BTC-USDT"}[symbol.upper()]


def test_contract_rules_come_from_price_place_end_step_and_size_multiplier():
    contract = parse.parse_contract(load("rest_contracts")["data"], "BTC-USDT")
    rules = contract.rules()
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.min_notional, rules.max_leverage) == (
        D("0.1"), D("0.01"), D("0.01"), D("5"), 125)
    assert (rules.base, rules.quote, contract.symbol) == ("BTC", "USDT", "BTCUSDT")


@pytest.mark.parametrize("place, step, tick", [("1", "1", "0.1"), ("1", "5", "0.5"), ("0", "5", "5"),
                                               ("4", "1", "0.0001")])
def test_tick_is_price_end_step_scaled_by_price_place(place, step, tick):
    assert parse.tick_of(place, step) == D(tick)


def test_an_unlisted_or_halted_contract_is_a_config_error():
    rows = load("rest_contracts")["data"]
    with pytest.raises(ConfigError, match="lists no USDT-M perpetual `ETHUSDT`"):
        parse.parse_contract(rows, "ETH-USDT")
    with pytest.raises(ConfigError, match="not a tradable perpetual"):
        parse.parse_contract([{**rows[0], "symbolStatus": "maintain"}], "BTC-USDT")


def test_checksum_is_the_signed_crc32_of_alternating_levels_as_the_docs_build_it():
    bids, asks = [("43231.1", "4"), ("43231", "6")], [("43232.8", "9"), ("43232.9", "8")]
    text = "43231.1:4:43232.8:9:43231:6:43232.9:8"  # the docs' string
    expected = zlib.crc32(text.encode())
    assert checksum.checksum(bids, asks) == (expected - (1 << 32) if expected >= 1 << 31 else expected)
    # a shorter side's missing entries are skipped
    shorter = "3366.1:7:3366.8:9:3368:8:3372:8"
    assert checksum.checksum([("3366.1", "7")], [("3366.8", "9"), ("3368", "8"), ("3372", "8")]) == \
        checksum.crc32_signed(shorter)
    assert checksum.crc32_signed(shorter) == zlib.crc32(shorter.encode()) - (1 << 32) * (
        zlib.crc32(shorter.encode()) >= 1 << 31)


def test_text_book_keeps_the_original_strings_and_only_the_top_25():
    book = checksum.TextBook()
    book.reset([[str(100 - i) + ".50", "1.000"] for i in range(30)], [["0.5000", "2"]])
    bids, asks = book.top()
    assert len(bids) == 25 and bids[0] == ("100.50", "1.000") and asks == [("0.5000", "2")]
    book.apply([["100.50", "0"]], [["0.5000", "3.10"]])
    bids, asks = book.top()
    assert bids[0] == ("99.50", "1.000") and asks == [("0.5000", "3.10")]
    assert book.checksum() == checksum.checksum(bids, asks)


def test_books_snapshot_levels_are_base_units():
    from pmm.connectors.common.payloads import book_levels

    data = load("ws_books5_snapshot")["data"][0]
    assert book_levels(data["bids"])[0] == (D("27000.0"), D("2.710"))


@pytest.mark.parametrize("client_id", ["pmm-1a2b3c4d-17", "a_b+c#d", "x" * 50])
def test_pmm_client_ids_pass_as_client_oids(client_id):
    assert parse.to_client_oid(client_id) == client_id
    assert parse.client_id_of({"clientOid": client_id, "orderId": "1"}) == client_id


@pytest.mark.parametrize("client_id", ["pmm 1", "pmm.1", "x" * 51, "pmmé", ""])
def test_a_client_id_bitget_cannot_carry_is_refused_before_sending(client_id):
    with pytest.raises(OrderError, match="clientOid"):
        parse.to_client_oid(client_id)


def test_an_order_without_client_oid_gets_a_stand_in():
    assert parse.client_id_of({"clientOid": "", "orderId": "123"}) == "bitget-123"


def test_pending_order_row_in_hedge_mode():
    (row,) = load("rest_orders_pending")["data"]["entrustedList"]
    report = parse.parse_order_report(row, market_of)
    assert (report.client_id, report.exchange_id, report.market, report.side) == ("12321", "123", "ETH-USDT", Side.BUY)
    assert (report.price, report.amount, report.filled, report.status) == (D("1900"), D("100"), D("12.1"),
                                                                           OrderStatus.PARTIALLY_FILLED)
    assert report.position_side is PositionSide.LONG and report.order_type is OrderType.LIMIT
    assert not report.reduce_only and report.created_ts == 1627293504.612


def test_a_hedge_mode_close_trades_against_its_side():
    (row,) = load("rest_orders_pending")["data"]["entrustedList"]
    close = parse.parse_order_report({**row, "tradeSide": "close"}, market_of)
    assert close.side is Side.SELL and close.position_side is PositionSide.LONG and close.reduce_only
    one_way = parse.parse_order_report({**row, "posMode": "one_way_mode", "tradeSide": "", "posSide": "net",
                                        "reduceOnly": "YES"}, market_of)
    assert one_way.side is Side.BUY and one_way.position_side is PositionSide.BOTH and one_way.reduce_only


def test_order_push_live_is_accepted():
    (row,) = load("ws_orders")["data"]
    (event,) = parse.parse_order_push(row, "ETH-USDT", 5.0)
    assert isinstance(event, OrderAccepted)
    assert (event.client_id, event.exchange_id, event.market, event.ts) == ("12354678990111", "13333333333333333333",
                                                                            "ETH-USDT", 1760461517.274)


def test_order_push_with_a_fill_reports_the_last_fill_and_the_rest():
    (row,) = load("ws_orders")["data"]
    filled = {**row, "status": "partially_filled", "tradeId": "777", "fillPrice": "2999.5", "baseVolume": "0.1",
              "accBaseVolume": "0.3", "fillFee": "-0.12", "fillFeeCoin": "USDT", "tradeScope": "M",
              "fillTime": "1760461518000"}
    (event,) = parse.parse_order_push(filled, "ETH-USDT", 5.0)
    assert isinstance(event, OrderFilled)
    assert (event.trade_id, event.price, event.amount, event.remaining) == ("777", D("2999.5"), D("0.1"), D("0.1"))
    assert (event.fee, event.fee_asset, event.liquidity, event.side) == (D("0.12"), "USDT", Liquidity.MAKER, Side.BUY)
    assert event.position_side is PositionSide.LONG and event.ts == 1760461518.0


def test_order_push_canceled_and_a_post_only_cancel_is_a_rejection():
    (row,) = load("ws_orders")["data"]
    (cancelled,) = parse.parse_order_push({**row, "status": "canceled", "cancelReason": "normal_cancel"}, "ETH-USDT",
                                          5.0)
    assert isinstance(cancelled, OrderCancelled)
    (rejected,) = parse.parse_order_push({**row, "status": "canceled", "cancelReason": parse.POST_ONLY_CANCEL},
                                         "ETH-USDT", 5.0)
    assert isinstance(rejected, OrderRejected) and rejected.code == parse.POST_ONLY_CANCEL


def test_an_unknown_order_status_is_refused():
    (row,) = load("ws_orders")["data"]
    with pytest.raises(UnmappedValue):
        parse.parse_order_push({**row, "status": "exploded"}, "ETH-USDT", 5.0)


def test_fill_rows_carry_fee_pnl_and_the_trade_direction():
    (row,) = load("rest_order_fills")["data"]["fillList"]
    fill = parse.parse_fill_report(row, market_of, {"121212": "pmm-a-1"})
    assert (fill.trade_id, fill.client_id, fill.exchange_id, fill.market) == ("123", "pmm-a-1", "121212", "ETH-USDT")
    # hedge mode, side buy + tradeSide close: the close of a long sells
    assert (fill.side, fill.position_side) == (Side.SELL, PositionSide.LONG)
    assert (fill.price, fill.amount, fill.fee, fill.fee_asset) == (D("1900"), D("1"), D("0.017118519726"), "BGB")
    assert (fill.realized_pnl, fill.liquidity, fill.ts) == (D("102"), Liquidity.TAKER, 1627293509.612)
    assert parse.parse_fill_report(row, market_of, {}).client_id == "bitget-121212"


def test_fill_channel_row_one_way():
    (row,) = load("ws_fill")["data"]
    fill = parse.parse_fill_report(row, market_of, {})
    assert (fill.client_id, fill.side, fill.position_side) == ("111", Side.BUY, PositionSide.BOTH)
    assert (fill.amount, fill.fee) == (D("0.01"), D("0.183717"))


def test_position_rows_hedge_and_one_way():
    (row,) = load("rest_all_position")["data"]
    ((side, position),) = parse.positions_of_row(row, "BTC-USDT")
    assert side is PositionSide.LONG and position is not None
    assert (position.amount, position.entry_price, position.leverage, position.margin_mode) == (
        D("0.01"), D("25000"), 20, MarginMode.ISOLATED)
    assert (position.unrealized_pnl, position.mark_price, position.margin) == (D("1"), D("25100"),
                                                                               D("9.6695050093373343"))
    one_way = parse.positions_of_row({**row, "posMode": "one_way_mode", "holdSide": "short"}, "BTC-USDT")
    assert [(s, p is None) for s, p in one_way] == [(PositionSide.SHORT, False), (PositionSide.LONG, True)]
    closed = parse.positions_of_row({**row, "total": "0"}, "BTC-USDT")
    assert closed == [(PositionSide.LONG, None)]


def test_positions_push_row():
    (row,) = load("ws_positions")["data"]
    ((side, position),) = parse.positions_of_row(row, "ETH-USDT")
    assert side is PositionSide.SHORT and position is not None and position.leverage == 20
    assert position.margin_mode is MarginMode.CROSS and position.amount == D("0.1")


def test_balances_rest_and_push():
    (row,) = load("rest_accounts")["data"]
    balance = parse.parse_balance(row)
    assert (balance.asset, balance.total, balance.available, balance.margin_in_use, balance.unrealized_pnl) == (
        "USDT", D("10582.90265771"), D("10575.26735771"), D("0.31876482"), D("0"))
    (push,) = load("ws_account")["data"]
    streamed = parse.parse_balance(push)
    assert (streamed.total, streamed.available, streamed.margin_in_use) == (D("11.98545761"), D("11.98545761"),
                                                                            D("0"))


def test_funding_fields_from_ticker_push_and_current_rate():
    (ticker,) = load("ws_ticker")["data"]
    assert parse.funding_fields(ticker) == {"mark": D("27000.0"), "index": D("25702.4"), "rate": D("0.000010"),
                                            "next_ts": 1695722400.0}
    (current,) = load("rest_current_fund_rate")["data"]
    assert parse.funding_fields(current) == {"rate": D("0.000068"), "next_ts": 1743062400.0,
                                             "interval_s": 8 * 3600.0}


def test_trades_push():
    trades = parse.parse_trades(load("ws_trade")["data"], "BTC-USDT", 9.0)
    assert [(t.price, t.amount, t.aggressor) for t in trades] == [(D("27000.5"), D("0.001"), Side.BUY),
                                                                  (D("27000.0"), D("0.001"), Side.SELL)]


def test_funding_bill_takes_the_rate_of_the_funding_time_before_it():
    bills = load("rest_bill")["data"]["bills"]
    funding = [b for b in bills if b["businessType"] == "contract_settle_fee"]
    rates = parse.funding_rate_times(load("rest_history_fund_rate")["data"])
    assert rates == {1695776400000: D("0.0005"), 1695715200000: D("0.000013")}
    (payment,) = [parse.parse_funding_bill(b, "BTC-USDT", rates) for b in funding]
    assert (payment.funding_time_ms, payment.rate, payment.amount, payment.asset) == (
        1695715200000, D("0.000013"), D("-0.004992"), "USDT")
