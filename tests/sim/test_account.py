"""Positions and money: FIFO realized PnL, hedge mode, reduce-only, funding, liquidation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmm.core.events import (
    BalanceUpdated,
    FundingInfoUpdated,
    FundingPaymentReceived,
    OrderCancelled,
    OrderFilled,
    PositionUpdated,
)
from pmm.core.model import Liquidity, MarginMode, OrderType, PositionMode, PositionSide, Side
from pmm.sim.exchange import SimExchange
from pmm.sim.num import round8

from .simkit import START, Recorder, book_record, order, replay_market, settings, static_market, write_replay

D = Decimal
BIDS = [("99.9", "10")]
ASKS = [("100.1", "10")]


def market_order(cid: str, side: Side, amount: str, **kwargs):
    return order(cid, side, amount, order_type=OrderType.MARKET, **kwargs)


def test_fifo_realized_pnl_on_partial_closes_and_a_flip(tmp_path):
    path = write_replay(
        tmp_path / "prices.jsonl",
        [
            book_record(0, "99.9", "100.0"),
            book_record(10, "109.9", "110.0"),
            book_record(20, "120.0", "120.1"),
            book_record(30, "90.0", "90.1"),
            book_record(40, "79.9", "80.0"),
        ],
    )
    ex = SimExchange(settings(replay_market(path)))
    rec = Recorder.on(ex)
    steps = [
        (0, market_order("o1", Side.BUY, "1")),  # lot 1 @ 100
        (10, market_order("o2", Side.BUY, "2")),  # lot 2 @ 110
        (20, market_order("o3", Side.SELL, "1.5")),  # closes 1 @100 (+20) and 0.5 @110 (+5)
        (30, market_order("o4", Side.SELL, "2.5")),  # closes 1.5 @110 (-30), opens a 1 short @ 90
        (40, market_order("o5", Side.BUY, "0.4")),  # closes 0.4 of the short @ 80 (+4)
    ]
    entries = []
    for ts, request in steps:
        ex.advance_to(START + ts)
        ex.submit_order(request)
        ex.advance_to(START + ts)
        entries.append([(p.side, p.amount, p.entry_price) for p in ex.positions()])
    pnl = [f.realized_pnl for f in rec.fills()]
    assert pnl == [D("0"), D("0"), D("25.0"), D("-30.0"), D("4.0")]
    assert entries[1] == [(PositionSide.LONG, D("3"), D("320.0") / 3)]
    assert entries[2] == [(PositionSide.LONG, D("1.5"), D("110"))]
    assert entries[3] == [(PositionSide.SHORT, D("1"), D("90"))]
    assert entries[4] == [(PositionSide.SHORT, D("0.6"), D("90"))]
    fees = D("0.05") + D("0.11") + D("0.09") + D("0.1125") + D("0.016")  # 0.05% of each notional
    assert sum(f.fee for f in rec.fills()) == fees
    (usdt,) = ex.balances()
    assert usdt.total == D("10000") + D("25") - D("30") + D("4") - fees
    # The flip emits the closed long (None) and the new short.
    flip = [e for e in rec.of(PositionUpdated) if e.ts == START + 30]
    assert [(e.side, e.position is None) for e in flip] == [(PositionSide.LONG, True), (PositionSide.SHORT, False)]


def test_fill_is_followed_by_position_and_balance_updates():
    ex = SimExchange(settings(static_market(BIDS, ASKS)))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    rec.clear()
    ex.submit_order(market_order("m", Side.BUY, "2"))
    ex.advance_to(START)
    kinds = [type(e).__name__ for e in rec.events]
    assert kinds == ["OrderAccepted", "OrderFilled", "PositionUpdated", "BalanceUpdated"]
    balance = rec.of(BalanceUpdated)[0].balance
    assert balance.total == D("10000") - D("0.10010000")
    position = rec.of(PositionUpdated)[0].position
    assert position is not None and position.mark_price == D("100.0")
    assert position.unrealized_pnl == D("-0.2")  # 2 * (100.0 - 100.1)
    assert balance.unrealized_pnl == D("-0.2")


def test_hedge_mode_position_sides():
    ex = SimExchange(settings(static_market(BIDS, ASKS)))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    ex.set_position_mode(PositionMode.HEDGE)
    ex.submit_order(market_order("open-long", Side.BUY, "1", position_side=PositionSide.LONG))
    ex.submit_order(market_order("open-short", Side.SELL, "2", position_side=PositionSide.SHORT))
    ex.advance_to(START)
    sides = {p.side: p.amount for p in ex.positions()}
    assert sides == {PositionSide.LONG: D("1"), PositionSide.SHORT: D("2")}
    ex.submit_order(market_order("close-long", Side.SELL, "0.4", position_side=PositionSide.LONG))
    ex.submit_order(market_order("both", Side.BUY, "1"))
    ex.submit_order(market_order("ro-open", Side.BUY, "1", position_side=PositionSide.LONG, reduce_only=True))
    ex.advance_to(START)
    (close,) = rec.fills("close-long")
    assert close.realized_pnl == (D("99.9") - D("100.1")) * D("0.4")
    assert close.position_side is PositionSide.LONG
    assert rec.rejection("both").code == "position_side_mismatch"
    assert rec.rejection("ro-open").code == "reduce_only_rejected"
    assert {p.side: p.amount for p in ex.positions()} == {PositionSide.LONG: D("0.6"), PositionSide.SHORT: D("2")}
    # Closing more than the position is clipped to it; the rest is cancelled.
    ex.submit_order(market_order("close-short", Side.BUY, "5", position_side=PositionSide.SHORT))
    ex.advance_to(START)
    assert [f.amount for f in rec.fills("close-short")] == [D("2")]
    assert rec.fills("close-short")[0].realized_pnl == (D("99.9") - D("100.1")) * 2
    assert "close-short" in [e.client_id for e in rec.of(OrderCancelled)]
    closed = [e for e in rec.of(PositionUpdated) if e.side is PositionSide.SHORT][-1]
    assert closed.position is None
    assert [p.side for p in ex.positions()] == [PositionSide.LONG]


def test_reduce_only_is_clipped_at_fill_time_and_stale_ones_are_cancelled():
    ex = SimExchange(settings(static_market(BIDS, ASKS)))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    ex.submit_order(market_order("long", Side.BUY, "1"))
    ex.submit_order(order("tp", Side.SELL, "0.4", "105", reduce_only=True))
    ex.submit_order(order("grow", Side.BUY, "1", "99", reduce_only=True))
    ex.advance_to(START)
    assert rec.rejection("grow").code == "reduce_only_rejected"
    (usdt,) = ex.balances()
    assert usdt.margin_in_use == round8(D("100.0") / 20)  # the reduce-only tp reserves nothing
    ex.submit_order(market_order("exit", Side.SELL, "3", reduce_only=True))
    ex.advance_to(START)
    assert [(f.amount, f.remaining) for f in rec.fills("exit")] == [(D("1"), D("2"))]
    assert sorted(e.client_id for e in rec.of(OrderCancelled)) == ["exit", "tp"]
    assert ex.positions() == [] and ex.open_orders() == []


@pytest.mark.parametrize(
    ("side", "rate", "expected"),
    [
        (Side.BUY, "0.0001", D("-0.02")),  # long pays a positive rate
        (Side.SELL, "0.0001", D("0.02")),  # short receives it
        (Side.BUY, "-0.00025", D("0.05")),  # long receives a negative rate
    ],
)
def test_funding_sign_and_amount(side, rate, expected):
    ex = SimExchange(settings(static_market(BIDS, ASKS, mark="100", rate=rate), funding_interval_s=3600.0))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    ex.submit_order(market_order("m", side, "2"))
    ex.advance_to(START + 1)
    (before,) = ex.balances()
    assert ex.funding_info("BTC-USDT").next_funding_ts == START + 3600
    ex.advance_to(START + 3600)
    (payment,) = rec.of(FundingPaymentReceived)
    assert payment.amount == expected
    assert payment.funding_time_ms == int(START + 3600) * 1000
    assert payment.rate == D(rate)
    assert payment.mark_price == D("100")
    assert payment.position_amount == (D("2") if side is Side.BUY else D("-2"))
    (after,) = ex.balances()
    assert after.total - before.total == expected
    (report,) = ex.funding_payments_since(START, "BTC-USDT")
    assert (report.amount, report.funding_time_ms, report.asset) == (expected, payment.funding_time_ms, "USDT")
    assert ex.funding_payments_since(START + 3601) == []
    info = [e.info for e in rec.of(FundingInfoUpdated)][-1]
    assert info.next_funding_ts == START + 7200
    # The next settlement pays again.
    ex.advance_to(START + 7200)
    assert len(rec.of(FundingPaymentReceived)) == 2


def test_funding_amount_is_rounded_to_8_decimals():
    ex = SimExchange(settings(static_market(BIDS, ASKS, mark="100.03", rate="0.000123"), funding_interval_s=3600.0))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    ex.submit_order(market_order("m", Side.BUY, "0.07"))
    ex.advance_to(START + 3600)
    (payment,) = rec.of(FundingPaymentReceived)
    assert payment.amount == D("-0.00086126")  # 0.07 * 100.03 * 0.000123 = 0.000861258...


def _mark_file(tmp_path, marks: list[tuple[float, str]]):
    records = [book_record(0, "99.9", "100.0")]
    records += [{"type": "mark", "ts": ts, "mark_price": mark} for ts, mark in marks]
    return write_replay(tmp_path / "marks.jsonl", records)


def test_cross_liquidation_closes_at_mark_and_cancels_orders(tmp_path):
    path = _mark_file(tmp_path, [(10, "90"), (20, "81"), (30, "80")])
    ex = SimExchange(settings(replay_market(path), usdt="100"))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    ex.set_leverage("BTC-USDT", 10)
    ex.submit_order(market_order("m", Side.BUY, "5"))  # 500 notional, fee 0.25
    ex.submit_order(order("bid", Side.BUY, "0.1", "95"))
    ex.advance_to(START + 20)
    (pos,) = ex.positions()
    # W = 99.75; long: (C - W) / (q (1 - m)) = (500 - 99.75) / (5 * 0.995)
    assert pos.liquidation_price == round8(D("400.25") / D("4.975"))
    assert rec.fills("liquidation-1") == []
    ex.advance_to(START + 30)
    (liq,) = rec.fills("liquidation-1")
    assert (liq.side, liq.price, liq.amount, liq.remaining) == (Side.SELL, D("80"), D("5"), D("0"))
    assert liq.liquidity is Liquidity.TAKER and liq.order_type is OrderType.MARKET
    assert liq.realized_pnl == D("-100")
    assert liq.fee == D("0.2")
    assert "bid" in [e.client_id for e in rec.of(OrderCancelled)]
    assert ex.positions() == [] and ex.open_orders() == []
    (usdt,) = ex.balances()
    assert usdt.total == D("100") - D("0.25") - D("100") - D("0.2")


def test_isolated_liquidation_leaves_other_positions_alone(tmp_path):
    path = _mark_file(tmp_path, [(10, "91"), (20, "90.4")])
    eth = static_market([("1999", "10")], [("2000", "10")], market="ETH-USDT")
    ex = SimExchange(settings(replay_market(path), eth, usdt="1000"))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    ex.set_margin_mode("BTC-USDT", MarginMode.ISOLATED)
    ex.set_leverage("BTC-USDT", 10)
    ex.set_leverage("ETH-USDT", 10)
    ex.submit_order(market_order("btc", Side.BUY, "5"))
    ex.submit_order(market_order("eth", Side.BUY, "1", market="ETH-USDT"))
    ex.advance_to(START + 10)
    btc = next(p for p in ex.positions() if p.market == "BTC-USDT")
    assert btc.margin == D("50") and btc.margin_mode is MarginMode.ISOLATED
    assert btc.liquidation_price == round8(D("450") / D("4.975"))  # W = 50: (500 - 50) / (5 * 0.995)
    assert rec.fills("liquidation-1") == []
    ex.advance_to(START + 20)
    (liq,) = rec.fills("liquidation-1")
    assert (liq.market, liq.price, liq.realized_pnl) == ("BTC-USDT", D("90.4"), D("-48.0"))
    assert [(p.market, p.amount) for p in ex.positions()] == [("ETH-USDT", D("1"))]


def test_position_updates_follow_funding(tmp_path):
    ex = SimExchange(settings(static_market(BIDS, ASKS, mark="100", rate="0.001"), funding_interval_s=3600.0))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    ex.set_margin_mode("BTC-USDT", MarginMode.ISOLATED)
    ex.set_leverage("BTC-USDT", 5)
    ex.submit_order(market_order("m", Side.BUY, "1"))
    ex.advance_to(START + 1)
    rec.clear()
    ex.advance_to(START + 3600)
    kinds = [type(e).__name__ for e in rec.events if not isinstance(e, FundingInfoUpdated)]
    assert kinds[:3] == ["FundingPaymentReceived", "PositionUpdated", "BalanceUpdated"]
    (pos,) = ex.positions()
    assert pos.margin == round8(D("100.1") / 5) - D("0.1")  # isolated funding comes out of the margin
    fills = rec.of(OrderFilled)
    assert fills == []
