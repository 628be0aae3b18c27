"""Public REST endpoints of the Binance server: ping, time, exchangeInfo, depth, premiumIndex,
fundingRate, fundingInfo, tickers, and the empty spot answers ccxt asks for (exchange_apis.md §A3,
§A4, §0.4). Shapes follow the Binance USD-M docs' examples field for field.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.constants import ErrorCode as E
from pmm.connectors.binance_perpetual.server.auth import RawParams
from pmm.connectors.binance_perpetual.server.codes import BinanceApiError, api_error, missing
from pmm.connectors.binance_perpetual.server.options import ServerOptions
from pmm.connectors.binance_perpetual.server.streams import MarketStreams
from pmm.connectors.binance_perpetual.server.wire import SymbolMap, money
from pmm.connectors.common.numbers import ms, plain
from pmm.core.clock import Clock
from pmm.core.model import Side
from pmm.sim.exchange import SimExchange

# Generous caps where the simulator has none (Binance lists a max price/qty per symbol).
_MAX_PRICE = "100000000"
_MAX_QTY = "100000000"
_DELIVERY_DATE = 4133404800000  # Binance's "perpetual" delivery date (2100-12-25)
_ONBOARD_DATE = 1569398400000
_INTEREST_RATE = "0.00010000"


def symbol_param(params: RawParams, symbols: SymbolMap) -> str:
    """The request's `symbol`, upper-cased and known to the venue (-1102 / -1121 otherwise)."""
    symbol = optional_symbol(params, symbols)
    if symbol is None:
        raise missing("symbol")
    return symbol


def optional_symbol(params: RawParams, symbols: SymbolMap) -> str | None:
    text = params.get("symbol")
    if text is not None and symbols.market(text) is None:
        raise api_error(E.BAD_SYMBOL)
    return text.upper() if text is not None else None


