"""What every loopback venue server does the same way around its own dialect (DESIGN.md §5).

Listen on loopback only; bind a socket and run the aiohttp application; move the simulated exchange
with the clock while it runs; delay and fail requests as the fault injector says; stop in order
(the clock first, then the WebSockets, then the HTTP server).

A venue server subclasses `LoopbackVenueServer`, names itself in `venue`, calls
`super().__init__` first in its own `__init__`, creates `driver`, `faults` and `hub` there, and
supplies:

    _add_routes(app)             its REST endpoints and WebSocket paths (called by `start`)
    _failure_response(failure)   an injected failure as the venue answers it

`run_until_cancelled` is the body of each venue's `serve_forever` (`pmm exchange-sim <venue>`).
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from ipaddress import ip_address
from typing import ClassVar, Protocol

from aiohttp import web

from pmm.connectors.common.fault_injector import Failure, FaultInjector, LatencyStage
from pmm.connectors.common.sim_driver import SimDriver
from pmm.core.clock import Clock, LiveClock
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class _Hub(Protocol):
    async def close_all(self) -> None: ...


class LoopbackVenueServer:
    """A venue's REST + WebSocket dialect over a `SimExchange`, on loopback only (see module doc)."""

    venue: ClassVar[str]  # the display name: in messages and in the name of the clock task
    driver: SimDriver
    faults: FaultInjector
    hub: _Hub

    def __init__(self, exchange: SimExchange, *, host: str, port: int, clock: Clock | None) -> None:
        if not is_loopback(host):
            raise ValueError(f"The {self.venue} simulator only listens on loopback (127.0.0.1), was asked for "
                             f"{host!r}.")
        self.exchange = exchange
        self.host, self.port = host, port
        self.clock: Clock = clock if clock is not None else LiveClock()
        self._runner: web.AppRunner | None = None
        self._ticker: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> int:
        """Bind, bring the simulated market to now, start following the clock; returns the port."""
        self.driver.advance()
        app = web.Application(client_max_size=1 << 20)
        self._add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise self._cannot_listen(exc) from None
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._ticker = asyncio.create_task(self.driver.run(), name=f"{self.venue.lower()}-server-clock")
        return self.port

    def _cannot_listen(self, exc: OSError) -> ConfigError:
        why = (f"port {self.port} is already in use (by another `pmm exchange-sim` or another program)"
               if exc.errno == errno.EADDRINUSE else f"{exc.strerror or exc}")
        return ConfigError(f"Cannot serve the {self.venue} simulator on {self.host}:{self.port}: {why}. Choose "
                           "another port (`--port`), or `--port 0` to take a free one.")

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            try:
                await self._ticker
            except asyncio.CancelledError:
                pass
            self._ticker = None
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket base URL; clients append the venue's stream paths."""
        return f"ws://{self.host}:{self.port}"

    # --- what the venue supplies ----------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def _failure_response(self, failure: Failure) -> web.Response:
        raise NotImplementedError

    # --- injected faults ------------------------------------------------------------------------

    async def _delay(self, path: str, stage: LatencyStage) -> None:
        seconds = self.faults.latency(path, stage)
        if seconds > 0:
            await asyncio.sleep(seconds)

    async def _refuse_upgrade(self, request: web.Request) -> web.Response | None:
        """A WebSocket upgrade after the injected delay: the injected failure's answer, or None to
        accept it."""
        await self._delay(request.path, "before")
        failure = self.faults.take_failure(request.path, request.method)
        return self._failure_response(failure) if failure is not None else None


async def run_until_cancelled(server: LoopbackVenueServer, on_ready: Callable[[int], None]) -> None:
    """Start `server`, call `on_ready(port)`, serve until cancelled; then stop it and close its
    simulated exchange."""
    try:
        on_ready(await server.start())
        await asyncio.Event().wait()
    finally:
        await server.stop()
        server.exchange.close()
