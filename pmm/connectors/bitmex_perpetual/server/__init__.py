"""BitMEX's wire dialect over the kit's server framework (`pmm exchange-sim bitmex_perpetual`)."""

from __future__ import annotations

from pmm.connectors.bitmex_perpetual.server.app import (
    BitmexServer,
    ServerOptions,
    make_server,
    make_spot_server,
    serve_forever,
)

__all__ = ["BitmexServer", "ServerOptions", "make_server", "make_spot_server", "serve_forever"]
