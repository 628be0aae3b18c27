"""Public REST endpoints of the Bitget server (Bitget "Market", "Public"): server time, contracts,
merge depth, ticker(s), recent trades, symbol price, current funding rate, next funding time and
funding-rate history; plus what ccxt loads with its markets: spot coins and symbols and margin
currencies (empty lists: the simulated venue lists USDT-M perpetuals only). ccxt's signed probe of
`/api/v3/account/settings` is not served (40404), which tells it the account is a classic (v2) one.

Contracts: each simulated market is a `normal` perpetual whose `pricePlace` / `priceEndStep` give
the tick, `sizeMultiplier` the size step, `minTradeNum` the minimum size, `minTradeUSDT` the
minimum notional. Other product types list nothing. An unknown symbol is 40034.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.server.dialect import bitget_error
from pmm.connectors.bitget_perpetual.server.streams import BOOK_DEPTHS, PublicStreams
from pmm.connectors.bitget_perpetual.server.wire import BitgetSymbols, ms_text
from pmm.connectors.common.numbers import decimals_of
from pmm.connectors.common.server.wire import Fields, ParamError, WireRequest
from pmm.core.clock import Clock
from pmm.sim.settings import SimSettings

_MAX_BOOK = 100
_MAX_TRADES = 100


def price_grid(tick: Decimal) -> tuple[str, str]:
    """(pricePlace, priceEndStep) of a tick: 0.1 -> ("1", "1"), 0.5 -> ("1", "5"), 5 -> ("0", "5")."""
    places = decimals_of(tick)
    return str(places), format((tick.scaleb(places)).normalize(), "f")


class MarketHandlers:
    """The public REST views over the server's market state."""

    def __init__(self, symbols: BitgetSymbols, streams: PublicStreams, settings: SimSettings, clock: Clock) -> None:
        self._symbols = symbols
        self._streams = streams
        self._settings = settings
        self._clock = clock

    def _symbol(self, fields: Fields) -> str:
        text = fields.required("symbol")
        if self._symbols.market(text) is None:
            raise bitget_error(40034, "symbol")
        return text.upper()

    @staticmethod
    def _usdt_futures(fields: Fields) -> bool:
        return fields.required("productType").upper() == spec.PRODUCT_TYPE

    async def time(self, req: WireRequest) -> dict[str, str]:
        return {"serverTime": ms_text(self._clock.now())}

    async def contracts(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        if not self._usdt_futures(fields):
            return []
        wanted = fields.text("symbol")
        return [self._contract(s) for s in self._symbols.symbols() if wanted is None or s == wanted.upper()]

    def _contract(self, symbol: str) -> dict[str, Any]:
        rules = self._symbols.grid(symbol).rules
        place, end_step = price_grid(rules.tick_size)
        maker, taker = self._settings.maker_fee, self._settings.taker_fee
        return {
            "symbol": symbol, "baseCoin": rules.base, "quoteCoin": rules.quote, "buyLimitPriceRatio": "0.05",
            "sellLimitPriceRatio": "0.05", "feeRateUpRatio": "0.005", "makerFeeRate": format(maker, "f"),
            "takerFeeRate": format(taker, "f"), "openCostUpRatio": "0.01", "supportMarginCoins": [rules.quote],
            "minTradeNum": format(rules.min_size.normalize(), "f"), "priceEndStep": end_step,
            "volumePlace": str(decimals_of(rules.step_size)), "pricePlace": place,
            "sizeMultiplier": format(rules.step_size.normalize(), "f"), "symbolType": "perpetual",
            "minTradeUSDT": format(rules.min_notional.normalize(), "f"), "maxSymbolOrderNum": "200",
            "maxProductOrderNum": "400", "maxPositionNum": "150", "symbolStatus": "normal", "offTime": "-1",
            "limitOpenTime": "-1", "deliveryTime": "", "deliveryStartTime": "", "deliveryPeriod": "",
            "launchTime": "", "fundInterval": "8", "minLever": "1", "maxLever": str(rules.max_leverage),
            "posLimit": "0.05", "maintainTime": "", "maxMarketOrderQty": "1000", "maxOrderQty": "10000",
            "openTime": "", "isRwa": "NO",
        }

    async def merge_depth(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = self._symbol(fields)
        limit_text = fields.text("limit") or "100"
        limit = _MAX_BOOK if limit_text == "max" else int(limit_text) if limit_text.isdigit() else None
        if limit is None or not 1 <= limit <= _MAX_BOOK:
            raise ParamError("limit")
        stream = self._streams.tapes[symbol].books[BOOK_DEPTHS[spec.CHANNEL_BOOKS]]
        data = self._streams.book_data(symbol, stream, limit)
        tick = self._symbols.grid(symbol).rules.tick_size
        return {"asks": data["asks"], "bids": data["bids"], "ts": data["ts"], "scale": format(tick.normalize(), "f"),
                "precision": "scale0", "isMaxPrecision": "NO"}

    async def ticker(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields)
        row = self._streams.ticker(symbol)
        return [_rest_ticker(row)] if row is not None else []

    async def tickers(self, req: WireRequest) -> list[dict[str, Any]]:
        if not self._usdt_futures(req.fields()):
            return []
        return [_rest_ticker(row) for s in self._symbols.symbols() if (row := self._streams.ticker(s)) is not None]

    async def fills(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields)
        limit = fields.integer("limit", 100)
        assert limit is not None
        if not 1 <= limit <= _MAX_TRADES:
            raise ParamError("limit")
        recent = list(self._streams.tapes[symbol].trades)[-limit:]
        return [{**self._streams.trade_row(symbol, t), "symbol": symbol} for t in reversed(recent)]

    async def symbol_price(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields)
        row = self._streams.ticker(symbol)
        if row is None:
            return []
        return [{"symbol": symbol, "price": row["lastPr"], "indexPrice": row["indexPrice"],
                 "markPrice": row["markPrice"], "ts": row["ts"]}]

    async def current_fund_rate(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbols = [self._symbol(fields)] if fields.text("symbol") else self._symbols.symbols()
        return [row for s in symbols if (row := self._streams.funding_rate(s)) is not None]

    async def funding_time(self, req: WireRequest) -> list[dict[str, Any]]:
        row = self._streams.funding_rate(self._symbol(req.fields()))
        if row is None:
            return []
        return [{"symbol": row["symbol"], "nextFundingTime": row["nextUpdate"],
                 "ratePeriod": row["fundingRateInterval"]}]

    async def history_fund_rate(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields)
        size = fields.integer("pageSize", 20)
        page_no = fields.integer("pageNo", 1)
        assert size is not None and page_no is not None
        if not 1 <= size <= 100 or page_no < 1:
            raise ParamError("pageSize")
        rows = [{"symbol": symbol, "fundingRate": format(rate, "f"), "fundingTime": str(int(round(when * 1000)))}
                for when, rate in reversed(self._streams.tapes[symbol].settled)]
        return rows[(page_no - 1) * size:page_no * size]

    async def empty(self, req: WireRequest) -> list[Any]:
        return []


def _rest_ticker(row: dict[str, Any]) -> dict[str, Any]:
    """The REST ticker row: the channel's without instId / nextFundingTime / symbolType."""
    return {k: v for k, v in row.items() if k not in ("instId", "nextFundingTime", "symbolType")}
