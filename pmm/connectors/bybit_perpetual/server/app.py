"""A Bybit v5 venue (linear USDT perpetuals) on 127.0.0.1: Bybit's REST + WebSocket dialect served
over the simulated exchange (DESIGN.md §5), for end-to-end tests of Bybit clients (pmm's, pybit,
ccxt) and dry runs (`pmm exchange-sim bybit_perpetual`).

    server = BybitServer(SimExchange(settings), api_key="k", api_secret="s")
    port = await server.start()          # binds 127.0.0.1, starts moving the sim with the clock
    ... server.rest_url, server.ws_url (+ /v5/public/linear, /v5/private), server.faults ...
    await server.stop()

Composition (the only place that wires the parts):
    SimDriver        common/sim_driver.py   the sim's time: follows the clock; settles requests
    RawRequest, Authenticator, RateLimiter   server/auth.py   params, HMAC/timestamp/key, limits
    MarketHandlers / TradeHandlers / AccountHandlers   server_market/trade/account.py   REST
    OrderDesk        server/orders.py   orders in Bybit's terms, kept from the sim's private events
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

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.constants import RetCode as R
from pmm.connectors.bybit_perpetual.server.account import AccountHandlers
from pmm.connectors.bybit_perpetual.server.auth import Authenticator, RateLimiter, RawRequest
from pmm.connectors.bybit_perpetual.server.codes import BybitApiError, api_error
from pmm.connectors.bybit_perpetual.server.dcp import DisconnectProtection
from pmm.connectors.bybit_perpetual.server.faults import Failure, FaultInjector, SkewedClock
from pmm.connectors.bybit_perpetual.server.klines import MarketKlines
from pmm.connectors.bybit_perpetual.server.ledger import Ledger
from pmm.connectors.bybit_perpetual.server.market import MarketHandlers
from pmm.connectors.bybit_perpetual.server.options import ServerOptions
from pmm.connectors.bybit_perpetual.server.orders import OrderDesk
from pmm.connectors.bybit_perpetual.server.private import PrivateStreams
from pmm.connectors.bybit_perpetual.server.stops import StopOrders
from pmm.connectors.bybit_perpetual.server.streams import MarketStreams
from pmm.connectors.bybit_perpetual.server.topics import TopicParser
from pmm.connectors.bybit_perpetual.server.trade import TradeHandlers
from pmm.connectors.bybit_perpetual.server.views import AccountViews
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap
from pmm.connectors.bybit_perpetual.server.ws import PRIVATE, PUBLIC, BybitStreams, make_hub
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.sim_driver import SimDriver
from pmm.connectors.common.sim_server import LoopbackVenueServer, run_until_cancelled
from pmm.connectors.common.wire_json import dumps
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimSettings

__all__ = ["BybitServer", "ServerOptions", "make_server", "serve_forever"]

log = logging.getLogger(__name__)

Handler = Callable[[RawRequest], Awaitable[dict[str, Any]]]


def envelope(ret_code: int, ret_msg: str, result: dict[str, Any], now: float) -> dict[str, Any]:
    """Bybit's answer shape: `{retCode, retMsg, result, retExtInfo, time}`."""
    return {c.RET_CODE: ret_code, c.RET_MSG: ret_msg, c.RESULT: result, c.RET_EXT_INFO: {}, c.TIME: ms(now)}


