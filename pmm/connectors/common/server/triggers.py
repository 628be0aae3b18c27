"""Conditional orders of a venue server: a stop resting at the venue, fired by the server when the
simulated mark or last price crosses its trigger (the simulator itself has no stops).

A venue parses its own algo / stop endpoints into `TriggerOrder`s and says which way each one fires
(`rising`: when the price reaches the trigger from below; a sell stop-loss falls to its trigger, a
sell take-profit rises to it). The server feeds every mark and last price it publishes into
`on_price`; a trigger that is crossed places its child order through the `OrderDesk` (a market
order, or a limit at `order_price`), reduce-only when the trigger is. A trigger without a size
closes the whole position it guards, as measured when it fires; with nothing to close it fails.

Listeners hear of every state change (`live` -> `triggered` / `canceled` / `failed`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from pmm.connectors.common.server.desk_order import DeskOrder, Tif
from pmm.core.clock import Clock
from pmm.core.model import ZERO, PositionMode, PositionSide, Side
from pmm.sim.exchange import SimExchange

log = logging.getLogger(__name__)


class TriggerOn(StrEnum):
    LAST = "last"
    MARK = "mark"


class TriggerState(StrEnum):
    LIVE = "live"
    TRIGGERED = "triggered"
    CANCELED = "canceled"
    FAILED = "failed"


@dataclass(slots=True)
class TriggerOrder:
    """One conditional order (see module docstring). `qty` None: the whole position."""

    algo_id: str
    client_id: str
    market: str
    side: Side
    trigger_price: Decimal
    trigger_on: TriggerOn
    rising: bool
    qty: Decimal | None = None
    order_price: Decimal | None = None  # None: a market order when it fires
    position_side: PositionSide = PositionSide.BOTH
    reduce_only: bool = True
    created: float = 0.0
    updated: float = 0.0
    state: TriggerState = TriggerState.LIVE
    child: DeskOrder | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def crossed(self, price: Decimal) -> bool:
        return price >= self.trigger_price if self.rising else price <= self.trigger_price


TriggerListener = Callable[[TriggerOrder], None]


class ChildOrderDesk(Protocol):
    """Where a fired trigger's order goes: the kit's `OrderDesk`, or a venue's own desk."""

    async def place(self, orders: Iterable[DeskOrder]) -> None: ...


class TriggerDesk:
    """The live conditional orders of one server, fired as prices cross (see module docstring)."""

    def __init__(self, desk: ChildOrderDesk, exchange: SimExchange, clock: Clock,
                 new_order_id: Callable[[], str]) -> None:
        self._desk = desk
        self._exchange = exchange
        self._clock = clock
        self._new_order_id = new_order_id
        self.by_id: dict[str, TriggerOrder] = {}
        self._listeners: list[TriggerListener] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def listen(self, listener: TriggerListener) -> None:
        self._listeners.append(listener)

    def add(self, trigger: TriggerOrder) -> None:
        trigger.created = trigger.updated = self._clock.now()
        self.by_id[trigger.algo_id] = trigger
        self._tell(trigger)

    def live(self, market: str | None = None) -> list[TriggerOrder]:
        return [t for t in self.by_id.values()
                if t.state is TriggerState.LIVE and (market is None or t.market == market)]

    def cancel(self, triggers: Iterable[TriggerOrder]) -> list[TriggerOrder]:
        """Cancel the live ones; returns those canceled."""
        done = []
        for trigger in triggers:
            if trigger.state is TriggerState.LIVE:
                trigger.state, trigger.updated = TriggerState.CANCELED, self._clock.now()
                done.append(trigger)
                self._tell(trigger)
        return done

    # --- firing -------------------------------------------------------------------------------------

    def on_price(self, market: str, on: TriggerOn, price: Decimal) -> None:
        for trigger in self.live(market):
            if trigger.trigger_on is on and trigger.crossed(price):
                self._fire(trigger)

    def _fire(self, trigger: TriggerOrder) -> None:
        qty = trigger.qty if trigger.qty is not None else self._position_size(trigger)
        trigger.updated = self._clock.now()
        if qty <= ZERO:
            trigger.state = TriggerState.FAILED
            self._tell(trigger)
            return
        child = DeskOrder(order_id=self._new_order_id(), client_id="", market=trigger.market, side=trigger.side,
                          tif=Tif.GTC if trigger.order_price is not None else Tif.IOC, price=trigger.order_price,
                          qty=qty, position_side=trigger.position_side, reduce_only=trigger.reduce_only)
        child.extra["algo"] = trigger
        trigger.child, trigger.state = child, TriggerState.TRIGGERED
        self._tell(trigger)
        task = asyncio.get_running_loop().create_task(self._place(trigger, child))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _place(self, trigger: TriggerOrder, child: DeskOrder) -> None:
        try:
            await self._desk.place([child])
        except Exception:  # a failed child must not stop the clock task; it is logged loudly
            log.exception("placing the order of trigger %s failed", trigger.algo_id)
        if child.rejection is not None:
            trigger.state = TriggerState.FAILED
            trigger.updated = self._clock.now()
            self._tell(trigger)

    def _position_size(self, trigger: TriggerOrder) -> Decimal:
        """The size of the position the trigger closes: the side its order reduces."""
        closes = PositionSide.SHORT if trigger.side is Side.BUY else PositionSide.LONG
        if self._exchange.position_mode() is PositionMode.HEDGE and trigger.position_side is not PositionSide.BOTH:
            closes = trigger.position_side
        return sum((p.amount for p in self._exchange.positions()
                    if p.market == trigger.market and p.side is closes), ZERO)

    def _tell(self, trigger: TriggerOrder) -> None:
        for listener in self._listeners:
            listener(trigger)
