"""`pmm exchange-sim VENUE`: a venue's wire dialect served on 127.0.0.1 over the simulated exchange.

The venue servers live in their venue folders (`connectors/<venue>/server.py`); this module only
picks one by name, so the CLI names no venue.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from pmm.errors import ConfigError
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket

_SERVERS: dict[str, str] = {
    "binance_perpetual": "pmm.connectors.binance_perpetual.server:serve_forever",
    "bybit_perpetual": "pmm.connectors.bybit_perpetual.server:serve_forever",
}
# Spot public market data (an external price source): no account, no keys.
_SPOT_SERVERS: dict[str, str] = {
    "binance": "pmm.connectors.binance_perpetual.server_spot:serve_forever",
    "bybit": "pmm.connectors.bybit_perpetual.server_spot:serve_forever",
}

DEFAULT_API_KEY = "pmm-sim-api-key"
DEFAULT_API_SECRET = "pmm-sim-api-secret"


def server_venues() -> list[str]:
    return sorted(_SERVERS) + sorted(_SPOT_SERVERS)


def public_only(venue: str) -> bool:
    """True for a server of public market data only (a spot price source): no account, no keys."""
    return venue in _SPOT_SERVERS


def sim_settings(config: Any | None) -> SimSettings:
    """The simulated venue behind the server: a config's `sim:` section, or BTC-USDT with defaults.
    The config's `market` and its external `price_source_market` are listed (synthetic unless the
    `sim:` section says otherwise), so one config serves both the maker venue and its price source."""
    if config is None:
        return SimSettings(markets=(SimMarketSettings("BTC-USDT", SyntheticMarket()),))
    settings = config.to_sim_settings()
    names = [m.market for m in settings.markets]
    wanted = [config.market]
    if str(config.price_source) == "external_market" and config.price_source_market:
        wanted.append(config.price_source_market)
    extra = tuple(SimMarketSettings(m, SyntheticMarket()) for m in dict.fromkeys(wanted) if m not in names)
    if extra:
        settings = SimSettings(**{**{f: getattr(settings, f) for f in settings.__dataclass_fields__},
                                  "markets": settings.markets + extra})
    return settings


async def serve(venue: str, settings: SimSettings, *, port: int, api_key: str, api_secret: str,
                on_ready: Callable[[int], None], dcp: bool = True) -> None:
    """Serve `venue` until cancelled. `dcp=False`: a Bybit account without Disconnection Protection."""
    target = _SERVERS.get(venue) or _SPOT_SERVERS.get(venue)
    if target is None:
        raise ConfigError(f"No exchange server for `{venue}`. Available: {', '.join(server_venues())}.")
    extra: dict[str, Any] = {}
    if not dcp:
        if venue != "bybit_perpetual":
            raise ConfigError(f"--no-dcp describes a Bybit account (Disconnection Protection); `{venue}` has no DCP. "
                              "Drop --no-dcp, or serve bybit_perpetual.")
        from pmm.connectors.bybit_perpetual.server_options import ServerOptions

        extra["options"] = ServerOptions(dcp_enabled=False)
    module_name, _, attr = target.partition(":")
    serve_forever = getattr(importlib.import_module(module_name), attr)
    await serve_forever(settings, port=port, api_key=api_key, api_secret=api_secret, on_ready=on_ready, **extra)
