"""The simulated perpetual exchange (matching, margin, positions, funding, liquidation) and its
market sources. Entry point: `SimExchange(SimSettings(...))`."""

from pmm.sim.exchange import SimExchange
from pmm.sim.settings import (
    ReplayMarket,
    SimMarketSettings,
    SimSettings,
    StaticMarket,
    SyntheticMarket,
)

__all__ = ["ReplayMarket", "SimExchange", "SimMarketSettings", "SimSettings", "StaticMarket", "SyntheticMarket"]
