"""`pmm exchange-sim VENUE`: a venue's wire dialect served on 127.0.0.1 over the simulated exchange.

The venue servers live in their venue folders; the registry's specs name each one's factory
(`VenueSpec.server`). This module picks one by name and runs it, so the CLI names no venue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pmm.connectors import registry
from pmm.connectors.common.venue_spec import VenueServerFactory, VenueSpec, load
from pmm.errors import ConfigError
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket

DEFAULT_API_KEY = "pmm-sim-api-key"
DEFAULT_API_SECRET = "pmm-sim-api-secret"
DEFAULT_API_PASSPHRASE = "pmm-sim-passphrase"


def server_venues() -> list[str]:
    """Venues `pmm exchange-sim` serves: the perpetual venues, then the spot market data of those
    that serve it (an external price source)."""
    spot = [spec.spot_feed_id for spec in registry.VENUES if spec.spot_server is not None and spec.spot_feed_id]
    return [spec.venue for spec in registry.server_venues()] + spot


def _spot_spec(venue: str) -> VenueSpec | None:
    return next((s for s in registry.VENUES if s.spot_feed_id == venue and s.spot_server is not None), None)


def public_only(venue: str) -> bool:
    """True for a server of public market data only (a spot price source): no account, no keys."""
    return _spot_spec(venue) is not None


def server_spec(venue: str) -> VenueSpec:
    """The spec of a venue that has a server (a perpetual venue, or a spot id whose venue serves its
    spot market data), or a ConfigError naming those that do."""
    spot = _spot_spec(venue)
    if spot is not None:
        return spot
    spec = registry.spec_of(venue)
    if spec is None or spec.venue != venue or spec.server is None:
        coming = registry.planned(venue)
        why = f"{coming.display_name} is planned but not built yet" if coming is not None else "unknown venue"
        raise ConfigError(f"No exchange server for `{venue}` ({why}). Available: {', '.join(server_venues())}.")
    return spec


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


def account_passphrase(spec: VenueSpec, passphrase: str | None) -> str | None:
    """The simulated account's key passphrase: the one given, a default where the venue's keys have
    one, and a ConfigError for a passphrase the venue's keys cannot have."""
    name = spec.capabilities.passphrase_name
    if name is None:
        if passphrase is not None:
            raise ConfigError(f"--api-passphrase: {spec.venue} API keys have no passphrase, only a key and a "
                              f"secret. Drop --api-passphrase.")
        return None
    return passphrase if passphrase is not None else DEFAULT_API_PASSPHRASE


async def serve_spot(spec: VenueSpec, settings: SimSettings, *, port: int, on_ready: Callable[[int], None]) -> None:
    """Serve `spec`'s spot market data (public, no keys) until cancelled."""
    from pmm.sim.exchange import SimExchange

    assert spec.spot_server is not None  # server_spec() picked a venue that serves it
    exchange = SimExchange(settings)
    try:
        server = load(spec.spot_server)(exchange, port=port)
        try:
            on_ready(await server.start())
            await asyncio.Event().wait()
        finally:
            await server.stop()
    finally:
        exchange.close()


async def serve(spec: VenueSpec, settings: SimSettings, *, port: int, api_key: str, api_secret: str,
                on_ready: Callable[[int], None], passphrase: str | None = None, dead_man_switch: bool = True) -> None:
    """Serve `spec`'s venue until cancelled. `dead_man_switch=False` (`--no-dcp`): an account without
    the venue's optional dead-man switch, for venues where it is an account setting."""
    from pmm.sim.exchange import SimExchange

    if not dead_man_switch and not spec.capabilities.dead_man_switch_optional:
        optional = [s.venue for s in registry.server_venues() if s.capabilities.dead_man_switch_optional]
        raise ConfigError(f"--no-dcp serves an account whose dead-man switch is off, but on {spec.venue} it is not "
                          f"an account setting. Drop --no-dcp, or serve {registry.example(optional)}.")
    assert spec.server is not None  # server_spec() picked a venue with a server
    factory: VenueServerFactory = load(spec.server)
    exchange = SimExchange(settings)
    try:
        server = factory(exchange, api_key=api_key, api_secret=api_secret,
                         passphrase=account_passphrase(spec, passphrase), port=port, dead_man_switch=dead_man_switch)
        try:
            on_ready(await server.start())
            await asyncio.Event().wait()
        finally:
            await server.stop()
    finally:
        exchange.close()
