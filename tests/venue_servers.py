"""Venue servers on loopback for end-to-end tests: one thread per server, its own event loop.

Every venue with a server in the registry (`VENUES`), and the spot market data a venue serves for
price sources (`SPOT`); the server comes from its spec's factory.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from helpers import REPO
from pmm import credentials
from pmm.connectors import registry
from pmm.connectors.common.venue_spec import VenueServerFactory, VenueSpec, load
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket

API_KEY, API_SECRET, API_PASSPHRASE = "e2e-key", "e2e-secret", "e2e-passphrase"
#: The venues with a loopback server, by venue id (the live connector id).
#: PMM_TEST_VENUES=a,b narrows them for a focused local run (the campaigns, the live e2e tests); CI runs all.
_ONLY = {v for v in os.environ.get("PMM_TEST_VENUES", "").split(",") if v}
VENUES: dict[str, VenueSpec] = {spec.venue: spec for spec in registry.server_venues()
                                if not _ONLY or spec.venue in _ONLY}
#: Spot public market data (price sources) a venue serves, by spot id: no account, no keys.
SPOT: dict[str, VenueSpec] = {spec.spot_feed_id: spec for spec in registry.VENUES
                              if spec.spot_server is not None and spec.spot_feed_id is not None}

def busy_market(**overrides: Any) -> SimSettings:
    """A fast, busy BTC-USDT market so a few seconds of real time hold fills and funding."""
    synthetic = SyntheticMarket(start_price=Decimal("65000"), volatility=Decimal("0.03"), book_interval_s=0.25,
                                trade_rate_per_min=900.0, trade_size=Decimal("0.05"))
    base = dict(markets=(SimMarketSettings("BTC-USDT", synthetic),), funding_interval_s=8.0, seed=5)
    base.update(overrides)
    return SimSettings(**base)


class ServerThread:
    def __init__(self, venue: str, settings: SimSettings, *, api_key: str = API_KEY,
                 api_secret: str = API_SECRET, passphrase: str | None = None) -> None:
        self.venue = venue
        self.api_key, self.api_secret = api_key, api_secret
        self.passphrase = passphrase
        self.spec = VENUES[venue] if venue in VENUES else SPOT[venue]
        self.exchange = SimExchange(settings)
        target = self.spec.spot_server if venue in SPOT else self.spec.server
        assert target is not None
        self._factory: VenueServerFactory = load(target)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.server: Any = None
        self._thread = threading.Thread(target=self._run, name=f"{venue}-server", daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        if self.venue in SPOT:
            self.server = self._factory(self.exchange)
        else:
            passphrase = (self.passphrase or API_PASSPHRASE) if self.spec.capabilities.needs_passphrase else None
            self.server = self._factory(self.exchange, api_key=self.api_key, api_secret=self.api_secret,
                                        passphrase=passphrase)
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
        """The kit's order desk, where the server keeps its orders on it (a kit server may keep its
        venue's own desk instead, which hands the orders to the sim)."""
        from pmm.connectors.common.server.order_desk import OrderDesk

        desk = getattr(self.server, "desk", None)
        return desk if isinstance(desk, OrderDesk) else None

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
    """The environment that gives `venue`'s live connector the server's account keys."""
    key_var, secret_var = credentials.env_names(venue)
    env = {key_var: API_KEY, secret_var: API_SECRET}
    if VENUES[venue].capabilities.needs_passphrase:
        env[credentials.passphrase_env_name(venue)] = API_PASSPHRASE
    return env


def serve_cli(venue: str, *args: str) -> tuple[subprocess.Popen[str], str, str]:
    """`pmm exchange-sim VENUE --port 0 ARGS` started; (process, its first line, its base URL)."""
    proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "exchange-sim", venue, "--port", "0", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()  # type: ignore[union-attr]
    match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
    if not match:
        proc.kill()
    assert match, line
    return proc, line, f"http://127.0.0.1:{match.group(1)}"


def stop_cli(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C, as a user stops it; it exits 0."""
    proc.send_signal(signal.SIGINT)
    # communicate() drains the pipe: a server that logs while stopping must not block on a full pipe
    rest, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, rest
