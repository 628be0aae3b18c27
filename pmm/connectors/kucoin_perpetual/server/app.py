"""A KuCoin Futures venue on 127.0.0.1: KuCoin's REST + WebSocket dialect over the simulated
exchange (DESIGN.md §5), for end-to-end tests of KuCoin clients (pmm's, kucoin-universal-sdk,
ccxt) and dry runs (`pmm exchange-sim kucoin_perpetual`).

    server = KucoinServer(SimExchange(settings), api_key="k", api_secret="s", api_passphrase="p")
    port = await server.start()      # binds 127.0.0.1, starts moving the sim with the clock
    ... server.rest_url, server.ws_url (the endpoint bullets name), server.faults ...
    await server.stop()

Composition (the only place that wires the parts; the generic ones are `common/server/`):
    KitServer                   REST routing and middleware; one futures request pool per account
                                (`gw-ratelimit-*` headers on every answer, 429000 past it)
    KucoinRestDialect           dialect.py   envelope, signature check (auth.Verifier), refusals
    StreamHub + KucoinStreamDialect   ws.py  bullet tokens, welcome, ping/pong, subscribe/ack
    OrderDesk, TriggerDesk, Ledger   orders, stop orders, fills and funding
    PublicStreams / PrivateStreams   streams.py / private.py   topic pushes
    Market / Order / Account handlers   the REST endpoints (routes.py)
    KitFaults                   drops, sequence gaps, error answers, delays, rejections, refused tokens

KuCoin Futures has no dead-man switch, so the server has none.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.auth import Verifier
from pmm.connectors.kucoin_perpetual.server import routes
from pmm.connectors.kucoin_perpetual.server.dialect import KucoinRestDialect
from pmm.connectors.kucoin_perpetual.server.private import PrivateStreams
from pmm.connectors.kucoin_perpetual.server.streams import PublicStreams
from pmm.connectors.kucoin_perpetual.server.views import Views
from pmm.connectors.kucoin_perpetual.server.wire import KucoinSymbols, id_maker
from pmm.connectors.kucoin_perpetual.server.ws import PUBLIC, KucoinStreamDialect
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimSettings

WS_PATH = "/"  # bullets name ws://host:port/ (KuCoin's: wss://ws-api-futures.kucoin.com/)


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Timings and limits of the simulated venue (§I5, §I6); tests shrink them."""

    tick_s: float = 0.02
    ping_interval_ms: int = 18_000
    ping_timeout_ms: int = 10_000
    ws_send_queue_max: int = 10_000
    pool: tuple[int, float] | None = (2_000, 30.0)  # the futures pool: requests per window; None: no limit
    tokens_kept: int = 1_000


