"""Public REST endpoints of the OKX server (docs-v5 "Market data", "Public data"): server time,
instruments, order book, ticker(s), recent trades, mark price, index tickers, funding rate and its
history, plus the signed `asset/currencies` that ccxt loads with its markets (an empty list: the
simulated account has no funding-account currencies to show).

Instruments: each simulated market is a live linear USDT swap whose `ctVal` is the market's size
step (so one contract = one step), `lotSz` 1, `minSz` the minimum size in steps, `tickSz` the tick.
Other instrument types (SPOT, FUTURES, OPTION, MARGIN) list nothing. An unknown `instId` is 51001.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.common.server.wire import Fields, ParamError, WireRequest
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.server.dialect import okx_error
from pmm.connectors.okx_perpetual.server.streams import BOOK_DEPTHS, PublicStreams, index_id
from pmm.connectors.okx_perpetual.server.wire import OkxSymbols, ms_text, side_wire
from pmm.core.clock import Clock

_LIST_TIME = "1606468572000"
_MAX_BOOK = 400
_MAX_TRADES = 500


class MarketHandlers:
    """The public REST views over the server's market state."""

    def __init__(self, symbols: OkxSymbols, streams: PublicStreams, clock: Clock) -> None:
        self._symbols = symbols
        self._streams = streams
        self._clock = clock

    def _symbol(self, fields: Fields) -> str:
        symbol = fields.required("instId")
        if self._symbols.market(symbol) is None:
            raise okx_error(51001)
        return symbol

    def _symbols_asked(self, fields: Fields) -> list[str]:
        """instId (one, or ANY / absent for all), for endpoints that list every swap."""
        inst_id = fields.text("instId")
        if inst_id in (None, "ANY"):
            return self._symbols.symbols()
        return [self._symbol(fields)]

    async def time(self, req: WireRequest) -> list[dict[str, str]]:
        return [{"ts": ms_text(self._clock.now())}]

    async def instruments(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        if fields.required("instType") != spec.INST_TYPE:
            return []
        inst_id = fields.text("instId")
        family = fields.text("instFamily") or fields.text("uly")
        return [self._instrument(s) for s in self._symbols.symbols()
                if (inst_id is None or s == inst_id) and (family is None or index_id(s) == family)]

    def _instrument(self, symbol: str) -> dict[str, Any]:
        rules = self._symbols.grid(symbol).rules
        family = index_id(symbol)
        return {
            "alias": "", "auctionEndTime": "", "baseCcy": "", "category": "1", "contTdSwTime": "", "ctMult": "1",
            "ctType": "linear", "ctVal": format(self._symbols.ct_val(symbol).normalize(), "f"),
            "ctValCcy": rules.base, "expTime": "", "futureSettlement": False, "groupId": "1",
            "instFamily": family, "instId": symbol, "instType": spec.INST_TYPE, "lever": str(rules.max_leverage),
            "listTime": _LIST_TIME, "lotSz": "1", "maxIcebergSz": "100000000", "maxLmtAmt": "20000000",
            "maxLmtSz": "100000000", "maxMktAmt": "", "maxMktSz": "100000000", "maxStopSz": "100000000",
            "maxTriggerSz": "100000000", "maxTwapSz": "100000000",
            "minSz": format(self._symbols.min_contracts(symbol), "f"), "optType": "", "openType": "",
            "preMktSwTime": "", "quoteCcy": "", "ruleType": "normal", "settleCcy": rules.quote, "state": "live",
            "stk": "", "tickSz": format(rules.tick_size.normalize(), "f"), "tradeQuoteCcyList": [], "uly": family,
            "instIdCode": 10_000_000 + self._symbols.symbols().index(symbol), "instCategory": "1", "upcChg": [],
        }

    async def books(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields)
        size = fields.integer("sz", 1)
        assert size is not None
        if not 1 <= size <= _MAX_BOOK:
            raise ParamError("sz")
        stream = self._streams.tapes[symbol].books[BOOK_DEPTHS[spec.CHANNEL_BOOKS]]
        return [self._streams.book_data(symbol, stream, size)]

    async def ticker(self, req: WireRequest) -> list[dict[str, Any]]:
        row = self._streams.ticker(self._symbol(req.fields()))
        return [row] if row is not None else []

    async def tickers(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        if fields.required("instType") != spec.INST_TYPE:
            return []
        return [row for s in self._symbols.symbols() if (row := self._streams.ticker(s)) is not None]

    async def trades(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields)
        limit = fields.integer("limit", 100)
        assert limit is not None
        if not 1 <= limit <= _MAX_TRADES:
            raise ParamError("limit")
        grid = self._symbols.grid(symbol)
        recent = list(self._streams.tapes[symbol].trades)[-limit:]
        return [{"instId": symbol, "side": side_wire(t.taker_side), "sz": self._symbols.contracts(symbol, t.qty),
                 "source": "0", "px": grid.price(t.price), "tradeId": t.trade_id, "ts": ms_text(t.ts)}
                for t in reversed(recent)]

    async def mark_price(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        if fields.required("instType") != spec.INST_TYPE:
            return []
        return [row for s in self._symbols_asked(fields) if (row := self._streams.mark_price(s)) is not None]

    async def index_tickers(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        inst_id, quote = fields.text("instId"), fields.text("quoteCcy")
        if inst_id is None and quote is None:
            raise okx_error(50015, param0="instId", param1="quoteCcy")
        rows = []
        for symbol in self._symbols.symbols():
            if (inst_id is None or index_id(symbol) == inst_id) and (
                    quote is None or self._symbols.grid(symbol).rules.quote == quote):
                row = self._streams.index_ticker(symbol)
                if row is not None:
                    rows.append(row)
        return rows

    async def funding_rate(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        fields.required("instId")
        return [row for s in self._symbols_asked(fields) if (row := self._streams.funding_rate(s)) is not None]

    async def funding_rate_history(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields)
        limit = fields.integer("limit", 100)
        after, before = fields.integer("after"), fields.integer("before")
        assert limit is not None
        rows = []
        for when, rate in reversed(self._streams.tapes[symbol].settled):
            when_ms = int(round(when * 1000))
            if (after is not None and when_ms >= after) or (before is not None and when_ms <= before):
                continue
            rows.append({"formulaType": "noRate", "fundingRate": format(rate, "f"), "fundingTime": str(when_ms),
                         "instId": symbol, "instType": spec.INST_TYPE, "method": "current_period",
                         "realizedRate": format(rate, "f")})
        return rows[:limit]

    async def currencies(self, req: WireRequest) -> list[dict[str, Any]]:
        return []
