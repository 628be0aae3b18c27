"""A Bybit v5 venue (linear USDT perpetuals) on 127.0.0.1: Bybit's REST + WebSocket dialect served
over the simulated exchange (DESIGN.md §5), for end-to-end tests of Bybit clients (pmm's, pybit,
ccxt) and dry runs (`pmm exchange-sim bybit_perpetual`).

    server = BybitServer(SimExchange(settings), api_key="k", api_secret="s")
    port = await server.start()          # binds 127.0.0.1, starts moving the sim with the clock
    ... server.rest_url, server.ws_url (+ /v5/public/linear, /v5/private), server.faults ...
    await server.stop()

Composition (the only place that wires the parts):
    SimDriver        common/sim_driver.py   the sim's time: follows the clock; settles requests
    KitServer + BybitRestDialect   common/server/kit_server.py + server/dialect.py   REST middleware:
                     envelope, signature check, IP and per-endpoint limits, refusals, injected faults
    RawRequest, Authenticator, RateLimiter   server/auth.py   params, HMAC/timestamp/key, limits
    MarketHandlers / TradeHandlers / AccountHandlers   server/market.py, trade.py, account.py   REST
    OrderDesk        common/server/order_desk.py   orders over the sim; server/orders.py: in Bybit's words
    StopOrders       server/stops.py    conditional orders, fired by the kit's trigger engine
    Ledger           server/ledger.py   executions, transaction log, realised PnL
    AccountViews     server/views.py    positions and the UNIFIED wallet
    MarketStreams    server/streams.py  orderbook u/seq, tickers, trades, funding history
    MarketKlines     server/klines.py   candles: the kline endpoint and topics
    PrivateStreams   server/private.py  order / execution / position / wallet topics
    DisconnectProtection   server/dcp.py   disconnected-cancel-all and the `dcp` topics
    StreamHub + BybitStreams   common/server/stream_hub.py + server/ws.py   sockets; Bybit's ops
    FaultInjector    server/faults.py   drops, gaps, restarts, error answers, delays, rejections
    LoopbackVenueServer  common/sim_server.py   loopback-only socket, start/stop, injected delays
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server.account import AccountHandlers
from pmm.connectors.bybit_perpetual.server.auth import Authenticator, RateLimiter, RawRequest
from pmm.connectors.bybit_perpetual.server.dcp import DisconnectProtection
from pmm.connectors.bybit_perpetual.server.dialect import BybitRestDialect
from pmm.connectors.bybit_perpetual.server.faults import FaultInjector, SkewedClock
from pmm.connectors.bybit_perpetual.server.klines import MarketKlines
from pmm.connectors.bybit_perpetual.server.ledger import Ledger
from pmm.connectors.bybit_perpetual.server.market import MarketHandlers
from pmm.connectors.bybit_perpetual.server.options import ServerOptions
from pmm.connectors.bybit_perpetual.server.private import PrivateStreams
from pmm.connectors.bybit_perpetual.server.stops import StopOrders
from pmm.connectors.bybit_perpetual.server.streams import MarketStreams
from pmm.connectors.bybit_perpetual.server.topics import TopicParser
from pmm.connectors.bybit_perpetual.server.trade import TradeHandlers
from pmm.connectors.bybit_perpetual.server.views import AccountViews
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap
from pmm.connectors.bybit_perpetual.server.ws import PRIVATE, PUBLIC, BybitStreams, make_hub
from pmm.connectors.common.server.kit_server import KitServer, Route
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.wire import WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.connectors.common.sim_server import run_until_cancelled
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimSettings

__all__ = ["BybitServer", "ServerOptions", "make_server", "serve_forever"]

Handler = Callable[[RawRequest], Awaitable[dict[str, Any]]]


class BybitServer(KitServer):
    """Bybit v5 linear perpetuals over a `SimExchange`, listening on loopback only (see module doc)."""

    venue = "Bybit"

    def __init__(self, exchange: SimExchange, *, api_key: str, api_secret: str, host: str = "127.0.0.1",
                 port: int = 0, clock: Clock | None = None, options: ServerOptions | None = None) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.options = options if options is not None else ServerOptions()
        self.symbols = SymbolMap(exchange.trading_rules(m) for m in exchange.markets())
        self.faults: FaultInjector = FaultInjector()
        self.driver = SimDriver(exchange, self.clock, self.options.tick_s, name="Bybit server")
        self.auth = Authenticator(api_key, api_secret, SkewedClock(self.clock, self.faults))
        self.limits = RateLimiter(self.clock, self.options)
        self.dialect = BybitRestDialect(self.clock, self.auth, self.limits, self.options)
        topics = TopicParser(self.symbols)
        self.streams: MarketStreams
        self.hub: StreamHub = make_hub(self.options, self.clock, self.faults, "Bybit server")
        self.ws = BybitStreams(self.hub, self.clock, self.auth, self.faults, topics.parse,
                               lambda kind, symbol, depth, now: self.streams.initial_message(kind, symbol, depth, now))
        self.streams = MarketStreams(self.symbols, exchange.book, self.ws.publish, self.ws.has_subscribers,
                                     self.faults, self.options)
        self.klines = MarketKlines(self.symbols, self.ws.publish, self.ws.has_subscribers, self.clock)
        self.desk = OrderDesk(exchange, self.driver, self.clock)
        self.ledger = Ledger(exchange, self.symbols)
        self.views = AccountViews(exchange, self.symbols, self.ledger)
        self.private = PrivateStreams(exchange, self.symbols, self.ledger, self.views, self.ws.publish_private,
                                      self.clock)
        self.desk.listen(self.private.on_event)
        self.stops = StopOrders(exchange, self.desk, self.symbols, self.clock,
                                lambda market: self.streams.state[self.symbols.symbol(market)].last_price)
        self.dcp = DisconnectProtection(self.options, self.clock, self.desk)
        self.ws.watch(self.dcp)
        exchange.subscribe_public(self.streams.on_public)
        exchange.subscribe_public(self.klines.on_public)
        exchange.subscribe_public(self.stops.on_public)
        self.faults.bind(self.hub, restart_books=lambda: self.streams.restart(self.clock.now()))
        for hook in (self.streams.on_tick, self.klines.on_tick, self.hub.on_tick, self.dcp.on_tick):
            self.driver.on_tick(hook)
        self._api_key = api_key

    # --- URLs (`rest_url`, `ws_url`: LoopbackVenueServer) -----------------------------------------

    @property
    def public_ws_url(self) -> str:
        return self.ws_url + c.WS_PUBLIC_LINEAR_PATH

    @property
    def private_ws_url(self) -> str:
        return self.ws_url + c.WS_PRIVATE_PATH

    # --- routing (the middleware is the kit's: KitServer + BybitRestDialect) ----------------------

    def routes(self) -> list[Route]:
        market = MarketHandlers(self.exchange, self.symbols, self.streams, SkewedClock(self.clock, self.faults))
        trade = TradeHandlers(self.exchange, self.symbols, self.desk, self.ledger, self.streams, self.faults,
                              self.clock, self.stops)
        account = AccountHandlers(self.exchange, self.symbols, self.ledger, self.views, self.clock,
                                  self._api_key, self.private.publish_positions)
        public: list[tuple[str, str, Handler]] = [
            ("GET", c.SERVER_TIME_PATH, market.time),
            ("GET", c.INSTRUMENTS_INFO_PATH, market.instruments_info),
            ("GET", c.ORDERBOOK_PATH, market.orderbook),
            ("GET", c.TICKERS_PATH, market.tickers),
            ("GET", c.FUNDING_HISTORY_PATH, market.funding_history),
            ("GET", c.RECENT_TRADE_PATH, market.recent_trade),
            ("GET", c.KLINE_PATH, self.klines.kline),
        ]
        signed: list[tuple[str, str, Handler]] = [
            ("POST", c.ORDER_CREATE_PATH, trade.create),
            ("POST", c.ORDER_CANCEL_PATH, trade.cancel),
            ("POST", c.ORDER_CANCEL_ALL_PATH, trade.cancel_all),
            ("POST", c.DCP_PATH, self.dcp.set_window),
            ("GET", c.ORDER_REALTIME_PATH, trade.realtime),
            ("GET", c.ORDER_HISTORY_PATH, trade.history),
            ("GET", c.EXECUTION_LIST_PATH, trade.executions),
            ("GET", c.POSITION_LIST_PATH, account.position_list),
            ("POST", c.SET_LEVERAGE_PATH, account.set_leverage),
            ("POST", c.SWITCH_MODE_PATH, account.switch_mode),
            ("POST", c.SWITCH_ISOLATED_PATH, account.switch_isolated),
            ("POST", c.SET_MARGIN_MODE_PATH, account.set_margin_mode),
            ("GET", c.WALLET_BALANCE_PATH, account.wallet_balance),
            ("GET", c.TRANSACTION_LOG_PATH, account.transaction_log),
            ("GET", c.FEE_RATE_PATH, account.fee_rate),
            ("GET", c.ACCOUNT_INFO_PATH, account.account_info),
            ("GET", c.QUERY_API_PATH, account.query_api),
            ("GET", c.COIN_QUERY_INFO_PATH, account.coin_query_info),
        ]
        return ([Route(method, path, RawRequest.reading(handler)) for method, path, handler in public]
                + [Route(method, path, RawRequest.reading(handler), signed=True) for method, path, handler in signed])

    def ws_paths(self) -> dict[str, str]:
        return {c.WS_PUBLIC_LINEAR_PATH: PUBLIC, c.WS_PRIVATE_PATH: PRIVATE}

    def admit(self, route: Route, req: WireRequest) -> None:
        """Every request counts against the IP (403 and a ban over it); a body that is not a JSON
        object is refused before the signature is looked at. The per-endpoint limit of signed
        requests is counted after their signature check (`BybitRestDialect.verify`)."""
        self.limits.admit_ip()
        RawRequest(req)


async def serve_forever(settings: SimSettings, *, port: int, api_key: str, api_secret: str,
                        on_ready: Callable[[int], None], options: ServerOptions | None = None) -> None:
    """Run a Bybit simulator over a new `SimExchange(settings)` until cancelled; `on_ready(port)` is
    called once it listens. (`pmm exchange-sim` builds its server through `make_server`, the spec's factory.)"""
    server = BybitServer(SimExchange(settings), api_key=api_key, api_secret=api_secret, port=port, options=options)
    await run_until_cancelled(server, on_ready)


def make_server(exchange: SimExchange, *, api_key: str, api_secret: str, passphrase: str | None = None,
                port: int = 0, dead_man_switch: bool = True) -> BybitServer:
    """The venue server factory the spec names (`VenueServerFactory`). `dead_man_switch=False`: an
    account without Disconnection Protection. Bybit keys carry no passphrase."""
    if passphrase is not None:
        raise ValueError("these API keys have no passphrase")
    options = None if dead_man_switch else ServerOptions(dcp_enabled=False)
    return BybitServer(exchange, api_key=api_key, api_secret=api_secret, port=port, options=options)
