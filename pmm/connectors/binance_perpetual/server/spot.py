"""Binance *spot* public market data on 127.0.0.1 over a simulated market (DESIGN.md §5): what the
`binance` price source reads, so a config quoting around Binance's spot book dry-runs offline
(`pmm exchange-sim binance`). Public endpoints and streams only: no keys, no orders.

    server = BinanceSpotServer(SimExchange(settings))
    port = await server.start()          # binds 127.0.0.1; server.rest_url, server.ws_url, server.faults
    await server.stop()

REST (spot shapes): `GET /api/v3/ping`, `/api/v3/time`, `/api/v3/exchangeInfo` (`symbol` /
`symbols`), `/api/v3/depth` (`symbol`, `limit` up to 5000, default 100), `/api/v3/ticker/bookTicker`.
WebSocket: the same paths and JSON subscription protocol as the futures server (`/ws`, `/ws/<stream>`,
`/stream?streams=`; ws.py over the kit's StreamHub), with spot's events: `<symbol>@depth[@100ms]` diffs with
`U`/`u` and no `pu` (each event's `U` is the previous event's `u` + 1), `<symbol>@trade` and
`<symbol>@bookTicker`. Faults (faults.py, the kit's): a skipped depth id (a gap in `U`),
cut sockets, duplicated or reordered depth frames, error answers and delays.
"""

from __future__ import annotations

import math
from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual import spot_constants as s
from pmm.connectors.binance_perpetual.server.auth import RawParams
from pmm.connectors.binance_perpetual.server.codes import api_error, missing
from pmm.connectors.binance_perpetual.server.dialect import BinanceRestDialect, with_params
from pmm.connectors.binance_perpetual.server.faults import FaultInjector
from pmm.connectors.binance_perpetual.server.market import symbol_param
from pmm.connectors.binance_perpetual.server.options import ServerOptions
from pmm.connectors.binance_perpetual.server.wire import SymbolMap
from pmm.connectors.binance_perpetual.server.ws import WS_CLOSE_TIMEOUT_S, WS_ROUTE_PATTERNS, BinanceStreams
from pmm.connectors.common.book_diff import PublishedBook
from pmm.connectors.common.numbers import ms, plain
from pmm.connectors.common.server.kit_server import KitServer, Route, WindowLimiter
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.sim_driver import SimDriver
from pmm.core.clock import Clock
from pmm.core.events import BookDelta, BookSnapshot, MarketEvent, Trade
from pmm.core.model import Side
from pmm.sim.exchange import SimExchange

__all__ = ["BinanceSpotServer", "SpotStreams"]

_FIRST_UPDATE_ID = 5000  # any start works for the sync algorithm


