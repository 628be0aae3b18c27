"""Every rule is evaluated on the event that can change its outcome (DESIGN.md §6), on a static book.

A static book sends one snapshot and then only mark prices (which touch no quoting rule), so a
rule that waits for the next book update waits for the refresh timer or the stale-data check
instead: each test below fails that way without the event it names.

Which events can change each rule's outcome, and what evaluates it:
- minimum spread: the reference price (book, trade, external or custom price: evaluated) and
  the live quotes (an order the venue accepted: `test_an_accepted_quote_below_the_minimum_spread_*`);
- refresh with tolerance and `filled_order_delay`: the timers (the strategy's wake-up timer);
- price band, taker filter: the reference price and the book, only when creating (every book
  update evaluates while the strategy may create);
- margin budget: the available margin (a balance update: `test_margin_freed_*`);
- take-profit / stop-loss: positions, fills, the exit orders' ends (evaluated) and the book (no
  idle skip while a position is open), and their throttles (wake-up timer);
- kill switch `max_open_orders`: the own orders (an accepted order: `test_max_open_orders_*`).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Any

from helpers import write_config
from pmm.config import load_config
from pmm.connectors.sim_perpetual.build import build
from pmm.core.events import BalanceUpdated
from pmm.core.model import OrderStatus, Side
from pmm.engine.engine import Engine, EngineOptions
from pmm.engine.recorder import NullRecorder
from pmm.engine.risk import RiskLimits
from pmm.strategy import PerpetualMarketMaking

STATIC = "sim_static.yml"
T0 = 1_767_225_600.0  # sim.start_time's default, 2026-01-01T00:00:00Z


class OrderLog(NullRecorder):
    """Remembers every state an order went through: (client id, side, status, reason, engine time)."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, Side, OrderStatus, str, float]] = []

    def order_changed(self, order: Any) -> None:
        self.changes.append((order.client_id, order.request.side, order.status, order.last_reason,
                             order.updated_ts))

    def first(self, status: OrderStatus, reason: str = "") -> tuple[str, Side, OrderStatus, str, float] | None:
        return next((c for c in self.changes if c[2] is status and reason in c[3]), None)


def _engine(tmp_path, *, duration_s: float, risk: RiskLimits | None = None, gateway: Any = None,
            **overrides: Any) -> tuple[Engine, OrderLog]:
    cfg = load_config(write_config(tmp_path, STATIC, **({"order_levels": 1} | overrides)))
    bundle = build(cfg, fast=True)
    if gateway is not None:
        bundle.gateway = gateway(bundle.gateway)
    params = cfg.to_strategy_params()
    log = OrderLog()
    engine = Engine(bundle=bundle, strategy=PerpetualMarketMaking(params, bundle.feed.trading_rules(params.market)),
                    params=params, recorder=log, run_id="rules000",
                    options=EngineOptions(duration_s=duration_s, status_interval_s=3600), risk=risk)
    return engine, log


def test_an_accepted_quote_below_the_minimum_spread_is_cancelled_at_once(tmp_path):
    # The book: the ask is proposed at 40% but the minimum is 45%. Hummingbot cancels it on
    # the next tick after it goes live; so must pmm, not at the refresh 30 s later.
    engine, log = _engine(tmp_path, duration_s=20, minimum_spread=45, bid_spread=50, ask_spread=40,
                          order_refresh_time=30)
    asyncio.run(engine.run())
    placed = log.first(OrderStatus.PENDING_NEW)
    accepted_sell = next(c for c in log.changes if c[1] is Side.SELL and c[2] is OrderStatus.OPEN)
    cancel = log.first(OrderStatus.PENDING_CANCEL, "below minimum spread")
    assert placed is not None and cancel is not None, log.changes
    assert cancel[0] == accepted_sell[0], "the ask is the quote below the minimum spread"
    assert cancel[4] - accepted_sell[4] < 1.0, "cancelled on its acceptance, not by a later timer"
    # The bid (50% > 45%) stays until the bot stops.
    bid_cancels = [c for c in log.changes if c[1] is Side.BUY and c[2] is OrderStatus.PENDING_CANCEL]
    assert [c[3] for c in bid_cancels] == ["bot is stopping"]


class SharedAccount:
    """The sim gateway of an account another bot shares: at start its orders hold most of the margin."""

    def __init__(self, inner: Any, available: Decimal) -> None:
        self._inner = inner
        self._available = available

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def balances(self) -> list[Any]:
        return [replace(b, available=min(b.available, self._available)) for b in await self._inner.balances()]


def test_margin_freed_by_a_balance_update_is_quoted_with_at_once(tmp_path):
    engine, log = _engine(tmp_path, duration_s=120, order_refresh_time=30,
                          gateway=lambda inner: SharedAccount(inner, Decimal("1")))
    freed_at: list[float] = []

    async def main() -> None:
        task = asyncio.create_task(engine.run())
        while engine.clock.now() < T0 + 10:
            await asyncio.sleep(0)
        assert engine.orders.placed == 0
        assert "insufficient margin" in engine.last_decision.reason
        # The other bot's orders are cancelled: the venue reports the margin free again.
        real = next(b for b in await engine.bundle.gateway._inner.balances() if b.asset == "USDT")
        freed_at.append(engine.clock.now())
        engine.emit(BalanceUpdated(real, freed_at[0], freed_at[0]))
        await task

    asyncio.run(main())
    placed = log.first(OrderStatus.PENDING_NEW)
    assert placed is not None, "the freed margin must be used"
    assert placed[4] - freed_at[0] < 1.0, "quoted on the balance update, not on a later timer"


def test_max_open_orders_trips_when_the_orders_are_accepted(tmp_path):
    # Two levels a side: four quotes, one more than allowed. No fill, position or book update comes.
    engine, log = _engine(tmp_path, duration_s=600, order_levels=2, risk=RiskLimits(max_open_orders=3))
    asyncio.run(engine.run())
    assert engine.safety.monitor.tripped is not None and "max_open_orders" in engine.safety.monitor.tripped
    accepted = [c for c in log.changes if c[2] is OrderStatus.OPEN]
    stopping = log.first(OrderStatus.PENDING_CANCEL, "bot is stopping")
    assert len(accepted) == 4 and stopping is not None
    assert stopping[4] - max(c[4] for c in accepted) < 1.0, "tripped on the acceptance, not on a later mark"


def test_quotes_are_placed_once_per_refresh_on_a_static_book(tmp_path):
    # The extra evaluations (acceptance, balance updates) propose nothing twice: one quote per side
    # per refresh cycle (tolerance -1: every refresh replaces them), at 0, 30, 60 and 90 s.
    engine, log = _engine(tmp_path, duration_s=95, order_refresh_time=30, order_refresh_tolerance_pct=-1)
    asyncio.run(engine.run())
    placed = [c for c in log.changes if c[2] is OrderStatus.PENDING_NEW]
    assert [c[1] for c in placed] == [Side.BUY, Side.SELL] * 4, placed
    assert [round(c[4] - T0) for c in placed] == [0, 0, 30, 30, 60, 60, 90, 90]
