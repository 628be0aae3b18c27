"""A Gate.io futures venue (USDT perpetuals) on 127.0.0.1: Gate's APIv4 REST + futures WebSocket
dialect over the simulated exchange (DESIGN.md §5), for end-to-end tests of Gate clients (pmm's,
the official `gate-api` SDK, ccxt) and dry runs (`pmm exchange-sim gate_io_perpetual`).

    server = GateServer(SimExchange(settings), api_key="k", api_secret="s")
    port = await server.start()      # binds 127.0.0.1, starts moving the sim with the clock
    ... server.rest_url (+ /api/v4/...), server.ws_url + /v4/ws/usdt, server.faults ...
    await server.stop()

Composition (the only place that wires the parts; the generic ones are `common/server/`):
    KitServer, WindowLimiter   REST routing and middleware, per-endpoint limits and Gate's
                               X-Gate-RateLimit-* headers on every answer
    GateRestDialect            dialect.py     answers, labels, signature check (auth.Verifier)
    StreamHub + GateStreamDialect   ws.py     sockets, futures.ping, subscribe with per-frame auth
    OrderDesk, TriggerDesk, DeadManSwitch, Ledger   orders, price-triggered orders, countdown, history
    PublicStreams / PrivateStreams   streams.py / private.py   channel pushes
    Market / Trade / Account / PriceOrder handlers   the REST endpoints (routes.py)
    KitFaults                  drops, id gaps, error answers, delays, rejections, refused private auth
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from pmm.connectors.common.fault_injector import SkewedClock
from pmm.connectors.common.server.dead_man import DeadManSwitch
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.kit_server import KitServer, Route, WindowLimiter
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerDesk
from pmm.connectors.common.server.wire import WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.connectors.common.sim_server import run_until_cancelled
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.auth import Verifier
from pmm.connectors.gate_io_perpetual.server import routes
from pmm.connectors.gate_io_perpetual.server.dialect import GateRestDialect
from pmm.connectors.gate_io_perpetual.server.private import PrivateStreams
from pmm.connectors.gate_io_perpetual.server.streams import PublicStreams
from pmm.connectors.gate_io_perpetual.server.views import Views
from pmm.connectors.gate_io_perpetual.server.wire import GateSymbols, id_maker, ms
from pmm.connectors.gate_io_perpetual.server.ws import GateStreamDialect
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimSettings


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Timings and limits of the simulated venue; tests shrink them."""

    tick_s: float = 0.02  # the longest sleep of the clock task between two advances of the simulator
    ws_idle_cutoff_s: float = 60.0  # a socket silent this long is closed (clients ping every 10-20 s)
    ws_send_queue_max: int = 10_000
    limits: bool = True  # Gate's per-endpoint request limits (routes.py)


class GateServer(KitServer):
    """Gate USDT perpetuals over a `SimExchange`, listening on loopback only (see module docstring)."""

    venue = "Gate"

    def __init__(self, exchange: SimExchange, *, api_key: str, api_secret: str, host: str = "127.0.0.1",
                 port: int = 0, clock: Clock | None = None, options: ServerOptions | None = None) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.options = options if options is not None else ServerOptions()
        self.symbols = GateSymbols(exchange.trading_rules(m) for m in exchange.markets())
        self.faults = KitFaults()
        self.driver = SimDriver(exchange, self.clock, self.options.tick_s, name="Gate server")
        self.verifier = Verifier(api_key, api_secret, SkewedClock(self.clock, self.faults))
        self.dialect = GateRestDialect(self.verifier)
        self.limiter = WindowLimiter(self.clock)
        self.hub = StreamHub(self.clock, self.faults, name="Gate server", idle_cutoff_s=self.options.ws_idle_cutoff_s,
                             queue_max=self.options.ws_send_queue_max)
        self.faults.bind(self.hub)
        self.new_order_id = id_maker(58_000_000_000)
        self.desk = OrderDesk(exchange, self.driver, self.clock)
        self.triggers = TriggerDesk(self.desk, exchange, self.clock, self.new_order_id)
        self.dead_man = DeadManSwitch(self.clock, self.desk, name="Gate countdown_cancel_all")
        self.streams = PublicStreams(self.symbols, exchange.book, self.hub, self.faults, self.triggers, self.clock)
        self.ledger = Ledger(exchange, id_maker(9_000_000_000))
        self.views = Views(exchange, self.symbols)
        self.private = PrivateStreams(exchange, self.views, self.ledger, self.hub, self.faults, self.clock)
        self.desk.listen(self.private.on_order_event)
        self.desk.listen(self.streams.on_account_event)
        exchange.subscribe_public(self.streams.on_public)
        self.hub.dialect = GateStreamDialect(self.hub, self.verifier, self.faults, self.symbols, self.clock)
        for hook in (self.hub.on_tick, self.dead_man.on_tick):
            self.driver.on_tick(hook)

    @property
    def futures_ws_url(self) -> str:
        return f"{self.ws_url}{spec.WS_PATHS[spec.CONNECTOR_ID]}"

    def routes(self) -> list[Route]:
        return routes.build(self, self.options.limits)

    def ws_paths(self) -> dict[str, str]:
        return {path: "private" for path in spec.WS_PATHS.values()}  # one socket serves public and private

    async def _answer(self, route: Route, req: WireRequest) -> web.Response:
        """Gate answers a new order (plain or price-triggered) with 201 Created."""
        response = await super()._answer(route, req)
        if response.status == 200 and route.method == "POST" and route.path.endswith(routes.CREATED_TAILS):
            response.set_status(201)
        return response

    def response_headers(self, route: Route, req: WireRequest) -> dict[str, str]:
        """Gate's rate-limit state of the endpoint, and the request's in / out times (µs)."""
        now = self.clock.now()
        headers = {"X-In-Time": str(int(now * 1e6)), "X-Out-Time": str(int(now * 1e6))}
        if route.limit is not None:
            count, window = route.limit
            hits = self.limiter._hits.get(f"{route.method} {route.path}")
            used = len(hits) if hits else 0
            reset = (hits[0] + window) if hits else now + window
            headers.update({spec.RATE_LIMIT_HEADER: str(count), spec.RATE_REMAIN_HEADER: str(max(0, count - used)),
                            spec.RATE_RESET_HEADER: str(ms(reset))})
        return headers


def make_server(exchange: SimExchange, *, api_key: str, api_secret: str, passphrase: str | None = None,
                port: int = 0, dead_man_switch: bool = True) -> GateServer:
    """The venue server factory the spec names (`VenueServerFactory`). Gate keys have no
    passphrase, and its countdown is not an account setting: `dead_man_switch` is always on."""
    return GateServer(exchange, api_key=api_key, api_secret=api_secret, port=port)


async def serve_forever(settings: SimSettings, *, port: int, api_key: str, api_secret: str,
                        on_ready: Callable[[int], None], options: ServerOptions | None = None) -> None:
    """Run a Gate simulator over a new `SimExchange(settings)` until cancelled; `on_ready(port)` is
    called once it listens."""
    server = GateServer(SimExchange(settings), api_key=api_key, api_secret=api_secret, port=port, options=options)
    await run_until_cancelled(server, on_ready)
