"""`VenueSpec`: one venue described as plain data, the one thing the rest of pmm knows about it.

Each venue folder has a `spec.py` holding its `SPEC`; `connectors/registry.py` lists them, one line
per venue. Everything outside the venue folder that needs a venue fact asks the spec: the config's
accepted connector ids, `pmm connect` (which keys, with a passphrase or not), `pmm exchange-sim`
(the server factory), the builders `pmm start` calls, the help texts, and the generic test suites.

A spec is data: it imports no venue client or server code. Code is named by import path
(`"package.module:attribute"`) and imported only when used (`load`), so `pmm --help` reads every
spec without importing aiohttp or any venue module.

Connector ids of a venue `v`: `v` (live), `v_testnet` (the venue's test environment, where it has
one), `v_paper_trade` (the venue's public feed with the simulated exchange's account).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from pmm.connectors.base import ConnectorBundle
    from pmm.connectors.common.fault_injector import FaultInjector
    from pmm.sim.exchange import SimExchange


class ConnectorMode(StrEnum):
    """What a connector id runs against (DESIGN.md §1)."""

    LIVE = "live"
    TESTNET = "testnet"
    PAPER_TRADE = "paper_trade"  # the venue's public feed, the simulated exchange's account
    SIMULATED = "simulated"  # the in-process simulated exchange: no network, no keys


@dataclass(frozen=True)
class Hosts:
    """Where one environment of a venue answers. `ws` is the WebSocket base the config's
    `connector.ws_url` replaces; the public and private stream paths are appended to it."""

    rest: str
    ws: str
    public_ws_path: str = ""
    private_ws_path: str = ""

    @property
    def public_ws(self) -> str:
        return self.ws + self.public_ws_path

    @property
    def private_ws(self) -> str:
        return self.ws + self.private_ws_path

    def overridden(self, rest_url: str | None, ws_url: str | None) -> Hosts:
        """These hosts with the config's `connector.rest_url` / `connector.ws_url` where set."""
        return Hosts(rest_url or self.rest, ws_url or self.ws, self.public_ws_path, self.private_ws_path)


@dataclass(frozen=True)
class SymbolMapping:
    """pmm market `BASE-QUOTE` <-> the venue's symbol, by a template.

    `template` spells a symbol from `{base}` and `{quote}` ("{base}{quote}" -> "BTCUSDT",
    "{base}-{quote}-SWAP" -> "BTC-USDT-SWAP"); `base_aliases` are (pmm base, venue base) pairs for
    venues that rename an asset; `quote_assets` are the quotes the venue's perpetuals settle in,
    needed to split a symbol whose template has no separator.
    """

    template: str = "{base}{quote}"
    quote_assets: tuple[str, ...] = ("USDT",)
    base_aliases: tuple[tuple[str, str], ...] = ()

    def to_venue(self, market: str) -> str:
        base, sep, quote = market.partition("-")
        if not sep or not base or not quote:
            raise ValueError(f"a pmm market is spelled BASE-QUOTE (e.g. BTC-USDT), was {market!r}")
        base = dict(self.base_aliases).get(base, base)
        return self.template.format(base=base, quote=quote)

    def to_market(self, symbol: str) -> str | None:
        """The pmm market of a venue symbol, or None when the symbol does not fit the template."""
        to_pmm = {venue: ours for ours, venue in self.base_aliases}
        for quote in self.quote_assets:
            pattern = re.escape(self.template).replace(re.escape("{base}"), "(?P<base>[A-Za-z0-9]+?)")
            pattern = pattern.replace(re.escape("{quote}"), re.escape(quote))
            match = re.fullmatch(pattern, symbol)
            if match:
                base = match.group("base")
                return f"{to_pmm.get(base, base)}-{quote}"
        return None


@dataclass(frozen=True)
class Capabilities:
    """What a venue offers beyond the contract every connector meets (DESIGN.md §4).

    `dead_man_switch`: the venue cancels our orders by itself when we stop renewing a countdown
    (the bundle then carries a `DeadManSwitch`). `dead_man_switch_optional`: the switch is an
    account setting a real account may lack, so the venue server can serve an account without it
    (`pmm exchange-sim --no-dcp`). `passphrase_name`: what the venue calls the third part of an
    API key ("passphrase", "memo"), or None when a key is a key and a secret.
    """

    hedge_mode: bool = False
    dead_man_switch: bool = False
    dead_man_switch_optional: bool = False
    conditional_orders: bool = False
    passphrase_name: str | None = None

    @property
    def needs_passphrase(self) -> bool:
        return self.passphrase_name is not None