class KucoinServer(KitServer):
    """KuCoin Futures over a `SimExchange`, listening on loopback only (see module docstring)."""

    venue = "KuCoin"

    def __init__(self, exchange: SimExchange, *, api_key: str, api_secret: str,
                 api_passphrase: str = DEFAULT_API_PASSPHRASE, host: str = "127.0.0.1", port: int = 0,
                 clock: Clock | None = None, options: ServerOptions | None = None) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.options = options if options is not None else ServerOptions()
        self.symbols = KucoinSymbols(exchange.trading_rules(m) for m in exchange.markets())
        self.faults = KitFaults()
        self.driver = SimDriver(exchange, self.clock, self.options.tick_s, name="KuCoin server")
        self.verifier = Verifier(api_key, api_secret, api_passphrase, SkewedClock(self.clock, self.faults))
        self.dialect = KucoinRestDialect(self.verifier)
        self.limiter = WindowLimiter(self.clock)
        # KuCoin closes a socket that sent no ping within pingInterval + pingTimeout.
        idle_s = (self.options.ping_interval_ms + self.options.ping_timeout_ms) / 1000
        self.hub = StreamHub(self.clock, self.faults, name="KuCoin server", idle_cutoff_s=idle_s,
                             queue_max=self.options.ws_send_queue_max)
        self.faults.bind(self.hub)
        self.new_order_id = id_maker(247_899_236_673_269_761)
        self.desk = OrderDesk(exchange, self.driver, self.clock)
        self.triggers = TriggerDesk(self.desk, exchange, self.clock, self.new_order_id)
        self.streams = PublicStreams(self.symbols, exchange.book, self.hub, self.faults, self.triggers, self.clock)
        self.ledger = Ledger(exchange, id_maker(1_472_387_374_042_586))
        self.views = Views(exchange, self.symbols)
        self.private = PrivateStreams(exchange, self.views, self.ledger, self.hub, self.faults, self.clock)
        self.desk.listen(self.private.on_order_event)
        self.desk.listen(self.streams.on_account_event)
        self.triggers.listen(self.private.on_trigger)
        exchange.subscribe_public(self.streams.on_public)
        self._tokens: dict[str, bool] = {}  # issued token -> private
        self._token_order: deque[str] = deque()
        self.hub.dialect = KucoinStreamDialect(self.hub, self.faults, self.symbols, self.clock, self._tokens.get,
                                               self.private.first_messages)
        for hook in (self.hub.on_tick,):
            self.driver.on_tick(hook)

    # --- tokens -------------------------------------------------------------------------------------

    def bullet(self, private: bool) -> dict[str, Any]:
        """A bullet answer: a new token and this server's endpoint (`encrypt` false: ws:// on loopback)."""
        token = secrets.token_urlsafe(48)
        self._tokens[token] = private
        self._token_order.append(token)
        while len(self._token_order) > self.options.tokens_kept:
            self._tokens.pop(self._token_order.popleft(), None)
        return {"token": token, "instanceServers": [{
            "endpoint": self.ws_url + WS_PATH, "encrypt": False, "protocol": "websocket",
            "pingInterval": self.options.ping_interval_ms, "pingTimeout": self.options.ping_timeout_ms}]}

    # --- routing ------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return routes.build(self)

    def ws_paths(self) -> dict[str, str]:
        return {WS_PATH: PUBLIC, "/endpoint": PUBLIC}  # the token decides public or private

    def admit(self, route: Route, req: WireRequest) -> None:
        """One futures pool per account (signed calls) and one per IP (public calls)."""
        pool = "private" if route.signed else "public"
        req.reply_headers.update(self._pool_headers(pool))
        if not self.limiter.admit(pool, self.options.pool):
            raise self.dialect.rate_limited(req)

    def _pool_headers(self, pool: str) -> dict[str, str]:
        if self.options.pool is None:
            return {}
        count, window = self.options.pool
        used = len(self.limiter._hits.get(pool, ()))  # noqa: SLF001 - the limiter's own count of the window
        return {spec.RATE_LIMIT_HEADER: str(count), spec.RATE_REMAINING_HEADER: str(max(0, count - used - 1)),
                spec.RATE_RESET_HEADER: str(int(window * 1000))}


def make_server(exchange: SimExchange, *, api_key: str, api_secret: str, passphrase: str | None = None,
                port: int = 0, dead_man_switch: bool = True) -> KucoinServer:
    """The venue server factory the spec names (`VenueServerFactory`); KuCoin Futures has no
    dead-man switch, so `dead_man_switch` changes nothing."""
    return KucoinServer(exchange, api_key=api_key, api_secret=api_secret,
                        api_passphrase=passphrase if passphrase is not None else DEFAULT_API_PASSPHRASE, port=port)


async def serve_forever(settings: SimSettings, *, port: int, api_key: str, api_secret: str,
                        on_ready: Callable[[int], None], api_passphrase: str = DEFAULT_API_PASSPHRASE,
                        options: ServerOptions | None = None) -> None:
    server = KucoinServer(SimExchange(settings), api_key=api_key, api_secret=api_secret,
                          api_passphrase=api_passphrase, port=port, options=options)
    await run_until_cancelled(server, on_ready)
