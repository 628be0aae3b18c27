"""Unknown outcomes are reconciled, never assumed: lost cancels, lost placements, leftovers at start."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from helpers import write_config
from pmm.config import load_config
from pmm.connectors.sim_perpetual.build import build
from pmm.engine.engine import Engine, EngineOptions
from pmm.engine.recorder import NullRecorder
from pmm.errors import OrderOutcomeUnknown
from pmm.strategy import PerpetualMarketMaking


class FlakyGateway:
    """Wraps the sim gateway: loses the first cancel of every order, and optionally placements."""

    def __init__(self, inner: Any, lose_placements: int = 0) -> None:
        self._inner = inner
        self.cancel_calls: Counter[str] = Counter()
        self.lost_placements: list[str] = []
        self._lose_placements = lose_placements

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def cancel_order(self, market: str, client_id: str) -> None:
        self.cancel_calls[client_id] += 1
        if self.cancel_calls[client_id] == 1:
            return  # the request vanished: no answer, no error
        await self._inner.cancel_order(market, client_id)

    async def place_order(self, request: Any) -> None:
        if len(self.lost_placements) < self._lose_placements:
            self.lost_placements.append(request.client_id)
            raise OrderOutcomeUnknown("timed out waiting for the venue")
        await self._inner.place_order(request)


def _engine(tmp_path, hours: float, lose_placements: int = 0) -> tuple[Engine, FlakyGateway, Any]:
    cfg = load_config(write_config(tmp_path))
    bundle = build(cfg, fast=True)
    flaky = FlakyGateway(bundle.gateway, lose_placements)
    bundle.gateway = flaky
    params = cfg.to_strategy_params()
    strategy = PerpetualMarketMaking(params, bundle.feed.trading_rules(params.market))
    engine = Engine(bundle=bundle, strategy=strategy, params=params, recorder=NullRecorder(), run_id="test0000",
                    options=EngineOptions(duration_s=hours * 3600, status_interval_s=600))
    exchange = bundle.feed._exchange  # the simulated venue, to check what is really resting there
    return engine, flaky, exchange


def test_lost_cancels_are_resent_and_nothing_is_left_open(tmp_path):
    engine, flaky, exchange = _engine(tmp_path, hours=1)
    asyncio.run(engine.run())
    assert flaky.cancel_calls, "the quickstart refresh must cancel orders"
    assert all(n >= 2 for n in flaky.cancel_calls.values()), "every lost cancel must be sent again"
    assert exchange.open_orders() == []
    assert engine.tracker.active() == []
    assert engine.orders.placed > 4, "quoting must go on after lost cancels"


def test_a_placement_with_unknown_outcome_is_settled_and_quoting_resumes(tmp_path):
    engine, flaky, exchange = _engine(tmp_path, hours=0.5, lose_placements=2)
    asyncio.run(engine.run())
    assert len(flaky.lost_placements) == 2
    # The lost orders never reached the venue: reconciliation closes them and quoting resumes.
    assert all(engine.tracker.get(cid) is None for cid in flaky.lost_placements)
    assert engine.orders.placed > 4
    assert exchange.open_orders() == []


def test_orders_left_by_an_earlier_run_are_cancelled_at_start(tmp_path):
    from decimal import Decimal

    from pmm.core.model import ClientOrderId, OrderRequest, OrderType, Side

    engine, _, exchange = _engine(tmp_path, hours=0.01)
    exchange.advance_to(exchange.next_event_time())
    far_bid = OrderRequest(ClientOrderId("pmm-oldrun00-7"), "BTC-USDT", Side.BUY, OrderType.LIMIT_MAKER,
                           Decimal("0.01"), Decimal("50000"))
    exchange.submit_order(far_bid)
    exchange.advance_to(exchange.next_event_time())
    assert [o.client_id for o in exchange.open_orders()] == ["pmm-oldrun00-7"]
    asyncio.run(engine.run())
    assert exchange.open_orders() == []


class _FundingRecorder(NullRecorder):
    def __init__(self) -> None:
        self.funding_times: list[int] = []

    def funding(self, event: Any) -> None:
        self.funding_times.append(event.funding_time_ms)


def test_funding_payments_whose_events_were_lost_are_read_again_at_stop(tmp_path, monkeypatch):
    from pmm.core.events import FundingPaymentReceived
    from pmm.engine import reconcile

    monkeypatch.setattr(reconcile, "FINAL_BACKFILL_S", 1e9)  # the whole run, not its last hour
    engine, _, exchange = _engine(tmp_path, hours=26)
    recorder = engine.recorder = _FundingRecorder()
    deliver = engine.emit

    def lose_funding(event: Any) -> None:  # every funding event is lost on its way to the engine
        if not isinstance(event, FundingPaymentReceived):
            deliver(event)

    engine.emit = lose_funding  # type: ignore[method-assign]
    asyncio.run(engine.run())
    paid = sorted(p.funding_time_ms for p in exchange.funding_payments_since(0))
    assert paid, "the run must hold a position at a funding time"
    assert sorted(recorder.funding_times) == paid


def test_the_start_backfill_reports_the_fills_it_added_not_those_it_read(tmp_path, caplog):
    import logging
    import re
    import sqlite3

    from helpers import db_url, run_fast

    config, url = write_config(tmp_path), db_url(tmp_path)
    first = run_fast(config, url, 6 * 3600.0)
    assert first.fills >= 4
    with sqlite3.connect(tmp_path / "pmm.sqlite") as conn:  # a crash lost the last two fills
        conn.execute("DELETE FROM fills WHERE id IN (SELECT id FROM fills ORDER BY ts DESC, id DESC LIMIT 2)")
    with caplog.at_level(logging.INFO, logger="pmm.reconcile"):
        run_fast(config, url, 60.0)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("reconciled")]
    assert len(lines) == 1 and re.match(r"reconciled 2 fill\(s\)", lines[0]), lines
    with sqlite3.connect(tmp_path / "pmm.sqlite") as conn:
        assert conn.execute("SELECT count(*) FROM fills").fetchone()[0] >= first.fills  # the two are back


class _RejectionRecorder(NullRecorder):
    def __init__(self) -> None:
        self.rejected: list[Any] = []

    def order_changed(self, order: Any) -> None:
        from pmm.core.model import OrderStatus

        if order.status is OrderStatus.REJECTED:
            self.rejected.append(order)


def test_a_refused_take_profit_makes_the_bot_read_its_position_again(tmp_path):
    """The stream lost the event that closed the position: the bot believes it still holds one. The
    venue refuses the take-profit (nothing to reduce); the bot asks the venue and goes back to quoting
    instead of offering the same refused exit every tick."""
    from pmm.core.events import PositionUpdated
    from pmm.core.model import OrderPurpose

    engine, _, exchange = _engine(tmp_path, hours=12)
    recorder = engine.recorder = _RejectionRecorder()
    deliver = engine.emit
    lost: list[PositionUpdated] = []

    def lose_first_close(event: Any) -> None:
        if isinstance(event, PositionUpdated) and event.position is None and engine.account.positions and not lost:
            lost.append(event)
            return
        deliver(event)

    engine.emit = lose_first_close  # type: ignore[method-assign]
    asyncio.run(engine.run())
    assert lost, "the run must close a position"
    refused = [o for o in recorder.rejected if o.request.purpose is not OrderPurpose.QUOTE]
    assert refused, "the stale position must lead to a refused exit"
    assert len(refused) <= 3, f"{len(refused)} refused exits: the position was not read again"
    venue = {(p.market, p.side): p.amount for p in exchange.positions() if p.amount != 0}
    assert {k: p.amount for k, p in engine.account.positions.items()} == venue
