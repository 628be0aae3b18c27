"""Parsing against payload shapes from Bybit's documentation (fixtures/README.md says which)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_client_bybit_fakes import fixture

from pmm.connectors.bybit_perpetual.parse import (
    SymbolMap,
    UnmappedValue,
    dec,
    dec_or_zero,
    parse_fee_rates,
    parse_fill_reports,
    parse_funding_interval_s,
    parse_funding_settlements,
    parse_open_orders,
    parse_positions,
    parse_rest_ticker,
    parse_ticker,
    parse_trading_rules,
    parse_wallet_balances,
    to_symbol,
)
from pmm.connectors.bybit_perpetual.parse_events import (
    merge_ticker,
    parse_execution,
    parse_order_update,
    parse_orderbook,
    parse_position_update,
    parse_public_trades,
    parse_wallet_update,
)
from pmm.core.events import OrderAccepted, OrderCancelled, OrderRejected
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
markets = SymbolMap(["BTC-USDT", "XRP-USDT", "ETH-USDT"])
RECV = 1.5


def result(name: str) -> dict:
    return fixture(name)["result"]


def test_symbols_round_trip() -> None:
    assert to_symbol("BTC-USDT") == "BTCUSDT"
    assert markets("BTCUSDT") == "BTC-USDT"
    assert SymbolMap()("ETHUSDC") == "ETH-USDC"
    assert SymbolMap()("1000PEPEUSDT") == "1000PEPE-USDT"
    assert SymbolMap()("ETHPERP") == "ETH-PERP"


def test_decimals_only_from_strings() -> None:
    assert dec("0.1") == D("0.1")
    assert dec(3) == D(3)
    assert dec_or_zero("") == 0 and dec_or_zero(None) == 0
    with pytest.raises(TypeError):
        dec(0.1)
    with pytest.raises(TypeError):
        dec(True)


def test_instruments_info_to_trading_rules() -> None:
    rules = parse_trading_rules(result("rest_instruments_info.json"), "BTC-USDT")
    assert (rules.tick_size, rules.step_size, rules.min_size, rules.min_notional, rules.max_leverage) == \
        (D("0.10"), D("0.001"), D("0.001"), D("5"), 100)
    assert (rules.base, rules.quote, rules.market) == ("BTC", "USDT", "BTC-USDT")
    assert parse_funding_interval_s(result("rest_instruments_info.json"), "BTC-USDT") == 8 * 3600.0
    with pytest.raises(ConfigError, match="ETHUSDT"):
        parse_trading_rules(result("rest_instruments_info.json"), "ETH-USDT")
    with pytest.raises(ConfigError, match="PreLaunch"):
        parse_trading_rules(result("rest_instruments_info_prelaunch.json"), "BIO-USDT")


def test_orderbook_snapshot_delta_and_restart() -> None:
    snap = parse_orderbook(fixture("ws_orderbook_snapshot.json"), "BTC-USDT", RECV)
    assert snap.is_snapshot and snap.update_id == 18521288 and snap.seq == 7961638724
    assert snap.bids == ((D("16493.50"), D("0.006")), (D("16493.00"), D("0.100")))
    assert snap.asks[0] == (D("16611.00"), D("0.029"))
    assert snap.ts == 1672304484.978 and snap.snapshot().update_id == 18521288
    delta = parse_orderbook(fixture("ws_orderbook_delta.json"), "BTC-USDT", RECV)
    assert not delta.is_snapshot and delta.update_id == 18521289
    assert delta.delta().bids[0] == (D("16493.50"), D("0"))
    restart = parse_orderbook(fixture("ws_orderbook_restart_u1.json"), "BTC-USDT", RECV)
    assert restart.is_snapshot and restart.update_id == 1  # `u` = 1: a fresh snapshot, whatever `type` says
    with pytest.raises(UnmappedValue):
        parse_orderbook({**fixture("ws_orderbook_delta.json"), "type": "partial"}, "BTC-USDT", RECV)


def test_tickers_to_funding_info_with_delta_merge() -> None:
    snapshot = fixture("ws_ticker_snapshot.json")
    state = merge_ticker(None, snapshot)
    event = parse_ticker(state, "BTC-USDT", 1673272861.686, RECV, 8 * 3600.0)
    assert event is not None
    info = event.info
    assert (info.mark_price, info.index_price, info.rate) == (D("17217.33"), D("17227.36"), D("-0.000212"))
    assert info.next_funding_ts == 1673280000.0  # nextFundingTime ms -> s
    assert info.interval_s == 8 * 3600.0
    state = merge_ticker(state, fixture("ws_ticker_delta.json"))
    merged = parse_ticker(state, "BTC-USDT", 1673272861.786, RECV, 8 * 3600.0)
    assert merged is not None
    assert merged.info.mark_price == D("17220.10") and merged.info.rate == D("-0.000212")
    assert merged.info.next_funding_ts == 1673280000.0
    # A delta before any snapshot lacks fields: no funding info yet rather than a guess.
    assert parse_ticker(merge_ticker(None, fixture("ws_ticker_delta.json")), "BTC-USDT", 1.0, RECV, 1.0) is None
    hourly = parse_ticker({**state, "fundingIntervalHour": "4"}, "BTC-USDT", 1.0, RECV, 8 * 3600.0)
    assert hourly is not None and hourly.info.interval_s == 4 * 3600.0


def test_rest_tickers() -> None:
    event = parse_rest_ticker(result("rest_tickers_inverse.json"), "BTC-USD", RECV, 8 * 3600.0)
    assert event is not None
    assert event.info.mark_price == D("16596.00") and event.info.next_funding_ts == 1672387200.0
    assert parse_rest_ticker(result("rest_tickers_inverse.json"), "ETH-USD", RECV, 1.0) is None


def test_public_trade() -> None:
    (trade,) = parse_public_trades(fixture("ws_public_trade.json"), markets, RECV)
    assert trade.market == "BTC-USDT" and trade.aggressor is Side.BUY
    assert (trade.price, trade.amount, trade.trade_id) == (D("16578.50"), D("0.001"),
                                                           "20f43950-d8dd-5b31-9112-a178eb6023af")
    assert trade.ts == 1672304486.865


def _order(name: str) -> dict:
    return fixture(name)["data"][0]


def test_order_new_is_accepted() -> None:
    (event,) = parse_order_update(_order("ws_order_new.json"), markets, RECV)
    assert isinstance(event, OrderAccepted)
    assert (event.client_id, event.exchange_id, event.market) == ("pmm-1a2b3c4d-7", "1321003749386327552", "BTC-USDT")
    assert event.ts == 1672364262.457 and event.recv_ts == RECV


def test_order_cancelled_and_partially_filled_then_cancelled() -> None:
    (event,) = parse_order_update(_order("ws_order_cancelled.json"), markets, RECV)
    assert isinstance(event, OrderCancelled)
    (event,) = parse_order_update(_order("ws_order_partially_filled_cancelled.json"), markets, RECV)
    assert isinstance(event, OrderCancelled)


def test_post_only_that_would_cross_is_a_rejection() -> None:
    (event,) = parse_order_update(_order("ws_order_post_only_rejected.json"), markets, RECV)
    assert isinstance(event, OrderRejected)
    assert event.code == "EC_PostOnlyWillTakeLiquidity" and "post-only" in event.reason


def test_order_rejected_and_filled() -> None:
    (event,) = parse_order_update(_order("ws_order_rejected.json"), markets, RECV)
    assert isinstance(event, OrderRejected) and event.code == "EC_NoEnoughQtyToFill"
    assert parse_order_update(_order("ws_order_filled.json"), markets, RECV) == []  # fills: execution topic


def test_unknown_status_or_side_raises() -> None:
    with pytest.raises(UnmappedValue, match="Exploded"):
        parse_order_update(_order("ws_order_unknown_status.json"), markets, RECV)
    with pytest.raises(UnmappedValue, match="side"):
        parse_order_update({**_order("ws_order_new.json"), "side": "Up"}, markets, RECV)


def test_documented_option_order_without_link_id() -> None:
    row = _order("ws_order_option_filled.json")
    assert row["category"] == "option"  # the gateway filters by category; the parser still reads it
    assert parse_order_update(row, markets, RECV) == []


def test_execution_partial_and_final_maker_fill() -> None:
    row = fixture("ws_execution_partial_fill.json")["data"][0]
    fill = parse_execution(row, markets, RECV, position_side=PositionSide.BOTH, order_type=OrderType.LIMIT_MAKER)
    assert fill is not None
    assert (fill.client_id, fill.trade_id, fill.market, fill.side) == (
        "pmm-1a2b3c4d-7", "8a2f0f3e-2a5c-5b61-9d2e-4d6a9f1c7e01", "BTC-USDT", Side.BUY)
    assert (fill.price, fill.amount, fill.remaining) == (D("16490.00"), D("0.004"), D("0.006"))
    assert fill.fee == D("-0.0006596") and fill.fee_asset == "USDT"  # a maker rebate is a negative fee
    assert fill.liquidity is Liquidity.MAKER and fill.order_type is OrderType.LIMIT_MAKER
    assert fill.ts == 1672364300.123
    final = parse_execution(fixture("ws_execution_final_fill.json")["data"][0], markets, RECV)
    assert final is not None and final.remaining == 0 and final.order_type is OrderType.LIMIT


def test_documented_taker_execution() -> None:
    fill = parse_execution(fixture("ws_execution_taker_fill.json")["data"][0], markets, RECV)
    assert fill is not None
    assert fill.market == "XRP-USDT" and fill.side is Side.SELL and fill.liquidity is Liquidity.TAKER
    assert (fill.price, fill.amount, fill.fee, fill.remaining) == (D("0.3374"), D("25"), D("0.005061"), D("0"))
    assert fill.client_id == "bybit-f6e324ff-99c2-4e89-9739-3086e47f9381"  # no orderLinkId: stable stand-in
    assert fill.order_type is OrderType.MARKET and fill.realized_pnl == 0


def test_funding_execution_is_not_a_fill() -> None:
    assert parse_execution(fixture("ws_execution_funding.json")["data"][0], markets, RECV) is None


def _position(name: str) -> dict:
    return fixture(name)["data"][0]


def test_position_oneway_long_reports_the_short_side_closed() -> None:
    updates = parse_position_update(_position("ws_position_oneway_long.json"), markets, RECV,
                                    lambda _: MarginMode.CROSS, lambda _: 3)
    by_side = {u.side: u.position for u in updates}
    assert by_side[PositionSide.SHORT] is None
    long = by_side[PositionSide.LONG]
    assert long is not None
    assert (long.amount, long.entry_price, long.leverage, long.margin_mode) == (D("0.010"), D("16490"), 5,
                                                                                 MarginMode.CROSS)
    assert (long.liquidation_price, long.mark_price, long.unrealized_pnl, long.margin) == (
        D("13300.5"), D("16495.2"), D("0.052"), D("32.98"))
    assert updates[0].ts == 1672364301.005


def test_position_oneway_short_and_closed() -> None:
    updates = parse_position_update(_position("ws_position_oneway_short.json"), markets, RECV)
    by_side = {u.side: u.position for u in updates}
    assert by_side[PositionSide.LONG] is None
    short = by_side[PositionSide.SHORT]
    assert short is not None and short.amount == D("0.020") and short.signed_amount == D("-0.020")
    closed = parse_position_update(_position("ws_position_oneway_closed.json"), markets, RECV)
    assert {(u.side, u.position) for u in closed} == {(PositionSide.LONG, None), (PositionSide.SHORT, None)}


def test_position_hedge_sides() -> None:
    (update,) = parse_position_update(_position("ws_position_hedge.json"), markets, RECV)
    assert update.side is PositionSide.SHORT and update.position is None  # positionIdx 2, size 0
    (update,) = parse_position_update(_position("ws_position_hedge_long.json"), markets, RECV)
    assert update.side is PositionSide.LONG and update.position is not None and update.position.amount == D("0.010")
    with pytest.raises(UnmappedValue, match="positionIdx"):
        parse_position_update(_position("ws_position_bad_idx.json"), markets, RECV)
    with pytest.raises(UnmappedValue, match="side"):
        parse_position_update({**_position("ws_position_oneway_long.json"), "side": ""}, markets, RECV)


def test_rest_position_list() -> None:
    (position,) = parse_positions(result("rest_position_list.json"), SymbolMap(), lambda _: MarginMode.ISOLATED)
    assert position.market == "BTC-USD" and position.side is PositionSide.SHORT
    assert (position.amount, position.entry_price, position.leverage) == (D("300"), D("27464.50441675"), 10)
    assert position.liquidation_price is None and position.margin_mode is MarginMode.ISOLATED
    assert position.unrealized_pnl == D("-0.00029413")


def test_wallet_balance_rest_and_stream() -> None:
    (btc,) = parse_wallet_balances(result("rest_wallet_balance.json")["list"])
    assert btc == Balance("BTC", D("0.805994"), D("0.805994"), D("0"), D("0"))
    events = parse_wallet_update(fixture("ws_wallet.json"), RECV)
    usdt = next(e.balance for e in events if e.balance.asset == "USDT")
    assert usdt.total == D("106.03036732") and usdt.unrealized_pnl == D("-101.1")
    assert usdt.margin_in_use == D("7539.624") + D("1179.1604584")
    assert usdt.available == 0  # equity 4.93 is below the margin in use
    assert events[0].ts == 1690873065.683


def test_open_orders_hedge_buy_side() -> None:
    (report,) = parse_open_orders(result("rest_open_orders.json"), markets)
    assert report.client_id == ClientOrderId("test-000005") and report.market == "ETH-USDT"
    assert report.position_side is PositionSide.LONG  # positionIdx 1
    assert (report.price, report.amount, report.filled) == (D("1600.00"), D("0.10"), D("0.00"))
    assert report.status is OrderStatus.OPEN and report.order_type is OrderType.LIMIT
    assert report.created_ts == 1684738540.559 and report.reduce_only is False


def test_execution_list_to_fill_reports() -> None:
    (fill,) = parse_fill_reports(result("rest_execution_list.json")["list"], SymbolMap())
    assert fill.market == "ETH-PERP" and fill.trade_id == "e0cbe81d-0f18-5866-9415-cf319b5dab3b"
    assert (fill.price, fill.amount, fill.fee) == (D("1190.15"), D("0.1"), D("0.071409"))
    assert fill.liquidity is Liquidity.TAKER and fill.ts == 1672282722.429
    funding_row = {**result("rest_execution_list.json")["list"][0], "execType": "Funding"}
    assert parse_fill_reports([funding_row], SymbolMap()) == []


def test_transaction_log_settlement_to_funding_payment() -> None:
    rows = result("rest_transaction_log_settlement.json")["list"]
    (payment,) = parse_funding_settlements(rows, markets, "XRPUSDT")  # the two TRADE rows are not funding
    assert payment.market == "XRP-USDT" and payment.funding_time_ms == 1672128000000
    assert payment.amount == D("-0.003676")  # negative: paid
    assert (payment.rate, payment.position_amount, payment.mark_price, payment.asset) == (
        D("0.0001"), D("100"), D("0.3676"), "USDT")
    short = {**rows[0], "side": "Sell", "size": "-100", "feeRate": "-0.0001", "funding": "0.003676"}
    (received,) = parse_funding_settlements([short], markets)
    assert received.rate == D("0.0001") and received.position_amount == D("-100") and received.amount > 0
    assert parse_funding_settlements(rows, markets, "BTCUSDT") == []


def test_fee_rate() -> None:
    assert parse_fee_rates(result("rest_fee_rate.json"), "ETHUSDT") == (D("0.0001"), D("0.0006"))
