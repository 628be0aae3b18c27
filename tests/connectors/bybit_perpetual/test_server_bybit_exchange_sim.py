"""`pmm exchange-sim bybit_perpetual [--no-dcp]`: an account with or without Disconnection Protection."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
from venue_servers import serve_cli, stop_cli

from pmm.connectors.bybit_perpetual.server.auth import sign_rest
from pmm.venue_servers import DEFAULT_API_KEY, DEFAULT_API_SECRET


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
    proc, line, base = serve_cli("bybit_perpetual", *(["--no-dcp"] if no_dcp else []))
    try:
        answer = _set_dcp_window(base)
        if no_dcp:
            assert "dead-man switch off" in line
            assert answer["retCode"] == 10005 and "not enabled for this account" in answer["retMsg"], answer
        else:
            assert "dead-man switch" not in line
            assert answer["retCode"] == 0, answer
        stop_cli(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
