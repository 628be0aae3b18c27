"""bitmart_perpetual/parse.py and auth.py against BitMart's documented payloads (fixtures/README.md)."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from pmm.connectors.bitmart_perpetual import auth, errors, parse, spec
from pmm.connectors.common.payloads import UnmappedValue
from pmm.core.clock import VirtualClock
from pmm.core.model import Liquidity, MarginMode, OrderStatus, OrderType, PositionSide, Side
from pmm.errors import ConfigError, InsufficientMargin, OrderError, OrderOutcomeUnknown, UnknownOrder

FIXTURES = Path(__file__).parent / "fixtures"
DOC_SECRET = "6c6c98544461bbe71db2bca4c6d7fd0021e0ba9efc215f9c6ad41852df9d9df9"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@pytest.fixture
def inst() -> parse.Instrument:
    return parse.parse_instrument(load("rest_contract_details")["data"], "BTC-USDT")


# --- signing: the documented vectors ---------------------------------------------------------------

def test_rest_signature_reproduces_the_documented_vector():
    body = '{"symbol":"BTC_USDT","price":"8600","count":"100"}'
    signature = auth.sign(DOC_SECRET, auth.prehash("1589793796145", "test001", body))
    assert signature.startswith("c31dc326") and signature.endswith("e46d")


def test_ws_login_frame_reproduces_the_documented_vector():
    frame = load("ws_login")
    key, timestamp, signature, device = frame["args"]
    assert auth.ws_login_sign(DOC_SECRET, "test001", timestamp) == signature
    clock = VirtualClock(int(timestamp) / 1000)
    signer = auth.BitmartAuth(key, DOC_SECRET, "test001", clock)
    assert signer.ws_login_message() == frame
    assert auth.Verifier(key, DOC_SECRET, "test001", clock).check_ws_login(frame["args"]) is None


def test_signed_headers_sign_the_body_with_the_memo_and_the_verifier_accepts_them():
    clock = VirtualClock(1_700_000_000.0)
    signer = auth.BitmartAuth("key", "secret", "memo", clock)
    headers = signer.signed_headers('{"symbol":"BTCUSDT"}')
    assert headers["X-BM-TIMESTAMP"] == "1700000000000"
    assert headers["X-BM-SIGN"] == auth.sign("secret", '1700000000000#memo#{"symbol":"BTCUSDT"}')
    verifier = auth.Verifier("key", "secret", "memo", clock)
    assert verifier.check_rest(headers, keyed=False, payload='{"symbol":"BTCUSDT"}') is None
    assert verifier.check_rest(headers, keyed=False, payload='{"symbol":"ETHUSDT"}') == 30005
    assert verifier.check_rest(signer.keyed_headers(), keyed=True, payload="") is None
    assert verifier.check_rest(signer.keyed_headers(), keyed=False, payload="") == 30006
    assert verifier.check_rest({"X-BM-KEY": "other"}, keyed=True, payload="") == 30002
    assert verifier.check_rest({}, keyed=True, payload="") == 30001
    clock.advance_to(clock.now() + 61)
    assert verifier.check_rest(headers, keyed=False, payload='{"symbol":"BTCUSDT"}') == 30007


def test_a_signed_get_is_checked_over_its_query_as_ccxt_signs_it():
    clock = VirtualClock(1_700_000_000.0)
    verifier = auth.Verifier("key", "secret", "memo", clock)
    headers = {"X-BM-KEY": "key", "X-BM-TIMESTAMP": "1700000000000",
               "X-BM-SIGN": auth.sign("secret", "1700000000000#memo#symbol=BTCUSDT")}
    assert verifier.check_rest(headers, keyed=True, payload="symbol=BTCUSDT") is None
    assert verifier.check_rest(headers, keyed=True, payload="symbol=ETHUSDT") == 30005


# --- symbols, ids, instruments ---------------------------------------------------------------------

def test_symbols_map_both_ways():
    assert spec.to_venue_symbol("BTC-USDT") == "BTCUSDT"
    assert spec.from_venue_symbol("ETHUSDT") == "ETH-USDT"


@pytest.mark.parametrize("client_id, wire", [("pmm-1a2b3c4d-17", "pmmZ1a2b3c4dZ17"), ("a_b", "aYb"),
                                             ("XYZ-x", "XXXYXZZx")])
def test_client_ids_become_alphanumeric_and_back(client_id, wire):
    assert parse.to_client_order_id(client_id) == wire
    assert parse.client_id_of({"client_order_id": wire, "order_id": "1"}) == client_id


@pytest.mark.parametrize("client_id", ["pmm 1", "pmm-" + "a" * 30, "pmmé"])
def test_a_client_id_bitmart_cannot_carry_is_refused_before_sending(client_id):
    with pytest.raises(OrderError, match="client_order_id"):
        parse.to_client_order_id(client_id)


def test_an_order_without_client_order_id_gets_a_stand_in():
    assert parse.client_id_of({"client_order_id": "", "order_id": "220906179895578"}) == "bitmart-220906179895578"


def test_contract_details_give_rules_in_base_units(inst):
    rules = inst.rules()
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.max_leverage) == (D("0.1"), D("0.001"),
                                                                                      D("0.001"), 100)
    assert (inst.contract_size, inst.funding_interval_s) == (D("0.001"), 8 * 3600)


@pytest.mark.parametrize("base, contracts", [("0.0123", "12"), ("0.0129", "12"), ("0.0009", "0"), ("1", "1000")])
def test_base_to_contracts_rounds_down_never_up(inst, base, contracts):
    assert inst.to_contracts(D(base)) == D(contracts)
    assert inst.to_base(D(contracts)) <= D(base)


def test_a_delisted_or_unknown_contract_is_a_config_error():
    data = load("rest_contract_details")["data"]
    with pytest.raises(ConfigError, match="ETHUSDT"):
        parse.parse_instrument(data, "ETH-USDT")
    data["symbols"][0]["status"] = "Delisted"
    with pytest.raises(ConfigError, match="Delisted"):
        parse.parse_instrument(data, "BTC-USDT")


# --- public data -----------------------------------------------------------------------------------

def test_depth_snapshot_and_update_carry_versions_and_base_sizes(inst):
    snap = parse.parse_book(load("ws_depth_snapshot")["data"], inst, 1.0)
    assert snap.is_snapshot and snap.version == 980361
    assert snap.asks == ((D("70391.6"), D("3.550")),) and snap.bids == ((D("70391.2"), D("1.335")),)
    update = parse.parse_book(load("ws_depth_update")["data"], inst, 1.0)
    assert not update.is_snapshot and update.version == 980362
    assert (D("70391.2"), D("0")) in update.bids  # vol 0 deletes the level
    assert update.ts == 1730400086.194


def test_an_unknown_depth_type_is_unmapped(inst):
    data = dict(load("ws_depth_update")["data"], type="partial")
    with pytest.raises(UnmappedValue):
        parse.parse_book(data, inst, 1.0)


def test_trade_push_side_is_the_taker(inst):
    (trade,) = parse.parse_trades(load("ws_trade")["data"], inst, 2.0)
    assert trade.aggressor is Side.SELL  # m: the buyer made
    assert (trade.price, trade.amount, trade.trade_id) == (D("117387.58"), D("1.445"), "1409495322")
    assert trade.ts == pytest.approx(1677225251.124941)


def test_ticker_funding_channel_and_rest_funding_fields():
    assert parse.funding_fields(load("ws_ticker")["data"]) == {"mark": D("97153.7"), "index": D("97185.614")}
    fields = parse.funding_fields(load("ws_funding_rate")["data"])
    assert fields["rate"] == D("0.000098800809") and fields["next_ts"] == 1732525864.0
    assert fields["interval_s"] == 1732550400 - 1732525864
    rest = parse.funding_fields(load("rest_funding_rate")["data"])
    assert rest == {"rate": D("0.000164"), "next_ts": 1709971200.0}


def test_funding_rate_history():
    assert parse.funding_rate_times(load("rest_funding_rate_history")["data"]) == {
        1733979600000: D("0.000090600584")}


# --- account rows ----------------------------------------------------------------------------------

@pytest.mark.parametrize("number, mode, side, position_side, reduce_only", [
    (1, "one_way_mode", Side.BUY, PositionSide.BOTH, False), (2, "one_way_mode", Side.BUY, PositionSide.BOTH, True),
    (3, "one_way_mode", Side.SELL, PositionSide.BOTH, True), (4, "one_way_mode", Side.SELL, PositionSide.BOTH, False),
    (1, "hedge_mode", Side.BUY, PositionSide.LONG, False), (2, "hedge_mode", Side.BUY, PositionSide.SHORT, True),
    (3, "hedge_mode", Side.SELL, PositionSide.LONG, True), (4, "hedge_mode", Side.SELL, PositionSide.SHORT, False)])
def test_side_numbers_both_ways(number, mode, side, position_side, reduce_only):
    info = parse.side_of(number, mode)
    assert (info.side, info.position_side, info.reduce_only) == (side, position_side, reduce_only)
    assert parse.side_number(side, position_side, reduce_only) == number


def test_an_unknown_side_is_unmapped():
    with pytest.raises(UnmappedValue):
        parse.side_of(5, "one_way_mode")


def test_order_detail_and_open_orders(inst):
    detail = parse.parse_order_report(load("rest_order_detail")["data"], inst)
    assert (detail.client_id, detail.exchange_id, detail.side, detail.position_side) == (
        "BM123", "220906179895578", Side.BUY, PositionSide.LONG)
    assert (detail.amount, detail.filled, detail.status) == (D("1"), D("1"), OrderStatus.PARTIALLY_FILLED)
    (done,) = [parse.parse_order_report(r, inst) for r in load("rest_open_orders")["data"]]
    assert done.status is OrderStatus.FILLED and done.reduce_only and done.order_type is OrderType.LIMIT


def test_a_finished_order_short_of_its_size_was_canceled():
    assert parse.status_of({"state": 4, "size": "10", "deal_size": "3"}) is OrderStatus.CANCELLED
    with pytest.raises(UnmappedValue):
        parse.status_of({"state": 3, "size": "10", "deal_size": "0"})


def test_trade_rows_become_fill_reports(inst):
    (row,) = load("rest_trades")["data"]
    fill = parse.parse_fill_report(row, inst, parse.client_id_of({"order_id": row["order_id"]}), "one_way_mode")
    assert (fill.trade_id, fill.price, fill.amount, fill.fee) == ("1141853921", D("19313.3"), D("0.108"), D("0"))
    assert fill.liquidity is Liquidity.MAKER and fill.realized_pnl == D("-0.00832") and fill.side is Side.BUY


def test_rest_position_and_position_push(inst):
    (row,) = load("rest_position")["data"]
    side, position = parse.position_of_row(row, inst, 5)
    assert side is PositionSide.SHORT and position is not None
    assert (position.amount, position.entry_price, position.margin_mode) == (D("0.899"), D("20201"),
                                                                             MarginMode.ISOLATED)
    assert position.unrealized_pnl == D("1903.956643943943943944339") and position.mark_price == D("93000.50")
    (push,) = load("ws_position")["data"]
    side, pushed = parse.position_of_row(push, inst, 7)
    assert side is PositionSide.LONG and pushed is not None and pushed.amount == D("2")
    assert pushed.leverage == 7 and pushed.liquidation_price == D("15621.998406")
    assert parse.position_of_row(dict(push, hold_volume="0"), inst, 7) == (PositionSide.LONG, None)


def test_balances_from_rest_and_push():
    usdt, btc = (parse.parse_balance(r) for r in load("rest_assets_detail")["data"])
    assert (usdt.asset, usdt.total, usdt.available, usdt.margin_in_use, usdt.unrealized_pnl) == (
        "USDT", D("0"), D("100"), D("200"), D("100"))
    assert btc.total == 0
    pushed = parse.parse_balance(load("ws_asset")["data"])
    assert (pushed.asset, pushed.total, pushed.available) == ("BTC", D("3000"), D("1000"))


@pytest.mark.parametrize("order_type, fee, liquidity", [
    (OrderType.MARKET, D("0"), Liquidity.TAKER), (OrderType.LIMIT, D("-0.1"), Liquidity.MAKER),
    (OrderType.LIMIT, D("0.02"), Liquidity.MAKER), (OrderType.LIMIT, D("0.06"), Liquidity.TAKER)])
def test_liquidity_follows_the_fee(order_type, fee, liquidity):
    assert parse.liquidity_of(order_type, fee, D("100"), D("0.0002"), D("0.0006")) is liquidity


# --- errors ------------------------------------------------------------------------------------------

def test_errors_are_classified_by_code_with_the_code_in_the_message():
    err = errors.translate(what="place order x", status=400, code=40027, msg="balance not enough", order_call=True)
    assert isinstance(err, InsufficientMargin) and "40027" in str(err)
    assert isinstance(errors.translate(what="cancel", status=400, code=40035, msg="", order_call=True), UnknownOrder)
    assert isinstance(errors.translate(what="place", status=500, code=40012, msg="", order_call=True),
                      OrderOutcomeUnknown)
    assert errors.http_status(30013) == 429 and errors.http_status(30017) == errors.IP_BAN_STATUS


def test_a_funding_row_takes_the_nearest_rate_and_the_side_of_who_paid(inst):
    from pmm.core.model import Position

    long = Position("BTC-USDT", PositionSide.LONG, D("0.5"), D("60000"), 5, MarginMode.CROSS, mark_price=D("61000"))
    rates = {1733979600000: D("0.0001")}
    row = {"symbol": "BTCUSDT", "type": "Funding Fee", "amount": "-3.05000000", "asset": "USDT",
           "time": "1733979600123", "tran_id": "1"}
    paid = parse.parse_funding_row(row, inst, rates, {PositionSide.LONG: long})
    assert (paid.rate, paid.amount, paid.position_amount, paid.mark_price) == (D("0.0001"), D("-3.05"), D("0.5"),
                                                                             D("61000"))
    received = parse.parse_funding_row(dict(row, amount="2"), inst, rates, {})
    assert received.position_amount == 0 and received.rate == D("0.0001")  # a short was paid: none held now
    late = parse.parse_funding_row(dict(row, time="1733979700000"), inst, rates, {})
    assert late.rate == 0  # no settlement within a minute of it


def test_credentials_never_show_the_secret_or_the_memo():
    import pickle

    signer = auth.BitmartAuth("bitmart-key-0123456789", "s3cr3t-value", "m3mo-value", VirtualClock(1.0))
    shown = repr(signer) + str(signer) + repr(vars(signer))
    assert "s3cr3t-value" not in shown and "m3mo-value" not in shown
    with pytest.raises(TypeError):
        pickle.dumps(signer)
