"""A BitMart Futures V2 venue (USDT perpetuals) on 127.0.0.1: BitMart's REST + WebSocket dialect
over the simulated exchange (DESIGN.md §5), for end-to-end tests of BitMart clients (pmm's and
BitMart's official SDK) and dry runs (`pmm exchange-sim bitmart_perpetual`).

    server = BitmartServer(SimExchange(settings), api_key="k", api_secret="s", api_memo="m")
    port = await server.start()      # binds 127.0.0.1, starts moving the sim with the clock
    ... server.rest_url, server.ws_url + /api or /user (?protocol=1.1), server.faults ...
    await server.stop()

Composition (the only place that wires the parts; the generic ones are `common/server/`):
    KitServer                   REST routing and middleware; `admit` counts each endpoint's window
                                and answers BitMart's X-BM-RateLimit-* headers (Remaining = USED)
    BitmartRestDialect          dialect.py   envelope, KEYED / SIGNED checks (auth.Verifier), refusals
    StreamHub + BitmartStreamDialect   ws.py  sockets, ping/pong, access, subscribe, request
    OrderDesk, TriggerDesk, DeadManSwitch (one per symbol), Ledger
    PublicStreams / PrivateStreams     streams.py / private.py   channel pushes
    Market / Trade / Account handlers  the REST endpoints (routes.py)
    KitFaults                   drops, version gaps, error answers, delays, rejections, refused logins
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.auth import Verifier
from pmm.connectors.bitmart_perpetual.server import routes
from pmm.connectors.bitmart_perpetual.server.dialect import BitmartRestDialect
from pmm.connectors.bitmart_perpetual.server.private import PrivateStreams
from pmm.connectors.bitmart_perpetual.server.streams import WHOLE_DEPTH_CHANNELS, PublicStreams
from pmm.connectors.bitmart_perpetual.server.views import Views
from pmm.connectors.bitmart_perpetual.server.wire import BitmartSymbols, id_maker
from pmm.connectors.bitmart_perpetual.server.ws import PRIVATE, PUBLIC, BitmartStreamDialect
from pmm.connectors.common.fault_injector import SkewedClock
from pmm.connectors.common.server import DEFAULT_API_PASSPHRASE
from pmm.connectors.common.server.dead_man import DeadManSwitch
from pmm.connectors.common.server.desk_order import Cause
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

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Timings and limits of the simulated venue (exchange_apis_more.md §K5, §K6); tests shrink them."""

    tick_s: float = 0.02  # the longest sleep of the clock task between two advances of the simulator
    ws_idle_cutoff_s: float = 20.0  # BitMart closes a socket without data for 20 s
    ws_send_queue_max: int = 10_000
    # Requests per rolling window, per endpoint path (BitMart counts per 2 s); None: no limits.
    limits: dict[str, tuple[int, float]] | None = field(default_factory=lambda: dict(routes.LIMITS))


