"""Public REST endpoints of the Gate server (APIv4 "Futures" market data): server time, contracts,
order book (with its update id), recent trades, tickers and settled funding rates; plus the lists
ccxt loads with its markets (spot and margin pairs, currencies, BTC-settled and delivery
contracts, options underlyings: empty, the simulated venue lists USDT perpetuals only).

Contracts: each simulated market is a trading USDT perpetual whose `quanto_multiplier` is the
market's size step (one contract = one step), `order_size_min` the minimum size in steps,
`order_price_round` the tick. An unknown contract is CONTRACT_NOT_FOUND.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.common.numbers import plain
from pmm.connectors.common.server.wire import ParamError, WireRequest
from pmm.connectors.gate_io_perpetual.server.dialect import gate_error
from pmm.connectors.gate_io_perpetual.server.streams import BOOK_DEPTHS, PublicStreams
from pmm.connectors.gate_io_perpetual.server.trade import in_window, last_segment
from pmm.connectors.gate_io_perpetual.server.views import UID
from pmm.connectors.gate_io_perpetual.server.wire import GateSymbols, decimal_sizes, ms, seconds
from pmm.core.clock import Clock
from pmm.core.model import Side
from pmm.sim.exchange import SimExchange

_MAX_TRADES = 1000


class MarketHandlers:
    """The public REST views over the server's market state."""

    def __init__(self, exchange: SimExchange, symbols: GateSymbols, streams: PublicStreams, clock: Clock) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._streams = streams
        self._clock = clock

    def _symbol(self, name: str | None) -> str:
        if name is None:
            raise ParamError("contract", missing=True)
        if self._symbols.market(name) is None:
            raise gate_error("CONTRACT_NOT_FOUND")
        return name

    async def time(self, req: WireRequest) -> dict[str, int]:
        return {"server_time": ms(self._clock.now())}

    async def empty(self, req: WireRequest) -> list[Any]:
        return []

    async def account_detail(self, req: WireRequest) -> dict[str, Any]:
        return {"user_id": UID, "ip_whitelist": [], "currency_pairs": [], "key": {"mode": 1}, "tier": 0,
                "copy_trading_role": 0}

    async def contracts(self, req: WireRequest) -> list[dict[str, Any]]:
        return [self.contract_row(s) for s in self._symbols.symbols()]

    async def contract(self, req: WireRequest) -> dict[str, Any]:
        return self.contract_row(self._symbol(last_segment(req)))

    def contract_row(self, symbol: str) -> dict[str, Any]:
        rules = self._symbols.grid(symbol).rules
        settings = self._exchange.settings
        tape = self._streams.tapes[symbol]
        info = tape.funding
        grid = self._symbols.grid(symbol)
        last = tape.last.price if tape.last else self._exchange.book(tape.market).mid
        return {
            "name": symbol, "type": "direct", "quanto_multiplier": plain(self._symbols.multiplier(symbol).normalize()),
            "ref_discount_rate": "0", "order_price_deviate": "0.5",
            "maintenance_rate": plain(settings.maintenance_margin),
            "mark_type": "index", "last_price": grid.price(last) if last else "0",
            "mark_price": grid.price(info.mark_price) if info else "0",
            "index_price": grid.price(info.index_price) if info else "0",
            "funding_rate_indicative": format(info.rate, "f") if info else "0",
            "mark_price_round": plain(rules.tick_size.normalize()), "funding_offset": 0, "in_delisting": False,
            "risk_limit_base": "1000000", "interest_rate": "0.0003",
            "order_price_round": plain(rules.tick_size.normalize()),
            "order_size_min": int(self._symbols.min_contracts(symbol)), "ref_rebate_rate": "0.2",
            "funding_interval": int(info.interval_s) if info else int(settings.funding_interval_s),
            "risk_limit_step": "1000000", "leverage_min": "1", "leverage_max": str(rules.max_leverage),
            "risk_limit_max": "8000000", "maker_fee_rate": plain(settings.maker_fee),
            "taker_fee_rate": plain(settings.taker_fee), "funding_rate": format(info.rate, "f") if info else "0",
            "order_size_max": 1_000_000, "funding_next_apply": int(info.next_funding_ts) if info else 0,
            "short_users": 0, "config_change_time": 1_609_899_548, "trade_size": 0,
            "position_size": 0, "long_users": 0, "funding_impact_value": "60000", "orders_limit": 50,
            "trade_id": 0, "orderbook_id": self._streams.book_id(symbol), "enable_bonus": True,
            "enable_credit": True, "create_time": 1_669_688_556, "funding_cap_ratio": "0.75", "status": "trading",
            "launch_time": 1_609_899_548, "enable_decimal": True,
        }

    async def order_book(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = self._symbol(fields.text("contract"))
        limit = fields.integer("limit", 10)
        assert limit is not None
        if not 1 <= limit <= 300:
            raise ParamError("limit")
        depth = min((d for d in BOOK_DEPTHS if d >= limit), default=max(BOOK_DEPTHS))
        stream = self._streams.tapes[symbol].books[depth]
        decimal = decimal_sizes(req.headers)
        now = self._clock.now()
        body: dict[str, Any] = {
            "current": seconds(now), "update": seconds(stream.ts or now),
            "asks": self._streams.levels(symbol, stream.levels(Side.SELL, limit), decimal=decimal),
            "bids": self._streams.levels(symbol, stream.levels(Side.BUY, limit), decimal=decimal)}
        if fields.boolean("with_id"):
            body = {"id": stream.seq, **body}
        return body

    async def trades(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields.text("contract"))
        limit = fields.integer("limit", 100)
        assert limit is not None
        if not 1 <= limit <= _MAX_TRADES:
            raise ParamError("limit")
        decimal = decimal_sizes(req.headers)
        recent = [t for t in self._streams.tapes[symbol].trades if in_window(fields, t.ts)][-limit:]
        return [self._streams.trade_row(symbol, t, decimal=decimal) for t in reversed(recent)]

    async def tickers(self, req: WireRequest) -> list[dict[str, Any]]:
        name = req.fields().text("contract")
        chosen = [self._symbol(name)] if name is not None else self._symbols.symbols()
        return [row for s in chosen if (row := self._streams.ticker(s)) is not None]

    async def funding_rate(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields.text("contract"))
        rows = [{"t": int(when) if when == int(when) else when, "r": format(rate, "f")}
                for when, rate in reversed(self._streams.tapes[symbol].settled) if in_window(fields, when)]
        limit = fields.integer("limit", 100)
        return rows[:limit]
