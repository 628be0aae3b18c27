"""Connector ids -> builders. The only place outside a venue folder that names venues.

Builders are imported lazily so that `pmm --help` does not import every venue.
"""

from __future__ import annotations

import importlib
from typing import Any

from pmm.connectors.base import ConnectorBundle
from pmm.errors import ConfigError

_BUILDERS: dict[str, str] = {
    "sim_perpetual": "pmm.connectors.sim_perpetual.build:build",
    "binance_perpetual": "pmm.connectors.binance_perpetual.build:build",
    "binance_perpetual_testnet": "pmm.connectors.binance_perpetual.build:build",
    "binance_perpetual_paper_trade": "pmm.connectors.binance_perpetual.build:build_paper",
    "bybit_perpetual": "pmm.connectors.bybit_perpetual.build:build",
    "bybit_perpetual_testnet": "pmm.connectors.bybit_perpetual.build:build",
    "bybit_perpetual_paper_trade": "pmm.connectors.bybit_perpetual.build:build_paper",
    "okx_perpetual": "pmm.connectors.okx_perpetual.build:build",
    "okx_perpetual_testnet": "pmm.connectors.okx_perpetual.build:build",
    "okx_perpetual_paper_trade": "pmm.connectors.okx_perpetual.build:build_paper",
}


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
