"""KuCoin *spot* public market data on 127.0.0.1 (`pmm exchange-sim kucoin`), for a config whose
price source is KuCoin spot (`price_source_derivative: kucoin`): no account, no keys.

- `POST /api/v1/bullet-public` (token, this server's endpoint, `encrypt` false), `GET /api/v1/timestamp`;
- `GET /api/v2/symbols/{symbol}` (`priceIncrement`, `baseIncrement`, `baseMinSize`, `minFunds`);
- `GET /api/v1/market/orderbook/level2_20` and `level2_100` (`sequence`, string levels);
- WebSocket `/market/level2:{symbol}` (subject `trade.l2update`: the changes of one book update,
  each `[price, size, sequence]`, between `sequenceStart` and `sequenceEnd`; an injected skip
  loses sequences) and `/market/match:{symbol}` (subject `trade.l3match`).
"""

from __future__ import annotations

import secrets
from typing import Any

from pmm.connectors.common.book_diff import PublishedBook
from pmm.connectors.common.fault_injector import SkewedClock
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.kit_server import KitServer, Route, WindowLimiter
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.wire import WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.connectors.common.symbols import ListedSymbols
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.auth import Verifier
from pmm.connectors.kucoin_perpetual.server.dialect import KucoinRestDialect, kucoin_error
from pmm.connectors.kucoin_perpetual.server.wire import ms, side_wire
from pmm.connectors.kucoin_perpetual.server.ws import PUBLIC, KucoinStreamDialect
from pmm.core.clock import Clock
from pmm.core.events import BookDelta, BookSnapshot, MarketEvent, Trade
from pmm.core.model import Side
from pmm.sim.exchange import SimExchange

SPOT_TOPICS = (spec.TOPIC_SPOT_LEVEL2, spec.TOPIC_SPOT_MATCH)
_FIRST_SEQ = 14_701_689_000


class SpotSymbols(ListedSymbols):
    @staticmethod
    def symbol_of(market: str) -> str:
        return spec.to_spot_symbol(market)


