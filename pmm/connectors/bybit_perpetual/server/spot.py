"""Bybit v5 *spot* public market data on 127.0.0.1 over a simulated market (DESIGN.md §5): what the
`bybit` price source reads, so a config quoting around Bybit's spot book dry-runs offline
(`pmm exchange-sim bybit`). Public endpoints and topics only: no keys, no orders.

    server = BybitSpotServer(SimExchange(settings))
    port = await server.start()          # server.rest_url, server.ws_url + /v5/public/spot, server.faults
    await server.stop()

REST: `GET /v5/market/time`, `/v5/market/instruments-info?category=spot` (the spot instrument shape;
other categories list nothing, an unknown symbol lists nothing, as Bybit answers),
`/v5/market/orderbook?category=spot` (limit 1-200, default 1). WebSocket `/v5/public/spot`:
`orderbook.{1|50|200|1000}.{symbol}` (snapshot, then deltas with `u` = previous `u` + 1 and the
cross sequence `seq`) and `publicTrade.{symbol}`, with the linear server's ops (subscribe,
unsubscribe, ping). The book numbering, the topic fan-out and the faults (gaps, restarts at u=1,
dropped sockets, duplicated frames) are the linear server's (`streams.py`, `ws.py`).
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual import spot_constants as s
from pmm.connectors.bybit_perpetual.constants import RetCode as R
from pmm.connectors.bybit_perpetual.server import params as p
from pmm.connectors.bybit_perpetual.server.auth import Authenticator, RateLimiter, RawRequest
from pmm.connectors.bybit_perpetual.server.codes import BybitApiError, api_error, param_error
from pmm.connectors.bybit_perpetual.server.dialect import BybitRestDialect
from pmm.connectors.bybit_perpetual.server.faults import Failure, FaultInjector
from pmm.connectors.bybit_perpetual.server.options import ServerOptions
from pmm.connectors.bybit_perpetual.server.streams import MarketStreams
from pmm.connectors.bybit_perpetual.server.topics import Topic, TopicParser
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap
from pmm.connectors.bybit_perpetual.server.ws import PUBLIC, BybitStreams, make_hub
from pmm.connectors.common.numbers import plain
from pmm.connectors.common.server.kit_server import KitServer, Route
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.wire import WireError, WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange

__all__ = ["BybitSpotServer"]

_SPOT_TOPICS = ("orderbook", "publicTrade")  # tickers has its own spot shape: not served here


class SpotRestDialect(BybitRestDialect):
    """The linear server's words, but nothing is signed and an injected failure is always an envelope."""

    def not_found(self, req: WireRequest) -> WireError:
        return BybitApiError(R.ROUTE_NOT_FOUND, f"{req.method} {req.path} is not served by the pmm Bybit spot "
                             "simulator (public market data only; route not found).", c.HTTP_NOT_FOUND)

    def injected(self, failure: Failure) -> WireError:
        code = failure.code if failure.code is not None else R.SERVER_ERROR
        return BybitApiError(code, failure.msg or api_error(code).msg, failure.status)


class BybitSpotServer(KitServer):
    """Bybit v5 spot public market data over a `SimExchange` (see module docstring)."""

    venue = "Bybit spot"

    def __init__(self, exchange: SimExchange, *, host: str = "127.0.0.1", port: int = 0, clock: Clock | None = None,
                 options: ServerOptions | None = None) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.options = options if options is not None else ServerOptions()
        self.symbols = SymbolMap(exchange.trading_rules(m) for m in exchange.markets())
        self.faults: FaultInjector = FaultInjector()
        self.driver = SimDriver(exchange, self.clock, self.options.tick_s, name="Bybit spot server")
        nobody = Authenticator("", "", self.clock)
        self.dialect = SpotRestDialect(self.clock, nobody, RateLimiter(self.clock, self.options), self.options)
        self._topics = TopicParser(self.symbols)
        self.streams: MarketStreams
        self.hub: StreamHub = make_hub(self.options, self.clock, self.faults, "Bybit spot server")
        self.ws = BybitStreams(self.hub, self.clock, nobody, self.faults, self._parse_topic,
                               lambda kind, symbol, depth, now: self.streams.initial_message(kind, symbol, depth, now))
        self.streams = MarketStreams(self.symbols, exchange.book, self.ws.publish, self.ws.has_subscribers,
                                     self.faults, self.options)
        exchange.subscribe_public(self.streams.on_public)
        self.faults.bind(self.hub, restart_books=lambda: self.streams.restart(self.clock.now()))
        for hook in (self.streams.on_tick, self.hub.on_tick):
            self.driver.on_tick(hook)

    @property
    def public_ws_url(self) -> str:
        return self.ws_url + s.WS_PUBLIC_SPOT_PATH

    def _parse_topic(self, name: str) -> Topic | str:
        parsed = self._topics.parse(name)
        if isinstance(parsed, tuple):
            kind, _, depth = parsed
            if kind not in _SPOT_TOPICS or (depth is not None and depth not in s.ORDERBOOK_DEPTHS):
                return c.WS_MSG_HANDLER_NOT_FOUND.format(topic=name)
        return parsed

    # --- routing (the middleware is the kit's: KitServer + SpotRestDialect) ------------------------

    def routes(self) -> list[Route]:
        return [Route("GET", path, RawRequest.reading(handler)) for path, handler in (
            (c.SERVER_TIME_PATH, self._time), (c.INSTRUMENTS_INFO_PATH, self._instruments_info),
            (c.ORDERBOOK_PATH, self._orderbook))]

    def ws_paths(self) -> dict[str, str]:
        return {s.WS_PUBLIC_SPOT_PATH: PUBLIC}

    def admit(self, route: Route, req: WireRequest) -> None:
        """No limits on the spot venue's public data."""

    async def _time(self, req: RawRequest) -> dict[str, Any]:
        now = self.clock.now()
        return {"timeSecond": str(int(now)), "timeNano": str(int(now * 1_000_000_000))}

    async def _instruments_info(self, req: RawRequest) -> dict[str, Any]:
        category = p.category(req)
        wanted = req.text("symbol")
        rows = [self._instrument(sym) for sym in self.symbols.symbols()
                if category == s.CATEGORY_SPOT and (wanted is None or sym == wanted)]
        return {"category": category, "list": rows, "nextPageCursor": ""}

    def _instrument(self, symbol: str) -> dict[str, Any]:
        grid = self.symbols.grid(symbol)
        rules = grid.rules
        return {
            "symbol": symbol, "baseCoin": rules.base, "quoteCoin": rules.quote, "innovation": "0",
            "status": c.INSTRUMENT_STATUS_TRADING, "marginTrading": "none", "stTag": "0",
            "lotSizeFilter": {"basePrecision": grid.qty(rules.step_size), "quotePrecision": "0.00000001",
                              "minOrderQty": grid.qty(rules.min_size), "maxOrderQty": "1000000",
                              "minOrderAmt": plain(rules.min_notional), "maxOrderAmt": "10000000"},
            "priceFilter": {"tickSize": grid.price(rules.tick_size)},
            "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
        }

    async def _orderbook(self, req: RawRequest) -> dict[str, Any]:
        if p.category(req) != s.CATEGORY_SPOT:
            raise param_error(f"params error: category {req.text('category')} is not served by the simulated "
                              "spot venue (spot only)")
        symbol = p.symbol(req, self.symbols)
        assert symbol is not None
        size = p.limit(req, s.REST_ORDERBOOK_DEFAULT_LIMIT, s.REST_ORDERBOOK_MAX_LIMIT)
        return self.streams.orderbook_result(symbol, size, self.clock.now())

