"""`pmm exchange-sim okx_perpetual [--api-passphrase P]`: the simulated account checks the key's
passphrase (the default one, or the one given), as OKX does (50105 for a wrong one)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from venue_servers import serve_cli, stop_cli

from pmm.connectors.okx_perpetual.auth import OkxAuth
from pmm.core.clock import LiveClock
from pmm.venue_servers import DEFAULT_API_KEY, DEFAULT_API_PASSPHRASE, DEFAULT_API_SECRET


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
    proc, line, base = serve_cli("okx_perpetual", *(["--api-passphrase", passphrase] if passphrase else []))
    try:
        expected = passphrase or DEFAULT_API_PASSPHRASE
        assert (f"passphrase {DEFAULT_API_PASSPHRASE}" in line) is (passphrase is None), line
        status, body = _okx_balance(base, expected)
        assert status == 200 and body["code"] == "0", body
        status, body = _okx_balance(base, "not-the-passphrase")
        assert status == 401 and body["code"] == "50105", body
        stop_cli(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
