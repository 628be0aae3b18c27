"""Bybit v5 linear USDT perpetuals, described for the registry (plain data: no client or server imports).

Sources: reference/exchange_apis.md §B (hosts, symbols, Disconnection Protection).
"""

from __future__ import annotations

from typing import Final

from pmm.connectors.common.venue_spec import Capabilities, Hosts, SymbolMapping, VenueSpec

_HERE = "pmm.connectors.bybit_perpetual"
_PUBLIC_LINEAR, _PRIVATE = "/v5/public/linear", "/v5/private"

SPEC: Final = VenueSpec(
    venue="bybit_perpetual",
    display_name="Bybit linear perpetuals",
    builder=f"{_HERE}.build:build",
    testnet_id="bybit_perpetual_testnet",
    paper_trade_id="bybit_perpetual_paper_trade",
    paper_builder=f"{_HERE}.build:build_paper",
    live_hosts=Hosts(rest="https://api.bybit.com", ws="wss://stream.bybit.com",
                     public_ws_path=_PUBLIC_LINEAR, private_ws_path=_PRIVATE),
    testnet_hosts=Hosts(rest="https://api-testnet.bybit.com", ws="wss://stream-testnet.bybit.com",
                        public_ws_path=_PUBLIC_LINEAR, private_ws_path=_PRIVATE),
    symbols=SymbolMapping("{base}{quote}", quote_assets=("USDT", "USDC", "PERP", "USD")),
    # DCP (Disconnection Protection) is an account setting: an account may not have it enabled.
    capabilities=Capabilities(hedge_mode=True, dead_man_switch=True, dead_man_switch_optional=True,
                              conditional_orders=True),
    spot_feed_id="bybit",
    spot_feed=f"{_HERE}.build:build_price_feed",
    spot_server=f"{_HERE}.server:BybitSpotServer",
    server=f"{_HERE}.server:make_server",
    public_time_path="/v5/market/time",
)
