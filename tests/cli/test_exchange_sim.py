"""`pmm exchange-sim VENUE --port 0` serves on 127.0.0.1, prints the port, and stops on Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from helpers import REPO

from pmm.connectors.bybit_perpetual.server_auth import sign_rest
from pmm.connectors.okx_perpetual.auth import OkxAuth
from pmm.core.clock import LiveClock
from pmm.venue_servers import DEFAULT_API_KEY, DEFAULT_API_PASSPHRASE, DEFAULT_API_SECRET

PING = {"binance_perpetual": "/fapi/v1/time", "bybit_perpetual": "/v5/market/time",
        "okx_perpetual": "/api/v5/public/time"}


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
    done = subprocess.run([sys.executable, "-m", "pmm.cli", "exchange-sim", "kraken_perpetual", "--port", "0"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "binance_perpetual" in done.stderr


def _okx_balance(base: str, passphrase: str) -> tuple[int, dict]:
    """GET /api/v5/account/balance signed with the simulated account's key and `passphrase`."""
    auth = OkxAuth(DEFAULT_API_KEY, DEFAULT_API_SECRET, passphrase, LiveClock())
    request = urllib.request.Request(f"{base}/api/v5/account/balance",
                                     headers=auth.headers("GET", "/api/v5/account/balance"))
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.mark.parametrize("passphrase", [None, "my own phrase"])
def test_okx_exchange_sim_checks_the_account_passphrase(passphrase):
    proc, line, base = _serve("okx_perpetual", *(["--api-passphrase", passphrase] if passphrase else []))
    try:
        expected = passphrase or DEFAULT_API_PASSPHRASE
        assert (f"passphrase {DEFAULT_API_PASSPHRASE}" in line) is (passphrase is None), line
        status, body = _okx_balance(base, expected)
        assert status == 200 and body["code"] == "0", body
        status, body = _okx_balance(base, "not-the-passphrase")
        assert status == 401 and body["code"] == "50105", body
        _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_passphrase_for_a_venue_without_one_is_a_usage_error():
    proc = subprocess.run([sys.executable, "-m", "pmm.cli", "exchange-sim", "binance_perpetual", "--port", "0",
                           "--api-passphrase", "x"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "okx_perpetual" in proc.stdout + proc.stderr