class KucoinSpotServer(KitServer):
    """KuCoin spot public market data over a `SimExchange` (see module docstring)."""

    venue = "KuCoin spot"

    def __init__(self, exchange: SimExchange, *, host: str = "127.0.0.1", port: int = 0, clock: Clock | None = None,
                 tick_s: float = 0.02) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.symbols = SpotSymbols(exchange.trading_rules(m) for m in exchange.markets())
        self.faults = KitFaults()
        self.driver = SimDriver(exchange, self.clock, tick_s, name="KuCoin spot server")
        self.dialect = KucoinRestDialect(Verifier("", "", "", SkewedClock(self.clock, self.faults)))
        self.limiter = WindowLimiter(self.clock)
        self.hub = StreamHub(self.clock, self.faults, name="KuCoin spot server", idle_cutoff_s=28.0)
        self.faults.bind(self.hub)
        self._tokens: dict[str, bool] = {}
        self.hub.dialect = KucoinStreamDialect(self.hub, self.faults, self.symbols, self.clock, self._tokens.get,
                                               lambda key: [], SPOT_TOPICS)
        self.published = {s: PublishedBook(None) for s in self.symbols.symbols()}
        self.sequence = dict.fromkeys(self.symbols.symbols(), _FIRST_SEQ)
        self._trade_ids = iter(range(11_067_996_711_960_577, 1 << 62))
        exchange.subscribe_public(self._on_public)
        self.driver.on_tick(self.hub.on_tick)

    def routes(self) -> list[Route]:
        return [Route("POST", spec.BULLET_PUBLIC_PATH, self._bullet), Route("GET", spec.SERVER_TIME_PATH, self._time),
                Route("GET", "/api/v2/symbols/{symbol}", self._symbol),
                Route("GET", "/api/v1/market/orderbook/level2_20", self._orderbook),
                Route("GET", "/api/v1/market/orderbook/level2_100", self._orderbook)]

    def ws_paths(self) -> dict[str, str]:
        return {"/": PUBLIC}

    # --- REST -----------------------------------------------------------------------------------

    async def _bullet(self, req: WireRequest) -> dict[str, Any]:
        token = secrets.token_urlsafe(48)
        self._tokens[token] = False
        return {"token": token, "instanceServers": [{"endpoint": self.ws_url + "/", "encrypt": False,
                                                     "protocol": "websocket", "pingInterval": 18000,
                                                     "pingTimeout": 10000}]}

    async def _time(self, req: WireRequest) -> int:
        return ms(self.clock.now())

    def _listed(self, symbol: str | None) -> str:
        if symbol is None or self.symbols.market(symbol) is None:
            raise kucoin_error(400100, "Unsupported trading pair.", status=400)
        return symbol

    async def _symbol(self, req: WireRequest) -> dict[str, Any]:
        symbol = self._listed(req.path.rsplit("/", 1)[-1])
        grid = self.symbols.grid(symbol)
        rules = grid.rules
        return {"symbol": symbol, "name": symbol, "baseCurrency": rules.base, "quoteCurrency": rules.quote,
                "feeCurrency": rules.quote, "market": "USDS", "baseMinSize": grid.qty(rules.min_size),
                "quoteMinSize": format(rules.min_notional, "f"), "baseMaxSize": "10000000000",
                "quoteMaxSize": "99999999", "baseIncrement": format(rules.step_size.normalize(), "f"),
                "quoteIncrement": "0.000001", "priceIncrement": format(rules.tick_size.normalize(), "f"),
                "priceLimitRate": "0.1", "minFunds": format(rules.min_notional, "f"), "isMarginEnabled": False,
                "enableTrading": True, "feeCategory": 1, "makerFeeCoefficient": "1.00",
                "takerFeeCoefficient": "1.00", "st": False}

    async def _orderbook(self, req: WireRequest) -> dict[str, Any]:
        symbol = self._listed(req.query_params.get("symbol"))
        depth = 20 if req.path.endswith("_20") else 100
        grid = self.symbols.grid(symbol)
        book = self.published[symbol]
        return {"time": ms(self.clock.now()), "sequence": str(self.sequence[symbol]),
                "bids": grid.levels(book.levels(Side.BUY)[:depth]), "asks": grid.levels(book.levels(Side.SELL)[:depth])}

    # --- streams --------------------------------------------------------------------------------

    def _on_public(self, event: MarketEvent) -> None:
        match event:
            case BookSnapshot() | BookDelta():
                self._on_book(self.symbols.symbol(event.market), event.ts)
            case Trade():
                symbol = self.symbols.symbol(event.market)
                if self.hub.has_subscribers((spec.TOPIC_SPOT_MATCH, symbol)):
                    grid = self.symbols.grid(symbol)
                    trade_id = str(next(self._trade_ids))
                    self.hub.publish((spec.TOPIC_SPOT_MATCH, symbol), {
                        "topic": f"{spec.TOPIC_SPOT_MATCH}:{symbol}", "type": "message", "subject": "trade.l3match",
                        "data": {"makerOrderId": trade_id + "m", "price": grid.price(event.price), "sequence": trade_id,
                                 "side": side_wire(event.aggressor), "size": grid.qty(event.amount),
                                 "symbol": symbol, "takerOrderId": trade_id + "t",
                                 "time": str(ms(event.ts) * 1_000_000), "tradeId": trade_id, "type": "match"}})
            case _:
                pass

    def _on_book(self, symbol: str, ts: float) -> None:
        bids, asks = self.published[symbol].update(self._book(symbol))
        if not bids and not asks:
            return
        self.sequence[symbol] += self.faults.take_depth_skip()
        start = self.sequence[symbol] + 1
        grid = self.symbols.grid(symbol)
        rows: dict[str, list[list[str]]] = {"asks": [], "bids": []}
        for name, levels in (("bids", bids), ("asks", asks)):
            for price, size in levels:
                self.sequence[symbol] += 1
                rows[name].append([grid.price(price), grid.qty(size), str(self.sequence[symbol])])
        if self.hub.has_subscribers((spec.TOPIC_SPOT_LEVEL2, symbol)):
            self.hub.publish((spec.TOPIC_SPOT_LEVEL2, symbol), {
                "topic": f"{spec.TOPIC_SPOT_LEVEL2}:{symbol}", "type": "message", "subject": "trade.l2update",
                "data": {"changes": rows, "sequenceEnd": self.sequence[symbol], "sequenceStart": start,
                         "symbol": symbol, "time": ms(ts)}}, shape="depth")

    def _book(self, symbol: str) -> Any:
        market = self.symbols.market(symbol)
        assert market is not None  # a listed symbol
        return self.exchange.book(market)


def make_spot_server(exchange: SimExchange, *, port: int = 0) -> KucoinSpotServer:
    """The spot server factory the spec names (`VenueSpec.spot_server`)."""
    return KucoinSpotServer(exchange, port=port)
