"""Gate APIv4's futures dialect over the kit's server framework (`pmm exchange-sim gate_io_perpetual`)."""

from __future__ import annotations

from pmm.connectors.gate_io_perpetual.server.app import GateServer, ServerOptions, make_server, serve_forever

__all__ = ["GateServer", "ServerOptions", "make_server", "serve_forever"]
