"""Risk controls: kill switch (exit 5), flatten, stale data, disconnects, liquidation guard, pmm stop."""

from __future__ import annotations

import asyncio
import queue
import signal
import subprocess
import sys
import threading
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from helpers import REPO, db_url, run_fast, write_config
from pmm.cli import app
from pmm.config import load_config
from pmm.connectors.sim_perpetual.build import build
from pmm.core.events import BookResyncRequired, ConnectionChanged
from pmm.core.model import MarginMode, OrderPurpose, OrderType, Position, PositionAction, PositionSide, Side
from pmm.engine.engine import Engine, EngineOptions
from pmm.engine.recorder import NullRecorder
from pmm.engine.risk import RiskLimits, RiskMonitor
from pmm.errors import SafetyStop
from pmm.store import queries
from pmm.store.db import open_engine
from pmm.strategy import PerpetualMarketMaking
from pmm.strategy.views import Decision, OrderIntent

RISK_SESSION_LOSS = "{max_session_loss: 1, flatten_on_kill: true}"


def test_kill_switch_on_session_loss_cancels_flattens_and_raises(tmp_path):
    url = db_url(tmp_path)
    with pytest.raises(SafetyStop, match="max_session_loss") as caught:
        run_fast(write_config(tmp_path, risk=RISK_SESSION_LOSS), url, 86400.0)
    assert caught.value.exit_code == 5
    assert "the position was closed" in str(caught.value)
    db = open_engine(url)
    run = queries.latest_run(db)
    assert run.exit_reason.startswith("kill switch: session loss")
    state = queries.sim_account(db, "sim_perpetual").data()
    assert state["orders"] == []
    assert state["account"]["positions"] == []


def test_kill_switch_exits_with_code_5_from_the_cli(tmp_path):
    cfg = write_config(tmp_path, order_levels=3, risk="{max_open_orders: 2}")
    result = CliRunner().invoke(app, ["start", "-c", str(cfg), "--fast", "--duration", "3600", "--plain",
                                      "--db", db_url(tmp_path)])
    assert result.exit_code == 5, result.output
    assert "max_open_orders" in result.output


def _engine(tmp_path, risk: RiskLimits, wrap_feed=None, **overrides: Any) -> tuple[Engine, Any]:
    cfg = load_config(write_config(tmp_path, **overrides))
    bundle = build(cfg, fast=True)
    if wrap_feed is not None:
        bundle.feed = wrap_feed(bundle.feed, bundle.clock)
    params = cfg.to_strategy_params()
    strategy = PerpetualMarketMaking(params, bundle.feed.trading_rules(params.market))
    engine = Engine(bundle=bundle, strategy=strategy, params=params, recorder=NullRecorder(), run_id="risk0000",
                    options=EngineOptions(duration_s=600, status_interval_s=600), risk=risk)
    return engine, bundle.feed


class CutFeed:
    """Forwards market data until `cut_at`, then sends `after` once and nothing more."""

    def __init__(self, inner: Any, clock: Any, cut_at: float, after: Any = None) -> None:
        self._inner, self._clock, self._cut_at, self._after = inner, clock, cut_at, after
        self.connector_id = inner.connector_id
        self.cut_seen_orders: list[str] = []

    def trading_rules(self, market: str) -> Any:
        return self._inner.trading_rules(market)

    async def stop(self) -> None:
        await self._inner.stop()

    async def start(self, markets: Any, emit: Any) -> None:
        def filtered(event: Any) -> None:
            now = self._clock.now()
            if now < self._cut_at:
                emit(event)
            elif self._after is not None:
                emit(self._after(now))
                self._after = None

        await self._inner.start(markets, filtered)


def _quotes_after(engine: Engine, ts: float) -> list[Any]:
    return [o for o in engine.tracker.active(engine.market) if o.request.purpose is OrderPurpose.QUOTE
            and o.cancel_sent_ts is None]


def test_stale_market_data_pulls_quotes_and_says_why(tmp_path):
    start = 1_767_225_600.0
    cut = start + 120
    engine, feed = _engine(tmp_path, RiskLimits(stale_data_s=5.0),
                           wrap_feed=lambda f, c: CutFeed(f, c, cut), order_refresh_time=1000)
    placed_before = []

    async def main():
        task = asyncio.create_task(engine.run())
        while engine.clock.now() < cut - 1:
            await asyncio.sleep(0)
        placed_before.append(engine.orders.placed)
        while engine.clock.now() < cut + 6:
            await asyncio.sleep(0)
        assert not _quotes_after(engine, cut), "quotes must be pulled once data is stale"
        assert "market data stale" in engine.last_decision.reason
        placed_at_stale = engine.orders.placed
        while engine.clock.now() < cut + 60:
            await asyncio.sleep(0)
        assert engine.orders.placed == placed_at_stale, "nothing may be placed from stale data"
        await task

    asyncio.run(main())
    assert placed_before[0] >= 2


