"""An OKX v5 venue (USDT swaps) on 127.0.0.1: OKX's REST + WebSocket dialect over the simulated
exchange (DESIGN.md §5), for end-to-end tests of OKX clients (pmm's, python-okx, ccxt) and dry
runs (`pmm exchange-sim okx_perpetual`).

    server = OkxServer(SimExchange(settings), api_key="k", api_secret="s", api_passphrase="p")
    port = await server.start()      # binds 127.0.0.1, starts moving the sim with the clock
    ... server.rest_url, server.ws_url + /ws/v5/{public,private,business}, server.faults ...
    await server.stop()

Composition (the only place that wires the parts; the generic ones are `common/server/`):
    KitServer, WindowLimiter   REST routing and middleware, per-endpoint limits (OKX: per 2 s)
    OkxRestDialect             dialect.py     envelope, signature check (auth.Verifier), refusals
    StreamHub + OkxStreamDialect   ws.py      sockets, ping/pong, login, subscribe
    OrderDesk, TriggerDesk, DeadManSwitch, Ledger   orders, algo stops, cancel-all-after, bills
    PublicStreams / PrivateStreams   streams.py / private.py   channel pushes
    Market / Trade / Query / Algo / Account handlers   the REST endpoints
    KitFaults                  drops, seqId gaps, error answers, delays, rejections, refused logins
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pmm.connectors.common.fault_injector import SkewedClock
from pmm.connectors.common.server import DEFAULT_API_PASSPHRASE
from pmm.connectors.common.server.dead_man import DeadManSwitch
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.kit_server import KitServer, Route, WindowLimiter
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerDesk
from pmm.connectors.common.server.wire import BadBody, WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.connectors.common.sim_server import run_until_cancelled
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.auth import Verifier
from pmm.connectors.okx_perpetual.server import routes
from pmm.connectors.okx_perpetual.server.dialect import OkxRestDialect
from pmm.connectors.okx_perpetual.server.private import PrivateStreams
from pmm.connectors.okx_perpetual.server.streams import BOOK_DEPTHS, PublicStreams
from pmm.connectors.okx_perpetual.server.views import Views
from pmm.connectors.okx_perpetual.server.wire import OkxSymbols, id_maker
from pmm.connectors.okx_perpetual.server.ws import BUSINESS, PRIVATE, PUBLIC, OkxStreamDialect
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimSettings

WS_BASE = "/ws/v5"


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Timings and limits of the simulated venue (exchange_apis_more.md §G7, §G8); tests shrink them."""

    tick_s: float = 0.02  # the longest sleep of the clock task between two advances of the simulator
    ws_idle_cutoff_s: float = 30.0  # OKX closes a socket that sent nothing for 30 s
    ws_send_queue_max: int = 10_000
    # Requests per rolling window, per endpoint path (OKX counts per 2 s); None: no limits.
    limits: dict[str, tuple[int, float]] | None = field(default_factory=lambda: dict(routes.LIMITS))


