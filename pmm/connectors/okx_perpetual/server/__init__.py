"""OKX v5's wire dialect over the kit's server framework (`pmm exchange-sim okx_perpetual`)."""

from __future__ import annotations

from pmm.connectors.okx_perpetual.server.app import OkxServer, ServerOptions, serve_forever

__all__ = ["OkxServer", "ServerOptions", "serve_forever"]
