"""A Bitget mix v2 venue (USDT-M perpetuals) on 127.0.0.1: Bitget's REST + WebSocket dialect over
the simulated exchange (DESIGN.md §5), for end-to-end tests of Bitget clients (pmm's, ccxt,
bitget-api-client) and dry runs (`pmm exchange-sim bitget_perpetual`).

    server = BitgetServer(SimExchange(settings), api_key="k", api_secret="s", api_passphrase="p")
    port = await server.start()      # binds 127.0.0.1, starts moving the sim with the clock
    ... server.rest_url, server.ws_url + /v2/ws/{public,private}, server.faults ...
    await server.stop()

Composition (the only place that wires the parts; the generic ones are `common/server/`):
    KitServer, WindowLimiter   REST routing and middleware, per-endpoint limits (per second)
    BitgetRestDialect          dialect.py   envelope, signature check (auth.Verifier), refusals
    StreamHub + BitgetStreamDialect   ws.py  sockets, ping/pong, login, subscribe
    OrderDesk, TriggerDesk, Ledger   orders, plan orders, bills
    PublicStreams / PrivateStreams   streams.py / private.py   channel pushes
    Market / Trade / Plan / Account handlers   the REST endpoints
    KitFaults                  drops, seq gaps, error answers, delays, rejections, refused logins

Every answer carries `x-mbx-used-remain-limit`, the requests left in the endpoint's window.
Bitget's mix v2 has no dead-man switch, so neither has this server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.auth import Verifier
from pmm.connectors.bitget_perpetual.rest import REMAINING_HEADER
from pmm.connectors.bitget_perpetual.server import routes
from pmm.connectors.bitget_perpetual.server.dialect import BitgetRestDialect
from pmm.connectors.bitget_perpetual.server.private import PrivateStreams
from pmm.connectors.bitget_perpetual.server.streams import PublicStreams
from pmm.connectors.bitget_perpetual.server.views import Views
from pmm.connectors.bitget_perpetual.server.wire import BitgetSymbols, id_maker
from pmm.connectors.bitget_perpetual.server.ws import IDLE_CUTOFF_S, PRIVATE, PUBLIC, BitgetStreamDialect
from pmm.connectors.common.fault_injector import SkewedClock
from pmm.connectors.common.server import DEFAULT_API_PASSPHRASE
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.kit_server import KitServer, Route, WindowLimiter
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerDesk
from pmm.connectors.common.server.wire import WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.connectors.common.sim_server import run_until_cancelled
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimSettings


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Timings and limits of the simulated venue (exchange_apis_more.md §J5, §J6); tests shrink them."""

    tick_s: float = 0.02  # the longest sleep of the clock task between two advances of the simulator
    ws_idle_cutoff_s: float = IDLE_CUTOFF_S  # Bitget closes a socket that sent no ping for 2 minutes
    ws_send_queue_max: int = 10_000
    # Requests per rolling window, per endpoint path (Bitget counts per second); None: no limits.
    limits: dict[str, tuple[int, float]] | None = field(default_factory=lambda: dict(routes.LIMITS))


class BitgetServer(KitServer):
    """Bitget USDT-M perpetuals over a `SimExchange`, listening on loopback only (see module docstring)."""

    venue = "Bitget"

    def __init__(self, exchange: SimExchange, *, api_key: str, api_secret: str,
                 api_passphrase: str = DEFAULT_API_PASSPHRASE, host: str = "127.0.0.1", port: int = 0,
                 clock: Clock | None = None, options: ServerOptions | None = None) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.options = options if options is not None else ServerOptions()
        self.symbols = BitgetSymbols(exchange.trading_rules(m) for m in exchange.markets())
        self.faults = KitFaults()
        self.driver = SimDriver(exchange, self.clock, self.options.tick_s, name="Bitget server")
        self.verifier = Verifier(api_key, api_secret, api_passphrase, SkewedClock(self.clock, self.faults))
        self.dialect = BitgetRestDialect(self.verifier, self.clock)
        self.limiter = WindowLimiter(self.clock)
        self.hub = StreamHub(self.clock, self.faults, name="Bitget server",
                             idle_cutoff_s=self.options.ws_idle_cutoff_s, queue_max=self.options.ws_send_queue_max)
        self.faults.bind(self.hub)
        self.new_order_id = id_maker(1_000_000_000_000_000_000)
        self.desk = OrderDesk(exchange, self.driver, self.clock)
        self.triggers = TriggerDesk(self.desk, exchange, self.clock, self.new_order_id)
        self.streams = PublicStreams(self.symbols, exchange.book, self.hub, self.faults, self.triggers, self.clock)
        self.ledger = Ledger(exchange, id_maker(1_500_000_000_000_000_000))
        self.views = Views(exchange, self.symbols)
        self.private = PrivateStreams(self.views, self.ledger, self.hub, self.faults, self.clock)
        self.desk.listen(self.private.on_order_event)
        self.desk.listen(self.streams.on_account_event)
        self.triggers.listen(self.private.on_trigger)
        exchange.subscribe_public(self.streams.on_public)
        self.hub.dialect = BitgetStreamDialect(self.hub, self.verifier, self.faults, self.symbols,
                                               self.streams.first_messages, self.private.first_messages)
        for hook in (self.hub.on_tick,):
            self.driver.on_tick(hook)

    # --- URLs (`rest_url`, `ws_url`: LoopbackVenueServer) -------------------------------------------

    @property
    def public_ws_url(self) -> str:
        return f"{self.ws_url}{spec.WS_PUBLIC_PATH}"

    @property
    def private_ws_url(self) -> str:
        return f"{self.ws_url}{spec.WS_PRIVATE_PATH}"

    # --- routing ------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return routes.build(self, self.options.limits)

    def ws_paths(self) -> dict[str, str]:
        return {spec.WS_PUBLIC_PATH: PUBLIC, spec.WS_PRIVATE_PATH: PRIVATE}

    def response_headers(self, route: Route, req: WireRequest) -> dict[str, str]:
        """`x-mbx-used-remain-limit`: what is left of the endpoint's window."""
        left = self.limiter.remaining(f"{route.method} {route.path}", route.limit)
        return {} if left is None else {REMAINING_HEADER: str(left)}


def make_server(exchange: SimExchange, *, api_key: str, api_secret: str, passphrase: str | None = None,
                port: int = 0, dead_man_switch: bool = True) -> BitgetServer:
    """The venue server factory the spec names (`VenueServerFactory`). Bitget's mix v2 has no
    dead-man switch, so `dead_man_switch` changes nothing."""
    return BitgetServer(exchange, api_key=api_key, api_secret=api_secret,
                        api_passphrase=passphrase if passphrase is not None else DEFAULT_API_PASSPHRASE, port=port)


async def serve_forever(settings: SimSettings, *, port: int, api_key: str, api_secret: str,
                        on_ready: Callable[[int], None], api_passphrase: str = DEFAULT_API_PASSPHRASE,
                        options: ServerOptions | None = None) -> None:
    """Run a Bitget simulator over a new `SimExchange(settings)` until cancelled (the CLI's
    `pmm exchange-sim bitget_perpetual`); `on_ready(port)` is called once it listens."""
    server = BitgetServer(SimExchange(settings), api_key=api_key, api_secret=api_secret,
                          api_passphrase=api_passphrase, port=port, options=options)
    await run_until_cancelled(server, on_ready)
