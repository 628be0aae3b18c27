"""Builds the `sim_perpetual` connector from a config: exchange, feed, gateway, clock and pacer."""

from __future__ import annotations

from typing import Any

from pmm.connectors.base import ConnectorBundle
from pmm.connectors.sim_perpetual.connector import CONNECTOR_ID, SimFeed, SimGateway
from pmm.connectors.sim_perpetual.pacer import SimPacer
from pmm.core.clock import Clock, LiveClock, VirtualClock
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange


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
        if restored_state is not None:
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
