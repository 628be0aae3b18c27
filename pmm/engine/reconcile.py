"""Reconciliation: the venue is the truth.

Used at start (account set-up, orders left by an earlier run, positions, balances, fills and
funding missed while the bot was down), for orders whose outcome is unknown or whose cancel went
unanswered, and at shutdown (nothing of ours may be left resting; the last hour's fills and
funding payments read once more). Missing fills are fed back through the normal event path, so they
are recorded exactly once like any other.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from pmm.core.events import Event, FundingPaymentReceived, OrderAccepted, OrderCancelled, OrderFilled
from pmm.core.model import OrderPurpose, OrderReport, OrderRequest, OrderStatus, OrderType
from pmm.engine.desk import Control, Desk
from pmm.engine.exchange_stop import is_stop_client_id
from pmm.engine.tracker import TrackedOrder
from pmm.errors import PmmError, VenueSetupError
from pmm.log_repeats import SAME_UP_TO_FIGURES

if TYPE_CHECKING:
    from pmm.connectors.base import OrderGateway
    from pmm.engine.engine import EngineOptions
    from pmm.strategy.params import PmmParams

log = logging.getLogger("pmm.reconcile")

_MAX_CANCEL_ATTEMPTS = 5
# A refused closing order means the bot's position may be wrong; it is re-read at most this often.
POSITION_REREAD_MIN_S = 5.0
# At a clean stop, fills and funding payments of (at most) this much of the run are read again.
FINAL_BACKFILL_S = 3600.0


def _adopted(report: OrderReport, now: float) -> TrackedOrder:
    request = OrderRequest(
        client_id=report.client_id, market=report.market, side=report.side, order_type=report.order_type,
        amount=report.amount, price=report.price, position_side=report.position_side,
        reduce_only=report.reduce_only, purpose=OrderPurpose.EXTERNAL,
    )
    return TrackedOrder(request=request, created_ts=report.created_ts, status=OrderStatus.OPEN,
                        exchange_id=report.exchange_id, filled=report.filled, updated_ts=now)


class Reconciler:
    """`options` is read at each use: a test may tune the engine's options after it is built."""

    def __init__(self, desk: Desk, gateway: OrderGateway, control: Control, *, emit: Callable[[Event], None],
                 params: PmmParams, connector_id: str, options: Callable[[], EngineOptions]) -> None:
        self._desk = desk
        self._gateway = gateway
        self._control = control
        self._emit = emit
        self._params = params
        self._connector_id = connector_id
        self._options = options
        self._busy = False
        self._started_ts: float | None = None
        self._positions_read_ts: float | None = None

    async def set_up_account(self) -> None:
        """Position mode, margin mode and leverage before any order (DESIGN.md §6)."""
        desk, gateway, params = self._desk, self._gateway, self._params
        steps = (
            (f"set position mode to {params.position_mode}", gateway.set_position_mode(params.position_mode)),
            (f"set margin mode of {desk.market} to {params.margin_mode}",
             gateway.set_margin_mode(desk.market, params.margin_mode)),
            (f"set leverage of {desk.market} to {params.leverage}x",
             gateway.set_leverage(desk.market, params.leverage)),
        )
        for what, call in steps:
            try:
                await call
            except PmmError as exc:
                for _, pending in steps:
                    pending.close()
                raise VenueSetupError(
                    f"Could not {what} on {self._connector_id}: {exc}. Close open positions and orders "
                    f"on that account or change the config, then start again."
                ) from exc
            log.info("%s: done", what)

    async def at_start(self) -> None:
        desk, gateway, market = self._desk, self._gateway, self._desk.market
        self._started_ts = desk.clock.now()
        desk.account.replace_positions(await gateway.positions())
        for balance in await gateway.balances():
            desk.account.balances[balance.asset] = balance
        for report in await gateway.open_orders(market):
            if is_stop_client_id(report.client_id):
                continue  # an exchange-side stop, where a venue lists them among open orders: ExchangeStop's
            if report.client_id.startswith("pmm-"):
                # Ours, from an earlier run: adopt it so its cancel is tracked and confirmed like any other.
                log.warning("cancelling order %s left open by an earlier run", report.client_id)
                desk.tracker.adopt(_adopted(report, desk.clock.now()))
                desk.orders.cancel(report.client_id, "left open by an earlier run")
            else:
                log.warning("order %s on %s was not placed by pmm; leaving it alone", report.client_id, market)
        await self.backfill(self._options().backfill_since_ts)

    async def reread_positions(self, reason: str) -> bool:
        """Replace the bot's positions with the venue's (at most once per POSITION_REREAD_MIN_S).

        The stream is the usual source; this is for when the venue contradicts it, e.g. it refuses a
        take-profit because there is no position to reduce.
        """
        desk = self._desk
        now = desk.clock.now()
        if self._positions_read_ts is not None and now - self._positions_read_ts < POSITION_REREAD_MIN_S:
            return False
        self._positions_read_ts = now
        log.warning("re-reading positions from the venue: %s", reason)
        try:
            positions = await self._gateway.positions()
        except PmmError as exc:
            log.warning("could not re-read positions (%s); trying again at the next refusal", exc)
            return False
        before = set(desk.account.positions)
        desk.account.replace_positions(positions)
        now = desk.clock.now()
        for market, side in sorted(before | set(desk.account.positions)):
            desk.recorder.position(market, side, desk.account.positions.get((market, side)), now)
        return True

    async def at_stop(self) -> None:
        """Read the run's last fills and funding payments once more before the bot goes.

        A payment the venue made just before the stop may not have reached the store yet (a venue may
        book a settlement in its ledger seconds after the funding time; an event can be lost with a
        dropped stream): it is recorded now, not only by the next start.
        """
        desk = self._desk
        if self._started_ts is None:
            return  # never started: nothing of this run to read
        since = max(self._started_ts, desk.clock.now() - FINAL_BACKFILL_S)
        try:
            await self.backfill(since, quiet=True)
        except PmmError as exc:
            log.warning("could not read the venue's latest fills and funding payments before stopping (%s); "
                        "the next start reads them", exc)

    async def backfill(self, since_ts: float, *, quiet: bool = False) -> None:
        """Record fills and funding payments the venue has after `since_ts` that the store lacks
        (the store ignores duplicates too; what it held at start is not sent again nor counted)."""
        desk, gateway, market = self._desk, self._gateway, self._desk.market
        known_fills, known_funding = self._options().recorded_trade_ids, self._options().recorded_funding_ms
        fills = [f for f in await gateway.fills_since(since_ts, market) if f.trade_id not in known_fills]
        for f in fills:
            desk.recorder.fill(OrderFilled(
                f.client_id, f.exchange_id, f.trade_id, f.market, f.side, OrderType.LIMIT, f.price, f.amount,
                Decimal(0), f.fee, f.fee_asset, f.liquidity, f.position_side, f.realized_pnl, f.ts, f.ts))
        payments = [p for p in await gateway.funding_payments_since(since_ts, market)
                    if p.funding_time_ms not in known_funding]
        for p in payments:
            ts = p.funding_time_ms / 1000
            desk.recorder.funding(FundingPaymentReceived(
                p.market, p.funding_time_ms, p.rate, p.amount, p.asset, p.position_amount, p.mark_price, ts, ts))
        if (fills or payments) and not quiet:
            log.info("reconciled %d fill(s) and %d funding payment(s) from the venue", len(fills), len(payments))

    async def settle_stuck_orders(self, force: list[TrackedOrder] | None = None) -> None:
        """Ask the venue about orders whose placement or cancel went unanswered."""
        desk = self._desk
        if self._busy:
            return
        self._busy = True
        try:
            now = desk.clock.now()
            stuck = force or desk.tracker.stuck(now, self._options().stuck_timeout_s)
            if not stuck:
                return
            gateway, market = self._gateway, desk.market
            open_at_venue = {r.client_id: r for r in await gateway.open_orders(market)}
            for order in stuck:
                report = open_at_venue.get(order.client_id)
                if report is not None:
                    if order.exchange_id is None:
                        self._emit(OrderAccepted(order.client_id, report.exchange_id, market, now, now))
                    if order.cancel_sent_ts is not None and order.cancel_attempts < _MAX_CANCEL_ATTEMPTS:
                        log.warning("cancel of %s unanswered; sending it again", order.client_id)
                        desk.orders.resend_cancel(order)
                    continue
                # Gone from the venue: pick up any fills we missed, then close it.
                fills = [f for f in await gateway.fills_since(order.created_ts - 1.0, market)
                         if f.client_id == order.client_id]
                filled = Decimal(0)
                for f in sorted(fills, key=lambda f: f.ts):
                    filled += f.amount
                    self._emit(OrderFilled(
                        f.client_id, f.exchange_id, f.trade_id, f.market, f.side, order.request.order_type,
                        f.price, f.amount, order.request.amount - filled, f.fee, f.fee_asset, f.liquidity,
                        f.position_side, f.realized_pnl, f.ts, now))
                log.warning("order %s is not open at the venue; settled from its %d fill(s)", order.client_id,
                            len(fills))
                self._emit(OrderCancelled(order.client_id, order.exchange_id, market, now, now))
        except PmmError as exc:
            # The venue is unreachable, rate limited or banning us: the orders stay in flight and
            # the next stuck check asks again.
            log.warning("could not ask the venue about unanswered orders (%s); asking again later", exc,
                        extra=SAME_UP_TO_FIGURES)
        finally:
            self._busy = False

    async def cancel_leftovers(self) -> None:
        """After shutdown cancels: anything of ours still open at the venue is cancelled again."""
        desk, gateway, market = self._desk, self._gateway, self._desk.market
        try:
            leftovers = [r for r in await gateway.open_orders(market) if desk.orders.owns(r.client_id)]
        except PmmError as exc:
            log.error("could not check open orders at shutdown: %s", exc)
            return
        for report in leftovers:
            log.warning("order %s still open at the venue at shutdown; cancelling", report.client_id)
            try:
                await gateway.cancel_order(market, report.client_id)
            except PmmError as exc:
                log.error("could not cancel %s: %s", report.client_id, exc)
        if leftovers:
            await self._control.settle_pending()
