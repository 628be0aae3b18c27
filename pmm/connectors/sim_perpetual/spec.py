"""The simulated perpetual venue: the registry's built-in entry (runs in-process, no keys, no hosts)."""

from __future__ import annotations

from typing import Final

from pmm.connectors.common.venue_spec import Capabilities, VenueSpec

SPEC: Final = VenueSpec(
    venue="sim_perpetual",
    display_name="the simulated exchange",
    builder="pmm.connectors.sim_perpetual.build:build",
    no_testnet_reason="the simulated exchange is its own test venue",
    capabilities=Capabilities(hedge_mode=True),
    simulated=True,
)
