"""The event loop: events in, decisions out.

One inbox receives every event the connectors emit. The loop waits (through the connector's pacer)
for an event or the next timer, applies the events to its state, and asks the strategy for a
decision once per batch: reaction time is processing time, not a clock tick. Gateway calls run
as tasks whose outcomes come back as events.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from pmm.connectors.base import ConnectorBundle
from pmm.core.book import OrderBook
from pmm.core.clock import LiveClock
from pmm.core.events import (
    BalanceUpdated,
    ConnectionChanged,
    BookDelta,
    BookResyncRequired,
    BookSnapshot,
    Event,
    ExternalPriceUpdated,
    FundingInfoUpdated,
    FundingPaymentReceived,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderFilled,
    OrderRejected,
    PositionUpdated,
    Trade,
)
from pmm.core.model import OrderPurpose, OrderStatus, PositionMode, TradingRules
from pmm.engine.exchange_stop import ExchangeStop
from pmm.engine.external_source import ExternalPriceSource, not_ready_report, waiting_for
from pmm.engine.order_manager import OrderManager
from pmm.core.pacer import WakeEvent
from pmm.engine.reconcile import Reconciler
from pmm.engine.recorder import Recorder
from pmm.engine.risk import RiskLimits
from pmm.engine.safety import Safety
from pmm.engine.state import AccountState, MarketState, SessionPnl
from pmm.engine.decider import Decider
from pmm.engine.desk import Desk, unrealized_at
from pmm.engine.status import ExternalSource, RunFacts, RunState, build_status
from pmm.engine.tracker import OrderTracker
from pmm.errors import PmmError
from pmm.strategy import PerpetualMarketMaking
from pmm.strategy.params import PmmParams
from pmm.strategy.views import Decision

log = logging.getLogger("pmm.engine")
_DEDUP_WINDOW = 50_000  # remembered trade ids / funding keys; bounded so memory stays flat
_CLOSING = (OrderPurpose.TAKE_PROFIT, OrderPurpose.STOP_LOSS, OrderPurpose.FLATTEN)  # orders that reduce a position


@dataclass(frozen=True)
class EngineOptions:
    duration_s: float | None = None
    status_interval_s: float = 1.0
    stuck_check_interval_s: float = 1.0
    stuck_timeout_s: float = 5.0
    venue_state_interval_s: float = 60.0
    shutdown_timeout_s: float = 10.0
    backfill_since_ts: float = 0.0  # fills/funding after this are fetched from the venue at start
    price_source_report_s: float = 60.0  # while the reference price source is not ready, say so this often
    # What the store already holds from `backfill_since_ts` on (trade ids; funding times in ms):
    # the start's backfill records, and reports, only the rest.
    recorded_trade_ids: frozenset[str] = frozenset()
    recorded_funding_ms: frozenset[int] = frozenset()


class _Dedup:
    def __init__(self, size: int) -> None:
        self._seen: set[object] = set()
        self._order: deque[object] = deque()
        self._size = size

    def first_time(self, key: object) -> bool:
        if key in self._seen:
            return False
        self._seen.add(key)
        self._order.append(key)
        if len(self._order) > self._size:
            self._seen.discard(self._order.popleft())
        return True


def _clock_kind(bundle: ConnectorBundle) -> str:
    """virtual (--fast), simulated (real-time pace at a simulated account's later time) or live."""
    if bundle.pacer.virtual:
        return "virtual"
    clock = bundle.clock
    return "simulated" if isinstance(clock, LiveClock) and clock.offset_s > 0 else "live"


class Engine:
    def __init__(self, *, bundle: ConnectorBundle, strategy: PerpetualMarketMaking, params: PmmParams,
                 recorder: Recorder, run_id: str, options: EngineOptions,
                 external_market: str | None = None, risk: RiskLimits | None = None,
                 external_source: ExternalPriceSource | None = None, exchange_stop_loss: bool = False) -> None:
        """`external_market`: a second market of this connector as the price source; `external_source`:
        another connector's feed as the price source (its book is kept under `external_source.key`);
        `exchange_stop_loss`: keep a stop resting at the venue while a position is open (the composition
        root refuses it for a connector without conditional orders)."""
        self.bundle = bundle
        self.clock = bundle.clock
        self.connector_id = bundle.connector_id
        self.run_id = run_id
        self.market = params.market
        self.params = params
        self.strategy = strategy
        self.options = options
        self.external_source = external_source
        self.external_market = external_source.key if external_source is not None else external_market
        self.external_name = (external_source.description if external_source is not None
                              else f"{external_market} on {bundle.connector_id}")
        self.rules: TradingRules = bundle.feed.trading_rules(self.market)
        self.quote_asset = self.rules.quote
        self.maker_fee, self.taker_fee = bundle.gateway.fee_rates(self.market)
        self.markets: dict[str, MarketState] = {self.market: MarketState(OrderBook(self.market))}
        if self.external_market is not None:
            self.markets[self.external_market] = MarketState(OrderBook(self.external_market))
        self.account = AccountState()
        self.session = SessionPnl()
        self.tracker = OrderTracker()
        self.orders = OrderManager(bundle.gateway, self.tracker, self.clock, recorder, self._spawn, self.emit,
                                   client_id_prefix=f"pmm-{run_id[:8]}-", market=self.market)
        self.desk = Desk(self.clock, self.market, self.markets, self.account, self.tracker, self.orders, recorder)
        self.reconciler = Reconciler(self.desk, bundle.gateway, self, emit=self.emit, params=params,
                                     connector_id=self.connector_id, options=lambda: self.options)
        self._timers: dict[str, float] = {}
        self.safety = Safety(self.desk, risk or RiskLimits(), self, params=params, session=self.session,
                             prices=self, settle_stuck_orders=self.reconciler.settle_stuck_orders)
        stops = bundle.conditional_orders
        self.exchange_stop = ExchangeStop(
            stops, market=self.market, rules=self.rules, stop_loss_spread=params.stop_loss_spread,
            hedge=params.position_mode is PositionMode.HEDGE,
            positions=lambda: self.account.market_positions(self.market), clock=self.clock, spawn=self._spawn,
            run_id=run_id) if exchange_stop_loss and stops is not None else None
        self._facts = RunFacts(run_id, self.connector_id, _clock_kind(bundle), bundle.rate_limit_use)
        self.custom_price: Decimal | None = None
        self.custom_price_reason = "waiting for the first custom API price"
        self.decider = Decider(self.desk, strategy, self.safety, self, quote_asset=self.quote_asset,
                               maker_fee=self.maker_fee, external_key=self.external_market, timers=self._timers)
        self.stop_reason: str | None = None
        self.state = "starting"
        self.events_processed = 0
        self._inbox: deque[Event] = deque()
        self._wake = WakeEvent()
        self._tasks: set[asyncio.Task[None]] = set()
        self._dirty = False  # something the strategy reads changed: evaluate
        self._book_dirty = False  # only the books / last trade price changed: evaluate unless idle
        self._risk_check = False
        self._fills_seen = _Dedup(_DEDUP_WINDOW)
        self._funding_seen = _Dedup(_DEDUP_WINDOW)

    # --- plumbing -------------------------------------------------------------------------------

    @property
    def recorder(self) -> Recorder:
        return self.desk.recorder

    @recorder.setter
    def recorder(self, recorder: Recorder) -> None:  # tests swap in a recorder of their own
        self.desk.recorder = recorder

    def emit(self, event: Event) -> None:
        self._inbox.append(event)
        self._wake.set()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        self._spawn(coro)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())
        self._wake.set()

    def request_stop(self, reason: str, flatten: bool = False) -> None:
        self.safety.flatten_requested = self.safety.flatten_requested or flatten
        if self.stop_reason is None:
            self.stop_reason = reason
            log.info("stopping: %s", reason)
        self._wake.set()

    # --- lifecycle ------------------------------------------------------------------------------

    async def run(self) -> str:
        """Start, trade until asked to stop, shut down cleanly. Returns why it stopped."""
        try:
            await self._start()
            self.state = "running"
            while self.stop_reason is None:
                await self._step(evaluate=True)
        finally:
            await self._shutdown()
        return self.stop_reason or "stopped"

    async def _start(self) -> None:
        gateway, feed = self.bundle.gateway, self.bundle.feed
        await gateway.start(self.emit)
        own_markets = [m for m in self.markets if self.external_source is None or m != self.external_market]
        await feed.start(own_markets, self.emit)
        if self.external_source is not None:
            await self.external_source.start(self.emit)
        await self.reconciler.set_up_account()
        await self.reconciler.at_start()
        if self.exchange_stop is not None:
            await self.exchange_stop.at_start()
        now = self.clock.now()
        self._timers["status"] = now
        self._timers["stuck"] = now + self.options.stuck_check_interval_s
        self._timers["venue_state"] = now + self.options.venue_state_interval_s
        if self.options.duration_s is not None:
            self._timers["duration"] = now + self.options.duration_s
        if self.external_market is not None:
            self.markets[self.external_market].unready_since = now
            self._timers["price_source"] = now + self.options.price_source_report_s
        if self.safety.limits.dead_man_switch_s > 0 and self.bundle.dead_man_switch is not None:
            self._timers["dead_man"] = now
        self._dirty = True

    async def _reread_positions(self, reason: str) -> None:
        if await self.reconciler.reread_positions(reason):
            self._dirty = self._risk_check = True

    async def _step(self, evaluate: bool) -> None:
        if self.bundle.pacer.virtual and self._tasks:
            # Virtual time must not move while a gateway call is still being handed to the venue.
            await asyncio.wait(set(self._tasks))
        if self.bundle.pacer.virtual and self.stop_reason is None and self._is_exhausted():
            # (once stopping, steps must go on: the cancels sent at shutdown need virtual time)
            self.request_stop("the simulated market has no more events")
            return
        deadline = min(self._timers.values()) if self._timers else None
        await self.bundle.pacer.wait(deadline, self._wake)
        self._wake.clear()
        self._react(evaluate)

    def _react(self, evaluate: bool) -> None:
        """What a step does once woken: handle the events and due timers, then decide if needed."""
        self._drain()
        self._fire_timers()
        if self._risk_check:
            self._risk_check = False
            self.safety.check_kill()
        if evaluate and self.stop_reason is None:
            if self._dirty:
                self._dirty = self._book_dirty = False
                self.decider.evaluate()
            elif self._book_dirty:
                self._book_dirty = False
                self.decider.books_moved()

    def _is_exhausted(self) -> bool:
        return self.bundle.pacer.finished() and not self._inbox

    def _drain(self) -> None:
        inbox = self._inbox
        while inbox:
            self._handle(inbox.popleft())
            self.events_processed += 1

    def _fire_timers(self) -> None:
        now = self.clock.now()
        timers = self._timers
        if not timers or min(timers.values()) > now:  # the usual step: nothing due
            return
        for name, due in list(timers.items()):
            if due > now:
                continue
            match name:
                case "status":
                    self._timers[name] = now + self.options.status_interval_s
                    self.record_status()
                case "stuck":
                    self._timers[name] = now + self.options.stuck_check_interval_s
                    if self.tracker.stuck(now, self.options.stuck_timeout_s):
                        self._spawn(self.reconciler.settle_stuck_orders())
                    if self.exchange_stop is not None:
                        self.exchange_stop.on_timer(now)
                case "venue_state":
                    self._timers[name] = now + self.options.venue_state_interval_s
                    self.record_venue_state()
                case "duration":
                    del self._timers[name]
                    self.request_stop(f"--duration of {self.options.duration_s:g} s reached")
                case "strategy" | "stale":
                    del self._timers[name]
                    self._dirty = True
                case "price_source":
                    self._timers[name] = now + self.options.price_source_report_s
                    self._report_price_source(now)
                case "dead_man":
                    # Re-arm the venue's cancel-all countdown well before it runs out.
                    seconds = self.safety.limits.dead_man_switch_s
                    self._timers[name] = now + seconds / 3
                    self._spawn(self._arm_dead_man_switch(seconds))

    def external_wait(self) -> str:
        """What the external price source is waiting for ("" when its book is usable)."""
        ext = self.markets.get(self.external_market) if self.external_market is not None else None
        return waiting_for(ext, self.external_name) if ext is not None else ""

    def _report_price_source(self, now: float) -> None:
        ext = self.markets.get(self.external_market) if self.external_market is not None else None
        if ext is not None and (line := not_ready_report(ext, self.external_name, now)):
            log.warning("%s", line)

    async def _arm_dead_man_switch(self, seconds: float) -> None:
        switch = self.bundle.dead_man_switch
        if switch is None:  # the timer is only set when there is one
            return
        try:
            await switch.arm_dead_man_switch(self.market, seconds)
        except PmmError as exc:
            log.warning("could not arm the venue's cancel-all countdown: %s", exc)

    # --- events -----------------------------------------------------------------------------------

    def _handle(self, event: Event) -> None:  # noqa: C901 - one flat dispatch is the clearest form
        now = self.clock.now()
        match event:
            case BookDelta(market=market) if market in self.markets:
                state = self.markets[market]
                state.last_data_ts = state.last_book_ts = now
                if state.ready:
                    state.book.apply_delta(event)
                    self._book_dirty = True
            case BookSnapshot(market=market) if market in self.markets:
                state = self.markets[market]
                state.book.apply_snapshot(event)
                state.last_data_ts = state.last_book_ts = now
                state.ready = True
                state.resync_reason = ""
                state.unready_since = None
                self._dirty = True
            case BookResyncRequired(market=market) if market in self.markets:
                state = self.markets[market]
                if state.ready or state.unready_since is None:
                    state.unready_since = now
                state.ready = False
                state.resync_reason = event.reason
                shown = self.external_name if self.external_source is not None and market == self.external_market \
                    else market
                log.warning("order book of %s is resyncing: %s", shown, event.reason)
                self._dirty = True
            case Trade(market=market) if market in self.markets:
                book = self.markets[market].book
                book.last_trade_price = event.price
                self.markets[market].last_data_ts = now
                self._book_dirty = True
                if market == self.market:  # the quoting model calibrates on the maker market's trades
                    self.strategy.on_market_trade(event.price, event.aggressor, book.mid, now)
            case FundingInfoUpdated(info=info) if info.market in self.markets:
                self.markets[info.market].funding = info
                self.markets[info.market].last_data_ts = now
                self._risk_check = True  # a new mark moves unrealized PnL
            case ExternalPriceUpdated():
                self.custom_price = event.price
                self.custom_price_reason = event.reason
                self._dirty = True
            case OrderAccepted():
                order = self.tracker.mark_accepted(event.client_id, event.exchange_id, now)
                if order is not None:
                    log.debug("order %s accepted as %s, %.3f s after it was sent", event.client_id,
                              event.exchange_id, now - order.created_ts)
                    self.recorder.order_changed(order)
                    # A new live order is an input of the minimum-spread rule and of max_open_orders:
                    # both are checked now, not at the next book update (a quiet book may send none).
                    self._dirty = self._risk_check = True
            case OrderRejected():
                order = self.tracker.finish(event.client_id, OrderStatus.REJECTED, now, event.reason)
                if order is not None:
                    log.warning("order %s rejected: %s", event.client_id, event.reason)
                    self.recorder.order_changed(order)
                    self._dirty = True
                    if order.request.purpose in _CLOSING:
                        # A refused exit usually means the venue holds another position than we think
                        # (a lost or reordered stream frame): ask the venue rather than retry forever.
                        self._spawn(self._reread_positions(
                            f"the venue refused {order.request.purpose} order {event.client_id}"))
            case OrderCancelled():
                order = self.tracker.finish(event.client_id, OrderStatus.CANCELLED, now)
                if order is not None:
                    log.debug("order %s cancelled", event.client_id)
                    self.recorder.order_changed(order)
                    self._dirty = True
            case OrderCancelRejected():
                order = self.tracker.mark_unknown(event.client_id, now, event.reason)
                if order is not None:
                    self._spawn(self.reconciler.settle_stuck_orders(force=[order]))
            case OrderFilled():
                self._on_fill(event, now)
            case PositionUpdated():
                self.account.set_position(event.market, event.side, event.position)
                self.recorder.position(event.market, event.side, event.position, event.ts)
                self._dirty = self._risk_check = True
                if self.exchange_stop is not None:
                    self.exchange_stop.on_position_changed()
            case ConnectionChanged():
                self.safety.on_connection(event)
                self._dirty = True
            case BalanceUpdated(balance=balance):
                before = self.account.balances.get(balance.asset)
                self.account.balances[balance.asset] = balance
                if balance.asset == self.quote_asset and (before is None or before.available != balance.available):
                    self._dirty = True  # the margin budget of the next quotes
            case FundingPaymentReceived():
                if self._funding_seen.first_time((event.market, event.funding_time_ms)):
                    self.recorder.funding(event)
                    if event.asset == self.quote_asset:
                        self.session.funding += event.amount
                    verb = "received" if event.amount >= 0 else "paid"
                    log.info("funding payment of %s %s %s on %s (rate %s)", abs(event.amount), event.asset,
                             verb, event.market, event.rate)
            case _:
                pass

    def _on_fill(self, event: OrderFilled, now: float) -> None:
        if not self._fills_seen.first_time(event.trade_id):
            return
        order = self.tracker.mark_fill(event.client_id, event.trade_id, event.price, event.amount,
                                       event.remaining, now)
        self.recorder.fill(event)
        if order is not None:
            self.recorder.order_changed(order)
        session = self.session
        session.fills += 1
        session.realized += event.realized_pnl
        session.volume_quote += event.price * event.amount
        if event.fee_asset == self.quote_asset:
            session.fees += event.fee
        self.strategy.on_fill(event, order.as_live() if order is not None else None, now)
        self._risk_check = True
        if self.exchange_stop is not None:
            self.exchange_stop.on_position_changed()
        log.info("filled %s %s %s @ %s (%s, fee %s %s)%s", event.side, event.amount, event.market, event.price,
                 event.liquidity, event.fee, event.fee_asset, "" if event.remaining > 0 else " - order complete")
        self._dirty = True

    # --- deciding -----------------------------------------------------------------------------------

    def mark_price(self) -> Decimal | None:
        return self.desk.mark_price()

    def unrealized(self) -> Decimal:
        return self.desk.unrealized()

    @property
    def last_decision(self) -> Decision | None:
        return self.decider.last_decision

    # --- recording ------------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        run = RunState(self.state, self.stop_reason, self.last_decision, self.safety, self.session,
                       self.orders.placed, self.orders.cancelled, self.strategy.model_status(self.desk.positions()),
                       self.exchange_stop.report() if self.exchange_stop is not None else None)
        external = None
        if self.external_market is not None:
            source = self.external_source
            external = ExternalSource(
                self.external_market, source.source_id if source is not None else self.connector_id,
                source.market if source is not None else self.external_market, self.external_wait())
        return build_status(self.desk, self._facts, run, external)

    def record_status(self) -> None:
        now = self.clock.now()
        self.recorder.status(self.status(), now)
        self.recorder.heartbeat(now)

    def record_venue_state(self) -> None:
        if self.bundle.export_state is not None:
            self.recorder.venue_state(self.bundle.export_state(), self.clock.now())

    # --- shutdown -------------------------------------------------------------------------------------

    async def _shutdown(self) -> None:
        self.state = "stopping"
        try:
            await self._cancel_everything()
            if self.safety.flatten_requested:
                await self.safety.flatten()
            if self.exchange_stop is not None:
                await self._refresh_account()  # the stop is kept only for a position the venue still has
                await self.exchange_stop.at_stop()
            await self.reconciler.at_stop()
            switch = self.bundle.dead_man_switch
            if switch is not None and "dead_man" in self._timers:
                await switch.disarm_dead_man_switch(self.market)
        finally:
            self.state = "stopped"
            await self._refresh_account()
            now = self.clock.now()
            funding = self.markets[self.market].funding
            mark = funding.mark_price if funding is not None else None
            for p in self.account.market_positions(self.market):
                # The final snapshot carries the PnL at the last mark, for `pmm history`.
                marked = replace(p, unrealized_pnl=unrealized_at(p, mark), mark_price=mark or p.mark_price)
                self.recorder.position(p.market, p.side, marked, now)
            self.record_status()
            self.record_venue_state()
            await self.bundle.feed.stop()
            if self.external_source is not None:
                await self.external_source.stop()
            await self.bundle.gateway.stop()
            for task in list(self._tasks):
                task.cancel()

    async def _refresh_account(self) -> None:
        """Final balances and positions straight from the venue, for the last status snapshot."""
        try:
            for balance in await self.bundle.gateway.balances():
                self.account.balances[balance.asset] = balance
            self.account.replace_positions(await self.bundle.gateway.positions())
        except PmmError as exc:
            log.warning("could not read the final account state: %s", exc)

    async def settle_pending(self, steps: int = 3) -> None:
        """Let answers already on their way arrive and be handled (no strategy evaluation)."""
        for _ in range(steps):
            await self._step(evaluate=False)

    async def _cancel_everything(self) -> None:
        """Cancel every order this run placed and wait until the venue confirms it."""
        count = self.orders.cancel_all_own("bot is stopping")
        if count:
            log.info("cancelling %d open order(s) before exit", count)
        deadline = self.clock.now() + self.options.shutdown_timeout_s
        while self.tracker.active(self.market) and self.clock.now() < deadline:
            await self._step(evaluate=False)
        left = self.tracker.active(self.market)
        if left:
            log.warning("%d order(s) still unconfirmed after %.0f s; asking the venue", len(left),
                        self.options.shutdown_timeout_s)
        await self.reconciler.cancel_leftovers()
        if count and not self.tracker.active(self.market):
            log.info("all own orders cancelled; none left open")
