"""`pmm exchange-sim VENUE`: a venue's wire dialect served on 127.0.0.1 over the simulated exchange.

The venue servers live in their venue folders (`connectors/<venue>/server.py`); this module only
picks one by name, so the CLI names no venue.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from pmm.connectors.common.server import DEFAULT_API_PASSPHRASE as _DEFAULT_PASSPHRASE
from pmm.errors import ConfigError
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket

_SERVERS: dict[str, str] = {
    "binance_perpetual": "pmm.connectors.binance_perpetual.server:serve_forever",
    "bybit_perpetual": "pmm.connectors.bybit_perpetual.server:serve_forever",
    "okx_perpetual": "pmm.connectors.okx_perpetual.server:serve_forever",
}

DEFAULT_API_KEY = "pmm-sim-api-key"
DEFAULT_API_SECRET = "pmm-sim-api-secret"
DEFAULT_API_PASSPHRASE = _DEFAULT_PASSPHRASE


def server_venues() -> list[str]:
    return sorted(_SERVERS)


def _serve_forever(venue: str) -> Callable[..., Any]:
    target = _SERVERS.get(venue)
    if target is None:
        raise ConfigError(f"No exchange server for `{venue}`. Available: {', '.join(server_venues())}.")
    module_name, _, attr = target.partition(":")
    serve_forever: Callable[..., Any] = getattr(importlib.import_module(module_name), attr)
    return serve_forever


def takes_passphrase(venue: str) -> bool:
    """Whether the venue's keys carry a passphrase: its server takes the simulated account's
    (`api_passphrase`) and checks it on every signed request."""
    return "api_passphrase" in inspect.signature(_serve_forever(venue)).parameters


def sim_settings(config: Any | None) -> SimSettings:
    """The simulated venue behind the server: a config's `sim:` section, or BTC-USDT with defaults."""
    if config is None:
        return SimSettings(markets=(SimMarketSettings("BTC-USDT", SyntheticMarket()),))
    settings = config.to_sim_settings()
    names = {m.market for m in settings.markets}
    if config.market not in names:
        extra = SimMarketSettings(config.market, SyntheticMarket())
        settings = SimSettings(**{**{f: getattr(settings, f) for f in settings.__dataclass_fields__},
                                  "markets": settings.markets + (extra,)})
    return settings


async def serve(venue: str, settings: SimSettings, *, port: int, api_key: str, api_secret: str,
                on_ready: Callable[[int], None], dcp: bool = True, api_passphrase: str | None = None) -> None:
    """Serve `venue` until cancelled. `dcp=False`: a Bybit account without Disconnection Protection.
    `api_passphrase`: the simulated account's passphrase (venues whose keys carry one; default
    DEFAULT_API_PASSPHRASE)."""
    serve_forever = _serve_forever(venue)
    extra: dict[str, Any] = {}
    if takes_passphrase(venue):
        extra["api_passphrase"] = api_passphrase if api_passphrase is not None else DEFAULT_API_PASSPHRASE
    elif api_passphrase is not None:
        with_one = [v for v in server_venues() if takes_passphrase(v)]
        raise ConfigError(f"--api-passphrase sets the passphrase of a key; `{venue}` keys have none. Drop "
                          f"--api-passphrase, or serve a venue whose keys carry one: {', '.join(with_one)}.")
    if not dcp:
        if venue != "bybit_perpetual":
            raise ConfigError(f"--no-dcp describes a Bybit account (Disconnection Protection); `{venue}` has no DCP. "
                              "Drop --no-dcp, or serve bybit_perpetual.")
        from pmm.connectors.bybit_perpetual.server_options import ServerOptions

        extra["options"] = ServerOptions(dcp_enabled=False)
    await serve_forever(settings, port=port, api_key=api_key, api_secret=api_secret, on_ready=on_ready, **extra)
