"""Long seeded runs: the ledger balances exactly, runs are deterministic, state survives export/restore."""

from __future__ import annotations

import copy
import json
from decimal import Decimal

from pmm.core.events import BookSnapshot, FundingPaymentReceived, OrderAccepted, OrderFilled, Trade
from pmm.core.model import ClientOrderId, Liquidity, OrderRequest, OrderType, Side
from pmm.sim.exchange import SimExchange, account_summary

from .simkit import START, QuotingDriver, Recorder, ledger_check, replay_market, settings, synthetic_market, write_replay

D = Decimal


def busy_market(**overrides):
    params = dict(volatility=D("0.02"), level_size=D("0.3"), trade_rate_per_min=60.0, trade_size=D("0.2"))
    params.update(overrides)
    return synthetic_market(**params)


def test_ledger_balances_exactly_over_a_long_random_run():
    ex = SimExchange(settings(busy_market(), funding_interval_s=1800.0, seed=7))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    ex.set_leverage("BTC-USDT", 5)
    QuotingDriver(ex, seed=11).run(START + 4 * 3600)
    fills = rec.of(OrderFilled)
    assert len(fills) > 300
    assert sum(1 for f in fills if f.remaining > 0) > 50  # partial fills
    assert {Liquidity.MAKER, Liquidity.TAKER} <= {f.liquidity for f in fills}
    assert sum(1 for f in fills if f.realized_pnl != 0) > 50
    assert len(rec.of(FundingPaymentReceived)) >= 5
    wallet_change, booked = ledger_check(ex, rec, D("10000"))
    assert wallet_change == booked
    assert wallet_change != 0
    # The venue's history agrees with the events.
    assert [f.trade_id for f in ex.fills_since(0)] == [f.trade_id for f in fills]
    assert sum(p.amount for p in ex.funding_payments_since(0)) == sum(p.amount for p in rec.of(FundingPaymentReceived))


class Gambler(QuotingDriver):
    """Keeps buying with market orders at high leverage until the venue liquidates it."""

    def act(self, now: float) -> None:
        step = self.exchange.trading_rules(self.market).step_size
        self.exchange.submit_order(
            OrderRequest(self._cid(), self.market, Side.BUY, OrderType.MARKET, step * self.rng.randint(1, 20), None)
        )


def test_ledger_balances_exactly_through_liquidations():
    ex = SimExchange(settings(busy_market(volatility=D("0.05")), usdt="300", funding_interval_s=900.0, seed=3))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    ex.set_leverage("BTC-USDT", 50)
    Gambler(ex, seed=5, period=3.0).run(START + 3 * 3600)
    liquidations = [f for f in rec.of(OrderFilled) if f.client_id.startswith("liquidation-")]
    assert liquidations
    assert all(f.liquidity is Liquidity.TAKER and f.remaining == 0 for f in liquidations)
    wallet_change, booked = ledger_check(ex, rec, D("300"))
    assert wallet_change == booked


def _run(seed: int, minutes: int = 20) -> list[str]:
    ex = SimExchange(settings(busy_market(), seed=seed, funding_interval_s=600.0))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    QuotingDriver(ex, seed=1).run(START + minutes * 60)
    return [repr(e) for e in rec.events]


def test_same_seed_gives_the_same_event_sequence():
    first, second = _run(42), _run(42)
    assert len(first) > 1000
    assert first == second
    assert _run(43) != first


def test_synthetic_market_shape():
    ex = SimExchange(settings(synthetic_market(trade_rate_per_min=30.0)))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    held = ex.book("BTC-USDT")
    ex.advance_to(START + 3600)
    snapshots = rec.of(BookSnapshot)
    assert len(snapshots) == 3601  # one per book_interval_s, the first at the start
    assert [s.update_id for s in snapshots] == list(range(1, 3602))
    rules = ex.trading_rules("BTC-USDT")
    last = snapshots[-1]
    assert len(last.bids) == len(last.asks) == 20
    assert last.asks[0][0] - last.bids[0][0] == 2 * rules.tick_size
    # The venue's book object is current even when held across steps.
    assert (held.best_bid, held.best_ask, held.update_id) == (last.bids[0][0], last.asks[0][0], last.update_id)
    assert held.levels(Side.SELL) == list(last.asks)
    assert all(rules.is_on_tick(p) and rules.is_on_step(s) and s > 0 for p, s in last.bids + last.asks)
    trades = rec.of(Trade)
    assert 1500 < len(trades) < 2100  # Poisson, 30 a minute
    assert all(rules.is_on_step(t.amount) and t.amount >= rules.step_size for t in trades)
    assert {t.aggressor for t in trades} == {Side.BUY, Side.SELL}
    assert len({t.trade_id for t in trades}) == len(trades)


