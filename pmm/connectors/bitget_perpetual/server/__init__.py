"""Bitget mix v2's wire dialect over the kit's server framework (`pmm exchange-sim bitget_perpetual`)."""

from __future__ import annotations

from pmm.connectors.bitget_perpetual.server.app import BitgetServer, ServerOptions, make_server, serve_forever

__all__ = ["BitgetServer", "ServerOptions", "make_server", "serve_forever"]
