"""The exchange-side stop (`exchange_stop_loss: true`): a reduce-only stop resting at the venue.

While a position is open, one conditional stop per position side rests at the venue at the
stop-loss trigger of Hummingbot's `stop_loss_proposal` (reference §3.2): entry × (1 − stop_loss_spread)
for a long, entry × (1 + stop_loss_spread) for a short, on the mark price, closing the whole
position at market when it fires. The trigger is rounded away from the entry (a long's down, a
short's up), so the bot's own stop-loss, which reacts at the same level on the book, stays first;
the resting stop is the backstop that closes the position when the bot is killed or cut off.

The stop is replaced when the position's size or entry changes (the new one is placed before the
old one is cancelled: the position is never left without a stop) and cancelled when the position
is flat. Stops carry client ids of their own (`STOP_ID_PREFIX`), so the reconciliation of quotes
never takes them for strays; at start, the stops an earlier run left are listed and replaced
(placed anew, then cancelled), never duplicated. At a clean stop with a position still open the
stop is kept: outliving the bot is its purpose.

Every change goes through `sync`, which compares what should rest with what does; one sync runs
at a time and a change during it makes it run again. A stop the venue refused (the mark is
already through the trigger, say) is tried again on the next position change or after
`RETRY_S`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pmm.connectors.base import ConditionalOrders
from pmm.core.clock import Clock
from pmm.core.model import ClientOrderId, Position, PositionSide, Side, TradingRules
from pmm.errors import OrderOutcomeUnknown, PmmError, UnknownOrder, VenueSetupError

log = logging.getLogger("pmm.exchange_stop")

STOP_ID_PREFIX = "pmm-stop-"
RETRY_S = 30.0  # a stop the venue refused, or a cancel that did not go through, is tried again this late

_ONE = Decimal(1)
Spawn = Callable[[Coroutine[Any, Any, None]], None]


def is_stop_client_id(client_id: str) -> bool:
    """Whether an order is an exchange-side stop of pmm (any run's), not a quote."""
    return client_id.startswith(STOP_ID_PREFIX)


@dataclass(frozen=True, slots=True)
class StopTarget:
    """The stop one position should have resting at the venue."""

    side: Side  # the closing side
    amount: Decimal
    trigger_price: Decimal
    position_side: PositionSide  # BOTH in one-way mode


def stop_targets(positions: Sequence[Position], stop_loss_spread: Decimal, rules: TradingRules,
                 hedge: bool) -> dict[PositionSide, StopTarget]:
    """The stop each open position should have, by the position's side (LONG / SHORT)."""
    targets = {}
    for pos in positions:
        if pos.amount <= 0:
            continue
        long = pos.side is PositionSide.LONG
        if long:
            trigger = rules.floor_price(pos.entry_price * (_ONE - stop_loss_spread))
        else:
            trigger = rules.ceil_price(pos.entry_price * (_ONE + stop_loss_spread))
        if trigger <= 0:
            continue
        targets[pos.side] = StopTarget(side=Side.SELL if long else Side.BUY, amount=pos.amount,
                                       trigger_price=trigger,
                                       position_side=pos.side if hedge else PositionSide.BOTH)
    return targets


class ExchangeStop:
    """Keeps the resting stops of one market in line with its positions (see module docstring)."""

    def __init__(self, stops: ConditionalOrders, *, market: str, rules: TradingRules, stop_loss_spread: Decimal,
                 hedge: bool, positions: Callable[[], Sequence[Position]], clock: Clock, spawn: Spawn,
                 run_id: str) -> None:
        self._stops = stops
        self._market = market
        self._rules = rules
        self._spread = stop_loss_spread
        self._hedge = hedge
        self._positions = positions
        self._clock = clock
        self._spawn = spawn
        self._prefix = f"{STOP_ID_PREFIX}{run_id[:8]}-"
        self._counter = 0
        self.resting: dict[PositionSide, tuple[ClientOrderId, StopTarget]] = {}
        # Ours at the venue (or maybe there) that no position needs: left by an earlier run, replaced,
        # or placed with an unknown outcome. Cancelled by the next sync.
        self.orphans: set[ClientOrderId] = set()
        self._refused: dict[PositionSide, StopTarget] = {}  # reported once, until the target changes
        self._retry_at: float | None = None
        self._busy = False  # a sync is running (or about to): a change only asks it to run again
        self._again = False
        self._idle = asyncio.Event()
        self._idle.set()

    # --- triggers ---------------------------------------------------------------------------------

    async def at_start(self) -> None:
        """Find the stops an earlier run left, then put the right one in place."""
        try:
            listed = await self._stops.resting_stop_orders(self._market)
        except PmmError as exc:
            raise VenueSetupError(f"Could not read the stops resting on {self._market} ({exc}): with "
                                  f"`exchange_stop_loss` the bot must know them before it starts. Start again once "
                                  f"the venue answers.") from exc
        earlier = [c for c in listed if is_stop_client_id(c)]
        if earlier:
            log.info("found %d exchange-side stop(s) left by an earlier run (%s); replacing them", len(earlier),
                     ", ".join(earlier))
        self.orphans.update(earlier)
        await self.sync()

    def on_position_changed(self) -> None:
        """A fill or a position update: what should rest may have changed."""
        if self._busy:
            self._again = True
            return
        self._busy = True
        self._idle.clear()
        self._spawn(self._sync_until_settled())

    def on_timer(self, now: float) -> None:
        if self._retry_at is not None and now >= self._retry_at:
            self._retry_at = None
            self.on_position_changed()

    async def at_stop(self) -> None:
        """Clean stop: flat, every stop of ours is cancelled; a position still open keeps its stop."""
        await self._idle.wait()
        await self.sync()
        if self.resting:
            for _, (client_id, target) in sorted(self.resting.items()):
                log.warning("the exchange-side stop %s stays resting at the venue after the bot stops: it closes "
                            "the %s position of %s if the mark reaches %s; cancel it at the venue if you close the "
                            "position by hand", client_id, target.position_side, self._market,
                            target.trigger_price)

    def report(self) -> list[dict[str, Any]]:
        """The stops as `pmm status` shows them: one per open position side, resting or refused."""
        rows: list[dict[str, Any]] = []
        wanted = stop_targets(self._positions(), self._spread, self._rules, self._hedge)
        for side, target in sorted(wanted.items()):
            current = self.resting.get(side)
            state = ("resting" if current is not None and current[1] == target
                     else "refused, retrying" if self._refused.get(side) == target else "being placed")
            rows.append({"position_side": str(side), "side": str(target.side), "amount": str(target.amount),
                         "trigger_price": str(target.trigger_price), "trigger": "mark", "state": state,
                         "client_id": current[0] if current is not None and state == "resting" else None})
        return rows

    # --- the one path ---------------------------------------------------------------------------

    async def _sync_until_settled(self) -> None:
        try:
            while True:
                self._again = False
                await self.sync()
                if not self._again:
                    return
        finally:
            self._busy = False
            self._idle.set()

    async def sync(self) -> None:
        """Make the venue's resting stops match the positions: place, replace, cancel."""
        targets = stop_targets(self._positions(), self._spread, self._rules, self._hedge)
        for side, target in targets.items():
            current = self.resting.get(side)
            if current is not None and current[1] == target:
                continue
            client_id = await self._place(side, target)
            if client_id is None:
                continue
            self.resting[side] = (client_id, target)
            if current is not None:
                self.orphans.add(current[0])
        for side in [s for s in self.resting if s not in targets]:
            self.orphans.add(self.resting.pop(side)[0])
        for client_id in sorted(self.orphans):
            await self._cancel(client_id)

    async def _place(self, side: PositionSide, target: StopTarget) -> ClientOrderId | None:
        self._counter += 1
        client_id = ClientOrderId(f"{self._prefix}{self._counter}")
        try:
            await self._stops.place_stop_order(self._market, client_id, target.side, target.amount,
                                               target.trigger_price, trigger_on_mark=True,
                                               position_side=target.position_side)
        except OrderOutcomeUnknown as exc:
            return await self._settle_unknown(client_id, exc)
        except PmmError as exc:
            if self._refused.get(side) != target:
                log.warning("could not rest the exchange-side stop for the %s position of %s (%s %s, trigger %s "
                            "on the mark): %s; the bot's own stop-loss still watches it, trying again later",
                            side, self._market, target.side, target.amount, target.trigger_price, exc)
            self._refused[side] = target
            self._retry_later()
            return None
        self._refused.pop(side, None)
        log.info("exchange-side stop %s resting: %s %s %s when the mark reaches %s (%s position)", client_id,
                 target.side, target.amount, self._market, target.trigger_price, side)
        return client_id

    async def _settle_unknown(self, client_id: ClientOrderId, exc: PmmError) -> ClientOrderId | None:
        """The placement's outcome is unknown: ask the venue whether the stop rests."""
        try:
            resting = client_id in await self._stops.resting_stop_orders(self._market)
        except PmmError:
            # Still unknown: cancel it if it exists, and place again later.
            self.orphans.add(client_id)
            self._retry_later()
            log.warning("exchange-side stop %s: placement outcome unknown (%s); trying again later", client_id, exc)
            return None
        if not resting:
            self._retry_later()
            log.warning("exchange-side stop %s was not placed (%s); trying again later", client_id, exc)
            return None
        return client_id

    async def _cancel(self, client_id: ClientOrderId) -> None:
        try:
            await self._stops.cancel_stop_order(self._market, client_id)
        except UnknownOrder:
            pass  # already gone: it fired, or an earlier cancel went through
        except PmmError as exc:
            log.warning("could not cancel the exchange-side stop %s (%s); trying again later", client_id, exc)
            self._retry_later()
            return
        else:
            log.info("exchange-side stop %s cancelled", client_id)
        self.orphans.discard(client_id)

    def _retry_later(self) -> None:
        if self._retry_at is None:
            self._retry_at = self._clock.now() + RETRY_S