def _split_run(ex: SimExchange, driver: QuotingDriver, end: float) -> list[str]:
    rec = Recorder.on(ex)
    driver.run(end)
    return [repr(e) for e in rec.events]


def test_export_restore_round_trip_keeps_working():
    make = lambda: SimExchange(settings(busy_market(), latency_s=0.05, funding_interval_s=600.0, seed=9))  # noqa: E731
    original = make()
    original.advance_to(START)
    original.set_leverage("BTC-USDT", 7)
    driver = QuotingDriver(original, seed=2, period=4.0)
    driver.run(START + 900)
    driver.act(START + 900)  # leave requests in flight
    state = json.loads(json.dumps(original.export_state()))
    assert state["orders"] and state["account"]["positions"] and state["fills"]
    assert any(kind == "order" for _, _, kind, _ in state["agenda"]["entries"])

    restored = make()
    restored.restore_state(state)
    assert restored.balances() == original.balances()
    assert restored.positions() == original.positions()
    assert restored.open_orders() == original.open_orders()
    assert restored.fills_since(0) == original.fills_since(0)
    assert restored.leverage("BTC-USDT") == 7
    twin = QuotingDriver(restored, seed=0, period=4.0)
    twin.rng, twin.n, twin.next_action = copy.deepcopy(driver.rng), driver.n, driver.next_action

    end = START + 1800
    after_original = _split_run(original, driver, end)
    after_restored = _split_run(restored, twin, end)
    assert len(after_original) > 500
    assert after_restored == after_original
    assert restored.export_state() == original.export_state()


def test_export_restore_of_a_replay_resumes_the_file(tmp_path):
    records = [{"type": "snapshot", "ts": 0, "bids": [["99", "1"]], "asks": [["101", "1"]]}]
    records += [{"type": "trade", "ts": i, "price": "100", "amount": "0.1", "side": "buy"} for i in range(1, 40)]
    path = write_replay(tmp_path / "r.jsonl", records)
    original = SimExchange(settings(replay_market(path)))
    original.advance_to(START)
    original.advance_to(START + 10)
    restored = SimExchange(settings(replay_market(path)))
    restored.restore_state(json.loads(json.dumps(original.export_state())))
    seen = []
    for ex in (original, restored):
        rec = Recorder.on(ex)
        ex.advance_to(START + 100)
        seen.append([(t.trade_id, t.ts) for t in rec.of(Trade)])
    assert len(seen[0]) == 29 and seen[0] == seen[1]
    original.close()
    restored.close()


def test_account_summary_reads_a_saved_account_like_the_live_exchange():
    ex = SimExchange(settings(busy_market(), seed=4))
    ex.advance_to(START)
    ex.set_leverage("BTC-USDT", 9)
    QuotingDriver(ex, seed=8).run(START + 600)
    assert ex.positions() and ex.open_orders()
    summary = account_summary(json.loads(json.dumps(ex.export_state())))
    (usdt,) = summary["balances"]
    (live,) = ex.balances()
    assert (usdt["asset"], D(usdt["total"]), D(usdt["available"]), D(usdt["margin_in_use"])) == (
        "USDT", live.total, live.available, live.margin_in_use
    )
    (pos,) = summary["positions"]
    (live_pos,) = ex.positions()
    assert (pos["side"], D(pos["amount"]), D(pos["entry_price"]), pos["leverage"]) == (
        live_pos.side.value, live_pos.amount, live_pos.entry_price, 9
    )
    assert D(pos["liquidation_price"]) == live_pos.liquidation_price
    assert D(pos["unrealized_pnl"]) == live_pos.unrealized_pnl


def test_skip_to_resumes_without_simulating_the_gap():
    make = lambda: SimExchange(settings(busy_market(), seed=6, latency_s=0.5))  # noqa: E731
    original = make()
    original.advance_to(START)
    QuotingDriver(original, seed=3).run(START + 300)
    original.submit_order(OrderRequest(ClientOrderId("late"), "BTC-USDT", Side.BUY, OrderType.LIMIT, D("0.01"),
                                       D("60000")))
    resumed = make()
    resumed.restore_state(json.loads(json.dumps(original.export_state())))
    last_update = resumed.book("BTC-USDT").update_id
    later = START + 5 * 86400 + 123.25
    resumed.skip_to(later)
    assert later < resumed.next_event_time() <= later + 1
    assert resumed.funding_info("BTC-USDT").next_funding_ts == START + 5 * 86400 + 8 * 3600
    rec = Recorder.on(resumed)
    resumed.advance_to(later + 60)
    snapshots = rec.of(BookSnapshot)
    assert 59 <= len(snapshots) <= 61
    assert snapshots[0].update_id == last_update + 1
    assert rec.of(FundingPaymentReceived) == []
    (accepted,) = [e for e in rec.of(OrderAccepted) if e.client_id == "late"]
    assert later < accepted.ts <= later + 0.5
