"""Builds the `sim_perpetual` connector from a config: exchange, feed, gateway, clock and pacer."""

from __future__ import annotations

import logging
from typing import Any

from pmm.connectors.base import ConnectorBundle
from pmm.connectors.sim_perpetual.connector import CONNECTOR_ID, SimFeed, SimGateway
from pmm.connectors.sim_perpetual.pacer import SimPacer
from pmm.core.clock import Clock, LiveClock, VirtualClock
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange

log = logging.getLogger("pmm.sim")


def _duration(seconds: float) -> str:
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def build(config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None) -> ConnectorBundle:
    settings = config.to_sim_settings()
    exchange = SimExchange(settings)
    if restored_state is not None:
        try:
            exchange.restore_state(restored_state)
        except Exception as exc:  # a state from an older or different sim config
            raise ConfigError(
                f"The simulated account stored for {CONNECTOR_ID} does not fit this config ({exc}). "
                f"Use another database with --db (or delete data/pmm.sqlite) to start a fresh simulated account."
            ) from exc
    clock: Clock
    if fast:
        # A --fast run continues the simulated account's own time (or starts at sim.start_time).
        clock = VirtualClock(max(settings.start_ts, float(restored_state["now"])) if restored_state
                             else settings.start_ts)
    else:
        clock = LiveClock()
        ahead = float(restored_state["now"]) - clock.now() if restored_state is not None else 0.0
        if ahead > 0:
            # A --fast run took the simulated account past the wall clock. Its time never goes
            # back (fills, funding and the venue's agenda are in its time): run at real-time pace
            # from where it stands, instead of waiting for the wall clock to catch up.
            clock = LiveClock(offset_s=ahead)
            log.info("the simulated account's clock is %s ahead of the wall clock (a --fast run): this run "
                     "continues at its time, at real-time pace", _duration(ahead))
        elif restored_state is not None:
            # The simulated venue stands still while no bot runs: resume it at the wall clock
            # without generating the time in between.
            exchange.skip_to(clock.now())
    return ConnectorBundle(
        connector_id=CONNECTOR_ID,
        feed=SimFeed(exchange),
        gateway=SimGateway(exchange),
        clock=clock,
        pacer=SimPacer(exchange, clock, fast),
        export_state=exchange.export_state,
    )
