"""`pmm exchange-sim VENUE --port 0` serves on 127.0.0.1, prints the port, and stops on Ctrl-C."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request

import pytest

from helpers import REPO

PING = {"binance_perpetual": "/fapi/v1/time", "bybit_perpetual": "/v5/market/time"}


@pytest.mark.parametrize("venue", sorted(PING))
def test_exchange_sim_serves_on_loopback_and_stops(venue):
    proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "exchange-sim", venue, "--port", "0"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}{PING[venue]}", timeout=10) as resp:
            assert resp.status == 200
            assert json.loads(resp.read())
        proc.send_signal(signal.SIGINT)
        # communicate() drains the pipe: a server that logs while stopping must not block on a full pipe
        rest, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, rest
    finally:
        if proc.poll() is None:
            proc.kill()


def test_exchange_sim_for_an_unknown_venue_is_a_clear_error():
    done = subprocess.run([sys.executable, "-m", "pmm.cli", "exchange-sim", "okx_perpetual", "--port", "0"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "binance_perpetual" in done.stderr