@dataclass(frozen=True)
class VenueSpec:
    """One venue (module docstring). Import paths are `"package.module:attribute"` strings.

    `builder` builds the live and testnet connectors, `paper_builder` the paper-trade one (both
    `(config, *, fast, restored_state=None, **options) -> ConnectorBundle`); `server` is the venue
    server factory (`VenueServerFactory`). `spot_feed` builds the public feed of an external price
    source, `(source_id, config, clock) -> MarketDataFeed`, for the venue's spot market data (which
    configs name as `spot_feed_id`) or any of its perpetual connector ids; `spot_server` is the
    factory of its loopback spot market-data server (`(exchange, *, port) -> server`, no keys).
    `contract_sizes`: the venue sizes orders in contracts, converted exactly at the connector's
    boundary (order_amount stays in the base asset). `public_time_path`: a public REST path that
    answers the venue's time (clients sync their clock with it; tests ping a server with it).
    """

    venue: str
    display_name: str
    builder: str
    testnet_id: str | None = None
    no_testnet_reason: str | None = None
    paper_trade_id: str | None = None
    paper_builder: str | None = None
    live_hosts: Hosts | None = None
    testnet_hosts: Hosts | None = None
    symbols: SymbolMapping = field(default_factory=SymbolMapping)
    contract_sizes: bool = False
    capabilities: Capabilities = field(default_factory=Capabilities)
    spot_feed_id: str | None = None
    spot_feed: str | None = None
    spot_server: str | None = None
    server: str | None = None
    public_time_path: str | None = None
    simulated: bool = False  # the in-process simulated exchange: its only connector id is `venue`

    def __post_init__(self) -> None:
        if (self.testnet_id is None) == (self.no_testnet_reason is None):
            raise ValueError(f"{self.venue}: give either a testnet connector id or the reason there is none")
        if (self.paper_trade_id is None) != (self.paper_builder is None):
            raise ValueError(f"{self.venue}: a paper-trade connector id needs its builder, and the reverse")

    @property
    def connector_ids(self) -> tuple[str, ...]:
        """Every connector id of this venue: live, testnet, paper trade (those it has)."""
        return tuple(i for i in (self.venue, self.testnet_id, self.paper_trade_id) if i is not None)

    @property
    def keyed_connector_ids(self) -> tuple[str, ...]:
        """The connector ids that trade on an account at the venue, so need its API keys."""
        if self.simulated:
            return ()
        return tuple(i for i in (self.venue, self.testnet_id) if i is not None)

    def mode_of(self, connector_id: str) -> ConnectorMode:
        if connector_id == self.venue:
            return ConnectorMode.SIMULATED if self.simulated else ConnectorMode.LIVE
        if connector_id == self.testnet_id:
            return ConnectorMode.TESTNET
        if connector_id == self.paper_trade_id:
            return ConnectorMode.PAPER_TRADE
        raise KeyError(f"{connector_id} is not a connector id of {self.venue}")

    def hosts(self, connector_id: str) -> Hosts:
        """The hosts a connector id talks to (paper trade reads the live venue's public feed)."""
        hosts = self.testnet_hosts if self.mode_of(connector_id) is ConnectorMode.TESTNET else self.live_hosts
        if hosts is None:
            raise KeyError(f"{connector_id} has no hosts: it runs in-process")
        return hosts

    def builder_for(self, connector_id: str) -> str:
        if self.mode_of(connector_id) is ConnectorMode.PAPER_TRADE:
            assert self.paper_builder is not None  # __post_init__: a paper id comes with its builder
            return self.paper_builder
        return self.builder


@dataclass(frozen=True)
class PlannedVenue:
    """A venue the project plans but has not built: a config naming it loads, `pmm start` refuses."""

    venue: str
    display_name: str
    spot_feed_id: str | None = None


class VenueServer(Protocol):
    """A venue's dialect served on loopback over the simulated exchange (DESIGN.md §5)."""

    faults: FaultInjector

    @property
    def rest_url(self) -> str: ...
    @property
    def ws_url(self) -> str: ...
    async def start(self) -> int: ...  # the port it listens on
    async def stop(self) -> None: ...


class VenueServerFactory(Protocol):
    """`VenueSpec.server`: a server over `exchange` for one simulated account. `passphrase` is the
    account key's passphrase (venues whose spec names one); `dead_man_switch=False` serves an
    account without its optional dead-man switch (`Capabilities.dead_man_switch_optional`)."""

    def __call__(self, exchange: SimExchange, *, api_key: str, api_secret: str, passphrase: str | None = None,
                 port: int = 0, dead_man_switch: bool = True) -> VenueServer: ...


class ConnectorBuilder(Protocol):
    def __call__(self, config: Any, *, fast: bool, restored_state: dict[str, Any] | None = None,
                 **options: Any) -> ConnectorBundle: ...


def load(target: str) -> Any:
    """Import `"package.module:attribute"` and return the attribute (specs name code this way)."""
    module_name, sep, attr = target.partition(":")
    if not sep:
        raise ValueError(f"an import path is 'package.module:attribute', was {target!r}")
    return getattr(importlib.import_module(module_name), attr)


def by_connector_id(specs: Mapping[str, VenueSpec]) -> dict[str, VenueSpec]:
    """connector id -> its venue's spec, for every connector id of `specs` (keyed by venue)."""
    out: dict[str, VenueSpec] = {}
    for spec in specs.values():
        for connector_id in spec.connector_ids:
            if connector_id in out:
                raise ValueError(f"connector id {connector_id} belongs to both {out[connector_id].venue} and "
                                 f"{spec.venue}")
            out[connector_id] = spec
    return out
