"""`pmm exchange-sim VENUE --port 0` serves on 127.0.0.1, prints the port, and stops on Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from helpers import REPO

from pmm.connectors.bybit_perpetual.server_auth import sign_rest
from pmm.venue_servers import DEFAULT_API_KEY, DEFAULT_API_SECRET

PING = {"binance_perpetual": "/fapi/v1/time", "bybit_perpetual": "/v5/market/time"}
# Spot public market data, for price sources (`price_source_derivative: binance` / `bybit`).
SPOT_DEPTH = {"binance": "/api/v3/depth?symbol=SOLUSDT&limit=5",
              "bybit": "/v5/market/orderbook?category=spot&symbol=SOLUSDT&limit=5"}


def _serve(venue: str, *args: str) -> tuple[subprocess.Popen[str], str, str]:
    """`pmm exchange-sim VENUE --port 0 ARGS` started; (process, its first line, its base URL)."""
    proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "exchange-sim", venue, "--port", "0", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if not match:
        proc.kill()
    assert match, line
    return proc, line, f"http://127.0.0.1:{match.group(1)}"


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGINT)
    # communicate() drains the pipe: a server that logs while stopping must not block on a full pipe
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest


@pytest.mark.parametrize("venue", sorted(PING))
def test_exchange_sim_serves_on_loopback_and_stops(venue):
    proc, _line, base = _serve(venue)
    try:
        with urllib.request.urlopen(f"{base}{PING[venue]}", timeout=10) as resp:
            assert resp.status == 200
            assert json.loads(resp.read())
        _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()


def _set_dcp_window(base: str) -> dict:
    """POST /v5/order/disconnected-cancel-all, signed with the simulated account's key."""
    body = json.dumps({"product": "DERIVATIVES", "timeWindow": 10})
    ts, window = str(int(time.time() * 1000)), "5000"
    headers = {"X-BAPI-API-KEY": DEFAULT_API_KEY, "X-BAPI-TIMESTAMP": ts, "X-BAPI-RECV-WINDOW": window,
               "X-BAPI-SIGN": sign_rest(DEFAULT_API_SECRET, ts, DEFAULT_API_KEY, window, body),
               "Content-Type": "application/json"}
    request = urllib.request.Request(f"{base}/v5/order/disconnected-cancel-all", data=body.encode(), headers=headers)
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("no_dcp", [False, True])
def test_bybit_exchange_sim_serves_an_account_with_or_without_dcp(no_dcp):
    proc, line, base = _serve("bybit_perpetual", *(["--no-dcp"] if no_dcp else []))
    try:
        answer = _set_dcp_window(base)
        if no_dcp:
            assert "account without DCP" in line
            assert answer["retCode"] == 10005 and "not enabled for this account" in answer["retMsg"], answer
        else:
            assert "DCP" not in line
            assert answer["retCode"] == 0, answer
        _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_no_dcp_for_a_venue_without_dcp_is_a_clear_error():
    done = subprocess.run([sys.executable, "-m", "pmm.cli", "exchange-sim", "binance_perpetual", "--port", "0",
                           "--no-dcp"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert "--no-dcp" in done.stderr and "bybit_perpetual" in done.stderr


def test_exchange_sim_for_an_unknown_venue_is_a_clear_error():
    done = subprocess.run([sys.executable, "-m", "pmm.cli", "exchange-sim", "okx_perpetual", "--port", "0"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "binance_perpetual" in done.stderr


@pytest.mark.parametrize("venue", sorted(SPOT_DEPTH))
def test_exchange_sim_serves_a_venues_spot_market_data(venue):
    """`pmm exchange-sim binance|bybit -c CONFIG` lists the config's price source market, keyless."""
    proc, line, base = _serve(venue, "-c", "configs/spot_price_source.yml")
    try:
        assert "public market data only, no keys" in line and "API key" not in line
        assert "SOL-USDT" in line
        with urllib.request.urlopen(f"{base}{SPOT_DEPTH[venue]}", timeout=10) as resp:
            body = json.loads(resp.read())
        book = body if venue == "binance" else body["result"]
        assert len(book["bids"] if venue == "binance" else book["b"]) == 5
        _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()


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
