"""Binance USDⓈ-M futures, described for the registry (plain data: no client or server imports).

Sources: reference/exchange_apis.md §A (hosts, symbols, the countdown cancel-all).
"""

from __future__ import annotations

from typing import Final

from pmm.connectors.common.venue_spec import Capabilities, Hosts, SymbolMapping, VenueSpec

_HERE = "pmm.connectors.binance_perpetual"

# The testnet host is in flux (docs: demo-fapi.binance.com; ccxt/hummingbot/SDK "testnet":
# testnet.binancefuture.com). Both are overridable with `connector.rest_url` / `connector.ws_url`.
# Depth streams on /public, mark price and trades on /market (see constants), account on /private.
SPEC: Final = VenueSpec(
    venue="binance_perpetual",
    display_name="Binance USDⓈ-M futures",
    builder=f"{_HERE}.build:build",
    testnet_id="binance_perpetual_testnet",
    paper_trade_id="binance_perpetual_paper_trade",
    paper_builder=f"{_HERE}.build:build_paper",
    live_hosts=Hosts(rest="https://fapi.binance.com", ws="wss://fstream.binance.com",
                     public_ws_path="/public/stream", private_ws_path="/private/ws"),
    testnet_hosts=Hosts(rest="https://testnet.binancefuture.com", ws="wss://fstream.binancefuture.com",
                        public_ws_path="/public/stream", private_ws_path="/private/ws"),
    symbols=SymbolMapping("{base}{quote}", quote_assets=("FDUSD", "USDT", "USDC", "BUSD", "BTC", "ETH", "BNB")),
    capabilities=Capabilities(hedge_mode=True, dead_man_switch=True, conditional_orders=True),
    spot_feed_id="binance",
    spot_feed=f"{_HERE}.build:build_price_feed",
    spot_server=f"{_HERE}.server:BinanceSpotServer",
    server=f"{_HERE}.server:make_server",
    public_time_path="/fapi/v1/time",
)
