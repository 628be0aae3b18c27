"""Public market endpoints of the Bybit server: time, instruments-info, orderbook, tickers, funding
history, recent trades (exchange_apis.md §B3). Every answer is a `result` object; the server wraps it
in the envelope.

instruments-info answers every category/status combination ccxt asks for at load_markets: the
simulated venue lists linear perpetuals only, so spot, inverse, option and PreLaunch lists are
empty. Filters come from the simulator's trading rules (tick, step, minimums, max leverage); the
simulator has no maximum order size, so the maxima are generous round numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server import params as p
from pmm.connectors.bybit_perpetual.server.auth import RawRequest
from pmm.connectors.bybit_perpetual.server.streams import MarketStreams
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap
from pmm.connectors.common.numbers import plain
from pmm.core.clock import Clock
from pmm.core.model import floor_to
from pmm.sim.exchange import SimExchange

_LAUNCH_TIME = "1585526400000"
_MAX_ORDER_NOTIONAL_QTY = Decimal("1000000")
_MAX_PRICE = Decimal("1999999")


class MarketHandlers:
    def __init__(self, exchange: SimExchange, symbols: SymbolMap, streams: MarketStreams, clock: Clock) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._streams = streams
        self._clock = clock

    async def time(self, req: RawRequest) -> dict[str, Any]:
        now = self._clock.now()
        return {"timeSecond": str(int(now)), "timeNano": str(int(now * 1_000_000_000))}

    async def instruments_info(self, req: RawRequest) -> dict[str, Any]:
        category = p.category(req)
        wanted = p.symbol(req, self._symbols, required=False) if category == c.CATEGORY_LINEAR else None
        status = req.text("status")
        base = req.text("baseCoin")
        rows: list[dict[str, Any]] = []
        if category == c.CATEGORY_LINEAR and status in (None, c.INSTRUMENT_STATUS_TRADING):
            for symbol in self._symbols.symbols():
                info = self.instrument(symbol)
                if (wanted is None or symbol == wanted) and (base is None or info["baseCoin"] == base):
                    rows.append(info)
        return {"category": category, "list": rows, "nextPageCursor": ""}

    def instrument(self, symbol: str) -> dict[str, Any]:
        grid = self._symbols.grid(symbol)
        rules = grid.rules
        interval_min = int(self._exchange.settings.funding_interval_s // 60)
        max_qty = grid.qty(floor_to(_MAX_ORDER_NOTIONAL_QTY, rules.step_size))
        return {
            "symbol": symbol, "contractType": c.CONTRACT_TYPE_LINEAR_PERPETUAL, "status": c.INSTRUMENT_STATUS_TRADING,
            "baseCoin": rules.base, "quoteCoin": rules.quote, "settleCoin": rules.quote,
            "launchTime": _LAUNCH_TIME, "deliveryTime": "0", "deliveryFeeRate": "",
            "priceScale": str(grid.price_places),
            "leverageFilter": {"minLeverage": "1", "maxLeverage": f"{rules.max_leverage}.00", "leverageStep": "1.00"},
            "priceFilter": {"minPrice": grid.price(rules.tick_size),
                            "maxPrice": grid.price(floor_to(_MAX_PRICE, rules.tick_size)),
                            "tickSize": grid.price(rules.tick_size)},
            "lotSizeFilter": {"maxOrderQty": max_qty, "minOrderQty": grid.qty(rules.min_size),
                              "qtyStep": grid.qty(rules.step_size), "postOnlyMaxOrderQty": max_qty,
                              "maxMktOrderQty": max_qty, "minNotionalValue": plain(rules.min_notional)},
            "unifiedMarginTrade": True, "fundingInterval": max(interval_min, 1), "copyTrading": "both",
            "upperFundingRate": "0.005", "lowerFundingRate": "-0.005", "isPreListing": False,
            "preListingInfo": None, "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
            "displayName": "", "symbolType": "",
        }

    async def orderbook(self, req: RawRequest) -> dict[str, Any]:
        symbol, _ = p.linear_symbol(req, self._symbols)
        size = p.limit(req, c.REST_ORDERBOOK_DEFAULT_LIMIT, c.REST_ORDERBOOK_MAX_LIMIT)
        return self._streams.orderbook_result(symbol, size, self._clock.now())

    async def tickers(self, req: RawRequest) -> dict[str, Any]:
        category = p.category(req)
        if category != c.CATEGORY_LINEAR:
            return {"category": category, "list": []}
        wanted = p.symbol(req, self._symbols, required=False)
        now = self._clock.now()
        symbols = [wanted] if wanted is not None else self._symbols.symbols()
        return {"category": category, "list": [self._streams.ticker(s, now) for s in symbols]}

    async def funding_history(self, req: RawRequest) -> dict[str, Any]:
        symbol, _ = p.linear_symbol(req, self._symbols)
        size = p.limit(req, c.FUNDING_HISTORY_MAX_LIMIT, c.FUNDING_HISTORY_MAX_LIMIT)
        start, end = p.integer(req, "startTime"), p.integer(req, "endTime")
        if start is not None and end is None:
            raise p.param_error("params error: endTime is required with startTime")
        rows = [r for r in reversed(self._streams.state[symbol].funding_history)
                if (start is None or int(r["fundingRateTimestamp"]) >= start)
                and (end is None or int(r["fundingRateTimestamp"]) <= end)]
        return {"category": c.CATEGORY_LINEAR, "list": rows[:size]}

    async def recent_trade(self, req: RawRequest) -> dict[str, Any]:
        symbol, _ = p.linear_symbol(req, self._symbols)
        size = p.limit(req, c.RECENT_TRADE_DEFAULT_LIMIT, c.RECENT_TRADE_MAX_LIMIT)
        return {"category": c.CATEGORY_LINEAR, "list": list(self._streams.state[symbol].recent)[:size]}
