"""A Binance USD-M futures venue on 127.0.0.1: Binance's REST + WebSocket dialect served over the
simulated exchange (DESIGN.md §5), for end-to-end tests of Binance clients and dry runs
(`pmm exchange-sim binance_perpetual`).

    server = BinanceServer(SimExchange(settings), api_key="k", api_secret="s")
    port = await server.start()          # binds 127.0.0.1, starts moving the sim with the clock
    ... server.rest_url, server.ws_url, server.faults ...
    await server.stop()

Composition (the only place that wires the parts):
    SimDriver        common/sim_driver.py   the sim's time: follows the clock; settles synchronous requests
    RawParams, Authenticator, RateLimiter   auth.py   params, HMAC/timestamp/key, weights
    MarketHandlers / TradeHandlers / AccountHandlers / SetupHandlers   the REST endpoints
    OrderDesk        common/server/order_desk.py   orders over the sim (time in force, post-only, ...)
    BinanceOrders    orders.py   the desk's orders in Binance's terms (status, views, lookups)
    CountdownCancelAll  countdown.py   the per-symbol dead-man switch (common/server/dead_man.py)
    AlgoOrders       algo.py     conditional orders (Algo Service) over common/server/triggers.py
    MarketStreams    streams.py  depth diffs + ids, trades, mark price, funding history
    MarketStats      stats.py    24 h tickers, recent trades, klines (REST and streams)
    UserStreams, ListenKeys  user.py   user data events and listenKeys
    StreamHub        common/server/stream_hub.py   sockets, subscriptions, fan-out, pings
    BinanceStreams   ws.py       Binance's stream names, paths, framing and JSON requests
    FaultInjector    faults.py   the kit's faults (drops, gaps, error answers, ...) + listenKey expiry
    KitServer, BinanceRestDialect   common/server/kit_server.py, dialect.py   routes and the REST
                     middleware (injected faults, weights, signature check, Binance's envelope)
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Awaitable, Callable
from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.server.account import AccountHandlers
from pmm.connectors.binance_perpetual.server.algo import AlgoOrders
from pmm.connectors.binance_perpetual.server.auth import Authenticator, RateLimiter, RawParams
from pmm.connectors.binance_perpetual.server.dialect import BinanceRestDialect, params_of, with_params
from pmm.connectors.binance_perpetual.server.faults import FaultInjector, SkewedClock
from pmm.connectors.binance_perpetual.server.market import MarketHandlers
from pmm.connectors.binance_perpetual.server.options import ServerOptions
from pmm.connectors.binance_perpetual.server.orders import BinanceOrders
from pmm.connectors.binance_perpetual.server.setup import SetupHandlers
from pmm.connectors.binance_perpetual.server.stats import MarketStats
from pmm.connectors.binance_perpetual.server.streams import MarketStreams
from pmm.connectors.binance_perpetual.server.countdown import CountdownCancelAll
from pmm.connectors.binance_perpetual.server.trade import TradeHandlers
from pmm.connectors.binance_perpetual.server.user import ListenKeys, UserStreams
from pmm.connectors.binance_perpetual.server.wire import SymbolMap
from pmm.connectors.binance_perpetual.server.ws import WS_CLOSE_TIMEOUT_S, WS_ROUTE_PATTERNS, BinanceStreams
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.kit_server import KitServer, Route
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.wire import WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.connectors.common.sim_server import run_until_cancelled
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimSettings

__all__ = ["BinanceServer", "ServerOptions", "make_server", "request_weight", "serve_forever"]

Handler = Callable[[RawParams], Awaitable[Any]]
# Endpoint security types: public, API-key header only, signed (key + timestamp + signature).
_NONE, _KEY, _SIGNED = "NONE", "USER_STREAM", "SIGNED"
_FIRST_ORDER_ID = 8_000_000_000  # Binance's order ids are large running integers
_ORDER_CALLS = (("POST", c.ORDER_PATH), ("POST", c.ALGO_ORDER_PATH))  # count on the account's order limits


def request_weight(method: str, path: str, params: RawParams) -> int:
    """The REQUEST_WEIGHT a request costs (exchange_apis.md §A3)."""
    key = (method, path)
    if path == c.DEPTH_PATH:
        limit = params.get("limit")
        return c.DEPTH_LIMIT_WEIGHTS.get(int(limit) if limit and limit.isdigit() else c.DEFAULT_DEPTH_LIMIT, 10)
    if path == c.KLINES_PATH:
        limit = params.get("limit")
        count = int(limit) if limit and limit.isdigit() else c.DEFAULT_KLINES_LIMIT
        return next((weight for below, weight in c.KLINES_LIMIT_WEIGHTS if count < below), c.KLINES_MAX_WEIGHT)
    if key in c.NO_SYMBOL_WEIGHTS and params.get("symbol") is None:
        return c.NO_SYMBOL_WEIGHTS[key]
    return c.WEIGHTS.get(key, c.SERVER_EXTRA_WEIGHTS.get(key, c.DEFAULT_WEIGHT))


class BinanceServer(KitServer):
    """Binance USD-M futures over a `SimExchange`, listening on loopback only (see module doc)."""

    venue = "Binance"
    faults: FaultInjector  # the kit's, and listenKey expiry

    def __init__(self, exchange: SimExchange, *, api_key: str, api_secret: str, host: str = "127.0.0.1",
                 port: int = 0, clock: Clock | None = None, options: ServerOptions | None = None) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.options = options if options is not None else ServerOptions()
        self.symbols = SymbolMap(exchange.trading_rules(m) for m in exchange.markets())
        self.faults = FaultInjector()
        self.driver = SimDriver(exchange, self.clock, self.options.tick_s, name="Binance server")
        self.desk = OrderDesk(exchange, self.driver, self.clock)
        self.orders = BinanceOrders(self.desk, self.symbols)
        self.desk.listen(self.orders.on_order_event)
        self.keys = ListenKeys(self.clock, self.options.listen_key_ttl_s, self._on_key_expired, self._on_key_closed)
        self.hub = StreamHub(self.clock, self.faults, name="Binance server", idle_cutoff_s=math.inf,
                             queue_max=self.options.ws_send_queue_max, heartbeat_s=self.options.ws_ping_interval_s,
                             close_timeout_s=WS_CLOSE_TIMEOUT_S)
        self.ws = BinanceStreams(self.hub, self.keys.is_active, self.options.ws_max_age_s)
        self.hub.dialect = self.ws
        self.faults.bind(self.hub)
        self.faults.bind_listen_keys(self.keys.expire)
        self.streams = MarketStreams(self.symbols, self.ws.publish, self.hub.has_subscribers, self.faults)
        self.stats = MarketStats(self.symbols, self.ws.publish, self.hub.has_subscribers, self.clock)
        self.streams.trade_listeners.append(self.stats.on_trade)
        self.users = UserStreams(exchange, self.symbols, self.orders, self.ws.publish_user)
        self.desk.listen(self.users.on_order_event)
        exchange.subscribe_public(self.streams.on_public)
        order_ids = itertools.count(_FIRST_ORDER_ID)
        self.new_order_id: Callable[[], str] = lambda: str(next(order_ids))
        self.algos = AlgoOrders(exchange, self.symbols, self.desk, self.clock, self.ws.publish_user,
                                self.new_order_id)
        exchange.subscribe_public(self.algos.on_public)
        self.desk.listen(self.algos.on_order_event)
        self.countdown = CountdownCancelAll(self.clock, self.desk, self.symbols)
        for hook in (self.streams.on_tick, self.stats.on_tick, self.keys.on_tick, self.ws.on_tick,
                     self.countdown.on_tick, self._housekeeping):
            self.driver.on_tick(hook)
        self.weights = RateLimiter(self.clock, self.options)
        auth = Authenticator(api_key, api_secret, SkewedClock(self.clock, self.faults))
        self.dialect = BinanceRestDialect(self.clock, self.options, server_name="Binance simulator", auth=auth,
                                          limiter=self.weights)
        self._next_prune = 0.0

    # --- routing --------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        market = MarketHandlers(self.exchange, self.symbols, self.streams, SkewedClock(self.clock, self.faults),
                                self.options)
        trade = TradeHandlers(self.exchange, self.symbols, self.orders, self.driver, self.faults, self.new_order_id)
        account = AccountHandlers(self.exchange, self.symbols, self.orders, self.streams, self.clock)
        setup = SetupHandlers(self.exchange, self.symbols, self.orders, self.users, self.keys, self.clock)
        table: list[tuple[str, str, Handler, str]] = [
            ("GET", c.PING_PATH, market.ping, _NONE),
            ("GET", c.TIME_PATH, market.time, _NONE),
            ("GET", c.EXCHANGE_INFO_PATH, market.exchange_info, _NONE),
            ("GET", c.DEPTH_PATH, market.depth, _NONE),
            ("GET", c.PREMIUM_INDEX_PATH, market.premium_index, _NONE),
            ("GET", c.FUNDING_RATE_PATH, market.funding_rate, _NONE),
            ("GET", c.FUNDING_INFO_PATH, market.funding_info, _NONE),
            ("GET", c.BOOK_TICKER_PATH, market.book_ticker, _NONE),
            ("GET", c.TICKER_PRICE_PATH, market.ticker_price, _NONE),
            ("GET", c.TICKER_PRICE_V2_PATH, market.ticker_price, _NONE),
            ("GET", c.TICKER_24HR_PATH, self.stats.ticker_24hr, _NONE),
            ("GET", c.AGG_TRADES_PATH, self.stats.agg_trades, _NONE),
            ("GET", c.TRADES_PATH, self.stats.trades, _NONE),
            ("GET", c.KLINES_PATH, self.stats.klines, _NONE),
            ("POST", c.ORDER_PATH, trade.new_order, _SIGNED),
            ("GET", c.ORDER_PATH, trade.query_order, _SIGNED),
            ("DELETE", c.ORDER_PATH, trade.cancel_order, _SIGNED),
            ("GET", c.OPEN_ORDER_PATH, trade.open_order, _SIGNED),
            ("GET", c.OPEN_ORDERS_PATH, trade.open_orders, _SIGNED),
            ("GET", c.ALL_ORDERS_PATH, trade.all_orders, _SIGNED),
            ("DELETE", c.ALL_OPEN_ORDERS_PATH, trade.cancel_all, _SIGNED),
            ("POST", c.ALGO_ORDER_PATH, self.algos.new_algo_order, _SIGNED),
            ("GET", c.ALGO_ORDER_PATH, self.algos.query_algo_order, _SIGNED),
            ("DELETE", c.ALGO_ORDER_PATH, self.algos.cancel_algo_order, _SIGNED),
            ("GET", c.OPEN_ALGO_ORDERS_PATH, self.algos.open_algo_orders, _SIGNED),
            ("DELETE", c.ALGO_OPEN_ORDERS_PATH, self.algos.cancel_all_algo_orders, _SIGNED),
            ("POST", c.COUNTDOWN_CANCEL_ALL_PATH, self.countdown.arm, _SIGNED),
            ("POST", c.LEVERAGE_PATH, setup.leverage, _SIGNED),
            ("POST", c.MARGIN_TYPE_PATH, setup.margin_type, _SIGNED),
            ("POST", c.POSITION_SIDE_DUAL_PATH, setup.set_position_mode, _SIGNED),
            ("GET", c.POSITION_SIDE_DUAL_PATH, setup.get_position_mode, _SIGNED),
            ("POST", c.LISTEN_KEY_PATH, setup.new_listen_key, _KEY),
            ("PUT", c.LISTEN_KEY_PATH, setup.keepalive_listen_key, _KEY),
            ("DELETE", c.LISTEN_KEY_PATH, setup.close_listen_key, _KEY),
            ("GET", c.ACCOUNT_V2_PATH, account.account_v2, _SIGNED),
            ("GET", c.ACCOUNT_PATH, account.account_v3, _SIGNED),
            ("GET", c.BALANCE_V2_PATH, account.balance, _SIGNED),
            ("GET", c.BALANCE_PATH, account.balance, _SIGNED),
            ("GET", c.POSITION_RISK_V2_PATH, account.position_risk_v2, _SIGNED),
            ("GET", c.POSITION_RISK_PATH, account.position_risk_v3, _SIGNED),
            ("GET", c.LEVERAGE_BRACKET_PATH, account.leverage_bracket, _SIGNED),
            ("GET", c.COMMISSION_RATE_PATH, account.commission_rate, _SIGNED),
            ("GET", c.SYMBOL_CONFIG_PATH, account.symbol_config, _SIGNED),
            ("GET", c.USER_TRADES_PATH, account.user_trades, _SIGNED),
            ("GET", c.INCOME_PATH, account.income, _SIGNED),
            ("GET", c.SAPI_CAPITAL_CONFIG_PATH, market.empty_list, _SIGNED),
            ("GET", c.SAPI_MARGIN_ALL_PAIRS_PATH, market.empty_list, _SIGNED),
        ]
        return [Route(method, path, self._counting(handler) if (method, path) in _ORDER_CALLS else with_params(handler),
                      signed=security != _NONE) for method, path, handler, security in table]

    def ws_paths(self) -> dict[str, str]:
        return dict.fromkeys(WS_ROUTE_PATTERNS, "public")  # the dialect tells private sockets apart

    def admit(self, route: Route, req: WireRequest) -> None:
        """The IP's request weight (429, then 418); every answer shows the weight used."""
        try:
            self.weights.admit(request_weight(req.method, req.path, params_of(req)))
        finally:
            req.reply_headers.update(self.weights.weight_headers())
            if (route.method, route.path) in _ORDER_CALLS:
                req.reply_headers.update(self.weights.order_headers())

    def _counting(self, handler: Handler) -> Callable[[WireRequest], Awaitable[Any]]:
        """A new order also counts on the account's order limits (-1015), once it passed the checks."""
        async def serve(req: WireRequest) -> Any:
            try:
                self.weights.count_order()
            finally:
                req.reply_headers.update(self.weights.order_headers())
            return await handler(params_of(req))

        return serve

    def _housekeeping(self, now: float) -> None:
        if now >= self._next_prune:
            self._next_prune = now + 60.0
            self.orders.prune(now)

    # --- listenKey lifecycle --------------------------------------------------------------------

    def _on_key_expired(self, key: str, now: float) -> None:
        self.ws.send_to_key(key, {"e": c.EVENT_LISTEN_KEY_EXPIRED, "E": ms(now), "listenKey": key})
        self.ws.key_gone(key, close=False)

    def _on_key_closed(self, key: str) -> None:
        self.ws.key_gone(key, close=True)


async def serve_forever(settings: SimSettings, *, port: int, api_key: str, api_secret: str,
                        on_ready: Callable[[int], None], options: ServerOptions | None = None) -> None:
    """Run a Binance simulator over a new `SimExchange(settings)` until cancelled; `on_ready(port)` is
    called once it listens. (`pmm exchange-sim` builds its server through `make_server`, the spec's factory.)"""
    server = BinanceServer(SimExchange(settings), api_key=api_key, api_secret=api_secret, port=port, options=options)
    await run_until_cancelled(server, on_ready)


def make_server(exchange: SimExchange, *, api_key: str, api_secret: str, passphrase: str | None = None,
                port: int = 0, dead_man_switch: bool = True) -> BinanceServer:
    """The venue server factory the spec names (`VenueServerFactory`). Binance keys carry no
    passphrase, and its countdown cancel-all is not an account option."""
    if passphrase is not None:
        raise ValueError("these API keys have no passphrase")
    if not dead_man_switch:
        raise ValueError("the countdown cancel-all is not an account option here: it is always served")
    return BinanceServer(exchange, api_key=api_key, api_secret=api_secret, port=port)
