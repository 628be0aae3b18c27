"""A BitMEX venue (linear USDT perpetuals) on 127.0.0.1: BitMEX's REST + WebSocket dialect over the
simulated exchange (DESIGN.md §5), for end-to-end tests of BitMEX clients (pmm's, ccxt, bitmex-ws)
and dry runs (`pmm exchange-sim bitmex_perpetual`).

    server = BitmexServer(SimExchange(settings), api_key="k", api_secret="s")
    port = await server.start()      # binds 127.0.0.1, starts moving the sim with the clock
    ... server.rest_url (+ /api/v1/...), server.ws_url + /realtime, server.faults ...
    await server.stop()

Composition (the only place that wires the parts; the generic ones are `common/server/`):
    KitServer                   REST routing and middleware
    BitmexRestDialect           dialect.py   rows, {"error"} refusals, signature check (auth.Verifier)
    StreamHub + BitmexStreamDialect   ws.py  /realtime: welcome, ping, authKeyExpires, subscribe, partials
    OrderDesk, TriggerDesk, DeadManSwitch, Ledger   orders, Stop / StopLimit, cancelAllAfter, history
    PublicTables / PrivateTables   streams.py   table pushes
    MarketHandlers / TradingHandlers   market.py / trading.py   the REST endpoints
    KitFaults                   socket drops, lost book messages, error answers, delays, rejections

Rate limits (BitMEX): a token bucket of 120 requests per account that refills continuously (2 a
second), order calls 10 a second besides; every answer carries `x-ratelimit-limit`,
`x-ratelimit-remaining`, `x-ratelimit-reset` (unix seconds when the bucket is full again) and order
calls `x-ratelimit-remaining-1s`; over a limit: HTTP 429 with `Retry-After`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.auth import Verifier
from pmm.connectors.bitmex_perpetual.server.dialect import BitmexRestDialect
from pmm.connectors.bitmex_perpetual.server.market import MarketHandlers
from pmm.connectors.bitmex_perpetual.server.streams import PrivateTables, PublicTables
from pmm.connectors.bitmex_perpetual.server.trading import TradingHandlers
from pmm.connectors.bitmex_perpetual.server.views import Views
from pmm.connectors.bitmex_perpetual.server.wire import BitmexSpotSymbols, BitmexSymbols, dumps, uuid_maker
from pmm.connectors.bitmex_perpetual.server.ws import REALTIME, BitmexStreamDialect
from pmm.connectors.common.fault_injector import SkewedClock
from pmm.connectors.common.server.dead_man import DeadManSwitch
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.kit_server import KitServer, Route, WindowLimiter
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOrder, TriggerState
from pmm.connectors.common.server.wire import WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.connectors.common.sim_server import run_until_cancelled
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimSettings

ACCOUNT_LIMIT = (120, 60.0)   # requests per minute per account
ORDER_LIMIT = (10, 1.0)       # order calls per second, besides
_ORDER_ROUTES = {("POST", spec.ORDER_PATH), ("PUT", spec.ORDER_PATH), ("DELETE", spec.ORDER_PATH),
                 ("DELETE", spec.ORDER_ALL_PATH), ("POST", spec.LEVERAGE_PATH), ("POST", spec.ISOLATE_PATH)}


class TokenBucket:
    """BitMEX's account limiter: `capacity` tokens, refilled continuously over `window_s`."""

    def __init__(self, capacity: int, window_s: float, clock: Clock) -> None:
        self.capacity = capacity
        self.rate = capacity / window_s
        self._clock = clock
        self._tokens = float(capacity)
        self._at = clock.now()

    def _refill(self) -> None:
        now = self._clock.now()
        self._tokens = min(float(self.capacity), self._tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self) -> bool:
        self._refill()
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    @property
    def remaining(self) -> int:
        self._refill()
        return int(self._tokens)

    @property
    def full_at(self) -> float:
        self._refill()
        return self._at + (self.capacity - self._tokens) / self.rate


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Timings and limits of the simulated venue; tests shrink them. `limits` None: no limits."""

    tick_s: float = 0.02
    ws_idle_cutoff_s: float = 60.0
    ws_send_queue_max: int = 10_000
    limits: tuple[tuple[int, float], tuple[int, float]] | None = (ACCOUNT_LIMIT, ORDER_LIMIT)


class BitmexServer(KitServer):
    """BitMEX linear perpetuals over a `SimExchange`, listening on loopback only (see module docstring)."""

    venue = "BitMEX"

    def __init__(self, exchange: SimExchange, *, api_key: str, api_secret: str, host: str = "127.0.0.1",
                 port: int = 0, clock: Clock | None = None, options: ServerOptions | None = None,
                 spot: bool = False) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.options = options if options is not None else ServerOptions()
        listed = (exchange.trading_rules(m) for m in exchange.markets())
        self.symbols = BitmexSpotSymbols(listed) if spot else BitmexSymbols(listed)
        self.faults = KitFaults()
        self.driver = SimDriver(exchange, self.clock, self.options.tick_s, name="BitMEX server")
        self.server_clock = SkewedClock(self.clock, self.faults)
        self.verifier = Verifier(api_key, api_secret, self.server_clock)
        self.dialect = BitmexRestDialect(self.verifier)
        self.limiter = WindowLimiter(self.clock)
        limits = self.options.limits
        self.bucket = TokenBucket(limits[0][0], limits[0][1], self.clock) if limits is not None else None
        self.hub = StreamHub(self.clock, self.faults, name="BitMEX server", idle_cutoff_s=self.options.ws_idle_cutoff_s,
                             queue_max=self.options.ws_send_queue_max)
        self.faults.bind(self.hub)
        self.new_order_id = uuid_maker(0x5f1d3a00)
        self.desk = OrderDesk(exchange, self.driver, self.clock)
        self.triggers = TriggerDesk(self.desk, exchange, self.clock, self.new_order_id)
        self.dead_man = DeadManSwitch(self.clock, self.desk, name="BitMEX cancelAllAfter")
        self.views = Views(exchange, self.symbols)
        self.public = PublicTables(self.symbols, self.views, exchange, self.hub, self.faults, self.triggers,
                                   self.clock)
        self.ledger = Ledger(exchange, uuid_maker(0x1ed9e700))
        self.private = PrivateTables(exchange, self.views, self.ledger, self.hub, self.faults, self.clock,
                                     uuid_maker(0xe8ec0000))
        self.market = MarketHandlers(exchange, self.symbols, self.public, self.private, self.views, self.clock,
                                     self.server_clock)
        self.trading = TradingHandlers(exchange, self.symbols, self.desk, self.triggers, self.dead_man, self.private,
                                       self.views, self.faults, self.clock, self.new_order_id)
        self.desk.listen(self.private.on_order_event)
        self.desk.listen(self.public.on_account_event)
        self.triggers.listen(self._on_trigger)
        exchange.subscribe_public(self.public.on_public)
        self.hub.dialect = BitmexStreamDialect(self.hub, self.verifier, self.faults, self.symbols, self.public,
                                               self.private, self.dead_man, self.clock, self.trading.open_order_rows)
        for hook in (self.hub.on_tick, self.dead_man.on_tick):
            self.driver.on_tick(hook)

    @property
    def realtime_url(self) -> str:
        return f"{self.ws_url}{spec.WS_PATH}"

    def _on_trigger(self, trigger: TriggerOrder) -> None:
        """A stop keeps its order id and clOrdID when it fires (BitMEX: `triggered` StopOrderTriggered)."""
        if trigger.state is TriggerState.TRIGGERED and trigger.child is not None:
            trigger.child.order_id, trigger.child.client_id = trigger.algo_id, trigger.client_id
            trigger.child.extra.update(ordType=trigger.extra.get("ordType", "Stop"), triggered="StopOrderTriggered",
                                       execInst=trigger.extra.get("execInst", ""), stopPx=trigger.trigger_price)
            self.private.announced_orders.add(trigger.algo_id)
        self.private.on_trigger(trigger)

    # --- routing ------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        m, t = self.market, self.trading
        public = [("GET", spec.ROOT_PATH, m.root), ("GET", spec.API_PREFIX, m.root),
                  ("GET", spec.INSTRUMENT_PATH, m.instruments), ("GET", spec.INSTRUMENT_ACTIVE_PATH, m.active),
                  ("GET", spec.API_PREFIX + "/instrument/activeAndIndices", m.active),
                  ("GET", spec.ORDER_BOOK_PATH, m.book), ("GET", spec.TRADE_PATH, m.trades),
                  ("GET", spec.FUNDING_PATH, m.funding), ("GET", spec.WALLET_ASSETS_PATH, m.assets)]
        signed = [("GET", spec.MARGIN_PATH, m.margin), ("GET", spec.WALLET_PATH, m.wallet),
                  ("GET", spec.COMMISSION_PATH, m.commission), ("GET", spec.USER_PATH, m.user),
                  ("GET", spec.POSITION_PATH, m.positions), ("GET", spec.EXECUTION_PATH, m.executions),
                  ("GET", spec.TRADE_HISTORY_PATH, m.trade_history),
                  ("POST", spec.ORDER_PATH, t.place), ("PUT", spec.ORDER_PATH, t.amend),
                  ("DELETE", spec.ORDER_PATH, t.cancel), ("GET", spec.ORDER_PATH, t.open_orders),
                  ("DELETE", spec.ORDER_ALL_PATH, t.cancel_all), ("POST", spec.CANCEL_ALL_AFTER_PATH,
                                                                   t.cancel_all_after),
                  ("POST", spec.LEVERAGE_PATH, t.leverage), ("POST", spec.ISOLATE_PATH, t.isolate)]
        return ([Route(verb, path, handler) for verb, path, handler in public]
                + [Route(verb, path, handler, signed=True) for verb, path, handler in signed])

    def ws_paths(self) -> dict[str, str]:
        return {spec.WS_PATH: REALTIME}

    def admit(self, route: Route, req: WireRequest) -> None:
        """One budget for the account, and one per second for order calls besides (BitMEX)."""
        limits = self.options.limits
        if limits is None:
            return
        _, orders = limits
        ok = self.bucket is None or self.bucket.take()
        if ok and (route.method, route.path) in _ORDER_ROUTES:
            ok = self.limiter.admit("orders", orders)
        if not ok:
            raise self.dialect.rate_limited(req)

    def response_headers(self, route: Route, req: WireRequest) -> dict[str, str]:
        limits = self.options.limits
        if limits is None:
            return {}
        (count, _), (per_second, _) = limits
        assert self.bucket is not None
        headers = {"x-ratelimit-limit": str(count), "x-ratelimit-remaining": str(self.bucket.remaining),
                   "x-ratelimit-reset": str(math.ceil(self.bucket.full_at))}
        if (route.method, route.path) in _ORDER_ROUTES:
            headers["x-ratelimit-remaining-1s"] = str(max(0, per_second - len(self.limiter._hits.get("orders", ()))))
        return headers

    @staticmethod
    def _json(status: int, body: Any, headers: dict[str, str]) -> web.Response:
        # BitMEX writes prices and sizes as JSON numbers: Decimals go out digit for digit.
        return web.Response(status=status, text=dumps(body), content_type="application/json", headers=headers)

    def first_messages(self, key: tuple[Any, ...]) -> list[dict[str, Any]]:
        return []


def make_server(exchange: SimExchange, *, api_key: str, api_secret: str, passphrase: str | None = None,
                port: int = 0, dead_man_switch: bool = True) -> BitmexServer:
    """The venue server factory the spec names (`VenueServerFactory`). BitMEX's cancelAllAfter is not
    an account setting, so `dead_man_switch` is always on; BitMEX keys have no passphrase."""
    return BitmexServer(exchange, api_key=api_key, api_secret=api_secret, port=port)


def make_spot_server(exchange: SimExchange, *, port: int = 0) -> BitmexServer:
    """BitMEX's spot market data (`XBT_USDT`: instrument, orderBookL2, trade, quote) for a config whose
    price source is `bitmex` (`pmm exchange-sim bitmex`): the same server over spot pairs; no account
    (its signed endpoints refuse every key)."""
    return BitmexServer(exchange, api_key="", api_secret="", port=port, spot=True)


async def serve_forever(settings: SimSettings, *, port: int, api_key: str, api_secret: str,
                        on_ready: Callable[[int], None], options: ServerOptions | None = None) -> None:
    """Run a BitMEX simulator over a new `SimExchange(settings)` until cancelled."""
    server = BitmexServer(SimExchange(settings), api_key=api_key, api_secret=api_secret, port=port, options=options)
    await run_until_cancelled(server, on_ready)