class SpotStreams:
    """Each symbol's published book and update id, and the spot events built from the simulator's."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap, hub: BinanceStreams, faults: FaultInjector) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._hub = hub
        self._faults = faults
        self.books = {sym: PublishedBook(None) for sym in symbols.symbols()}
        self.last_update_id = {sym: _FIRST_UPDATE_ID for sym in symbols.symbols()}
        self._trade_ids = {sym: 0 for sym in symbols.symbols()}
        self._tops: dict[str, dict[str, str]] = {}

    def on_public(self, event: MarketEvent) -> None:
        match event:
            case BookSnapshot() | BookDelta():
                self._on_book(event.market, event.ts)
            case Trade():
                self._on_trade(event)
            case _:
                pass  # spot has no mark price or funding

    def _on_book(self, market: str, ts: float) -> None:
        symbol = self._symbols.symbol(market)
        bids, asks = self.books[symbol].update(self._exchange.book(market))
        count = len(bids) + len(asks)
        if count == 0:
            return
        first = self.last_update_id[symbol] + 1 + self._faults.take_depth_skip()
        last = first + count - 1
        self.last_update_id[symbol] = last
        grid = self._symbols.grid(symbol)
        self._hub.publish(("depth", symbol), {"e": s.EVENT_DEPTH_UPDATE, "E": ms(ts), "s": symbol, "U": first,
                                              "u": last, "b": grid.levels(bids), "a": grid.levels(asks)})
        top = self._top(symbol, short=True)
        if top != self._tops.get(symbol):
            self._tops[symbol] = top
            self._hub.publish(("bookTicker", symbol), {"u": last, "s": symbol, **top})

    def _on_trade(self, trade: Trade) -> None:
        symbol = self._symbols.symbol(trade.market)
        self._trade_ids[symbol] += 1
        grid = self._symbols.grid(symbol)
        when = ms(trade.ts)
        self._hub.publish(("trade", symbol), {
            "e": s.EVENT_TRADE, "E": when, "s": symbol, "t": self._trade_ids[symbol], "p": grid.price(trade.price),
            "q": grid.qty(trade.amount), "T": when, "m": trade.aggressor is Side.SELL, "M": True})

    def _top(self, symbol: str, *, short: bool) -> dict[str, str]:
        grid = self._symbols.grid(symbol)
        published = self.books[symbol]
        bid = next(iter(published.levels(Side.BUY)), None)
        ask = next(iter(published.levels(Side.SELL)), None)
        values = (grid.price(bid[0]) if bid else "0", grid.qty(bid[1]) if bid else "0",
                  grid.price(ask[0]) if ask else "0", grid.qty(ask[1]) if ask else "0")
        keys = ("b", "B", "a", "A") if short else ("bidPrice", "bidQty", "askPrice", "askQty")
        return dict(zip(keys, values, strict=True))

    def depth_snapshot(self, symbol: str, limit: int) -> dict[str, Any]:
        grid = self._symbols.grid(symbol)
        published = self.books[symbol]
        return {"lastUpdateId": self.last_update_id[symbol],
                "bids": grid.levels(published.levels(Side.BUY)[:limit]),
                "asks": grid.levels(published.levels(Side.SELL)[:limit])}

    def book_ticker(self, symbol: str) -> dict[str, Any]:
        return {"symbol": symbol, **self._top(symbol, short=False)}


class BinanceSpotServer(KitServer):
    """Binance spot public market data over a `SimExchange` (see module docstring)."""

    venue = "Binance spot"

    def __init__(self, exchange: SimExchange, *, host: str = "127.0.0.1", port: int = 0, clock: Clock | None = None,
                 options: ServerOptions | None = None) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.options = options if options is not None else ServerOptions()
        self.symbols = SymbolMap(exchange.trading_rules(m) for m in exchange.markets())
        self.faults = FaultInjector()
        self.dialect = BinanceRestDialect(self.clock, self.options,
                                          server_name="Binance spot simulator (public market data only)")
        self.limiter = WindowLimiter(self.clock)  # no limits: spot's weights are not simulated
        self.driver = SimDriver(exchange, self.clock, self.options.tick_s, name="Binance spot server")
        self.hub = StreamHub(self.clock, self.faults, name="Binance spot server", idle_cutoff_s=math.inf,
                             queue_max=self.options.ws_send_queue_max, heartbeat_s=self.options.ws_ping_interval_s,
                             close_timeout_s=WS_CLOSE_TIMEOUT_S)
        self.ws = BinanceStreams(self.hub, lambda _key: False, self.options.ws_max_age_s)
        self.hub.dialect = self.ws
        self.faults.bind(self.hub)
        self.streams = SpotStreams(exchange, self.symbols, self.ws, self.faults)
        exchange.subscribe_public(self.streams.on_public)
        self.driver.on_tick(self.ws.on_tick)

    def routes(self) -> list[Route]:
        return [Route("GET", path, with_params(handler)) for path, handler in (
            (s.PING_PATH, self._ping), (s.TIME_PATH, self._time), (s.EXCHANGE_INFO_PATH, self._exchange_info),
            (s.DEPTH_PATH, self._depth), (s.BOOK_TICKER_PATH, self._book_ticker))]

    def ws_paths(self) -> dict[str, str]:
        return dict.fromkeys(WS_ROUTE_PATTERNS, "public")

    # --- endpoints ------------------------------------------------------------------------------

    async def _ping(self, params: RawParams) -> Any:
        return {}

    async def _time(self, params: RawParams) -> Any:
        return {"serverTime": ms(self.clock.now())}

    async def _exchange_info(self, params: RawParams) -> Any:
        wanted = self._symbols_param(params)
        return {
            "timezone": "UTC", "serverTime": ms(self.clock.now()),
            "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                            "limit": s.REQUEST_WEIGHT_LIMIT_1M}],
            "exchangeFilters": [], "symbols": [self._symbol_info(sym) for sym in wanted],
        }

    def _symbol_info(self, symbol: str) -> dict[str, Any]:
        grid = self.symbols.grid(symbol)
        rules = grid.rules
        return {
            "symbol": symbol, "status": s.STATUS_TRADING, "baseAsset": rules.base, "baseAssetPrecision": 8,
            "quoteAsset": rules.quote, "quotePrecision": 8, "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False, "permissions": [], "permissionSets": [["SPOT"]],
            "filters": [
                {"filterType": s.FILTER_PRICE, "minPrice": grid.price(rules.tick_size), "maxPrice": "1000000.00",
                 "tickSize": grid.price(rules.tick_size)},
                {"filterType": s.FILTER_LOT_SIZE, "minQty": grid.qty(rules.min_size), "maxQty": "9000000",
                 "stepSize": grid.qty(rules.step_size)},
                {"filterType": s.FILTER_NOTIONAL, "minNotional": plain(rules.min_notional), "applyMinToMarket": True,
                 "maxNotional": "9000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            ],
        }

    async def _depth(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self.symbols)
        text = params.get("limit")
        if text is not None and not text.isdigit():
            raise missing("limit")
        limit = min(int(text) if text else s.DEPTH_DEFAULT_LIMIT, s.DEPTH_MAX_LIMIT)  # more is truncated
        return self.streams.depth_snapshot(symbol, limit)

    async def _book_ticker(self, params: RawParams) -> Any:
        if params.get("symbol") is None:
            return [self.streams.book_ticker(sym) for sym in self._symbols_param(params)]
        return self.streams.book_ticker(symbol_param(params, self.symbols))

    # --- plumbing -------------------------------------------------------------------------------

    def _symbols_param(self, params: RawParams) -> list[str]:
        """`symbol=X`, `symbols=["X","Y"]` or every listed symbol."""
        if params.get("symbol") is not None:
            return [symbol_param(params, self.symbols)]
        listed = params.get("symbols")
        if listed is None:
            return self.symbols.symbols()
        names = [n.strip().strip('"') for n in listed.strip("[]").split(",") if n.strip()]
        if any(self.symbols.market(n) is None for n in names):
            raise api_error(c.ErrorCode.BAD_SYMBOL)
        return [n.upper() for n in names]
