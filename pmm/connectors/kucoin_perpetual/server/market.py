"""Public REST endpoints of the KuCoin server: server time, contracts, order book (full snapshot and
depth20 / depth100), ticker, recent trades, mark price, current and past funding rates, the public
WebSocket token, and the side calls independent clients make when they load markets (empty lists:
the simulated venue has no spot, margin or unified account; `/api/ua/v1/account/mode` is in
`account.py`).

Contracts: each simulated market is an open USDT-margined perpetual whose `multiplier` is the
market's size step (one lot = one step), `lotSize` 1, `tickSize` the tick; `nextFundingRateTime`
is the countdown to the next settlement in ms, as KuCoin writes it. An unknown symbol is 100011.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.wire import WireRequest
from pmm.connectors.kucoin_perpetual.server.dialect import kucoin_error
from pmm.connectors.kucoin_perpetual.server.streams import PublicStreams
from pmm.connectors.kucoin_perpetual.server.wire import KucoinSymbols, num
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange

FUNDING_CAP = "0.003"


class MarketHandlers:
    def __init__(self, exchange: SimExchange, symbols: KucoinSymbols, streams: PublicStreams, clock: Clock,
                 bullet: Callable[[bool], dict[str, Any]]) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._streams = streams
        self._clock = clock
        self._bullet = bullet

    def _symbol(self, text: str | None) -> str:
        if text is None or self._symbols.market(text) is None:
            raise kucoin_error(100011)
        return text

    def _path_symbol(self, req: WireRequest, index: int) -> str:
        return self._symbol(req.path.split("/")[index])

    async def time(self, req: WireRequest) -> int:
        return ms(self._clock.now())

    async def status(self, req: WireRequest) -> dict[str, str]:
        return {"msg": "", "status": "open"}

    async def bullet_public(self, req: WireRequest) -> dict[str, Any]:
        return self._bullet(False)

    def contract(self, symbol: str) -> dict[str, Any]:
        market = self._symbols.market(symbol)
        assert market is not None
        rules = self._symbols.grid(symbol).rules
        settings = self._exchange.settings
        info = self._streams.tapes[symbol].funding
        last = self._streams.tapes[symbol].last
        day = self._streams.tapes[symbol].day
        now = self._clock.now()
        return {
            "symbol": symbol, "rootSymbol": rules.quote, "type": "FFWCSX", "firstOpenDate": 1585555200000,
            "expireDate": None, "settleDate": None, "baseCurrency": symbol[:-len(rules.quote) - 1],
            "quoteCurrency": rules.quote, "settleCurrency": rules.quote, "maxOrderQty": 1000000,
            "maxPrice": 1000000.0, "lotSize": 1, "tickSize": num(rules.tick_size),
            "indexPriceTickSize": num(rules.tick_size), "multiplier": num(self._symbols.multiplier(symbol)),
            "initialMargin": num(1 / Decimal(rules.max_leverage)),
            "maintainMargin": num(settings.maintenance_margin), "maxRiskLimit": 100000, "minRiskLimit": 100000,
            "riskStep": 50000, "makerFeeRate": num(settings.maker_fee), "takerFeeRate": num(settings.taker_fee),
            "takerFixFee": 0.0, "makerFixFee": 0.0, "settlementFee": None, "isDeleverage": True, "isQuanto": True,
            "isInverse": False, "markMethod": "FairPrice", "fairMethod": "FundingRate",
            "fundingBaseSymbol": f".{symbol[:-5]}INT8H", "fundingQuoteSymbol": f".{rules.quote}INT8H",
            "fundingRateSymbol": f".{symbol}FPI8H", "indexSymbol": f".K{symbol[:-1]}", "settlementSymbol": "",
            "status": "Open", "fundingFeeRate": num(info.rate) if info else 0,
            "predictedFundingFeeRate": num(info.rate) if info else 0,
            "fundingRateGranularity": int(info.interval_s * 1000) if info else 28800000, "openInterest": "0",
            "turnoverOf24h": num(day.turnover.quantize(Decimal("1e-8"))),
            "volumeOf24h": num(day.volume), "markPrice": num(rules.floor_price(info.mark_price)) if info else 0,
            "indexPrice": num(rules.floor_price(info.index_price)) if info else 0,
            "lastTradePrice": num(last.price) if last else 0,
            "nextFundingRateTime": max(0, ms(info.next_funding_ts) - ms(now)) if info else 0,
            "maxLeverage": rules.max_leverage, "sourceExchanges": [],
            "premiumsSymbol1M": f".{symbol}PI", "premiumsSymbol8H": f".{symbol}PI8H",
            "fundingBaseSymbol1M": f".{symbol[:-5]}INT", "fundingQuoteSymbol1M": f".{rules.quote}INT",
            "lowPrice": num(day.low(last.price)) if last else 0, "highPrice": num(day.high(last.price)) if last else 0,
            "priceChgPct": 0, "priceChg": 0, "k": 490.0, "m": 300.0, "f": 1.3, "mmrLimit": 0.3, "mmrLevConstant": 125.0,
            "supportCross": True, "buyLimit": 0, "sellLimit": 0,
        }

    async def contracts(self, req: WireRequest) -> list[dict[str, Any]]:
        return [self.contract(s) for s in self._symbols.symbols()]

    async def contract_of(self, req: WireRequest) -> dict[str, Any]:
        return self.contract(self._path_symbol(req, 4))

    async def snapshot(self, req: WireRequest) -> dict[str, Any]:
        return self._streams.snapshot(self._symbol(req.query_params.get("symbol")))

    async def depth(self, req: WireRequest) -> dict[str, Any]:
        depth = 20 if req.path.endswith("depth20") else 100
        return self._streams.snapshot(self._symbol(req.query_params.get("symbol")), depth)

    async def ticker(self, req: WireRequest) -> dict[str, Any]:
        symbol = self._symbol(req.query_params.get("symbol"))
        row = self._streams.ticker(symbol)
        if row is None:
            raise kucoin_error(100011, "No ticker yet: the market has no price.")
        return row

    async def tickers(self, req: WireRequest) -> list[dict[str, Any]]:
        return [row for s in self._symbols.symbols() if (row := self._streams.ticker(s)) is not None]

    async def trade_history(self, req: WireRequest) -> list[dict[str, Any]]:
        symbol = self._symbol(req.query_params.get("symbol"))
        trades = list(self._streams.tapes[symbol].trades)[-100:]
        return [self._streams.trade_row(symbol, t) for t in reversed(trades)]

    async def mark_price(self, req: WireRequest) -> dict[str, Any]:
        symbol = self._path_symbol(req, 4)
        info = self._streams.tapes[symbol].funding
        if info is None:
            raise kucoin_error(100011, "No mark price yet.")
        rules = self._symbols.grid(symbol).rules
        return {"symbol": symbol, "granularity": 1000, "timePoint": ms(self._clock.now()),
                "value": num(rules.floor_price(info.mark_price)),
                "indexPrice": num(rules.floor_price(info.index_price))}

    async def funding_rate(self, req: WireRequest) -> dict[str, Any]:
        symbol = self._path_symbol(req, 4)
        info = self._streams.tapes[symbol].funding
        if info is None:
            raise kucoin_error(100011, "No funding rate yet.")
        interval_ms = int(info.interval_s * 1000)
        return {"symbol": f".{symbol}FPI8H", "granularity": interval_ms,
                "timePoint": ms(info.next_funding_ts) - interval_ms, "value": num(info.rate),
                "predictedValue": num(info.rate), "fundingRateCap": float(FUNDING_CAP),
                "fundingRateFloor": -float(FUNDING_CAP), "period": 0, "fundingTime": ms(info.next_funding_ts)}

    async def funding_rates(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields.required("symbol"))
        start, end = fields.integer("from", 0) or 0, fields.integer("to")
        return [{"symbol": symbol, "fundingRate": num(rate), "timepoint": ms(when)}
                for when, rate in reversed(self._streams.tapes[symbol].settled)
                if ms(when) >= start and (end is None or ms(when) <= end)]

    async def empty_list(self, req: WireRequest) -> list[Any]:
        return []
