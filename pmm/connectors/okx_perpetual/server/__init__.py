"""OKX v5's wire dialect over the kit's server framework (`pmm exchange-sim okx_perpetual`)."""

from __future__ import annotations

from pmm.connectors.okx_perpetual.server.app import OkxServer, ServerOptions, make_server, serve_forever

__all__ = ["OkxServer", "ServerOptions", "make_server", "serve_forever"]