class MarketHandlers:
    """Handlers of the public endpoints; each takes the request's parameters."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap, streams: MarketStreams, clock: Clock,
                 options: ServerOptions) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._streams = streams
        self._clock = clock
        self._options = options

    async def ping(self, params: RawParams) -> Any:
        return {}

    async def time(self, params: RawParams) -> Any:
        return {"serverTime": ms(self._clock.now())}

    async def exchange_info(self, params: RawParams) -> Any:
        quotes = sorted({self._symbols.grid(s).rules.quote for s in self._symbols.symbols()})
        return {
            "timezone": "UTC",
            "serverTime": ms(self._clock.now()),
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": self._options.weight_limit_per_min},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1,
                 "limit": self._options.orders_limit_per_min},
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
                 "limit": self._options.orders_limit_per_10s},
            ],
            "exchangeFilters": [],
            "assets": [{"asset": q, "marginAvailable": True, "autoAssetExchange": "0"} for q in quotes],
            "symbols": [self._symbol_info(s) for s in self._symbols.symbols()],
        }

    def _symbol_info(self, symbol: str) -> dict[str, Any]:
        grid = self._symbols.grid(symbol)
        rules = grid.rules
        lot = {"minQty": grid.qty(rules.min_size), "maxQty": _MAX_QTY, "stepSize": grid.qty(rules.step_size)}
        return {
            "symbol": symbol, "pair": symbol, "contractType": "PERPETUAL", "deliveryDate": _DELIVERY_DATE,
            "onboardDate": _ONBOARD_DATE, "status": "TRADING", "maintMarginPercent": "2.5000",
            "requiredMarginPercent": "5.0000", "baseAsset": rules.base, "quoteAsset": rules.quote,
            "marginAsset": rules.quote, "pricePrecision": grid.price_places, "quantityPrecision": grid.qty_places,
            "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN", "underlyingSubType": [],
            "settlePlan": 0, "triggerProtect": "0.0500", "liquidationFee": "0.012500", "marketTakeBound": "0.05",
            "maxMoveOrderLimit": 10000,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": grid.price(rules.tick_size), "maxPrice": _MAX_PRICE,
                 "tickSize": grid.price(rules.tick_size)},
                {"filterType": "LOT_SIZE", **lot},
                {"filterType": "MARKET_LOT_SIZE", **lot},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
                {"filterType": "MIN_NOTIONAL", "notional": plain(rules.min_notional)},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500", "multiplierDown": "0.9500",
                 "multiplierDecimal": "4"},
            ],
            "orderTypes": [c.ORDER_TYPE_LIMIT, c.ORDER_TYPE_MARKET],
            "timeInForce": [c.TIF_GTC, c.TIF_IOC, c.TIF_FOK, c.TIF_GTX],
        }

    async def depth(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        limit = params.integer("limit", c.DEFAULT_DEPTH_LIMIT)
        if limit not in c.DEPTH_LIMITS:
            raise api_error(c.ERR_INVALID_DEPTH_LIMIT, limit=limit)
        return self._streams.depth_snapshot(symbol, limit, self._clock.now())

    def _each(self, params: RawParams) -> tuple[list[str], bool]:
        symbol = optional_symbol(params, self._symbols)
        return ([symbol] if symbol else self._symbols.symbols()), symbol is not None

    async def premium_index(self, params: RawParams) -> Any:
        wanted, single = self._each(params)
        now = ms(self._clock.now())
        rows = []
        for symbol in wanted:
            info = self._streams.funding.get(symbol)
            if info is None:
                raise BinanceApiError(E.DISCONNECTED, c.ERROR_MESSAGES[E.DISCONNECTED])
            rows.append({
                "symbol": symbol, "markPrice": money(info.mark_price), "indexPrice": money(info.index_price),
                "estimatedSettlePrice": money(info.index_price), "lastFundingRate": money(info.rate),
                "interestRate": _INTEREST_RATE, "nextFundingTime": ms(info.next_funding_ts), "time": now,
            })
        return rows[0] if single else rows

    async def funding_rate(self, params: RawParams) -> Any:
        wanted, _ = self._each(params)
        start, end = params.integer("startTime"), params.integer("endTime")
        limit = min(params.integer("limit", 100) or 100, 1000)
        rows = sorted((r for s in wanted for r in self._streams.funding_history[s]), key=lambda r: r["fundingTime"])
        if start is None and end is None:
            return rows[-limit:]
        low, high = start if start is not None else 0, end if end is not None else ms(self._clock.now())
        rows = [r for r in rows if low <= r["fundingTime"] <= high]
        return rows[:limit]

    async def funding_info(self, params: RawParams) -> Any:
        return []  # only symbols with adjusted caps or intervals are listed; the sim has none

    async def book_ticker(self, params: RawParams) -> Any:
        wanted, single = self._each(params)
        rows = []
        for symbol in wanted:
            book, grid = self._streams.books[symbol], self._symbols.grid(symbol)
            bid = next(book.iter_levels(Side.BUY, 1), None)
            ask = next(book.iter_levels(Side.SELL, 1), None)
            rows.append({
                "symbol": symbol,
                "bidPrice": grid.price(bid[0]) if bid else "0", "bidQty": grid.qty(bid[1]) if bid else "0",
                "askPrice": grid.price(ask[0]) if ask else "0", "askQty": grid.qty(ask[1]) if ask else "0",
                "time": ms(self._clock.now()), "lastUpdateId": self._streams.last_update_id[symbol],
            })
        return rows[0] if single else rows

    async def ticker_price(self, params: RawParams) -> Any:
        wanted, single = self._each(params)
        rows = []
        for symbol in wanted:
            last = self._streams.last_trade.get(symbol)
            book = self._streams.books[symbol]
            price = last[0] if last is not None else book.mid
            rows.append({
                "symbol": symbol,
                "price": self._symbols.grid(symbol).price(price) if price is not None else "0",
                "time": ms(last[1]) if last is not None else ms(self._clock.now()),
            })
        return rows[0] if single else rows

    async def empty_list(self, params: RawParams) -> Any:
        """Spot side-calls (capital config, margin pairs): a valid, empty answer."""
        return []
