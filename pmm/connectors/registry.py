"""Connector ids -> builders. The only place outside a venue folder that names venues.

Builders are imported lazily so that `pmm --help` does not import every venue. A price source
(`price_source_derivative`) is a built perpetual connector's public feed, or a venue's spot feed
(`_SPOT_FEEDS`); each venue module's `build_price_feed(source_id, config, clock)` builds either.
"""

from __future__ import annotations

import importlib
from typing import Any

from pmm.connectors.base import ConnectorBundle, MarketDataFeed
from pmm.core.clock import Clock
from pmm.errors import ConfigError

_BUILDERS: dict[str, str] = {
    "sim_perpetual": "pmm.connectors.sim_perpetual.build:build",
    "binance_perpetual": "pmm.connectors.binance_perpetual.build:build",
    "binance_perpetual_testnet": "pmm.connectors.binance_perpetual.build:build",
    "binance_perpetual_paper_trade": "pmm.connectors.binance_perpetual.build:build_paper",
    "bybit_perpetual": "pmm.connectors.bybit_perpetual.build:build",
    "bybit_perpetual_testnet": "pmm.connectors.bybit_perpetual.build:build",
    "bybit_perpetual_paper_trade": "pmm.connectors.bybit_perpetual.build:build_paper",
}

# Spot market data of a venue, usable only as an external price source (public, no keys).
_SPOT_FEEDS: dict[str, str] = {
    "binance": "pmm.connectors.binance_perpetual.build:build_price_feed",
    "bybit": "pmm.connectors.bybit_perpetual.build:build_price_feed",
}
# The simulated venue's markets exist only inside its own connector: not a price source for another.
_SIM_ONLY = "sim_perpetual"


def built_connectors() -> list[str]:
    return sorted(_BUILDERS)


def build_connector(connector_id: str, config: Any, **options: Any) -> ConnectorBundle:
    target = _BUILDERS.get(connector_id)
    if target is None:
        raise ConfigError(
            f"Connector `{connector_id}` is not available in this version of pmm. Available: "
            f"{', '.join(built_connectors())}. Use `derivative: sim_perpetual` to run offline."
        )
    module_name, _, attr = target.partition(":")
    builder = getattr(importlib.import_module(module_name), attr)
    return builder(config, **options)


def price_sources() -> list[str]:
    """Every `price_source_derivative` another connector can read its reference price from."""
    return sorted([c for c in _BUILDERS if c != _SIM_ONLY] + list(_SPOT_FEEDS))


def build_price_feed(source_id: str, config: Any, clock: Clock) -> MarketDataFeed:
    """The public feed of `source_id` for `price_source: external_market` (no keys, no orders)."""
    target = _SPOT_FEEDS.get(source_id)
    if target is None and source_id in _BUILDERS and source_id != _SIM_ONLY:
        target = _BUILDERS[source_id].partition(":")[0] + ":build_price_feed"
    if target is None:
        raise ConfigError(
            f"`price_source_derivative` {source_id} is not available as a price source in this version of pmm. "
            f"Available: {', '.join(price_sources())}."
        )
    module_name, _, attr = target.partition(":")
    builder = getattr(importlib.import_module(module_name), attr)
    return builder(source_id, config, clock)
