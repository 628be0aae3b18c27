"""`pmm exchange-sim VENUE --port 0` serves on 127.0.0.1, prints the port, and stops on Ctrl-C.

Run for every venue of the registry that has a server; the options that only some venues' accounts
have (`--no-dcp`, `--api-passphrase`) are checked against each venue's spec.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import urllib.request
from typing import Any

import pytest
from venue_servers import serve_cli, stop_cli

from helpers import REPO
from pmm.connectors import registry
from pmm.connectors.common.venue_spec import Capabilities, VenueSpec
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange
from pmm.venue_servers import DEFAULT_API_PASSPHRASE, account_passphrase, serve, sim_settings

SERVED = {spec.venue: spec for spec in registry.server_venues()}

def _refused(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pmm.cli", "exchange-sim", *args, "--port", "0"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("venue", sorted(SERVED))
def test_exchange_sim_serves_on_loopback_and_stops(venue):
    path = SERVED[venue].public_time_path
    assert path, f"{venue}'s spec names no public time path"
    proc, _line, base = serve_cli(venue)
    try:
        with urllib.request.urlopen(f"{base}{path}", timeout=10) as resp:
            assert resp.status == 200
            assert json.loads(resp.read())
        stop_cli(proc)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_every_server_venue_is_offered_in_the_help():
    done = subprocess.run([sys.executable, "-m", "pmm.cli", "exchange-sim", "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for venue in SERVED:
        assert venue in done.stdout


@pytest.mark.parametrize("venue", sorted(v for v, s in SERVED.items() if not s.capabilities.dead_man_switch_optional))
def test_no_dcp_for_a_venue_whose_switch_is_no_account_setting_is_a_clear_error(venue):
    done = _refused(venue, "--no-dcp")
    assert done.returncode == 2, done.stderr
    optional = [v for v, s in SERVED.items() if s.capabilities.dead_man_switch_optional]
    assert "--no-dcp" in done.stderr and all(v in done.stderr for v in optional[:2])


@pytest.mark.parametrize("venue", sorted(v for v, s in SERVED.items() if not s.capabilities.needs_passphrase))
def test_a_passphrase_for_keys_without_one_is_a_clear_error(venue):
    done = _refused(venue, "--api-passphrase", "hunter2")
    assert done.returncode == 2, done.stderr
    assert "--api-passphrase" in done.stderr and "no passphrase" in done.stderr


@pytest.mark.parametrize("venue", ["no_such_perpetual", *(p.venue for p in registry.PLANNED[:1])])
def test_exchange_sim_for_an_unknown_or_planned_venue_is_a_clear_error(venue):
    done = _refused(venue)
    assert done.returncode == 2
    assert all(v in done.stderr for v in SERVED)


# --- the passphrase reaches the server factory (a stand-in venue whose keys have one) --------------

_FACTORY_CALLS: list[dict[str, Any]] = []


class _Stopped(Exception):
    pass


class _RecordingServer:
    def __init__(self) -> None:
        self.faults: Any = None
        self.stopped = False

    @property
    def rest_url(self) -> str:
        return "http://127.0.0.1:1"

    @property
    def ws_url(self) -> str:
        return "ws://127.0.0.1:1"

    async def start(self) -> int:
        return 1

    async def stop(self) -> None:
        self.stopped = True


def recording_factory(exchange: SimExchange, **kwargs: Any) -> _RecordingServer:
    server = _RecordingServer()
    _FACTORY_CALLS.append({**kwargs, "server": server})
    return server


PASSPHRASE_VENUE = VenueSpec(venue="stand_in_perpetual", display_name="a venue whose keys have a passphrase",
                             builder="unused:unused", no_testnet_reason="a stand-in",
                             server=f"{__name__}:recording_factory",
                             capabilities=Capabilities(passphrase_name="passphrase"))


def _serve_once(spec: VenueSpec, passphrase: str | None) -> dict[str, Any]:
    _FACTORY_CALLS.clear()

    def ready(port: int) -> None:
        raise _Stopped(port)

    with pytest.raises(_Stopped):
        asyncio.run(serve(spec, sim_settings(None), port=0, api_key="k", api_secret="s", on_ready=ready,
                          passphrase=account_passphrase(spec, passphrase)))
    (call,) = _FACTORY_CALLS
    assert call["server"].stopped
    return call


@pytest.mark.parametrize("given, expected", [(None, DEFAULT_API_PASSPHRASE), ("P4ss", "P4ss")])
def test_the_simulated_account_gets_the_passphrase(given, expected):
    call = _serve_once(PASSPHRASE_VENUE, given)
    assert call["passphrase"] == expected and call["api_key"] == "k" and call["dead_man_switch"] is True


def test_keys_without_a_passphrase_get_none_and_refuse_one():
    spec = registry.server_venues()[0]
    if spec.capabilities.needs_passphrase:
        pytest.skip("the first server venue's keys have a passphrase")
    assert account_passphrase(spec, None) is None
    with pytest.raises(ConfigError, match="no passphrase"):
        account_passphrase(spec, "P4ss")


def test_venue_server_markets_include_the_external_price_source_market():
    from pmm.config import load_config, parse_config_text
    from pmm.venue_servers import sim_settings

    config = load_config(REPO / "configs" / "external_price.yml")
    assert [m.market for m in sim_settings(config).markets] == ["BTC-USDT"]  # market and source are one pair
    text = (REPO / "configs" / "spot_price_source.yml").read_text().replace("market: SOL-USDT\n", "market: ETH-USDT\n", 1)
    config = parse_config_text(text)
    assert (config.market, config.price_source_market) == ("ETH-USDT", "SOL-USDT")
    assert [m.market for m in sim_settings(config).markets] == ["ETH-USDT", "SOL-USDT"]
    config = load_config(REPO / "configs" / "local_venues.yml")
    assert [m.market for m in sim_settings(config).markets] == ["BTC-USDT", "ETH-USDT", "SOL-USDT"]
