"""Connector ids the config accepts, read from the connector registry (its specs are plain data).

A planned venue's id may appear in a config even though its connector is not built yet: the config
loads, and `pmm start` refuses later with its own message.
"""

from __future__ import annotations

from typing import Final

from pmm.connectors import registry
from pmm.connectors.common.venue_spec import ConnectorMode

#: The simulated perpetual venue: runs offline, with the `sim:` section as its settings.
SIM_CONNECTOR: Final = "sim_perpetual"

#: Perpetual (derivative) connector ids, valid for `derivative` and `price_source_derivative`.
KNOWN_DERIVATIVES: Final[tuple[str, ...]] = registry.accepted_connector_ids()

#: Spot exchange ids: valid only as `price_source_derivative` (an external price source).
KNOWN_EXCHANGES: Final[tuple[str, ...]] = registry.spot_feed_ids()

#: Everything `price_source_derivative` may name.
KNOWN_PRICE_SOURCES: Final[tuple[str, ...]] = KNOWN_DERIVATIVES + KNOWN_EXCHANGES


def uses_sim_venue(connector: str | None) -> bool:
    """True when `connector` runs on the in-process simulated exchange (and so reads `sim:`).

    Paper-trade connectors use the venue's real feed but the simulated exchange for orders,
    so balances and fees from `sim:` apply to them too.
    """
    if connector is None:
        return False
    return registry.mode_of(connector) in (ConnectorMode.SIMULATED, ConnectorMode.PAPER_TRADE)