class OkxServer(KitServer):
    """OKX v5 swaps over a `SimExchange`, listening on loopback only (see module docstring)."""

    venue = "OKX"

    def __init__(self, exchange: SimExchange, *, api_key: str, api_secret: str,
                 api_passphrase: str = DEFAULT_API_PASSPHRASE, host: str = "127.0.0.1", port: int = 0,
                 clock: Clock | None = None, options: ServerOptions | None = None) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.options = options if options is not None else ServerOptions()
        self.symbols = OkxSymbols(exchange.trading_rules(m) for m in exchange.markets())
        self.faults = KitFaults()
        self.driver = SimDriver(exchange, self.clock, self.options.tick_s, name="OKX server")
        self.verifier = Verifier(api_key, api_secret, api_passphrase, SkewedClock(self.clock, self.faults))
        self.dialect = OkxRestDialect(self.verifier)
        self.limiter = WindowLimiter(self.clock)
        self.hub = StreamHub(self.clock, self.faults, name="OKX server", idle_cutoff_s=self.options.ws_idle_cutoff_s,
                             queue_max=self.options.ws_send_queue_max)
        self.faults.bind(self.hub)
        self.new_order_id = id_maker(600_000_000_000_000_000)
        self.desk = OrderDesk(exchange, self.driver, self.clock)
        self.triggers = TriggerDesk(self.desk, exchange, self.clock, self.new_order_id)
        self.dead_man = DeadManSwitch(self.clock, self.desk, name="OKX cancel-all-after")
        self.streams = PublicStreams(self.symbols, exchange.book, self.hub, self.faults, self.triggers, self.clock)
        self.ledger = Ledger(exchange, id_maker(700_000_000_000_000_000))
        self.views = Views(exchange, self.symbols)
        self.private = PrivateStreams(exchange, self.views, self.ledger, self.hub, self.faults, self.clock)
        self.desk.listen(self.private.on_order_event)
        self.desk.listen(self.streams.on_account_event)
        self.triggers.listen(self.private.on_trigger)
        exchange.subscribe_public(self.streams.on_public)
        self.hub.dialect = OkxStreamDialect(self.hub, self.verifier, self.faults, self.symbols, self.first_messages)
        for hook in (self.streams.on_tick, self.hub.on_tick, self.dead_man.on_tick):
            self.driver.on_tick(hook)

    # --- URLs (`rest_url`, `ws_url`: LoopbackVenueServer) -------------------------------------------

    @property
    def public_ws_url(self) -> str:
        return f"{self.ws_url}{WS_BASE}{spec.WS_PUBLIC_PATH}"

    @property
    def private_ws_url(self) -> str:
        return f"{self.ws_url}{WS_BASE}{spec.WS_PRIVATE_PATH}"

    @property
    def business_ws_url(self) -> str:
        return f"{self.ws_url}{WS_BASE}{spec.WS_BUSINESS_PATH}"

    # --- routing ------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return routes.build(self, self.options.limits)

    def admit(self, route: Route, req: WireRequest) -> None:
        """OKX counts the batch endpoints in orders (300 per 2 s), the others in requests."""
        weight = 1
        if route.path in routes.COUNTED_IN_ORDERS:
            try:
                body = req.json()
            except BadBody:
                body = None
            weight = max(1, len(body)) if isinstance(body, list) else 1
        if not self.limiter.admit(f"{route.method} {route.path}", route.limit, weight):
            raise self.dialect.rate_limited(req)

    def ws_paths(self) -> dict[str, str]:
        return {WS_BASE + spec.WS_PUBLIC_PATH: PUBLIC, WS_BASE + spec.WS_PRIVATE_PATH: PRIVATE,
                WS_BASE + spec.WS_BUSINESS_PATH: BUSINESS}

    def first_messages(self, key: tuple[Any, ...]) -> list[dict[str, Any]]:
        """What OKX pushes right after a subscribe: the channel's snapshot, where it sends one."""
        channel = key[0]
        if len(key) == 2 and isinstance(key[1], str) and key[1] in self.symbols.symbols():
            symbol = key[1]
            if channel == spec.CHANNEL_BOOKS:
                return [self.streams.book_snapshot(symbol)]
            if channel in BOOK_DEPTHS:
                stream = self.streams.tapes[symbol].books[BOOK_DEPTHS[channel]]
                return [{"arg": {"channel": channel, "instId": symbol},
                         "data": [self.streams.book_data(symbol, stream, BOOK_DEPTHS[channel], with_inst=True)]}]
            makers: dict[str, Callable[[str], dict[str, Any] | None]] = {
                spec.CHANNEL_TICKERS: self.streams.ticker, spec.CHANNEL_MARK_PRICE: self.streams.mark_price,
                spec.CHANNEL_FUNDING_RATE: self.streams.funding_rate}
            row = makers[channel](symbol) if channel in makers else None
            return [{"arg": {"channel": channel, "instId": symbol}, "data": [row]}] if row is not None else []
        return self.private.first_messages(key)


def make_server(exchange: SimExchange, *, api_key: str, api_secret: str, passphrase: str | None = None,
                port: int = 0, dead_man_switch: bool = True) -> OkxServer:
    """The venue server factory the spec names (`VenueServerFactory`). OKX's cancel-all-after is
    not an account setting, so `dead_man_switch` is always on."""
    return OkxServer(exchange, api_key=api_key, api_secret=api_secret,
                     api_passphrase=passphrase if passphrase is not None else DEFAULT_API_PASSPHRASE, port=port)


async def serve_forever(settings: SimSettings, *, port: int, api_key: str, api_secret: str,
                        on_ready: Callable[[int], None], api_passphrase: str = DEFAULT_API_PASSPHRASE,
                        options: ServerOptions | None = None) -> None:
    """Run an OKX simulator over a new `SimExchange(settings)` until cancelled (the CLI's
    `pmm exchange-sim okx_perpetual`); `on_ready(port)` is called once it listens."""
    server = OkxServer(SimExchange(settings), api_key=api_key, api_secret=api_secret,
                       api_passphrase=api_passphrase, port=port, options=options)
    await run_until_cancelled(server, on_ready)
