"""The Bybit v5 venue server (DESIGN.md §5): linear perpetuals (`app.BybitServer`, the factory
`make_server` the spec names) and Bybit spot market data (`spot.BybitSpotServer`)."""

from __future__ import annotations

from pmm.connectors.bybit_perpetual.server.app import BybitServer, make_server, serve_forever
from pmm.connectors.bybit_perpetual.server.options import ServerOptions
from pmm.connectors.bybit_perpetual.server.spot import BybitSpotServer

__all__ = ["BybitServer", "BybitSpotServer", "ServerOptions", "make_server", "serve_forever"]