def test_a_resyncing_book_pulls_quotes_at_once(tmp_path):
    start = 1_767_225_600.0
    cut = start + 120
    resync = lambda now: BookResyncRequired("BTC-USDT", "sequence gap", now, now)  # noqa: E731
    engine, _ = _engine(tmp_path, RiskLimits(stale_data_s=0),
                        wrap_feed=lambda f, c: CutFeed(f, c, cut, after=resync), order_refresh_time=1000)

    async def main():
        task = asyncio.create_task(engine.run())
        while engine.clock.now() < cut + 0.5:
            await asyncio.sleep(0)
        assert not _quotes_after(engine, cut)
        assert "sequence gap" in engine.last_decision.reason
        await task

    asyncio.run(main())


def test_after_a_long_disconnect_every_order_is_cancelled_on_reconnect(tmp_path):
    engine, _ = _engine(tmp_path, RiskLimits(disconnect_cancel_s=10), order_refresh_time=1000)

    async def main():
        task = asyncio.create_task(engine.run())
        while len(engine.tracker.active(engine.market)) < 2:
            await asyncio.sleep(0)
        t0 = engine.clock.now()
        engine.emit(ConnectionChanged("sim_perpetual", "user", False, "socket closed", t0, t0))
        while engine.clock.now() < t0 + 30:
            await asyncio.sleep(0)
        assert "user connection down" in engine.last_decision.reason
        engine.emit(ConnectionChanged("sim_perpetual", "user", True, "connected", t0 + 30, t0 + 30))
        while engine.clock.now() < t0 + 31:
            await asyncio.sleep(0)
        assert all(o.cancel_sent_ts is not None for o in engine.tracker.active(engine.market)) or \
            not engine.tracker.active(engine.market)
        await task

    asyncio.run(main())


def test_stop_with_flatten_closes_the_position(tmp_path):
    engine, feed = _engine(tmp_path, RiskLimits(flatten_timeout_s=5))
    engine.options = EngineOptions(duration_s=86400, status_interval_s=3600)

    async def main():
        task = asyncio.create_task(engine.run())
        while not engine.account.market_positions(engine.market):
            await asyncio.sleep(0)
        engine.request_stop("test", flatten=True)
        await task

    asyncio.run(main())
    assert engine.account.market_positions(engine.market) == ()
    exchange = feed._exchange
    assert exchange.positions() == [] and exchange.open_orders() == []


def _position(liq: str) -> Position:
    return Position("BTC-USDT", PositionSide.LONG, Decimal("1"), Decimal("100"), 10, MarginMode.CROSS,
                    liquidation_price=Decimal(liq))


def test_liquidation_guard_measures_distance_from_the_mark():
    monitor = RiskMonitor(RiskLimits(liquidation_guard=Decimal("0.2")), 0.0)
    assert monitor.near_liquidation((_position("85"),), Decimal("100")) is not None  # 15% away
    assert monitor.near_liquidation((_position("75"),), Decimal("100")) is None  # 25% away
    assert RiskMonitor(RiskLimits(), 0.0).near_liquidation((_position("99"),), Decimal("100")) is None


def test_liquidation_guard_drops_opening_orders_only(tmp_path):
    engine, _ = _engine(tmp_path, RiskLimits(liquidation_guard=Decimal("0.2")))
    engine.account.set_position("BTC-USDT", PositionSide.LONG, _position("95"))
    from pmm.core.model import FundingInfo

    engine.markets["BTC-USDT"].funding = FundingInfo("BTC-USDT", Decimal("100"), Decimal("100"), Decimal(0), 0.0)
    quote = OrderIntent(Side.BUY, Decimal("99"), Decimal("1"), OrderType.LIMIT_MAKER, OrderPurpose.QUOTE,
                        PositionAction.OPEN)
    exit_ = OrderIntent(Side.SELL, Decimal("101"), Decimal("1"), OrderType.LIMIT, OrderPurpose.TAKE_PROFIT,
                        PositionAction.CLOSE, reduce_only=True)
    shaped = engine.safety.shape(Decision(places=(quote, exit_), quoting=True), blocked=None)
    assert shaped.places == (exit_,)
    assert "liquidation guard" in shaped.reason


def test_daily_loss_counts_from_utc_midnight():
    monitor = RiskMonitor(RiskLimits(max_daily_loss=Decimal("10")), 0.0)
    assert monitor.kill_reason(now=3600, session_net=Decimal("-9"), positions=(), mark=None, open_orders=0) is None
    # A new day starts from -9: losing 8 more that day is within the limit, 12 more is not.
    assert monitor.kill_reason(now=86400 + 60, session_net=Decimal("-17"), positions=(), mark=None,
                               open_orders=0) is None
    assert "max_daily_loss" in monitor.kill_reason(now=86400 + 120, session_net=Decimal("-30"), positions=(),
                                                   mark=None, open_orders=0)


def test_pmm_stop_stops_a_running_bot_from_another_process(tmp_path):
    cfg = write_config(tmp_path, order_refresh_time=60)
    url = db_url(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "start", "-c", str(cfg), "--db", url, "--plain"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        seen = ""
        while "placing " not in seen:
            seen += lines.get(timeout=30)
        result = CliRunner().invoke(app, ["stop", "--db", url, "--timeout", "30"])
        assert result.exit_code == 0, result.output
        assert "stopped" in result.output
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
    db = open_engine(url)
    assert queries.sim_account(db, "sim_perpetual").data()["orders"] == []
    again = CliRunner().invoke(app, ["stop", "--db", url])
    assert again.exit_code == 0 and "No running bot" in again.output  # nothing to do is not an error
