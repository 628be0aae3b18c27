"""The performance report on a hand-built history, and the ledger check.

Scenario (BTC-USDT, all fees in USDT unless said):
    t1 buy  0.010 @ 65000  fee 0.13               -> long 0.010
    t2 buy  0.020 @ 64000  fee 0.256              -> long 0.030 @ 1930/0.03 = 64333.33...
    t3 sell 0.015 @ 66000  fee 0.495, realized 25 -> partial close: (66000 - 64333.33..) * 0.015 = 25
    t4 sell 0.005 @ 65800  fee 0.001 BNB, realized 7.33333333 (as the venue reports it)
    funding: -0.09825 (paid, long pays at +0.0001), +0.04875 (received at -0.00005)
    last snapshot: long 0.010, mark 65200, uPnL 8.66666667
By hand:
    buy volume 0.030 / 1930, sell volume 0.020 / 1319 (990 + 329); avg buy 64333.33.., avg sell 65950
    realized 32.33333333; fees USDT 0.881, BNB 0.001 (= 0.6 USDT at 600)
    funding paid 0.09825, received 0.04875, net -0.0495
    net = 32.33333333 - 1.481 - 0.0495 + 8.66666667 = 39.4695 (40.0695 without a BNB price)
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from pmm.core.model import MarginMode, PositionSide, Side
from pmm.store.performance import infer_quote_asset, ledger_difference, market_performance, performance_report
from pmm.store.records import PositionSnapshot

D = Decimal
VENUE = "sim_perpetual"


@pytest.fixture
def history(make_fill, make_funding):  # type: ignore[no-untyped-def]
    fills = [
        make_fill("t1", side=Side.BUY, price="65000", amount="0.010", fee="0.13", ts=1.0),
        make_fill("t2", side=Side.BUY, price="64000", amount="0.020", fee="0.256", ts=2.0),
        make_fill("t3", side=Side.SELL, price="66000", amount="0.015", fee="0.495", realized="25", ts=3.0),
        make_fill("t4", side=Side.SELL, price="65800", amount="0.005", fee="0.001", fee_asset="BNB",
                  realized="7.33333333", ts=4.0),
    ]  # fmt: skip
    funding = [
        make_funding(5000, amount="-0.09825", rate="0.0001", position_amount="0.015", mark_price="65500"),
        make_funding(6000, amount="0.04875", rate="-0.00005", position_amount="0.015", mark_price="65000"),
    ]
    positions = [
        PositionSnapshot(run_id="run1", venue=VENUE, market="BTC-USDT", side=PositionSide.LONG, amount=D("0.030"),
                         entry_price=D("64333.33333333"), leverage=5, margin_mode=MarginMode.CROSS,
                         unrealized_pnl=D("20"), liquidation_price=None, mark_price=D("65000"), ts=2.5),
        PositionSnapshot(run_id="run1", venue=VENUE, market="BTC-USDT", side=PositionSide.LONG, amount=D("0.010"),
                         entry_price=D("64333.33333333"), leverage=5, margin_mode=MarginMode.CROSS,
                         unrealized_pnl=D("8.66666667"), liquidation_price=D("52000"), mark_price=D("65200"), ts=7.0),
    ]  # fmt: skip
    return fills, funding, positions


def test_market_performance_by_hand(history) -> None:  # type: ignore[no-untyped-def]
    fills, funding, positions = history
    p = market_performance(VENUE, "BTC-USDT", fills, funding, positions, prices={"BNB": D("600")})
    assert (p.fills, p.buys, p.sells) == (4, 2, 2)
    assert p.quote_asset == "USDT"
    assert (p.buy_volume_base, p.buy_volume_quote) == (D("0.030"), D("1930"))
    assert (p.sell_volume_base, p.sell_volume_quote) == (D("0.020"), D("1319"))
    assert p.avg_buy_price == D(1930) / D("0.030")
    assert p.avg_sell_price == D("65950")
    assert p.realized_pnl == D("32.33333333")
    assert p.fees_by_asset == {"BNB": D("0.001"), "USDT": D("0.881")}
    assert p.fees_in_quote == D("1.481") and p.unpriced_assets == ()
    assert (p.funding_payments, p.funding_paid, p.funding_received) == (2, D("0.09825"), D("0.04875"))
    assert p.funding_net == D("-0.0495")
    assert p.position == D("0.010") and p.mark_price == D("65200")
    assert p.unrealized_pnl == D("8.66666667")
    assert p.net_pnl == D("39.4695")
    assert (p.start_ts, p.end_ts) == (1.0, 6.0)


def test_unpriced_fee_asset_is_reported_not_valued(history) -> None:  # type: ignore[no-untyped-def]
    fills, funding, positions = history
    p = market_performance(VENUE, "BTC-USDT", fills, funding, positions)
    assert p.fees_in_quote == D("0.881") and p.unpriced_assets == ("BNB",)
    assert p.net_pnl == D("40.0695")


def test_short_side_and_flat_snapshot(make_fill, make_funding) -> None:  # type: ignore[no-untyped-def]
    # A short opened and fully closed: the flat snapshot adds no uPnL; funding received by the short.
    fills = [
        make_fill("s1", side=Side.SELL, price="3000", amount="1", fee="0.6", position_side=PositionSide.SHORT),
        make_fill("s2", side=Side.BUY, price="2950", amount="1", fee="-0.1", realized="50",
                  position_side=PositionSide.SHORT),
    ]  # fmt: skip
    funding = [make_funding(1000, amount="0.3", position_amount="-1", mark_price="3000")]
    flat = PositionSnapshot.flat(VENUE, "run1", "BTC-USDT", PositionSide.SHORT, 9.0)
    p = market_performance(VENUE, "BTC-USDT", fills, funding, [flat])
    assert p.fees_in_quote == D("0.5")  # a maker rebate is a negative fee
    assert (p.funding_paid, p.funding_received, p.funding_net) == (D("0"), D("0.3"), D("0.3"))
    assert p.position == 0 and p.unrealized_pnl == 0
    assert p.net_pnl == D("49.8")


def test_report_groups_per_market_and_per_run(history, make_fill, make_funding) -> None:  # type: ignore[no-untyped-def]
    fills, funding, positions = history
    fills = [*fills, make_fill("e1", market="ETH-USDT", price="3000", amount="1", fee="1.2", run_id="run2"),
             make_fill("t1", venue="binance_perpetual", fee="0.5")]  # fmt: skip
    funding = [*funding, make_funding(5000, market="ETH-USDT", amount="-0.3", run_id="run2")]
    report = performance_report(fills, funding, positions, prices={"BNB": D("600")})
    assert [(m.venue, m.market) for m in report.markets] == [
        ("binance_perpetual", "BTC-USDT"), (VENUE, "BTC-USDT"), (VENUE, "ETH-USDT")]
    btc = report.markets[1]
    assert btc.net_pnl == D("39.4695") and btc.run_id is None
    assert report.markets[2].net_pnl == D("-1.5")
    assert report.net_pnl_by_quote == {"USDT": D("39.4695") - D("1.5") - D("0.5")}
    assert (report.start_ts, report.end_ts) == (1.0, 6.0)

    per_run = performance_report(fills, funding, positions, per_run=True)
    assert [(m.market, m.run_id) for m in per_run.markets] == [
        ("BTC-USDT", "run1"), ("BTC-USDT", "run1"), ("ETH-USDT", "run2")]


def test_runs_of_a_market_are_listed_in_the_order_they_traded(make_fill) -> None:  # type: ignore[no-untyped-def]
    # Run ids are random: "b-run" traded first, "a-run" later.
    fills = [make_fill("x1", run_id="b-run", ts=10.0), make_fill("x2", run_id="a-run", ts=20.0),
             make_fill("x3", run_id="c-run", ts=15.0)]  # fmt: skip
    per_run = performance_report(fills, [], [], per_run=True)
    assert [m.run_id for m in per_run.markets] == ["b-run", "c-run", "a-run"]


def test_report_serialises_decimals_as_strings(history) -> None:  # type: ignore[no-untyped-def]
    report = performance_report(*history, prices={"BNB": D("600")})
    data = json.loads(report.to_json())
    m = data["markets"][0]
    assert m["net_pnl"] == "39.46950000" and m["fees_by_asset"] == {"BNB": "0.001", "USDT": "0.881"}
    assert m["avg_sell_price"] == "65950" and m["mark_price"] == "65200" and m["fills"] == 4
    assert data["net_pnl_by_quote"] == {"USDT": "39.46950000"}  # exact digits, not rounded
    assert report.markets[0].to_dict()["realized_pnl"] == "32.33333333"


def test_empty_history() -> None:
    report = performance_report([], [], [])
    assert report.markets == () and report.start_ts is None and report.net_pnl_by_quote == {}
    p = market_performance(VENUE, "BTC-USDT", [], [])
    assert p.avg_buy_price is None and p.net_pnl == 0 and p.fills == 0


def test_ledger_difference(history) -> None:  # type: ignore[no-untyped-def]
    fills, funding, _ = history
    start = D("10000")
    # wallet = start + realized - USDT fees + funding (the BNB fee left the BNB wallet)
    end = start + D("32.33333333") - D("0.881") + D("-0.0495")
    assert end == D("10031.40283333")
    assert ledger_difference(start, end, fills, funding, asset="USDT") == 0
    assert ledger_difference(start, end, fills[:2] + fills[3:], funding, asset="USDT") == D("25") - D("0.495")
    assert ledger_difference(start, end, fills, funding[:1], asset="USDT") == D("0.04875")
    assert ledger_difference(start, end - D("0.001"), fills, funding) == 0  # every asset counted as one


def test_infer_quote_asset() -> None:
    assert infer_quote_asset("BTC-USDT") == "USDT"
    assert infer_quote_asset("ETH/USDC:USDC") == "USDC"
    assert infer_quote_asset("BTCUSDT") == ""


def test_per_run_figures_add_up_to_the_market_when_a_run_inherits_a_position(make_fill) -> None:  # type: ignore[no-untyped-def]
    # run1 buys 0.01 @ 65000 and stops with the position open (marked at 65100: +1 unrealized);
    # run2 takes it over, marks it at 65300 (+3), sells it @ 65400 (realized +4) and ends flat.
    def snap(run_id: str, amount: str, upnl: str, ts: float) -> PositionSnapshot:
        return PositionSnapshot(run_id=run_id, venue=VENUE, market="BTC-USDT", side=PositionSide.LONG,
                                amount=D(amount), entry_price=D("65000"), leverage=5, margin_mode=MarginMode.CROSS,
                                unrealized_pnl=D(upnl), liquidation_price=None, mark_price=None, ts=ts)

    fills = [make_fill("a", side=Side.BUY, price="65000", amount="0.01", fee="0", run_id="run1", ts=1.0),
             make_fill("b", side=Side.SELL, price="65400", amount="0.01", fee="0", realized="4", run_id="run2",
                       ts=30.0)]  # fmt: skip
    run_last = [snap("run1", "0.01", "1", 10.0), snap("run2", "0.01", "3", 20.0), snap("run2", "0", "0", 30.0)]
    market = performance_report(fills, [], [run_last[-1]]).markets[0]
    runs = performance_report(fills, [], run_last, per_run=True).markets
    assert market.net_pnl == D("4")
    assert [(r.run_id, r.unrealized_inherited, r.net_pnl) for r in runs] == [("run1", 0, D("1")), ("run2", 1, D("3"))]
    assert sum(r.net_pnl for r in runs) == market.net_pnl  # not 5: run1's unrealized counted once
