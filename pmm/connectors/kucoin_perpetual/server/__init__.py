"""KuCoin Futures' wire dialect over the kit's server framework (`pmm exchange-sim kucoin_perpetual`)."""

from __future__ import annotations

from pmm.connectors.kucoin_perpetual.server.app import KucoinServer, ServerOptions, make_server, serve_forever
from pmm.connectors.kucoin_perpetual.server.spot import KucoinSpotServer, make_spot_server

__all__ = ["KucoinServer", "KucoinSpotServer", "ServerOptions", "make_server", "make_spot_server", "serve_forever"]
