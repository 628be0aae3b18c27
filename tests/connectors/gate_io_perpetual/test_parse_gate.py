"""Gate parsers on the documented payloads (fixtures/, written from the docs' example responses)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pmm.connectors.common.payloads import UnmappedValue
from pmm.connectors.common.wire_json import decode_json
from pmm.connectors.gate_io_perpetual import parse
from pmm.connectors.gate_io_perpetual.parse import Contract
from pmm.core.model import Liquidity, MarginMode, OrderStatus, OrderType, PositionSide, Side
from pmm.errors import ConfigError, OrderError

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return decode_json((FIXTURES / f"{name}.json").read_text())


def contract(market: str = "BTC-USDT", multiplier: str = "0.0001") -> Contract:
    base, _, quote = market.partition("-")
    return Contract(market, market.replace("-", "_"), base, quote, Decimal("0.1"), Decimal(multiplier), Decimal(1),
                    100, Decimal("-0.00025"), Decimal("0.00075"))


def contract_of(name: str) -> Contract:
    return contract(name.replace("_", "-"))


def test_contract_sizes_ticks_and_fees_from_the_documented_contract():
    c = parse.parse_contract(fixture("contract"), "BTC-USDT")
    rules = c.rules()
    assert (c.multiplier, rules.tick_size, rules.step_size, rules.min_size) == (
        Decimal("0.0001"), Decimal("0.1"), Decimal("0.0001"), Decimal("0.0001"))
    assert (c.max_leverage, c.maker_fee, c.taker_fee) == (100, Decimal("-0.00025"), Decimal("0.00075"))
    # contracts <-> base units exactly, rounded down: never bigger than asked
    assert c.to_base(Decimal(6024)) == Decimal("0.6024")
    assert c.to_contracts(Decimal("0.01239")) == Decimal(123)


def test_a_contract_that_is_not_the_market_or_not_trading_is_refused():
    with pytest.raises(ConfigError, match="ETH_USDT"):
        parse.parse_contract(fixture("contract"), "ETH-USDT")
    with pytest.raises(ConfigError, match="not trading"):
        parse.parse_contract({**fixture("contract"), "status": "delisting"}, "BTC-USDT")


def test_contract_funding_fields():
    fields = parse.contract_funding(fixture("contract"))
    assert fields == {"mark": Decimal("37985.6"), "index": Decimal("37954.92"), "rate": Decimal("0.002053"),
                      "next_ts": 1610035200.0, "interval_s": 28800.0}


def test_order_book_snapshot_keeps_its_id_and_converts_contracts():
    snap_id, snap = parse.parse_book_snapshot(fixture("order_book"), contract(), 1.0)
    assert snap_id == 123456 and snap.update_id == 123456
    assert snap.bids == ((Decimal("1.17"), Decimal("0.0150")), (Decimal("1.16"), Decimal("0.0203")))
    assert snap.asks[0] == (Decimal("1.52"), Decimal("0.0100"))


def test_order_book_update_push():
    update = parse.parse_book_update(fixture("ws_order_book_update")["result"], contract("BTC-USD"), 2.0)
    assert (update.first, update.last, update.full) == (2517661101, 2517661113, False)
    assert update.bids == ((Decimal("54672.1"), Decimal(0)), (Decimal("54664.5"), Decimal("5.8794")))
    assert update.ts == pytest.approx(1615366381.417)
    full = parse.parse_book_update({**fixture("ws_order_book_update")["result"], "full": True}, contract(), 2.0)
    assert full.full


def test_trades_push_side_is_the_sign_of_the_size():
    [trade] = parse.parse_trades(fixture("ws_trades")["result"], contract("BTC-USD"), 3.0)
    assert (trade.trade_id, trade.price, trade.amount, trade.aggressor) == (
        "27753479", Decimal("96.4"), Decimal("0.0108"), Side.SELL)
    assert trade.ts == pytest.approx(1545136464.123)


def test_ticker_push_gives_mark_index_and_rate():
    [row] = fixture("ws_tickers")["result"]
    assert parse.ticker_funding(row) == {"mark": Decimal("118.35"), "index": Decimal("118.36"),
                                         "rate": Decimal("-0.000114")}


def test_order_row_documented():
    report = parse.parse_order_report(fixture("order"), contract_of)
    assert (report.client_id, report.exchange_id, report.side, report.order_type) == (
        "my-custom-id", "15675394", Side.BUY, OrderType.LIMIT)
    assert (report.amount, report.filled, report.status, report.price) == (
        Decimal("0.6024"), Decimal(0), OrderStatus.CANCELLED, Decimal("3765"))


def test_order_push_with_numbers_and_no_client_id():
    [row] = fixture("ws_orders")["result"]
    report = parse.parse_order_report(row, contract_of)
    assert report.client_id == "gate-4872460"  # text "-": placed without a t- id
    assert (report.status, report.filled, report.price) == (OrderStatus.FILLED, Decimal("0.0001"), Decimal("40000.4"))


@pytest.mark.parametrize(("status", "finish_as", "left", "expected"), [
    ("open", None, 6024, OrderStatus.OPEN), ("open", None, 24, OrderStatus.PARTIALLY_FILLED),
    ("finished", "filled", 0, OrderStatus.FILLED), ("finished", "ioc", 24, OrderStatus.CANCELLED),
    ("finished", "reduce_only", 6024, OrderStatus.CANCELLED), ("finished", "cancelled", 6024, OrderStatus.CANCELLED),
])
def test_order_status(status, finish_as, left, expected):
    row = {**fixture("order"), "status": status, "finish_as": finish_as, "left": left}
    assert parse.status_of(row) is expected


def test_unknown_status_or_finish_reason_is_unmapped():
    with pytest.raises(UnmappedValue):
        parse.status_of({**fixture("order"), "status": "pending"})
    with pytest.raises(UnmappedValue):
        parse.status_of({**fixture("order"), "finish_as": "vanished"})


def test_fill_rows_rest_and_push():
    [row] = fixture("my_trades")
    fill = parse.parse_fill(row, contract_of, {"121234231": Decimal("1.5")})
    assert (fill.trade_id, fill.client_id, fill.exchange_id, fill.side) == ("121234231", "123456", "21893289839",
                                                                            Side.BUY)
    assert (fill.price, fill.amount, fill.fee, fill.liquidity, fill.realized_pnl) == (
        Decimal("100.123"), Decimal("0.0100"), Decimal("0.01"), Liquidity.TAKER, Decimal("1.5"))
    [pushed] = fixture("ws_usertrades")["result"]
    fill = parse.parse_fill(pushed, contract_of, {})
    assert (fill.trade_id, fill.client_id, fill.liquidity, fill.fee) == (
        "3335259", "gate-4872460", Liquidity.MAKER, Decimal("0.0009290592"))
    assert fill.ts == pytest.approx(1628736848.321)


def test_single_mode_short_position_cross_margin():
    pairs = parse.parse_position(fixture("position"), contract())
    (side, position), (other, gone) = pairs
    assert (side, other, gone) == (PositionSide.SHORT, PositionSide.LONG, None)
    assert position is not None
    assert (position.amount, position.entry_price, position.margin_mode) == (
        Decimal("0.9440"), Decimal("3779.55"), MarginMode.CROSS)
    isolated = parse.parse_position({**fixture("position"), "leverage": "20"}, contract())[0][1]
    assert isolated is not None and (isolated.margin_mode, isolated.leverage) == (MarginMode.ISOLATED, 20)


def test_position_push_and_dual_rows():
    [row] = fixture("ws_positions")["result"]
    (side, position), _ = parse.parse_position(row, contract("BTC-USD"))
    assert side is PositionSide.LONG and position is not None and position.amount == Decimal("0.0003")
    assert parse.parse_position({**row, "mode": "dual_short", "size": 0}, contract()) == [(PositionSide.SHORT, None)]
    with pytest.raises(UnmappedValue):
        parse.parse_position({**row, "mode": "triple"}, contract())


def test_account_is_the_wallet_without_unrealised_pnl():
    balance = parse.parse_account(fixture("account"))
    assert (balance.asset, balance.total, balance.available, balance.unrealized_pnl) == (
        "USDT", Decimal("9707.803567115145"), Decimal("9669.091377934145"), Decimal("3371.248828"))


def test_realized_pnl_by_trade_adds_only_pnl_rows():
    [fee] = fixture("account_book")
    rows = [fee, {**fee, "type": "pnl", "change": "2.5"}, {**fee, "type": "pnl", "change": "-0.5"},
            {**fee, "type": "pnl", "trade_id": "2", "change": "1"}]
    assert parse.realized_by_trade(rows) == {"1": Decimal("2.0"), "2": Decimal("1")}


def test_funding_row_with_its_settled_rate():
    rates = parse.funding_rates(fixture("funding_rate"))
    assert rates == {1543968000000: Decimal("0.000157")}
    row = {"time": 1543968000, "change": "-0.0314", "balance": "100", "text": "BTC_USDT", "type": "fund"}
    payment = parse.parse_funding(row, contract(), rates, Decimal("0.5"))
    assert (payment.funding_time_ms, payment.amount, payment.rate) == (1543968000000, Decimal("-0.0314"),
                                                                       Decimal("0.000157"))
    assert payment.position_amount == Decimal("0.5")  # paid at a positive rate: long
    assert payment.mark_price == Decimal("0.0314") / (Decimal("0.5") * Decimal("0.000157"))


def test_client_ids_as_text():
    assert parse.to_text("pmm-1a2b3c4d-17") == "t-pmm-1a2b3c4d-17"
    with pytest.raises(OrderError, match="does not fit"):
        parse.to_text("x" * 29)
    with pytest.raises(OrderError):
        parse.to_text("pmm id")


def test_a_dual_mode_fill_with_a_close_size_closes_the_other_side():
    [row] = fixture("my_trades")
    assert parse.parse_fill(row, contract_of, {}, dual=True).position_side is PositionSide.LONG  # a buy that opens
    closing = {**row, "close_size": 100}
    assert parse.parse_fill(closing, contract_of, {}, dual=True).position_side is PositionSide.SHORT
    assert parse.parse_fill(closing, contract_of, {}, dual=False).position_side is PositionSide.BOTH
