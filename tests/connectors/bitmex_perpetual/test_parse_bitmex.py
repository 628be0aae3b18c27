"""bitmex_perpetual: parse.py, tables.py, auth.py and errors.py against BitMEX's documented payloads
(fixtures/README.md says where each comes from)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from pmm.connectors.bitmex_perpetual import auth, errors, parse, spec
from pmm.connectors.bitmex_perpetual.rest import encode_body
from pmm.connectors.bitmex_perpetual.tables import BookTable, KeyedTable, TableGap
from pmm.connectors.common.wire_json import decode_json
from pmm.core.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from pmm.core.model import Liquidity, MarginMode, OrderStatus, OrderType, PositionSide, Side
from pmm.errors import (
    AuthError,
    ConfigError,
    ExchangeUnavailable,
    InsufficientMargin,
    OrderError,
    OrderOutcomeUnknown,
    RateLimited,
    UnknownOrder,
)

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str):
    return decode_json((FIXTURES / f"{name}.json").read_text())  # numbers with a fraction as Decimal


@pytest.fixture
def inst() -> parse.Instrument:
    return parse.parse_instrument(load("rest_instrument_xbtusdt"), "BTC-USDT")


# --- symbols, sizes, signing ------------------------------------------------------------------------


@pytest.mark.parametrize("market, symbol", [("BTC-USDT", "XBTUSDT"), ("ETH-USDT", "ETHUSDT")])
def test_markets_map_to_bitmex_symbols_and_back(market, symbol):
    assert spec.to_venue_symbol(market) == symbol
    assert spec.from_venue_symbol(symbol) == market
    assert spec.SPEC.symbols.to_venue(market) == symbol and spec.SPEC.symbols.to_market(symbol) == market


def test_the_inverse_contract_is_refused_with_the_reason():
    with pytest.raises(ConfigError, match="inverse.*XBTUSD.*USDT-margined"):
        parse.parse_instrument([], "BTC-USD")


def test_instrument_rules_are_in_base_units(inst):
    rules = inst.rules()
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.max_leverage) == (D("0.5"), D("0.001"),
                                                                                      D("0.001"), 100)
    assert (rules.base, rules.quote, inst.symbol) == ("BTC", "USDT", "XBTUSDT")


@pytest.mark.parametrize("base, contracts", [("0.004", "4000"), ("0.0049", "4000"), ("0.0009", "0"), ("1", "1000000")])
def test_base_to_contracts_rounds_down_to_the_lot(inst, base, contracts):
    assert inst.to_contracts(D(base)) == D(contracts)
    assert inst.to_base(D(contracts)) == D(base).quantize(D("0.001"), rounding="ROUND_DOWN")


def test_a_non_linear_or_closed_instrument_is_refused():
    row = dict(load("rest_instrument_xbtusdt")[0], state="Closed")
    with pytest.raises(ConfigError, match="not an open USDT-margined linear perpetual"):
        parse.parse_instrument([row], "BTC-USDT")


def test_signatures_match_bitmex_published_examples():
    # BitMEX's API-key page examples (reproduced in BitMEX/api-connectors official-http/vba/hexhash.vbs).
    secret = "chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO"
    message = auth.prehash("GET", "/api/v1/instrument?filter=%7B%22symbol%22%3A+%22XBTM15%22%7D", 1429631577690)
    assert auth.sign(secret, message) == "9f1753e2db64711e39d111bc2ecace3dc9e7f026e6f65b65c4f53d3d14a60e5f"
    assert auth.sign(secret, auth.prehash("GET", "/api/v1/instrument", 1518064236)) == \
        "c7682d435d0cfe87c16098df34ef2eb5a549d4c5a3c2b1f0f77b8af73423bf00"


def test_the_verifier_accepts_the_clients_signature_and_names_each_fault():
    class Clock:
        def now(self):
            return 1_700_000_000.0

    client = auth.BitmexAuth("key-1", "secret-1", Clock())
    verifier = auth.Verifier("key-1", "secret-1", Clock())
    body = encode_body({"symbol": "XBTUSDT", "price": D("60000.5"), "orderQty": 1000})
    headers = client.headers("POST", "/api/v1/order", body)
    assert verifier.check_rest(headers, "POST", "/api/v1/order", body) is None
    assert verifier.check_rest(headers, "POST", "/api/v1/order", body + " ") == auth.BAD_SIGNATURE
    assert verifier.check_rest({**headers, "api-key": "other"}, "POST", "/api/v1/order", body) == auth.INVALID_KEY
    stale = {**headers, "api-expires": "1699999999"}
    assert verifier.check_rest(stale, "POST", "/api/v1/order", body).startswith(auth.EXPIRED)
    frame = client.ws_auth_message()
    assert frame["op"] == "authKeyExpires" and verifier.check_ws_auth(frame["args"]) is None
    key, expires, signature = frame["args"]
    millis = [key, expires * 1000, auth.ws_signature("secret-1", expires * 1000)]
    assert verifier.check_ws_auth(millis) is None  # ccxt's socket sends milliseconds


def test_prices_are_sent_as_exact_json_numbers():
    assert encode_body({"price": D("60000.50"), "orderQty": 1000}) == '{"price":60000.50,"orderQty":1000}'


# --- errors -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status, message, order_call, expected", [
    (401, "Signature not valid.", False, AuthError),
    (400, "Account has insufficient Available Balance, 601000000 USDt required", True, InsufficientMargin),
    (429, "Rate limit exceeded, retry in 1 seconds.", False, RateLimited),
    (503, "The system is currently overloaded. Please try again later.", True, OrderOutcomeUnknown),
    (503, "The system is currently overloaded. Please try again later.", False, ExchangeUnavailable),
    (400, "Unable to cancel order due to existing state: Filled", True, UnknownOrder),
    (404, "Not Found", True, UnknownOrder),
    (404, "Not Found", False, ExchangeUnavailable),
    (400, "Something BitMEX never said", True, OrderError),
])
def test_errors_are_classified_by_bitmex_message_then_status(status, message, order_call, expected):
    error = errors.translate(what="x", status=status, message=message, order_call=order_call)
    assert type(error) is expected
    assert "BitMEX refused x" in str(error)


def test_the_server_answers_each_error_with_bitmex_status_and_name():
    assert errors.http_status("Signature not valid.") == 401
    assert errors.body(load("error_balance")["error"]["message"]) == load("error_balance")
    assert errors.body("Signature not valid.") == load("error_signature")


# --- public tables ------------------------------------------------------------------------------------


def test_book_partial_then_update_insert_delete_keep_levels_by_price(inst):
    book = BookTable(inst)
    bids, asks = book.snapshot(load("ws_book_partial")["data"])
    assert bids == ((D("60000.0"), D("0.005")), (D("59999.5"), D("0.021")))
    assert asks == ((D("60000.5"), D("0.003")), (D("60001.5"), D("0.012")))
    assert book.change("update", load("ws_book_update")["data"]) == (((D("60000.0"), D("0.007")),), ())
    assert book.change("delete", load("ws_book_delete")["data"]) == ((), ((D("60000.5"), D("0")),))
    assert book.change("insert", load("ws_book_insert")["data"]) == (((D("60000.5"), D("0.001")),), ())


@pytest.mark.parametrize("action, fixture", [("update", "ws_book_insert"), ("delete", "ws_book_insert"),
                                             ("insert", "ws_book_update")])
def test_a_row_that_does_not_fit_the_book_is_a_gap(inst, action, fixture):
    book = BookTable(inst)
    book.snapshot(load("ws_book_partial")["data"])
    rows = load(fixture)["data"] if action != "insert" else [dict(load(fixture)["data"][0], price=60000.0)]
    with pytest.raises(TableGap):
        book.change(action, rows)
    assert not book.ready


def test_trades_and_funding_fields(inst):
    (trade,) = parse.parse_trades(load("ws_trade_insert")["data"], inst, 1.0)
    assert (trade.price, trade.amount, trade.aggressor) == (D("60001.5"), D("0.002"), Side.BUY)
    fields = parse.funding_fields(load("rest_instrument_xbtusdt")[0])
    assert fields == {"mark": D("60100.12"), "index": D("60090.34"), "rate": D("0.0001"),
                      "next_ts": parse.iso_to_s("2024-05-01T12:00:00.000Z"), "interval_s": 8 * 3600.0}
    assert parse.funding_fields(load("ws_instrument_update")["data"][0]) == {"mark": D("60110.25")}


# --- account rows ---------------------------------------------------------------------------------------


def test_executions_become_order_events(inst):
    (accepted,) = parse.parse_execution(load("ws_execution_new")["data"][0], inst, 2.0)
    assert isinstance(accepted, OrderAccepted) and accepted.client_id == "pmm-1a2b3c4d-17"
    (fill,) = parse.parse_execution(load("ws_execution_trade")["data"][0], inst, 2.0)
    assert isinstance(fill, OrderFilled)
    assert (fill.price, fill.amount, fill.remaining, fill.fee, fill.liquidity, fill.order_type) == (
        D("59990.0"), D("0.004"), D("0.006"), D("-0.05999"), Liquidity.MAKER, OrderType.LIMIT_MAKER)
    (rejected,) = parse.parse_execution(load("ws_execution_post_only_canceled")["data"][0], inst, 2.0)
    assert isinstance(rejected, OrderRejected) and "post-only" in rejected.reason
    (cancelled,) = parse.parse_execution(load("ws_execution_canceled")["data"][0], inst, 2.0)
    assert isinstance(cancelled, OrderCancelled)


def test_funding_execution_is_a_payment_by_the_long(inst):
    payment = parse.parse_funding_execution(load("rest_execution_funding")[0], inst)
    assert (payment.amount, payment.rate, payment.position_amount, payment.mark_price, payment.asset) == (
        D("-0.0601"), D("0.0001"), D("0.01"), D("60100.0"), "USDT")
    assert payment.funding_time_ms == 1714564800000


def test_positions_merge_updates_and_close(inst):
    table = KeyedTable("position")
    (row,) = table.apply(load("ws_position_partial"))
    (side, position), (other, none) = parse.position_of_row(row, inst)
    assert (side, other, none) == (PositionSide.LONG, PositionSide.SHORT, None)
    assert (position.amount, position.entry_price, position.leverage, position.margin_mode) == (
        D("0.004"), D("59990.0"), 10, MarginMode.CROSS)
    assert position.unrealized_pnl == D("0.44048")
    (merged,) = table.apply(load("ws_position_update_closed"))
    assert merged["leverage"] == 10  # fields the update did not name are kept
    assert parse.position_of_row(merged, inst) == [(PositionSide.LONG, None), (PositionSide.SHORT, None)]


def test_an_update_before_the_partial_is_ignored_and_one_for_an_unknown_row_is_a_gap():
    table = KeyedTable("position", ("account", "symbol", "currency"))
    assert table.apply(load("ws_position_update_closed")) == []
    table.apply(dict(load("ws_position_partial"), data=[]))
    with pytest.raises(TableGap):
        table.apply(load("ws_position_update_closed"))


def test_margin_and_commission():
    balance = parse.parse_margin(load("rest_margin")[0])
    assert (balance.asset, balance.total, balance.available, balance.unrealized_pnl) == (
        "USDT", D("10000.05999"), D("9976.460422"), D("0.44048"))
    assert parse.parse_commission(load("rest_commission"), "XBTUSDT") == (D("-0.00025"), D("0.00075"))


def test_order_rows_and_client_ids(inst):
    row = dict(load("ws_execution_trade")["data"][0], execInst="ReduceOnly")
    report = parse.parse_order_report(row, lambda symbol: inst)
    assert (report.status, report.amount, report.filled, report.reduce_only, report.order_type) == (
        OrderStatus.PARTIALLY_FILLED, D("0.01"), D("0.004"), True, OrderType.LIMIT)
    assert parse.client_id_of({"clOrdID": "", "orderID": "abc"}) == "bitmex-abc"
    with pytest.raises(OrderError, match="clOrdID"):
        parse.to_cl_ord_id("x" * 37)
