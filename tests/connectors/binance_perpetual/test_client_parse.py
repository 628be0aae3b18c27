"""Parsing against payload shapes from Binance's documentation (fixtures/README.md says which)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_client_fakes import fixture

from pmm.connectors.binance_perpetual.parse import (
    SymbolMap,
    UnmappedValue,
    dec,
    parse_account_balances,
    parse_balances,
    parse_commission_rate,
    parse_depth_snapshot,
    parse_funding_income,
    parse_funding_rates,
    parse_listen_key,
    parse_open_orders,
    parse_position_risk,
    parse_premium_index,
    parse_trading_rules,
    parse_user_trades,
    to_symbol,
)
from pmm.connectors.binance_perpetual.parse_events import (
    parse_account_update,
    parse_balance_events,
    parse_depth_update,
    parse_mark_price,
    parse_order_trade_update,
    parse_trade,
)
from pmm.core.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from pmm.core.model import (
    Balance,
    ClientOrderId,
    Liquidity,
    MarginMode,
    OrderStatus,
    OrderType,
    PositionSide,
    Side,
)
from pmm.errors import ConfigError

D = Decimal
markets = SymbolMap(["BTC-USDT", "BLZ-USDT"])
RECV = 1.5


def test_symbols_round_trip() -> None:
    assert to_symbol("BTC-USDT") == "BTCUSDT"
    assert markets("BTCUSDT") == "BTC-USDT"
    assert SymbolMap()("ETHUSDC") == "ETH-USDC"
    assert SymbolMap()("1000PEPEUSDT") == "1000PEPE-USDT"


def test_decimals_only_from_strings() -> None:
    assert dec("0.1") == D("0.1")
    assert dec(3) == D(3)
    with pytest.raises(TypeError):
        dec(0.1)
    with pytest.raises(TypeError):
        dec(True)


def test_exchange_info_to_trading_rules() -> None:
    rules = parse_trading_rules(fixture("rest_exchange_info.json"), "BLZ-USDT")
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.min_notional) == \
        (D("0.0001"), D("1"), D("1"), D("5.0"))
    assert (rules.base, rules.quote, rules.market) == ("BLZ", "USDT", "BLZ-USDT")
    with pytest.raises(ConfigError, match="BTCUSDT"):
        parse_trading_rules(fixture("rest_exchange_info.json"), "BTC-USDT")


def test_depth_snapshot_and_update() -> None:
    snap = parse_depth_snapshot(fixture("rest_depth_snapshot.json"), "BTC-USDT", RECV)
    assert snap.update_id == 1027024
    assert snap.bids == ((D("4.00000000"), D("431.00000000")),)
    assert snap.asks == ((D("4.00000200"), D("12.00000000")),)
    assert snap.ts == 1589436922.959 and snap.recv_ts == RECV
    update = parse_depth_update(fixture("ws_depth_update.json"), "BTC-USDT", RECV)
    assert (update.first_id, update.final_id, update.prev_final_id) == (157, 160, 149)
    assert update.delta.bids == ((D("0.0024"), D("10")),) and update.delta.asks == ((D("0.0026"), D("100")),)
    assert update.delta.update_id == 160


def test_agg_trade_aggressor() -> None:
    trade = parse_trade(fixture("ws_agg_trade.json"), "BTC-USDT", RECV)
    assert trade.trade_id == "5933014" and trade.price == D("0.001") and trade.amount == D("100")
    assert trade.aggressor is Side.SELL  # buyer was the maker
    assert trade.ts == 123456.785


def test_mark_price_to_funding_info() -> None:
    event = parse_mark_price(fixture("ws_mark_price_update.json"), "BTC-USDT", RECV)
    info = event.info
    assert (info.mark_price, info.index_price, info.rate) == (D("11794.15000000"), D("11784.62659091"),
                                                               D("0.00038167"))
    assert info.next_funding_ts == 1562306400.0 and event.ts == 1562305380.0
    seeded = parse_premium_index(fixture("rest_premium_index.json"), "BTC-USDT", RECV).info
    assert seeded.rate == D("0.00038246") and seeded.next_funding_ts == 1597392000.0


def otu(name: str) -> list:
    return parse_order_trade_update(fixture(name), markets, RECV)


def test_order_update_new() -> None:
    [event] = otu("ws_order_trade_update_new.json")
    assert event == OrderAccepted(ClientOrderId("pmm-1a2b3c4d-17"), "8886774", "BTC-USDT", 1568879465.651, RECV)
    [doc] = otu("ws_order_trade_update_new_trailing_stop.json")
    assert isinstance(doc, OrderAccepted) and doc.client_id == "TEST"


def test_order_update_partial_fill() -> None:
    [fill] = otu("ws_order_trade_update_partial_fill.json")
    assert isinstance(fill, OrderFilled)
    assert (fill.trade_id, fill.price, fill.amount, fill.remaining) == ("1234567", D("25000"), D("0.004"), D("0.006"))
    assert (fill.fee, fill.fee_asset, fill.liquidity) == (D("0.02000000"), "USDT", Liquidity.MAKER)
    assert fill.side is Side.BUY and fill.order_type is OrderType.LIMIT and fill.position_side is PositionSide.BOTH
    assert fill.ts == 1568879465.7


def test_order_update_last_fill_leaves_nothing() -> None:
    [fill] = otu("ws_order_trade_update_filled.json")
    assert isinstance(fill, OrderFilled) and fill.remaining == 0 and fill.realized_pnl == D("1.25000000")


def test_order_update_hedge_taker_fill() -> None:
    [fill] = otu("ws_order_trade_update_hedge_fill.json")
    assert fill.side is Side.SELL and fill.position_side is PositionSide.SHORT and fill.liquidity is Liquidity.TAKER


def test_order_update_cancel_and_expiry() -> None:
    [cancelled] = otu("ws_order_trade_update_canceled.json")
    assert isinstance(cancelled, OrderCancelled) and cancelled.exchange_id == "8886774"
    [rejected] = otu("ws_order_trade_update_gtx_expired.json")
    assert isinstance(rejected, OrderRejected) and rejected.code == "-5022"
    [ioc] = otu("ws_order_trade_update_ioc_expired.json")
    assert isinstance(ioc, OrderCancelled)


@pytest.mark.parametrize(("field", "value"), [("X", "PENDING_NEW_X"), ("S", "HOLD"), ("x", "REPLACED"),
                                              ("ps", "MIDDLE")])
def test_unmapped_order_values_raise(field: str, value: str) -> None:
    payload = fixture("ws_order_trade_update_partial_fill.json")
    payload["o"][field] = value
    with pytest.raises(UnmappedValue):
        parse_order_trade_update(payload, markets, RECV)


def test_account_update_positions_from_docs() -> None:
    update = parse_account_update(fixture("ws_account_update_order.json"), markets, RECV, lambda m: 7)
    assert update.reason == "ORDER" and not update.is_funding_fee
    by_side = [(u.side, u.position) for u in update.positions]
    # BOTH with pa 0 closes both sides; hedge rows give LONG 20 and SHORT 10 (positive amounts).
    assert by_side[0] == (PositionSide.LONG, None) and by_side[1] == (PositionSide.SHORT, None)
    long_pos, short_pos = by_side[2][1], by_side[3][1]
    assert long_pos is not None and short_pos is not None
    assert (long_pos.side, long_pos.amount, long_pos.entry_price) == (PositionSide.LONG, D("20"), D("6563.66500"))
    assert (short_pos.side, short_pos.amount, short_pos.unrealized_pnl) == (PositionSide.SHORT, D("10"),
                                                                             D("-1423.15600"))
    assert long_pos.margin_mode is MarginMode.ISOLATED and long_pos.leverage == 7
    assert long_pos.margin == D("13200.70726908")
    assert [b.asset for b in update.balances] == ["USDT", "BUSD"]


def test_account_update_one_way_short() -> None:
    update = parse_account_update(fixture("ws_account_update_oneway_short.json"), markets, RECV, lambda m: 3)
    [short, long_closed] = update.positions
    assert short.side is PositionSide.SHORT and short.position is not None and short.position.amount == D("0.010")
    assert short.position.margin_mode is MarginMode.CROSS
    assert long_closed.side is PositionSide.LONG and long_closed.position is None


def test_account_update_funding_fee() -> None:
    cross = parse_account_update(fixture("ws_account_update_funding_fee.json"), markets, RECV, lambda m: 1)
    assert cross.is_funding_fee and cross.positions == ()
    assert cross.balances[0].change == D("-0.03781560")
    isolated = parse_account_update(fixture("ws_account_update_funding_fee_isolated.json"), markets, RECV,
                                    lambda m: 1)
    assert isolated.is_funding_fee and isolated.positions[0].position.amount == D("0.020")  # type: ignore[union-attr]


def test_balance_events_keep_available_consistent() -> None:
    update = parse_account_update(fixture("ws_account_update_funding_fee.json"), markets, RECV, lambda m: 1)
    previous = {"USDT": Balance("USDT", D("122624.12345678"), D("100"), D("5"), D("1"))}
    [event] = parse_balance_events(update, previous, RECV)
    assert event.balance.total == D("122624.08564118")
    assert event.balance.available == D("100") + (D("122624.08564118") - D("122624.12345678"))
    assert event.balance.margin_in_use == D("5")
    [fresh] = parse_balance_events(update, {}, RECV)
    assert fresh.balance.available == D("100.08564118")


def test_position_risk_one_way_and_hedge() -> None:
    [ada] = parse_position_risk(fixture("rest_position_risk_oneway.json"), SymbolMap())
    assert (ada.market, ada.side, ada.amount) == ("ADA-USDT", PositionSide.LONG, D("30"))
    assert ada.leverage == 20  # v3 has no leverage: notional / initial margin
    assert ada.mark_price == D("0.41047590") and ada.liquidation_price is None
    hedge = parse_position_risk(fixture("rest_position_risk_hedge.json"), SymbolMap(), {"COMP-USDT": 5},
                                {"COMP-USDT": MarginMode.ISOLATED})
    assert [(p.market, p.side, p.amount, p.leverage) for p in hedge] == [
        ("ADA-USDT", PositionSide.LONG, D("30"), 20), ("COMP-USDT", PositionSide.SHORT, D("1.000"), 5)]
    assert hedge[1].margin_mode is MarginMode.ISOLATED and hedge[1].liquidation_price == D("2260.56757210")
    [v2] = parse_position_risk(fixture("rest_position_risk_v2_hedge.json"), markets)
    assert (v2.side, v2.amount, v2.leverage, v2.margin_mode) == (PositionSide.LONG, D("0.001"), 4, MarginMode.CROSS)


def test_balances() -> None:
    usdt, usdc = parse_account_balances(fixture("rest_account_v3.json"))
    assert (usdt.asset, usdt.total, usdt.available) == ("USDT", D("23.72469206"), D("23.72469206"))
    assert usdc.available == D("126.72469206")
    [b] = parse_balances(fixture("rest_balance_v3.json"))
    assert (b.total, b.available) == (D("122607.35137903"), D("23.72469206"))


def test_open_orders() -> None:
    [report] = parse_open_orders(fixture("rest_open_orders.json"), markets)
    assert (report.client_id, report.exchange_id, report.side) == ("abc", "1917641", Side.BUY)
    assert report.status is OrderStatus.OPEN and report.amount == D("0.40") and report.price is None
    assert report.position_side is PositionSide.SHORT and report.created_ts == 1579276756.075
    assert report.order_type is OrderType.MARKET  # a trailing stop is described, never placed


def test_user_trades_need_the_client_id_from_the_caller() -> None:
    [fill] = parse_user_trades(fixture("rest_user_trades.json"), markets, lambda oid: ClientOrderId(f"c-{oid}"))
    assert (fill.trade_id, fill.client_id, fill.exchange_id) == ("698759", "c-25851813", "25851813")
    assert (fill.price, fill.amount, fill.fee, fill.realized_pnl) == (D("7819.01"), D("0.002"), D("0.07819010"),
                                                                      D("-0.91539999"))
    assert fill.liquidity is Liquidity.TAKER and fill.position_side is PositionSide.SHORT
    assert fill.ts == 1569514978.02


def test_funding_income_with_rate_history() -> None:
    rates = parse_funding_rates(fixture("rest_funding_rate_history.json"))
    assert rates[1570636800000] == (D("0.00010000"), D("34287.54619963"))
    rows = fixture("rest_income.json") + fixture("rest_income_funding_fee.json")
    [payment] = parse_funding_income(rows, markets, rates)
    assert (payment.market, payment.funding_time_ms, payment.amount) == ("BTC-USDT", 1570636800000,
                                                                          D("-0.00342875"))
    assert (payment.rate, payment.mark_price, payment.asset) == (D("0.00010000"), D("34287.54619963"), "USDT")
    assert payment.position_amount == D("0.001")  # a long paid a positive rate
    [bare] = parse_funding_income(fixture("rest_income_funding_fee.json"), markets, {})
    assert bare.rate == 0 and bare.position_amount == 0


def test_small_payloads() -> None:
    assert parse_commission_rate(fixture("rest_commission_rate.json")) == (D("0.0002"), D("0.0004"))
    assert parse_listen_key(fixture("rest_listen_key.json")).startswith("pqia91")
