"""`pmm exchange-sim binance -c CONFIG`: Binance spot public market data, keyless, listing the config's
price source market (`price_source_derivative: binance`)."""

from __future__ import annotations

import json
import urllib.request

from venue_servers import serve_cli, stop_cli


def test_exchange_sim_serves_the_spot_market_data_of_a_price_source():
    proc, line, base = serve_cli("binance", "-c", "configs/spot_price_source.yml")
    try:
        assert "public market data only, no keys" in line and "API key" not in line
        assert "SOL-USDT" in line
        with urllib.request.urlopen(f"{base}/api/v3/depth?symbol=SOLUSDT&limit=5", timeout=10) as resp:
            body = json.loads(resp.read())
        assert len(body["bids"]) == 5
        stop_cli(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