class BybitServer(LoopbackVenueServer):
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
        self.limiter = RateLimiter(self.clock, self.options)
        topics = TopicParser(self.symbols)
        self.streams: MarketStreams
        self.hub: StreamHub = make_hub(self.options, self.clock, self.faults, "Bybit server")
        self.ws = BybitStreams(self.hub, self.clock, self.auth, self.faults, topics.parse,
                               lambda kind, symbol, depth, now: self.streams.initial_message(kind, symbol, depth, now))
        self.streams = MarketStreams(self.symbols, exchange.book, self.ws.publish, self.ws.has_subscribers,
                                     self.faults, self.options)
        self.klines = MarketKlines(self.symbols, self.ws.publish, self.ws.has_subscribers, self.clock)
        self.desk = OrderDesk()
        self.ledger = Ledger(exchange, self.symbols)
        self.views = AccountViews(exchange, self.symbols, self.ledger)
        self.private = PrivateStreams(exchange, self.symbols, self.ledger, self.views, self.ws.publish_private,
                                      self.clock)
        self.desk.listen(self.private.on_event)
        self.stops = StopOrders(exchange, self.desk, self.driver, self.clock,
                                lambda market: self.streams.state[self.symbols.symbol(market)].last_price)
        self.dcp = DisconnectProtection(self.options, self.clock, exchange, self.desk)
        self.ws.watch(self.dcp)
        exchange.subscribe_public(self.streams.on_public)
        exchange.subscribe_public(self.klines.on_public)
        exchange.subscribe_public(self.stops.on_public)
        exchange.subscribe_private(self.desk.on_private)
        self.faults.bind_server(self.hub, restart=lambda: self.streams.restart(self.clock.now()))
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

    # --- routing --------------------------------------------------------------------------------

    def _add_routes(self, app: web.Application) -> None:
        market = MarketHandlers(self.exchange, self.symbols, self.streams, SkewedClock(self.clock, self.faults))
        trade = TradeHandlers(self.exchange, self.symbols, self.desk, self.ledger, self.streams, self.driver,
                              self.faults, self.clock, self.stops)
        account = AccountHandlers(self.exchange, self.symbols, self.desk, self.ledger, self.views, self.clock,
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
        for method, path, handler in public:
            app.router.add_route(method, path, self._rest(handler, signed=False))
        for method, path, handler in signed:
            app.router.add_route(method, path, self._rest(handler, signed=True))
        app.router.add_get(c.WS_PUBLIC_LINEAR_PATH, self._websocket(PUBLIC))
        app.router.add_get(c.WS_PRIVATE_PATH, self._websocket(PRIVATE))
        app.router.add_route("*", "/{tail:.*}", self._not_found)

    def _rest(self, handler: Handler, *, signed: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            path = request.path
            await self._delay(path, "before")
            failure = self.faults.take_failure(path, request.method)
            if failure is not None and not failure.execute:
                return self._failure_response(failure)
            headers: dict[str, str] = {}
            try:
                self.limiter.admit_ip()
                req = RawRequest.parse(request.method, path, request.raw_path, await request.read())
                if signed:
                    self.auth.check(request.headers, req)
                    headers.update(self.limiter.admit_endpoint(path))
                status, body = 200, envelope(0, "OK", await handler(req), self.clock.now())
            except BybitApiError as err:
                headers.update(err.headers)
                if err.text is not None:
                    return web.Response(status=err.status, text=err.text, headers=headers)
                status, body = err.status, envelope(err.ret_code, err.ret_msg, err.result, self.clock.now())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("Bybit server: %s %s failed", request.method, path)
                status, body = 200, envelope(R.SERVER_ERROR, c.RET_MSGS[R.SERVER_ERROR], {}, self.clock.now())
            if failure is not None:
                return self._failure_response(failure)
            await self._delay(path, "after")
            return web.Response(status=status, text=dumps(body), content_type=c.CONTENT_TYPE_JSON, headers=headers)

        return serve

    def _websocket(self, kind: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def serve(request: web.Request) -> web.StreamResponse:
            refusal = await self._refuse_upgrade(request)
            return refusal if refusal is not None else await self.hub.handle(request, kind)

        return serve

    async def _not_found(self, request: web.Request) -> web.StreamResponse:
        msg = f"{request.method} {request.path} is not served by the pmm Bybit simulator (route not found)."
        body = envelope(R.ROUTE_NOT_FOUND, msg, {}, self.clock.now())
        return web.Response(status=c.HTTP_NOT_FOUND, text=dumps(body), content_type=c.CONTENT_TYPE_JSON)

    def _failure_response(self, failure: Failure) -> web.Response:
        headers: dict[str, str] = {}
        if failure.retry_after is not None:
            seconds = failure.retry_after
            headers["Retry-After"] = str(int(seconds)) if seconds == int(seconds) else str(seconds)
        if failure.code is None and failure.status == c.HTTP_FORBIDDEN:
            text = failure.msg or c.HTTP_FORBIDDEN_TEXT.format(minutes=max(1, int(self.options.ip_ban_s // 60)))
            return web.Response(status=failure.status, text=text, headers=headers)
        code = failure.code
        if code is None:
            code = R.TOO_MANY_VISITS if failure.status == c.HTTP_TOO_MANY_REQUESTS else R.SERVER_ERROR
        if code == R.TOO_MANY_VISITS:
            reset = self.clock.now() + (failure.retry_after or 1.0)
            headers.update({c.LIMIT_HEADER: "0", c.LIMIT_STATUS_HEADER: "0", c.LIMIT_RESET_HEADER: str(ms(reset))})
        msg = failure.msg or api_error(code).ret_msg
        body = envelope(code, msg, {}, self.clock.now())
        return web.Response(status=failure.status, text=dumps(body), content_type=c.CONTENT_TYPE_JSON, headers=headers)


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
