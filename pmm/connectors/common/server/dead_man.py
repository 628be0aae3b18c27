"""A venue's dead-man switch over the order desk: armed with a timeout, it cancels every open order
when the timeout runs out without being armed again (a "cancel all after" or "countdown cancel
all" endpoint). Arming with 0 disarms it. A switch given a `market` cancels that market's orders
only (a venue whose countdown is per symbol keeps one switch per symbol).

It follows the server's clock (`on_tick`, called by the driver after every advance), so a test
with a hand-moved clock sees it fire exactly when the clock passes the deadline.
"""

from __future__ import annotations

import logging

from pmm.connectors.common.server.desk_order import Cause
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.core.clock import Clock

log = logging.getLogger(__name__)


class DeadManSwitch:
    """One account's (or one scope's) dead-man switch."""

    def __init__(self, clock: Clock, desk: OrderDesk, *, name: str = "dead-man switch",
                 market: str | None = None) -> None:
        self._clock = clock
        self._desk = desk
        self._name = name
        self._market = market
        self.deadline: float | None = None
        self.fired = 0  # how many times it ran out (for tests and logs)

    def arm(self, timeout_s: float) -> float | None:
        """Cancel everything `timeout_s` from now unless armed again; 0 disarms. The deadline."""
        self.deadline = self._clock.now() + timeout_s if timeout_s > 0 else None
        return self.deadline

    def on_tick(self, now: float) -> None:
        if self.deadline is None or now < self.deadline:
            return
        self.deadline = None
        self.fired += 1
        count = self._desk.cancel_now(self._desk.open_orders(self._market), Cause.DEAD_MAN)
        log.warning("%s ran out: canceling %d open order(s)", self._name, count)
