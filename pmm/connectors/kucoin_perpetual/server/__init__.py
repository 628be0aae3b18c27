"""KuCoin Futures' wire dialect over the kit's server framework (`pmm exchange-sim kucoin_perpetual`)."""

from __future__ import annotations

from pmm.connectors.kucoin_perpetual.server.app import KucoinServer, ServerOptions, make_server, serve_forever

__all__ = ["KucoinServer", "ServerOptions", "make_server", "serve_forever"]