class BitmartServer(KitServer):
    """BitMart Futures V2 over a `SimExchange`, listening on loopback only (see module docstring)."""

    venue = "BitMart"

    def __init__(self, exchange: SimExchange, *, api_key: str, api_secret: str,
                 api_memo: str = DEFAULT_API_PASSPHRASE, host: str = "127.0.0.1", port: int = 0,
                 clock: Clock | None = None, options: ServerOptions | None = None) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.options = options if options is not None else ServerOptions()
        self.symbols = BitmartSymbols(exchange.trading_rules(m) for m in exchange.markets())
        self.faults = KitFaults()
        self.driver = SimDriver(exchange, self.clock, self.options.tick_s, name="BitMart server")
        self.verifier = Verifier(api_key, api_secret, api_memo, SkewedClock(self.clock, self.faults))
        self.dialect = BitmartRestDialect(self.verifier)
        self.limiter = WindowLimiter(self.clock)
        self._windows: dict[str, deque[float]] = {}
        self.hub = StreamHub(self.clock, self.faults, name="BitMart server",
                             idle_cutoff_s=self.options.ws_idle_cutoff_s, queue_max=self.options.ws_send_queue_max)
        self.faults.bind(self.hub)
        self.new_order_id = id_maker(220_609_666_322_019)
        self.desk = OrderDesk(exchange, self.driver, self.clock)
        self.triggers = TriggerDesk(self.desk, exchange, self.clock, self.new_order_id)
        self.dead_men: dict[str, DeadManSwitch] = {}
        self.streams = PublicStreams(self.symbols, exchange.book, self.hub, self.faults, self.triggers, self.clock)
        self.ledger = Ledger(exchange, id_maker(9_689_322_392))
        self.views = Views(exchange, self.symbols)
        self.private = PrivateStreams(exchange, self.views, self.ledger, self.hub, self.faults, self.clock)
        self.desk.listen(self.private.on_order_event)
        self.desk.listen(self.streams.on_account_event)
        exchange.subscribe_public(self.streams.on_public)
        self.hub.dialect = BitmartStreamDialect(self.hub, self.verifier, self.faults, self.symbols,
                                                self.first_messages)
        for hook in (self.hub.on_tick, self._tick_dead_men):
            self.driver.on_tick(hook)

    # --- URLs ---------------------------------------------------------------------------------------

    @property
    def public_ws_url(self) -> str:
        return f"{self.ws_url}{spec.WS_PUBLIC_PATH}{spec.WS_PROTOCOL_QUERY}"

    @property
    def private_ws_url(self) -> str:
        return f"{self.ws_url}{spec.WS_PRIVATE_PATH}{spec.WS_PROTOCOL_QUERY}"

    # --- the dead-man switch: one per symbol -----------------------------------------------------------

    def dead_man_of(self, symbol: str) -> DeadManSwitch:
        if symbol not in self.dead_men:
            self.dead_men[symbol] = _SymbolDeadMan(self.clock, self.desk, self.symbols.market(symbol) or symbol,
                                                   name=f"BitMart cancel-all-after {symbol}")
        return self.dead_men[symbol]

    def _tick_dead_men(self, now: float) -> None:
        for switch in list(self.dead_men.values()):
            switch.on_tick(now)

    # --- routing ------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return routes.build(self, self.options.limits)

    def admit(self, route: Route, req: WireRequest) -> None:
        """Count the request in its endpoint's window and say so in BitMart's headers: Remaining is
        the number USED in the window (BitMart's naming), Limit the budget, Reset the window (s)."""
        if route.limit is None:
            return
        count, window = route.limit
        now = self.clock.now()
        hits = self._windows.setdefault(f"{route.method} {route.path}", deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        over = len(hits) >= count
        if not over:
            hits.append(now)
        req.reply_headers.update({"X-BM-RateLimit-Remaining": str(len(hits)), "X-BM-RateLimit-Limit": str(count),
                                  "X-BM-RateLimit-Reset": format(window, "g"),
                                  "X-BM-RateLimit-Mode": "UID" if route.signed else "IP"})
        if over:
            raise self.dialect.rate_limited(req)

    def ws_paths(self) -> dict[str, str]:
        return {spec.WS_PUBLIC_PATH: PUBLIC, spec.WS_PRIVATE_PATH: PRIVATE}

    def first_messages(self, topic: str, requested: bool) -> list[dict[str, Any]]:
        """What BitMart pushes right after a subscribe (or a `request`): the channel's snapshot."""
        channel, _, rest = topic.partition(":")
        symbol = rest.partition("@")[0]
        if channel.startswith("futures/depthIncrease"):
            snapshot = self.streams.depth_snapshot(topic)
            return [snapshot] if snapshot is not None else []
        if channel in WHOLE_DEPTH_CHANNELS and symbol in self.symbols.symbols():
            return self.streams.whole_depth(topic, symbol, WHOLE_DEPTH_CHANNELS[channel])
        makers: dict[str, Callable[[str], dict[str, Any] | None]] = {
            spec.CHANNEL_TICKER: self.streams.ticker, spec.CHANNEL_FUNDING: self.streams.funding_rate}
        if channel in makers and symbol in self.symbols.symbols():
            row = makers[channel](symbol)
            return [{"data": row, "group": topic}] if row is not None else []
        return [] if requested else self.private.first_messages(topic)


class _SymbolDeadMan(DeadManSwitch):
    """BitMart's cancel-all-after is per symbol: when it runs out it cancels that market's orders only."""

    def __init__(self, clock: Clock, desk: OrderDesk, market: str, *, name: str) -> None:
        super().__init__(clock, desk, name=name)
        self._market = market
        self._orders = desk

    def on_tick(self, now: float) -> None:
        if self.deadline is None or now < self.deadline:
            return
        self.deadline = None
        self.fired += 1
        count = self._orders.cancel_now(self._orders.open_orders(self._market), Cause.DEAD_MAN)
        log.warning("BitMart cancel-all-after of %s ran out: canceling %d open order(s)", self._market, count)


def make_server(exchange: SimExchange, *, api_key: str, api_secret: str, passphrase: str | None = None,
                port: int = 0, dead_man_switch: bool = True) -> BitmartServer:
    """The venue server factory the spec names (`VenueServerFactory`); `passphrase` is the key's memo.
    BitMart's cancel-all-after is not an account setting, so `dead_man_switch` is always on."""
    return BitmartServer(exchange, api_key=api_key, api_secret=api_secret,
                         api_memo=passphrase if passphrase is not None else DEFAULT_API_PASSPHRASE, port=port)


async def serve_forever(settings: SimSettings, *, port: int, api_key: str, api_secret: str,
                        on_ready: Callable[[int], None], api_memo: str = DEFAULT_API_PASSPHRASE,
                        options: ServerOptions | None = None) -> None:
    """Run a BitMart simulator over a new `SimExchange(settings)` until cancelled; `on_ready(port)`
    is called once it listens."""
    server = BitmartServer(SimExchange(settings), api_key=api_key, api_secret=api_secret, api_memo=api_memo,
                           port=port, options=options)
    await run_until_cancelled(server, on_ready)
