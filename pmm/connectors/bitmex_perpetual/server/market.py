"""Public and account-read endpoints of the BitMEX server (BitMEX REST API 1.2.0): the API root (its
`timestamp` is the server clock), instruments, the L2 book, trades, settled funding, wallet assets;
and the signed reads: margin, wallet, commission, user, positions, executions.

Lists honour `symbol`, `filter` (JSON: `{"open": true}`, `{"execType": "Funding"}`, `{"symbol": ...}`),
`startTime` / `endTime` (ISO-8601), `count`, `start` and `reverse`, oldest first unless `reverse`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.parse import iso_to_s
from pmm.connectors.bitmex_perpetual.server.dialect import bitmex_error
from pmm.connectors.bitmex_perpetual.server.streams import PrivateTables, PublicTables
from pmm.connectors.bitmex_perpetual.server.views import Views, interval_text
from pmm.connectors.bitmex_perpetual.server.wire import ACCOUNT, BitmexSymbols, iso
from pmm.connectors.common.server.wire import Fields, ParamError, WireRequest
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange

Row = dict[str, Any]
DEFAULT_COUNT = 100
MAX_COUNT = 1000

ASSETS = [{"asset": "USDT", "currency": spec.SETTLE_CURRENCY, "majorCurrency": "USDT", "name": "Tether",
           "currencyType": "Crypto", "scale": 6, "enabled": True, "isMarginCurrency": True,
           "minDepositAmount": 10000000,
           "minWithdrawalAmount": 10000000, "maxWithdrawalAmount": 10000000000000,
           "networks": [{"asset": "eth", "tokenAddress": "", "depositEnabled": True, "withdrawalEnabled": True,
                         "withdrawalFee": 0, "minFee": 0, "maxFee": 0}]},
          {"asset": "XBT", "currency": "XBt", "majorCurrency": "XBT", "name": "Bitcoin", "currencyType": "Crypto",
           "scale": 8, "enabled": True, "isMarginCurrency": True, "minDepositAmount": 10000,
           "minWithdrawalAmount": 1000, "maxWithdrawalAmount": 100000000000000,
           "networks": [{"asset": "btc", "tokenAddress": "", "depositEnabled": True, "withdrawalEnabled": True,
                         "withdrawalFee": 0, "minFee": 0, "maxFee": 0}]}]


def list_filter(fields: Fields) -> dict[str, Any]:
    text = fields.text("filter")
    if text is None:
        return {}
    try:
        parsed = json.loads(text)
    except ValueError:
        raise ParamError("filter") from None
    if not isinstance(parsed, dict):
        raise ParamError("filter")
    return parsed


def select(rows: Iterable[Row], fields: Fields, *, time_key: str = "timestamp",
           matches: Callable[[Row, dict[str, Any]], bool] | None = None) -> list[Row]:
    """`rows` (oldest first) as a BitMEX list answers them: symbol, filter, time window, paging."""
    wanted = list_filter(fields)
    symbol = fields.text("symbol") or wanted.pop("symbol", None)
    start_time, end_time = fields.text("startTime"), fields.text("endTime")
    out = []
    for row in rows:
        if symbol is not None and row.get("symbol") != symbol:
            continue
        if matches is not None and not matches(row, wanted):
            continue
        if matches is None and any(row.get(k) != v for k, v in wanted.items()):
            continue
        if start_time and row.get(time_key) and iso_to_s(row[time_key]) < iso_to_s(start_time):
            continue
        if end_time and row.get(time_key) and iso_to_s(row[time_key]) > iso_to_s(end_time):
            continue
        out.append(row)
    if fields.boolean("reverse"):
        out.reverse()
    start = fields.integer("start", 0) or 0
    count = min(fields.integer("count", DEFAULT_COUNT) or DEFAULT_COUNT, MAX_COUNT)
    return out[start:start + count]


class MarketHandlers:
    def __init__(self, exchange: SimExchange, symbols: BitmexSymbols, public: PublicTables, private: PrivateTables,
                 views: Views, clock: Clock, server_clock: Clock) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._public = public
        self._private = private
        self._views = views
        self._clock = clock
        self._server_clock = server_clock  # skewed by the fault injector

    def _symbol(self, fields: Fields, *, required: bool = False) -> str | None:
        symbol = fields.text("symbol")
        if symbol is None:
            if required:
                raise ParamError("symbol", missing=True)
            return None
        if self._symbols.market(symbol) is None:
            raise bitmex_error("Invalid symbol", 400)
        return symbol

    async def root(self, req: WireRequest) -> Row:
        return {"name": "BitMEX API", "version": "1.2.0", "timestamp": int(self._server_clock.now() * 1000)}

    async def instruments(self, req: WireRequest) -> list[Row]:
        fields = req.fields()
        symbol = fields.text("symbol")
        if symbol is not None and self._symbols.market(symbol) is None:
            return []  # BitMEX answers an unknown symbol with an empty list
        return select([self._public.instrument(s) for s in self._symbols.symbols()], fields)

    async def active(self, req: WireRequest) -> list[Row]:
        return [self._public.instrument(s) for s in self._symbols.symbols()]

    async def book(self, req: WireRequest) -> list[Row]:
        fields = req.fields()
        symbol = self._symbol(fields, required=True)
        assert symbol is not None
        depth = fields.integer("depth", 25) or None
        return self._public.book_rows(symbol, depth)

    async def trades(self, req: WireRequest) -> list[Row]:
        fields = req.fields()
        symbols = [s for s in self._symbols.symbols() if fields.text("symbol") in (None, s)]
        rows = sorted((r for s in symbols for r in self._public.trade_rows(s, 1000)),
                      key=lambda r: iso_to_s(r["timestamp"]))
        return select(rows, fields)

    async def funding(self, req: WireRequest) -> list[Row]:
        fields = req.fields()
        rows = []
        for symbol in self._symbols.symbols():
            tape = self._public.tapes[symbol]
            interval = tape.funding.interval_s if tape.funding else self._exchange.settings.funding_interval_s
            rows += [{"timestamp": iso(ts), "symbol": symbol, "fundingInterval": interval_text(interval),
                      "fundingRate": rate, "fundingRateDaily": rate * int(86400 / interval)} for ts, rate in
                     tape.settled]
        return select(sorted(rows, key=lambda r: iso_to_s(r["timestamp"])), fields)

    async def assets(self, req: WireRequest) -> list[Row]:
        return ASSETS

    # --- signed reads -----------------------------------------------------------------------------------

    async def margin(self, req: WireRequest) -> Row | list[Row]:
        currency = req.fields().text("currency") or spec.SETTLE_CURRENCY
        balance = self._views.usdt_balance()
        rows = [self._views.margin(balance, self._clock.now())] if balance is not None else []
        if currency == "all":
            return rows
        if currency != spec.SETTLE_CURRENCY or not rows:
            raise bitmex_error("Invalid currency", 400)
        return rows[0]

    async def wallet(self, req: WireRequest) -> Row:
        balance = self._views.usdt_balance()
        if balance is None:
            raise bitmex_error("Invalid currency", 400)
        return self._views.wallet(balance, self._clock.now())

    async def commission(self, req: WireRequest) -> dict[str, Row]:
        settings = self._exchange.settings
        return {s: {"makerFee": settings.maker_fee, "takerFee": settings.taker_fee, "settlementFee": 0,
                    "maxFee": settings.taker_fee} for s in self._symbols.symbols()}

    async def user(self, req: WireRequest) -> Row:
        return {"id": ACCOUNT, "ownerId": None, "firstname": "pmm", "lastname": "simulator", "username": "pmm-sim",
                "accountName": "pmm-sim", "isUser": True, "email": "sim@localhost", "dateOfBirth": None,
                "phone": None, "created": iso(0), "lastUpdated": iso(self._clock.now()), "preferences": {},
                "TFAEnabled": "", "affiliateID": "", "country": "", "geoipCountry": "", "geoipRegion": "",
                "firstTradeTimestamp": None, "firstDepositTimestamp": None, "typ": "", "pgpPubKey": None}

    async def positions(self, req: WireRequest) -> list[Row]:
        held = {p.market for p in self._exchange.positions()}
        symbols = sorted(self._private.position_symbols | {self._symbols.symbol(m) for m in held})
        rows = [self._private.position_row(m) for s in symbols if (m := self._symbols.market(s)) is not None]
        return select(rows, req.fields())

    async def executions(self, req: WireRequest) -> list[Row]:
        return select(self._private.executions, req.fields(), time_key="transactTime")

    async def trade_history(self, req: WireRequest) -> list[Row]:
        rows = [r for r in self._private.executions if r["execType"] in (spec.EXEC_TYPE_TRADE, spec.EXEC_TYPE_FUNDING,
                                                                          "Settlement")]
        return select(rows, req.fields(), time_key="transactTime")
