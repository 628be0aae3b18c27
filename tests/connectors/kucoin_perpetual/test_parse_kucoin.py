"""KuCoin payloads as documented (payloads/*.json, from KuCoin's OpenAPI examples) -> pmm objects,
the signing scheme, and the one error table."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from pmm.connectors.common.wire_json import decode_json
from pmm.connectors.kucoin_perpetual import auth, errors, spec
from pmm.connectors.kucoin_perpetual.parse import (
    Instrument,
    parse_account,
    parse_execution,
    parse_fill,
    parse_funding_row,
    parse_instrument,
    parse_level2,
    parse_order_change,
    parse_order_report,
    parse_position,
    parse_wallet,
    to_client_oid,
)
from pmm.connectors.kucoin_perpetual.pnl import LotBook
from pmm.core.clock import Clock
from pmm.core.model import Liquidity, MarginMode, OrderStatus, OrderType, Position, PositionSide, Side
from pmm.errors import (
    AuthError,
    ConfigError,
    ExchangeUnavailable,
    InsufficientMargin,
    OrderError,
    OrderOutcomeUnknown,
    RateLimited,
    ReduceOnlyRejected,
    UnknownOrder,
    VenueSetupError,
)

HERE = Path(__file__).parent / "payloads"


def payload(name: str) -> Any:
    body = decode_json((HERE / name).read_text())
    return body.get("data", body)


def xbt() -> Instrument:
    return parse_instrument(payload("rest_contract_xbtusdtm.json"), "BTC-USDT")


def test_symbols_spell_bitcoin_xbt_with_the_m_suffix():
    assert spec.to_venue_symbol("BTC-USDT") == "XBTUSDTM" and spec.to_venue_symbol("eth-usdt") == "ETHUSDTM"
    assert spec.from_venue_symbol("XBTUSDTM") == "BTC-USDT" and spec.from_venue_symbol("SOLUSDTM") == "SOL-USDT"


def test_the_contract_converts_lots_exactly_and_its_rules_are_in_base_units():
    inst = xbt()
    assert (inst.symbol, inst.base, inst.quote, inst.tick_size, inst.multiplier) == (
        "XBTUSDTM", "BTC", "USDT", D("0.1"), D("0.001"))
    assert (inst.maker_fee, inst.taker_fee, inst.max_leverage) == (D("0.0002"), D("0.0006"), 125)
    assert inst.to_lots(D("0.0259")) == 25 and inst.to_base(D("25")) == D("0.025")
    rules = inst.rules()
    assert (rules.step_size, rules.min_size, rules.tick_size) == (D("0.001"), D("0.001"), D("0.1"))


def test_a_contract_that_is_not_the_market_or_not_open_is_a_config_error():
    row = dict(payload("rest_contract_xbtusdtm.json"))
    with pytest.raises(ConfigError, match="lists no perpetual `ETHUSDTM`"):
        parse_instrument(row, "ETH-USDT")
    with pytest.raises(ConfigError, match="not an open USDT-margined"):
        parse_instrument({**row, "status": "Paused"}, "BTC-USDT")


def test_level2_change_and_execution_are_in_base_units_and_seconds():
    inst = xbt()
    change = parse_level2(payload("ws_level2_increment.json"), inst)
    assert (change.sequence, change.side, change.price, change.size) == (1709400450243, Side.SELL, D("90631.2"),
                                                                         D("0.002"))
    assert change.ts == pytest.approx(1731897467.182)
    trade = parse_execution(payload("ws_execution_match.json"), inst, 1.0)
    assert (trade.trade_id, trade.price, trade.amount, trade.aggressor) == ("1794100537695", D("90503.9"), D("0.002"),
                                                                            Side.BUY)
    assert trade.ts == pytest.approx(1731898619.52)
    with pytest.raises(ValueError):
        parse_level2({"sequence": 1, "change": "-1,buy,2", "timestamp": 1}, inst)


def test_order_row_and_order_push():
    inst = xbt()
    report = parse_order_report(payload("rest_order_open.json"), inst)
    assert (report.client_id, report.exchange_id, report.status, report.order_type) == (
        "5c52e11203aa677f33e493fb", "236655147005071361", OrderStatus.OPEN, OrderType.LIMIT)
    assert (report.price, report.amount, report.filled) == (D("0.1"), D("0.001"), D(0))
    done = parse_order_report({**payload("rest_order_open.json"), "status": "done", "filledSize": 1}, inst)
    assert done.status is OrderStatus.FILLED
    cancelled = parse_order_report({**payload("rest_order_open.json"), "status": "done", "isActive": False}, inst)
    assert cancelled.status is OrderStatus.CANCELLED
    change = parse_order_change(payload("ws_trade_orders_open.json"), inst)
    # The documented push has no clientOid: the order is named by its id until the gateway knows it.
    assert (change.kind, change.client_id, change.size, change.remaining) == (
        "open", "kucoin-247899236673269761", D("0.001"), D("0.001"))
    match = parse_order_change({**payload("ws_trade_orders_open.json"), "type": "match", "matchPrice": "91670",
                                "matchSize": "1", "tradeId": "1794", "liquidity": "taker", "clientOid": "pmm-a-1"},
                               inst)
    assert (match.client_id, match.match_price, match.match_size, match.liquidity) == (
        "pmm-a-1", D("91670"), D("0.001"), Liquidity.TAKER)


def test_position_push_one_way_reports_the_other_side_closed():
    inst = xbt()
    (side, position), (other, closed) = parse_position(payload("ws_position_change.json"), inst)
    assert (side, other, closed) == (PositionSide.LONG, PositionSide.SHORT, None)
    assert position is not None
    assert (position.amount, position.entry_price, position.margin_mode, position.leverage) == (
        D("0.001"), D("91694.5"), MarginMode.ISOLATED, 4)
    short = parse_position({**payload("ws_position_change.json"), "currentQty": -3}, inst)
    assert short[0][0] is PositionSide.SHORT and short[0][1] is not None and short[0][1].amount == D("0.003")
    flat = parse_position({**payload("ws_position_change.json"), "currentQty": 0}, inst)
    assert flat == [(PositionSide.LONG, None), (PositionSide.SHORT, None)]


def test_account_overview_wallet_fills_and_funding():
    balance = parse_account(payload("rest_account_overview.json"))
    assert (balance.asset, balance.total, balance.available, balance.unrealized_pnl) == (
        "USDT", D("374.286500806"), D("290.326799096"), D("20.15278"))
    wallet = parse_wallet(payload("ws_wallet_balance_change.json"))
    assert (wallet.total, wallet.available, wallet.margin_in_use) == (D("81.072921258"), D("26.144281178"),
                                                                      D("54.92864008"))
    inst = xbt()
    (row,) = payload("rest_fills.json")["items"]
    fill = parse_fill(row, inst)
    assert (fill.trade_id, fill.price, fill.amount, fill.fee, fill.liquidity) == (
        "1828954878212", D("86275.1"), D("0.001"), D("0.05176506"), Liquidity.TAKER)
    (funding_row,) = payload("rest_funding_history.json")["dataList"]
    pay = parse_funding_row(funding_row, inst)
    assert (pay.funding_time_ms, pay.rate, pay.amount, pay.position_amount, pay.mark_price) == (
        1731470400000, D("0.000641"), D("-0.05585669"), D("0.001"), D("87139.92"))


def test_client_oid_takes_pmm_ids_as_they_are_and_refuses_what_kucoin_would():
    assert to_client_oid("pmm-1a2b3c4d-17") == "pmm-1a2b3c4d-17"
    with pytest.raises(OrderError, match="clientOid"):
        to_client_oid("x" * 41)
    with pytest.raises(OrderError):
        to_client_oid("pmm 1")


def test_fifo_lots_realise_pnl_once_per_trade_and_rebuild_from_history():
    lots = LotBook()
    assert lots.book("1", "BTC-USDT", Side.BUY, PositionSide.BOTH, D("100"), D("2")) == 0
    assert lots.book("2", "BTC-USDT", Side.BUY, PositionSide.BOTH, D("110"), D("1")) == 0
    assert lots.book("3", "BTC-USDT", Side.SELL, PositionSide.BOTH, D("120"), D("2.5")) == D("45")  # 2x20 + 0.5x10
    assert lots.book("3", "BTC-USDT", Side.SELL, PositionSide.BOTH, D("999"), D("9")) == D("45")  # the same trade
    assert lots.book("4", "BTC-USDT", Side.SELL, PositionSide.BOTH, D("100"), D("1")) == D("-5")  # flips short
    assert lots.held("BTC-USDT", PositionSide.SHORT) == D("0.5")

    class F:
        def __init__(self, tid: str, side: Side, price: str, amount: str) -> None:
            self.trade_id, self.market, self.side, self.position_side = tid, "BTC-USDT", side, PositionSide.BOTH
            self.price, self.amount = D(price), D(amount)

    history = [F("a", Side.SELL, "90", "1"), F("b", Side.BUY, "90", "1"),  # flat after b
               F("c", Side.BUY, "100", "2"), F("d", Side.SELL, "130", "1")]
    now = [Position("BTC-USDT", PositionSide.LONG, D("1"), D("100"), 5, MarginMode.CROSS)]
    fresh = LotBook()
    assert fresh.rebuild("BTC-USDT", history, now)
    assert fresh.book("d", "BTC-USDT", Side.SELL, PositionSide.BOTH, D("130"), D("1")) == D("30")
    assert fresh.book("e", "BTC-USDT", Side.SELL, PositionSide.BOTH, D("90"), D("1")) == D("-10")


# --- signing ----------------------------------------------------------------------------------------


class FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_signature_and_passphrase_are_base64_hmacs_and_the_verifier_accepts_versions_2_and_3():
    clock = FixedClock(1_700_000_000.0)
    signer = auth.KucoinAuth("key", "secret", "pass", clock)
    headers = signer.headers("GET", "/api/v1/orders?status=active&symbol=XBTUSDTM")
    assert headers[auth.TIMESTAMP_HEADER] == "1700000000000" and headers[auth.VERSION_HEADER] == "2"
    # Known digest: base64(HMAC-SHA256("secret", "1700000000000GET/api/v1/orders?status=active&symbol=XBTUSDTM")).
    assert headers[auth.SIGN_HEADER] == auth.sign("secret", "1700000000000GET/api/v1/orders?status=active&symbol"
                                                            "=XBTUSDTM")
    assert headers[auth.PASSPHRASE_HEADER] == "5sWmbVCOKjHTC6QsbNtTLaVSV6j3Lytz0LaHyiow0EE="
    verifier = auth.Verifier("key", "secret", "pass", clock)
    assert verifier.check_rest(headers, "GET", "/api/v1/orders?status=active&symbol=XBTUSDTM", "") is None
    assert verifier.check_rest({**headers, auth.VERSION_HEADER: "3"}, "GET",
                               "/api/v1/orders?status=active&symbol=XBTUSDTM", "") is None
    assert verifier.check_rest({**headers, auth.VERSION_HEADER: "1", auth.PASSPHRASE_HEADER: "pass"}, "GET",
                               "/api/v1/orders?status=active&symbol=XBTUSDTM", "") is None
    assert verifier.check_rest(headers, "GET", "/api/v1/orders?symbol=XBTUSDTM&status=active", "") == 400005
    assert verifier.check_rest({**headers, auth.PASSPHRASE_HEADER: "bad"}, "GET", "/x", "") == 400004
    assert verifier.check_rest({**headers, auth.KEY_HEADER: "other"}, "GET", "/x", "") == 400003
    assert verifier.check_rest({k: v for k, v in headers.items() if k != auth.SIGN_HEADER}, "GET", "/x", "") == 400001
    late = auth.Verifier("key", "secret", "pass", FixedClock(1_700_000_006.0))
    assert late.check_rest(headers, "GET", "/api/v1/orders?status=active&symbol=XBTUSDTM", "") == 400002


# --- the error table --------------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "cls"), [
    (400001, AuthError), (400003, AuthError), (400004, AuthError), (400005, AuthError), (400007, AuthError),
    (400002, ExchangeUnavailable), (429000, RateLimited), (404000, ExchangeUnavailable), (100004, UnknownOrder),
    (100001, UnknownOrder), (300003, InsufficientMargin), (300009, ReduceOnlyRejected), (330005, VenueSetupError),
    (100011, ConfigError), (400100, OrderError),
])
def test_each_code_maps_to_its_class(code, cls):
    err = errors.translate(what="place order x", status=errors.http_status(code), code=code, msg=errors.message(code),
                           order_call=True)
    assert type(err) is cls
    assert f"code {code}" in str(err) and "KuCoin refused place order x" in str(err)


def test_an_internal_error_on_an_order_call_is_an_unknown_outcome_not_a_rejection():
    err = errors.translate(what="place order x", status=500, code=500000, msg="Internal", order_call=True)
    assert isinstance(err, OrderOutcomeUnknown)
    assert isinstance(errors.translate(what="read", status=500, code=500000, msg="", order_call=False),
                      ExchangeUnavailable)
    assert isinstance(errors.translate(what="read", status=403, code=None, msg="", order_call=False),
                      ExchangeUnavailable)
