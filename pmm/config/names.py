"""Connector ids the config accepts: the one place that lists them.

A name in `KNOWN_DERIVATIVES` may appear in a config even when its connector is not built yet:
the config loads, and `pmm start` refuses later with its own message. Keeping the list here (and
not in the connector registry) lets a config be validated without importing any venue code.
"""

from __future__ import annotations

from typing import Final

#: The simulated perpetual venue: runs offline, with the `sim:` section as its settings.
SIM_CONNECTOR: Final = "sim_perpetual"

#: Perpetual (derivative) connector ids, valid for `derivative` and `price_source_derivative`.
KNOWN_DERIVATIVES: Final[tuple[str, ...]] = (
    SIM_CONNECTOR,
    "binance_perpetual",
    "binance_perpetual_testnet",
    "binance_perpetual_paper_trade",
    "bybit_perpetual",
    "bybit_perpetual_testnet",
    "bybit_perpetual_paper_trade",
    "okx_perpetual",
    "okx_perpetual_testnet",
    "okx_perpetual_paper_trade",
    "gate_io_perpetual",
    "kucoin_perpetual",
    "bitget_perpetual",
    "bitmart_perpetual",
)

#: Spot exchange ids: valid only as `price_source_derivative` (an external price source).
KNOWN_EXCHANGES: Final[tuple[str, ...]] = (
    "binance",
    "bybit",
    "okx",
    "gate_io",
    "kucoin",
    "bitget",
    "bitmart",
)

#: Everything `price_source_derivative` may name.
KNOWN_PRICE_SOURCES: Final[tuple[str, ...]] = KNOWN_DERIVATIVES + KNOWN_EXCHANGES


def uses_sim_venue(connector: str | None) -> bool:
    """True when `connector` runs on the in-process simulated exchange (and so reads `sim:`).

    Paper-trade connectors use the venue's real feed but the simulated exchange for orders,
    so balances and fees from `sim:` apply to them too.
    """
    return connector is not None and (
        connector == SIM_CONNECTOR or connector.endswith("_paper_trade")
    )
