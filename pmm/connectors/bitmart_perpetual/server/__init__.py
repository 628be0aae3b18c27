"""BitMart Futures V2's wire dialect over the kit's server framework (`pmm exchange-sim bitmart_perpetual`)."""

from __future__ import annotations

from pmm.connectors.bitmart_perpetual.server.app import BitmartServer, ServerOptions, make_server, serve_forever

__all__ = ["BitmartServer", "ServerOptions", "make_server", "serve_forever"]
