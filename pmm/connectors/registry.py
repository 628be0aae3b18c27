"""The venues pmm knows: one line per venue naming its `VenueSpec`, and the venues still to come.

The only module outside a venue folder that names venues (DESIGN.md §2). Adding a venue is its
folder (with `spec.py`) plus one line in `_SPECS`. The config's accepted ids, `pmm connect`,
`pmm exchange-sim`, the CLI's help and the generic test suites read this module; the specs are plain
data, so reading them imports no venue code (the builders and servers they name are imported only
when used).

A price source (`price_source_derivative`) is a built perpetual connector's public feed, or a
venue's spot feed; each spec's `spot_feed` builder builds either.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from pmm.connectors.common.venue_spec import ConnectorMode, PlannedVenue, VenueSpec, by_connector_id, load
from pmm.errors import ConfigError

if TYPE_CHECKING:  # annotations only: `pmm --help` reads the registry without asyncio and the contract
    from pmm.connectors.base import ConnectorBundle, MarketDataFeed
    from pmm.core.clock import Clock

_SPECS: Final = (
    "pmm.connectors.sim_perpetual.spec",
    "pmm.connectors.binance_perpetual.spec",
    "pmm.connectors.bybit_perpetual.spec",
    "pmm.connectors.okx_perpetual.spec",
    "pmm.connectors.bitmart_perpetual.spec",
    "pmm.connectors.bitget_perpetual.spec",
    "pmm.connectors.kucoin_perpetual.spec",
    "pmm.connectors.gate_io_perpetual.spec",
    "pmm.connectors.bitmex_perpetual.spec",
)

#: Venues a config may name before they are built: it loads, and `pmm start` says not built yet.
PLANNED: Final[tuple[PlannedVenue, ...]] = (
)

VENUES: Final[tuple[VenueSpec, ...]] = tuple(importlib.import_module(name).SPEC for name in _SPECS)
_BY_VENUE: Final = {spec.venue: spec for spec in VENUES}
_BY_CONNECTOR_ID: Final = by_connector_id(_BY_VENUE)


def spec_of(connector_id: str) -> VenueSpec | None:
    """The spec of the venue a connector id (live, testnet or paper trade) belongs to."""
    return _BY_CONNECTOR_ID.get(connector_id)


def mode_of(connector_id: str) -> ConnectorMode | None:
    spec = spec_of(connector_id)
    return None if spec is None else spec.mode_of(connector_id)


def planned(connector_id: str) -> PlannedVenue | None:
    return next((p for p in PLANNED if p.venue == connector_id), None)

def built_connectors() -> list[str]:
    """Every connector id that can run in this version, in registry order."""
    return list(_BY_CONNECTOR_ID)


def accepted_connector_ids() -> tuple[str, ...]:
    """What `derivative` may name: the built connector ids, then the planned venues."""
    return tuple(_BY_CONNECTOR_ID) + tuple(p.venue for p in PLANNED)


def spot_feed_ids() -> tuple[str, ...]:
    """Spot exchanges `price_source_derivative` may name (an external price source)."""
    ids = [spec.spot_feed_id for spec in VENUES] + [p.spot_feed_id for p in PLANNED]
    return tuple(i for i in ids if i is not None)


def keyed_connectors() -> list[str]:
    """Connector ids that trade on an account at the venue, so need API keys (`pmm connect`)."""
    return [i for spec in VENUES for i in spec.keyed_connector_ids]


def server_venues() -> list[VenueSpec]:
    """Venues with a loopback venue server (`pmm exchange-sim`, the generic test suites)."""
    return [spec for spec in VENUES if spec.server is not None]


def example(ids: list[str], count: int = 2) -> str:
    """A few ids for a help text or a message, e.g. "a or b"."""
    shown = ids[:count]
    return " or ".join(shown) if len(shown) <= 2 else ", ".join(shown[:-1]) + " or " + shown[-1]


def build_connector(connector_id: str, config: Any, **options: Any) -> ConnectorBundle:
    spec = spec_of(connector_id)
    if spec is None:
        coming = planned(connector_id)
        if coming is not None:
            raise ConfigError(f"Connector `{connector_id}` ({coming.display_name}) is planned but not built yet in "
                              f"this version of pmm. Available: {', '.join(built_connectors())}. Use "
                              f"`derivative: sim_perpetual` to run offline.")
        raise ConfigError(
            f"Connector `{connector_id}` is not available in this version of pmm. Available: "
            f"{', '.join(built_connectors())}. Use `derivative: sim_perpetual` to run offline."
        )
    builder = load(spec.builder_for(connector_id))
    bundle: ConnectorBundle = builder(config, **options)
    return bundle


def price_sources() -> list[str]:
    """Every `price_source_derivative` another connector can read its reference price from: the
    connector ids and the spot id of each venue whose spec names a price-feed builder (the
    simulated venue's markets exist only inside its own connector)."""
    ids: list[str] = []
    for spec in VENUES:
        if spec.spot_feed is not None and not spec.simulated:
            ids += list(spec.connector_ids) + ([spec.spot_feed_id] if spec.spot_feed_id else [])
    return sorted(ids)


def build_price_feed(source_id: str, config: Any, clock: Clock) -> MarketDataFeed:
    """The public feed of `source_id` for `price_source: external_market` (no keys, no orders)."""
    spec = spec_of(source_id) or next((s for s in VENUES if s.spot_feed_id == source_id), None)
    if spec is None or spec.spot_feed is None or source_id not in price_sources():
        raise ConfigError(
            f"`price_source_derivative` {source_id} is not available as a price source in this version of pmm. "
            f"Available: {', '.join(price_sources())}."
        )
    feed: MarketDataFeed = load(spec.spot_feed)(source_id, config, clock)
    return feed
