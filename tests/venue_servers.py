"""Venue servers on loopback for end-to-end tests: one thread per server, its own event loop."""

from __future__ import annotations

import asyncio
import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket

API_KEY, API_SECRET = "e2e-key", "e2e-secret"
SERVERS = {
    "binance_perpetual": "pmm.connectors.binance_perpetual.server:BinanceServer",
    "bybit_perpetual": "pmm.connectors.bybit_perpetual.server:BybitServer",
    "okx_perpetual": "pmm.connectors.okx_perpetual.server:OkxServer",
}

# How a venue's wire writes the bot's client order ids, where it differs (OKX: alphanumeric clOrdId).
WIRE_CLIENT_IDS = {"okx_perpetual": "pmm.connectors.okx_perpetual.parse:to_cl_ord_id"}


def wire_client_id(venue: str, client_id: str) -> str:
    """`client_id` as `venue` writes it (a prefix maps to the prefix of the written ids)."""
    target = WIRE_CLIENT_IDS.get(venue)
    if target is None:
        return client_id
    module, _, name = target.partition(":")
    return str(getattr(importlib.import_module(module), name)(client_id))


def busy_market(**overrides: Any) -> SimSettings:
    """A fast, busy BTC-USDT market so a few seconds of real time hold fills and funding."""
    synthetic = SyntheticMarket(start_price=Decimal("65000"), volatility=Decimal("0.03"), book_interval_s=0.25,
                                trade_rate_per_min=900.0, trade_size=Decimal("0.05"))
    base = dict(markets=(SimMarketSettings("BTC-USDT", synthetic),), funding_interval_s=8.0, seed=5)
    base.update(overrides)
    return SimSettings(**base)


class ServerThread:
    def __init__(self, venue: str, settings: SimSettings) -> None:
        module, _, cls = SERVERS[venue].partition(":")
        self.venue = venue
        self.exchange = SimExchange(settings)
        self._cls = getattr(importlib.import_module(module), cls)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.server: Any = None
        self._thread = threading.Thread(target=self._run, name=f"{venue}-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self.server = self._cls(self.exchange, api_key=API_KEY, api_secret=API_SECRET)
        self._loop.run_until_complete(self.server.start())
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(20):
            raise RuntimeError(f"{self.venue} server did not start")
        return self

    def call(self, fn: Any) -> Any:
        """Run `fn()` on the server's loop (the sim is not thread-safe) and return its result."""
        async def wrapped() -> Any:
            return fn()

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(30)

    def _kit_desk(self) -> Any:
        from pmm.connectors.common.server.kit_server import KitServer

        return self.server.desk if isinstance(self.server, KitServer) else None

    def open_client_ids(self) -> set[str]:
        """The client ids (as the wire writes them) of the account's open orders. Call on the server's
        loop (`call`). Kit servers keep them on their order desk; the others hand them to the sim."""
        desk = self._kit_desk()
        if desk is None:
            return {o.client_id for o in self.exchange.open_orders()}
        return {o.client_id for o in desk.open_orders() if o.client_id}

    def filled_client_ids(self) -> set[str]:
        """The client ids (as the wire writes them) of every order that filled. Call on the server's loop."""
        fills = self.exchange.fills_since(0)
        desk = self._kit_desk()
        if desk is None:
            return {f.client_id for f in fills}
        return {desk.by_sim[f.client_id].client_id for f in fills if f.client_id in desk.by_sim}

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self._loop).result(20)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self.exchange.close()

    @property
    def rest_url(self) -> str:
        return self.server.rest_url

    @property
    def ws_url(self) -> str:
        return self.server.ws_url


@contextmanager
def running_server(venue: str, settings: SimSettings | None = None) -> Iterator[ServerThread]:
    server = ServerThread(venue, settings or busy_market()).start()
    try:
        yield server
    finally:
        server.stop()


def credentials_env(venue: str) -> dict[str, str]:
    """The servers' account keys; a passphrase too (the servers whose keys carry one use the default)."""
    from pmm.connectors.common.server import DEFAULT_API_PASSPHRASE

    prefix = "PMM_" + venue.upper()
    return {f"{prefix}_API_KEY": API_KEY, f"{prefix}_API_SECRET": API_SECRET,
            f"{prefix}_API_PASSPHRASE": DEFAULT_API_PASSPHRASE}
