"""The registry and the venue specs: one description per venue, read by everything that needs a venue."""

from __future__ import annotations

import subprocess
import sys

import pytest

from helpers import REPO, write_config
from pmm.config import KNOWN_DERIVATIVES, KNOWN_EXCHANGES, load_config
from pmm.config.names import uses_sim_venue
from pmm.connectors import registry
from pmm.connectors.common.venue_spec import (
    Capabilities,
    ConnectorMode,
    Hosts,
    SymbolMapping,
    VenueSpec,
    by_connector_id,
    load,
)
from pmm.errors import ConfigError

LIVE_VENUES = [s for s in registry.VENUES if not s.simulated]


def test_connector_ids_belong_to_one_venue_and_planned_ones_are_not_built():
    ids = [i for s in registry.VENUES for i in s.connector_ids]
    assert len(ids) == len(set(ids))
    assert not {p.venue for p in registry.PLANNED} & set(ids)
    assert registry.built_connectors() == ids


def test_the_config_accepts_every_registered_and_planned_id():
    assert set(KNOWN_DERIVATIVES) == {i for s in registry.VENUES for i in s.connector_ids} | {
        p.venue for p in registry.PLANNED}
    assert set(KNOWN_EXCHANGES) == {s.spot_feed_id for s in registry.VENUES if s.spot_feed_id} | {
        p.spot_feed_id for p in registry.PLANNED if p.spot_feed_id}


@pytest.mark.parametrize("spec", LIVE_VENUES, ids=lambda s: s.venue)
def test_live_venue_spec_is_complete_and_names_importable_code(spec):
    assert spec.live_hosts is not None and spec.live_hosts.rest.startswith("https://")
    assert spec.live_hosts.ws.startswith("wss://")
    assert spec.testnet_id is None or (spec.testnet_hosts is not None and spec.testnet_hosts != spec.live_hosts)
    assert spec.paper_trade_id is not None, "every live venue can paper-trade on its public feed"
    for target in (spec.builder, spec.paper_builder, spec.server, spec.spot_feed):
        if target is not None:
            assert callable(load(target)), target
    if spec.server is not None:
        assert spec.public_time_path is not None
    assert spec.mode_of(spec.venue) is ConnectorMode.LIVE
    assert spec.mode_of(spec.paper_trade_id) is ConnectorMode.PAPER_TRADE
    assert uses_sim_venue(spec.paper_trade_id) and not uses_sim_venue(spec.venue)
    assert spec.hosts(spec.paper_trade_id) == spec.live_hosts  # paper trade reads the live feed


@pytest.mark.parametrize("spec", LIVE_VENUES, ids=lambda s: s.venue)
def test_symbols_round_trip(spec):
    for market in ("BTC-USDT", "ETH-USDT", "1000PEPE-USDT"):
        symbol = spec.symbols.to_venue(market)
        assert symbol != market or "-" in spec.symbols.template
        assert spec.symbols.to_market(symbol) == market


@pytest.mark.parametrize("template, aliases, market, symbol", [
    ("{base}{quote}", (), "BTC-USDT", "BTCUSDT"),
    ("{base}-{quote}-SWAP", (), "BTC-USDT", "BTC-USDT-SWAP"),
    ("{base}_{quote}", (), "ETH-USDT", "ETH_USDT"),
    ("{base}{quote}M", (("BTC", "XBT"),), "BTC-USDT", "XBTUSDTM"),
])
def test_symbol_mapping_templates(template, aliases, market, symbol):
    mapping = SymbolMapping(template, ("USDT",), aliases)
    assert mapping.to_venue(market) == symbol
    assert mapping.to_market(symbol) == market
    assert mapping.to_market("NOT A SYMBOL") is None


def test_symbol_mapping_refuses_a_market_that_is_not_base_quote():
    with pytest.raises(ValueError, match="BASE-QUOTE"):
        SymbolMapping().to_venue("BTCUSDT")


def test_hosts_overrides_keep_the_stream_paths():
    hosts = Hosts("https://api.example", "wss://ws.example", "/public", "/private")
    local = hosts.overridden("http://127.0.0.1:8080", "ws://127.0.0.1:8080")
    assert (local.rest, local.public_ws, local.private_ws) == (
        "http://127.0.0.1:8080", "ws://127.0.0.1:8080/public", "ws://127.0.0.1:8080/private")
    assert hosts.overridden(None, None) == hosts


def test_a_spec_says_why_it_has_no_testnet_and_pairs_paper_id_with_builder():
    with pytest.raises(ValueError, match="reason"):
        VenueSpec(venue="x_perpetual", display_name="X", builder="m:b")
    with pytest.raises(ValueError, match="builder"):
        VenueSpec(venue="x_perpetual", display_name="X", builder="m:b", no_testnet_reason="none",
                  paper_trade_id="x_perpetual_paper_trade")
    spec = VenueSpec(venue="x_perpetual", display_name="X", builder="m:b", no_testnet_reason="none",
                     capabilities=Capabilities(passphrase_name="passphrase"))
    assert spec.connector_ids == ("x_perpetual",) and spec.capabilities.needs_passphrase
    with pytest.raises(ValueError, match="both"):
        by_connector_id({"a": spec, "b": spec})


def test_a_planned_venue_is_accepted_by_name_and_start_says_it_is_not_built(tmp_path, monkeypatch):
    """Every venue the project named is built today; the mechanism stays for the next one."""
    from pmm.connectors.common.venue_spec import PlannedVenue

    monkeypatch.setattr(registry, "PLANNED", (PlannedVenue("example_perpetual", "Example", spot_feed_id="example"),))
    assert registry.accepted_connector_ids()[-1] == "example_perpetual"
    assert "example" in registry.spot_feed_ids()
    config = load_config(write_config(tmp_path))
    with pytest.raises(ConfigError, match=r"\(Example\) is planned but not built yet"):
        registry.build_connector("example_perpetual", config, fast=False)
    with pytest.raises(ConfigError, match="not available"):
        registry.build_connector("no_such_perpetual", config, fast=False)


def test_help_is_fast_it_imports_no_venue_code():
    """`pmm --help` reads every spec for its help texts; the specs import no client or server code."""
    probe = ("import sys, pmm.cli; from typer.testing import CliRunner; "
             "CliRunner().invoke(pmm.cli.app, ['exchange-sim', '--help']); "
             "print('\\n'.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=60,
                          check=True)
    loaded = done.stdout.split()
    heavy = [m for m in loaded if m.split(".")[0] in ("aiohttp", "websockets", "sqlalchemy")
             or m.startswith(("pmm.sim", "pmm.engine", "pmm.store"))]
    assert not heavy, heavy
    venue_modules = [m for m in loaded if m.startswith("pmm.connectors.") and m.count(".") >= 3
                     and not m.endswith(".spec") and not m.startswith("pmm.connectors.common.")]
    assert not venue_modules, venue_modules
    assert all(f"pmm.connectors.{s.venue}.spec" in loaded for s in registry.VENUES)
