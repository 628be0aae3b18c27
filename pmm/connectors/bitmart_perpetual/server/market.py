"""Public REST endpoints of the BitMart server (Futures V2 "Futures Market Data"): system time,
contract details, depth, current funding rate, funding-rate history and recent market trades; and
the two spot lists ccxt's `bitmart` reads with its markets (`/account/v1/currencies`,
`/spot/v1/symbols/details`), in their spot shapes and empty: this server simulates futures only
(the spot book is `pmm exchange-sim bitmart`) and the account has no spot wallet.

Contract details: each simulated market is a trading USDT perpetual whose `contract_size` is the
market's size step (one contract = one step), `vol_precision` 1, `min_volume` the minimum size in
steps, `price_precision` the tick. An unknown `symbol` is 40034.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bitmart_perpetual.server.dialect import bitmart_error, param_error
from pmm.connectors.bitmart_perpetual.server.streams import FUNDING_CAP, PublicStreams
from pmm.connectors.bitmart_perpetual.server.wire import BitmartSymbols
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.wire import Fields, WireRequest
from pmm.core.clock import Clock

_OPENED_MS = 1594080000123


class MarketHandlers:
    def __init__(self, symbols: BitmartSymbols, streams: PublicStreams, clock: Clock) -> None:
        self._symbols = symbols
        self._streams = streams
        self._clock = clock

    def _symbol(self, fields: Fields) -> str:
        symbol = fields.text("symbol")
        if symbol is None:
            raise param_error("symbol", missing=True)
        if self._symbols.market(symbol) is None:
            raise bitmart_error(40034)
        return symbol

    async def time(self, req: WireRequest) -> dict[str, Any]:
        return {"server_time": ms(self._clock.now())}

    async def details(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        wanted = fields.text("symbol")
        if wanted is not None:
            self._symbol(fields)
        return {"symbols": [self._detail(s) for s in self._symbols.symbols() if wanted in (None, s)]}

    def _detail(self, symbol: str) -> dict[str, Any]:
        rules = self._symbols.grid(symbol).rules
        tape = self._streams.tapes[symbol]
        info = tape.funding
        grid = self._symbols.grid(symbol)
        last = tape.last.price if tape.last is not None else (info.mark_price if info else None)
        return {
            "symbol": symbol, "product_type": 1, "open_timestamp": _OPENED_MS, "expire_timestamp": 0,
            "settle_timestamp": 0, "base_currency": rules.base, "quote_currency": rules.quote,
            "last_price": grid.price(last) if last is not None else "0",
            "volume_24h": self._symbols.contracts(symbol, tape.day.volume),
            "turnover_24h": format(tape.day.turnover.normalize(), "f"),
            "index_price": grid.price(info.index_price) if info else "0", "index_name": symbol,
            "contract_size": format(self._symbols.contract_size(symbol).normalize(), "f"), "min_leverage": "1",
            "max_leverage": str(rules.max_leverage), "price_precision": format(rules.tick_size.normalize(), "f"),
            "vol_precision": "1", "max_volume": "500000", "market_max_volume": "500000",
            "min_volume": format(self._symbols.min_contracts(symbol), "f"),
            "funding_rate": format(info.rate, "f") if info else "0",
            "expected_funding_rate": format(info.rate, "f") if info else "0", "open_interest": "0",
            "open_interest_value": "0", "high_24h": grid.price(tape.day.high(last)) if last else "0",
            "low_24h": grid.price(tape.day.low(last)) if last else "0", "change_24h": "0",
            "funding_interval_hours": round(info.interval_s / 3600) if info else 8, "status": "Trading",
            "delist_time": 0,
        }

    async def currencies(self, req: WireRequest) -> dict[str, Any]:
        return {"currencies": []}

    async def spot_symbols(self, req: WireRequest) -> dict[str, Any]:
        return {"symbols": []}

    async def depth(self, req: WireRequest) -> dict[str, Any]:
        return self._streams.rest_depth(self._symbol(req.fields()))

    async def funding_rate(self, req: WireRequest) -> dict[str, Any]:
        symbol = self._symbol(req.fields())
        info = self._streams.tapes[symbol].funding
        rate = format(info.rate, "f") if info else "0"
        return {"timestamp": ms(self._clock.now()), "symbol": symbol, "rate_value": rate, "expected_rate": rate,
                "funding_time": ms(info.next_funding_ts) if info else 0, "funding_upper_limit": FUNDING_CAP,
                "funding_lower_limit": f"-{FUNDING_CAP}"}

    async def funding_rate_history(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = self._symbol(fields)
        limit = fields.integer("limit", 100)
        assert limit is not None
        rows = [{"symbol": symbol, "funding_rate": format(rate, "f"), "funding_time": str(round(when * 1000))}
                for when, rate in reversed(self._streams.tapes[symbol].settled)]
        return {"list": rows[:limit]}

    async def market_trades(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields)
        limit = fields.integer("limit", 50)
        assert limit is not None
        grid = self._symbols.grid(symbol)
        recent = list(self._streams.tapes[symbol].trades)[-limit:]
        return [{"symbol": symbol, "price": grid.price(t.price), "qty": format(t.qty.normalize(), "f"),
                 "quote_qty": format((t.qty * t.price).normalize(), "f"), "time": int(t.ts),
                 "is_buyer_maker": t.taker_side.value == "sell"} for t in reversed(recent)]
