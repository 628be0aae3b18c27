"""okx_perpetual/parse.py against OKX's documented payloads (fixtures/README.md says which)."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from pmm.connectors.common.payloads import UnmappedValue
from pmm.connectors.okx_perpetual import parse, spec
from pmm.core.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from pmm.core.model import Liquidity, MarginMode, OrderStatus, OrderType, PositionSide, Side
from pmm.errors import ConfigError, OrderError

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def inst() -> parse.Instrument:
    return parse.parse_instrument(load("rest_instruments_swap")["data"], "BTC-USDT")


def inst_of(inst):
    return lambda inst_id: {inst.inst_id: inst}[inst_id]


@pytest.mark.parametrize("client_id, cl_ord_id", [
    ("pmm-1a2b3c4d-17", "pmmZ1a2b3c4dZ17"), ("pmm-contract-nope", "pmmZcontractZnope"),
    ("a_b", "aYb"), ("XYZ-x", "XXXYXZZx"), ("okx123", "okx123")])
def test_client_ids_become_alphanumeric_cl_ord_ids_and_back(client_id, cl_ord_id):
    assert parse.to_cl_ord_id(client_id) == cl_ord_id
    assert parse.client_id_of({"clOrdId": cl_ord_id, "ordId": "1"}) == client_id


@pytest.mark.parametrize("client_id", ["pmm 1", "pmm.1", "pmm-" + "a" * 30, "pmmé"])
def test_a_client_id_okx_cannot_carry_is_refused_before_sending(client_id):
    with pytest.raises(OrderError, match="clOrdId"):
        parse.to_cl_ord_id(client_id)


def test_an_order_without_cl_ord_id_gets_a_stand_in():
    assert parse.client_id_of({"clOrdId": "", "ordId": "312269865356374016"}) == "okx-312269865356374016"


def test_instrument_rules_are_in_base_units(inst):
    rules = inst.rules()
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.max_leverage) == (D("0.1"), D("0.0001"),
                                                                                      D("0.0001"), 100)
    assert (rules.base, rules.quote, rules.min_notional) == ("BTC", "USDT", 0)


@pytest.mark.parametrize("base, contracts", [("0.0123", "1.23"), ("0.01239", "1.23"), ("0.00009", "0"),
                                             ("1", "100")])
def test_base_to_contracts_rounds_down_to_the_lot(inst, base, contracts):
    assert inst.to_contracts(D(base)) == D(contracts)
    assert inst.to_base(inst.to_contracts(D(base))) <= D(base)


def test_an_unlisted_or_inverse_swap_is_a_config_error():
    rows = load("rest_instruments_swap")["data"]
    with pytest.raises(ConfigError, match="ETH-USDT-SWAP"):
        parse.parse_instrument(rows, "ETH-USDT")
    with pytest.raises(ConfigError, match="linear"):
        parse.parse_instrument([{**rows[0], "ctType": "inverse"}], "BTC-USDT")


def test_book_snapshot_and_update_carry_the_seq_chain_and_base_sizes(inst):
    snap = parse.parse_book(load("ws_books_snapshot"), inst, 1.0)
    assert snap.is_snapshot and (snap.prev_seq_id, snap.seq_id) == (-1, 123456)
    assert snap.asks[0] == (D("8476.98"), D("4.15")) and snap.bids[0] == (D("8476.97"), D("2.56"))
    update = parse.parse_book(load("ws_books_update"), inst, 1.0)
    assert not update.is_snapshot and (update.prev_seq_id, update.seq_id) == (123456, 123457)
    assert update.delta().update_id == 123457 and update.ts == 1597026383.085


def test_an_unknown_book_action_is_unmapped(inst):
    with pytest.raises(UnmappedValue):
        parse.parse_book({**load("ws_books_update"), "action": "partial"}, inst, 1.0)


def test_trades_are_in_base_units_with_the_takers_side(inst):
    (trade,) = parse.parse_trades(load("ws_trades"), inst, 2.0)
    assert (trade.trade_id, trade.price, trade.amount, trade.aggressor) == ("130639474", D("42219.9"), D("0.12"),
                                                                           Side.BUY)


def test_funding_fields_from_the_three_channels():
    assert parse.funding_fields(load("ws_mark_price")["data"][0]) == {"mark": D("42310.6")}
    assert parse.funding_fields(load("ws_index_tickers")["data"][0]) == {"index": D("0.1")}
    fields = parse.funding_fields(load("rest_funding_rate")["data"][0])
    assert fields == {"rate": D("0.0000182221218054"), "next_ts": 1743609600.0, "interval_s": 28800.0}


def test_a_filled_order_push_is_one_fill_in_base_units(inst):
    (fill,) = parse.parse_order_push(load("ws_orders_filled")["data"][0], inst, 3.0)
    assert isinstance(fill, OrderFilled)
    assert fill.client_id == "pmm-1a2b3c4d-17" and fill.exchange_id == "452197707845865472"
    assert (fill.price, fill.amount, fill.remaining) == (D("31527.1"), D("0.01"), D("0"))
    assert (fill.fee, fill.fee_asset, fill.liquidity) == (D("0.02522168"), "USDT", Liquidity.MAKER)
    assert (fill.side, fill.position_side, fill.realized_pnl) == (Side.SELL, PositionSide.BOTH, D("0.01"))
    assert fill.ts == 1654084353.263


def test_a_partial_fill_says_what_is_left(inst):
    (fill,) = parse.parse_order_push(load("ws_orders_partially_filled")["data"][0], inst, 3.0)
    assert (fill.trade_id, fill.amount, fill.remaining, fill.fee) == ("242589206", D("0.01"), D("0.02"),
                                                                      D("0.0063054"))


def test_a_live_order_push_is_accepted(inst):
    (event,) = parse.parse_order_push(load("ws_orders_live")["data"][0], inst, 3.0)
    assert isinstance(event, OrderAccepted) and event.client_id == "pmm-1a2b3c4d-17"


def test_a_post_only_cancelled_for_taking_liquidity_is_a_rejection(inst):
    (event,) = parse.parse_order_push(load("ws_orders_post_only_canceled")["data"][0], inst, 3.0)
    assert isinstance(event, OrderRejected) and event.code == spec.CANCEL_SOURCE_POST_ONLY


def test_a_user_cancel_is_a_cancellation(inst):
    (event,) = parse.parse_order_push(load("ws_orders_canceled")["data"][0], inst, 3.0)
    assert isinstance(event, OrderCancelled) and event.exchange_id == "452197707845865472"


def test_an_unknown_order_state_is_unmapped(inst):
    with pytest.raises(UnmappedValue):
        parse.parse_order_push({**load("ws_orders_live")["data"][0], "state": "expired"}, inst, 3.0)


def test_open_order_report_in_base_units(inst):
    (report,) = [parse.parse_order_report(r, inst_of(inst)) for r in load("rest_orders_pending")["data"]]
    assert (report.client_id, report.order_type, report.status) == ("pmm-1a2b3c4d-9", OrderType.LIMIT_MAKER,
                                                                    OrderStatus.PARTIALLY_FILLED)
    assert (report.price, report.amount, report.filled, report.reduce_only) == (D("13013.5"), D("0.02"),
                                                                                D("0.005"), False)


def test_fill_report_from_fills_history(inst):
    (fill,) = [parse.parse_fill_report(r, inst_of(inst)) for r in load("rest_fills_history")["data"]]
    assert (fill.trade_id, fill.client_id, fill.amount, fill.price) == ("744876980", "pmm-1a2b3c4d-9", D("0.02"),
                                                                        D("51858"))
    assert (fill.fee, fill.liquidity, fill.realized_pnl, fill.ts) == (D("0.0518"), Liquidity.TAKER, D("1.25"),
                                                                      1708587373.361)


def test_a_net_short_closes_the_long_side(inst):
    pairs = parse.positions_of_row(load("rest_positions")["data"][0], inst)
    (side, short), (other, none) = pairs
    assert (side, other, none) == (PositionSide.SHORT, PositionSide.LONG, None)
    assert (short.amount, short.entry_price, short.leverage, short.margin_mode) == (D("0.05"), D("62961.4"), 5,
                                                                                    MarginMode.CROSS)
    assert (short.margin, short.liquidation_price, short.mark_price) == (D("126.58"), D("90312.5"), D("62891.9"))


def test_a_hedge_row_is_its_own_side_and_zero_closes_it(inst):
    row = load("ws_positions")["data"][1]
    ((side, position),) = parse.positions_of_row(row, inst)
    assert (side, position.amount, position.margin_mode, position.margin) == (
        PositionSide.LONG, D("1.5"), MarginMode.ISOLATED, D("188.8"))
    assert parse.positions_of_row({**row, "pos": "0"}, inst) == [(PositionSide.LONG, None)]
    assert parse.positions_of_row({**row, "posSide": "net", "pos": "0"}, inst) == [
        (PositionSide.LONG, None), (PositionSide.SHORT, None)]


def test_balances_from_rest_and_the_account_channel():
    (rest,) = parse.parse_balances(load("rest_balance")["data"])
    assert (rest.asset, rest.total, rest.available, rest.margin_in_use, rest.unrealized_pnl) == (
        "USDT", D("4850.435693622894"), D("4834.317093622894"), D("158.573"), D("-7.545600000000006"))
    (pushed,) = parse.parse_balances(load("ws_account")["data"])
    assert pushed.total == D("4750.426970691436")


def test_swap_fee_rates_are_the_usdt_margined_ones_as_paid():
    assert parse.parse_fee_rates(load("rest_trade_fee_swap")["data"]) == (D("0.0002"), D("0.0005"))


def test_a_funding_bill_with_its_rate_tells_the_side(inst):
    rates = parse.funding_rate_times(load("rest_funding_rate_history")["data"])
    (bill,) = load("rest_bills_funding")["data"]
    payment = parse.parse_funding_bill(bill, inst, rates)
    assert (payment.funding_time_ms, payment.amount, payment.rate) == (1743609600000, D("-0.0655"),
                                                                       D("0.0002279755647389"))
    assert payment.position_amount == D("0.05")  # paid at a positive rate: a long
    received = parse.parse_funding_bill({**bill, "balChg": "0.0655"}, inst, rates)
    assert received.position_amount == D("-0.05") and received.mark_price > 0
