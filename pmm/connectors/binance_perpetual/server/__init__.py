"""The Binance USD-M venue server (DESIGN.md §5): Binance's REST + WebSocket dialect over the
simulated exchange, on 127.0.0.1. `app.py` composes the parts; the spec names `make_server` and
`BinanceSpotServer` (spot.py, the spot market-data server for `price_source`)."""

from __future__ import annotations

from pmm.connectors.binance_perpetual.server.app import (
    BinanceServer,
    ServerOptions,
    make_server,
    request_weight,
    serve_forever,
)
from pmm.connectors.binance_perpetual.server.spot import BinanceSpotServer

__all__ = ["BinanceServer", "BinanceSpotServer", "ServerOptions", "make_server", "request_weight", "serve_forever"]
