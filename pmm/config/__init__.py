"""The YAML config: pydantic models, loading, and validation with precise messages.

    load_config(path) -> BotConfig          read + validate a file (raises ConfigError)
    BotConfig.to_strategy_params()          -> PmmParams (percents become fractions)
    BotConfig.to_sim_settings()             -> SimSettings (the `sim:` section)

Modules: `names` (known connector ids), `yaml_loader` (exact Decimals, key lines), `rules`
(one value rule per kind of key), `models` and `sim` (the sections), `cross` (rules across
keys), `messages` (pydantic errors -> pmm messages), `loader` (the two-pass validation).
See the README (Configuration reference) for every key.
"""

from __future__ import annotations

from pmm.config.loader import load_config, parse_config, parse_config_text
from pmm.config.models import BotConfig, ConnectorOverrides, OverrideEntry
from pmm.config.names import KNOWN_DERIVATIVES, KNOWN_EXCHANGES, KNOWN_PRICE_SOURCES, SIM_CONNECTOR
from pmm.config.sim import (
    ReplayGenerator,
    SimConfig,
    SimMarketConfig,
    StaticGenerator,
    SyntheticGenerator,
)

__all__ = [
    "KNOWN_DERIVATIVES",
    "KNOWN_EXCHANGES",
    "KNOWN_PRICE_SOURCES",
    "SIM_CONNECTOR",
    "BotConfig",
    "ConnectorOverrides",
    "OverrideEntry",
    "ReplayGenerator",
    "SimConfig",
    "SimMarketConfig",
    "StaticGenerator",
    "SyntheticGenerator",
    "load_config",
    "parse_config",
    "parse_config_text",
]
