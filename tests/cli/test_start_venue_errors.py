"""`pmm start` on a live connector whose venue is unreachable or does not list the market (issue 9
§4): a bounded retry with back-off then exit 4, or exit 2 naming markets the venue lists; and no
"Unclosed client session" on either path. Run as a process, so aiohttp's warnings reach stderr."""

from __future__ import annotations

import socket
import subprocess
import sys
from decimal import Decimal

import pytest

from helpers import REPO, db_url, write_config
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket
from venue_servers import credentials_env, running_server

VENUES = ["binance_perpetual", "bybit_perpetual"]
# pmm start, with the start-up back-off shortened so five attempts take a moment, not 15 s.
_PMM_QUICK_RETRIES = ("import sys; import pmm.connectors.common.startup as s; s.FIRST_WAIT_S = s.MAX_WAIT_S = 0.05; "
                      "from pmm.cli import main; sys.argv[0] = 'pmm'; main()")


def _pmm_start(tmp_path, venue: str, rest_url: str, ws_url: str, **overrides: str) -> subprocess.CompletedProcess:
    config = write_config(tmp_path, derivative=venue, connector=f"{{rest_url: '{rest_url}', ws_url: '{ws_url}'}}",
                          **overrides)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **credentials_env(venue)}
    return subprocess.run([sys.executable, "-c", _PMM_QUICK_RETRIES, "start", "-c", str(config), "--plain",
                           "--duration", "30", "--db", db_url(tmp_path)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("venue", VENUES)
def test_an_unreachable_venue_is_retried_then_exit_4(venue, tmp_path):
    port = _closed_port()
    done = _pmm_start(tmp_path, venue, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}")
    assert done.returncode == 4, done.stderr
    assert done.stdout.count("trying again") == 4  # the back-off is logged (--plain: on stdout)
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error:") and f"127.0.0.1:{port}" in last and "tried 5 times" in last, last
    assert "Unclosed" not in done.stderr and "bug in pmm" not in done.stderr


def _listing(*markets: str) -> SimSettings:
    return SimSettings(markets=tuple(SimMarketSettings(m, SyntheticMarket(start_price=Decimal("100")))
                                     for m in markets))


@pytest.mark.parametrize("venue", VENUES)
def test_an_unlisted_market_names_markets_the_venue_lists(venue, tmp_path):
    with running_server(venue, _listing("ETH-USDT", "SOL-USDT")) as server:
        done = _pmm_start(tmp_path, venue, server.rest_url, server.ws_url, market="BTC-USDT")
    assert done.returncode == 2, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert "BTC-USDT" in last and "ETH-USDT, SOL-USDT" in last, last
    assert "Unclosed" not in done.stderr
