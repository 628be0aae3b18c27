"""Bitget *spot* public market data on 127.0.0.1 over a simulated market (DESIGN.md §5): what the
`bitget` price source reads, so a config quoting around Bitget's spot book dry-runs offline
(`pmm exchange-sim bitget`). Public endpoints and channels only: no keys, no orders.

    server = BitgetSpotServer(SimExchange(settings))
    port = await server.start()          # server.rest_url, server.ws_url + /v2/ws/public, server.faults
    await server.stop()

REST (Bitget spot "Market"): `GET /api/v2/public/time`, `/api/v2/spot/public/symbols` (the spot
symbol shape: `pricePrecision` / `quantityPrecision` decimals, `minTradeAmount`, `minTradeUSDT`,
`status` online; an unknown symbol is 40034), `/api/v2/spot/market/orderbook` (limit 1-150).
WebSocket `/v2/ws/public` with `instType` SPOT: `books` (snapshot, then updates with `seq` and the
CRC32 `checksum` of the top 25 levels, as on futures), `books1` / `books5` / `books15` and `trade`;
the futures server's parts (`streams.py`, `ws.py`) with the spot instrument type, and its faults
(skipped seq, dropped sockets, duplicated and reordered frames).
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.auth import Verifier
from pmm.connectors.bitget_perpetual.server.dialect import BitgetRestDialect, bitget_error
from pmm.connectors.bitget_perpetual.server.streams import BOOK_DEPTHS, PublicStreams
from pmm.connectors.bitget_perpetual.server.wire import BitgetSymbols, ms_text
from pmm.connectors.bitget_perpetual.server.ws import PUBLIC, BitgetStreamDialect
from pmm.connectors.common.numbers import decimals_of
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.kit_server import KitServer, Route, WindowLimiter
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.wire import ParamError, WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.core.clock import Clock
from pmm.sim.exchange import SimExchange

__all__ = ["BitgetSpotServer"]

_SPOT_CHANNELS = (*BOOK_DEPTHS, spec.CHANNEL_TRADE)
_MAX_BOOK = 150


class BitgetSpotServer(KitServer):
    """Bitget spot public market data over a `SimExchange` (see module docstring)."""

    venue = "Bitget spot"

    def __init__(self, exchange: SimExchange, *, host: str = "127.0.0.1", port: int = 0,
                 clock: Clock | None = None, tick_s: float = 0.02) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.symbols = BitgetSymbols(exchange.trading_rules(m) for m in exchange.markets())
        self.faults = KitFaults()
        self.driver = SimDriver(exchange, self.clock, tick_s, name="Bitget spot server")
        self.dialect = BitgetRestDialect(Verifier("", "", "", self.clock), self.clock)  # no signed routes
        self.limiter = WindowLimiter(self.clock)
        self.hub = StreamHub(self.clock, self.faults, name="Bitget spot server", idle_cutoff_s=120.0)
        self.faults.bind(self.hub)
        self.streams = PublicStreams(self.symbols, exchange.book, self.hub, self.faults, None, self.clock,
                                     inst_type=spec.SPOT_INST_TYPE)
        exchange.subscribe_public(self.streams.on_public)
        self.hub.dialect = BitgetStreamDialect(self.hub, Verifier("", "", "", self.clock), self.faults, self.symbols,
                                               self.streams.first_messages, lambda key: [],
                                               inst_type=spec.SPOT_INST_TYPE, public_channels=_SPOT_CHANNELS)
        self.driver.on_tick(self.hub.on_tick)

    def routes(self) -> list[Route]:
        return [Route("GET", spec.SERVER_TIME_PATH, self._time, limit=(20, 1.0)),
                Route("GET", spec.SPOT_SYMBOLS_PATH, self._spot_symbols, limit=(20, 1.0)),
                Route("GET", spec.SPOT_ORDERBOOK_PATH, self._orderbook, limit=(20, 1.0))]

    def ws_paths(self) -> dict[str, str]:
        return {spec.WS_PUBLIC_PATH: PUBLIC}

    @property
    def public_ws_url(self) -> str:
        return f"{self.ws_url}{spec.WS_PUBLIC_PATH}"

    async def _time(self, req: WireRequest) -> dict[str, str]:
        return {"serverTime": ms_text(self.clock.now())}

    def _symbol(self, req: WireRequest) -> str | None:
        text = req.fields().text("symbol")
        if text is not None and self.symbols.market(text) is None:
            raise bitget_error(40034, "symbol")
        return text.upper() if text is not None else None

    async def _spot_symbols(self, req: WireRequest) -> list[dict[str, Any]]:
        wanted = self._symbol(req)
        return [self._symbol_row(s) for s in self.symbols.symbols() if wanted is None or s == wanted]

    def _symbol_row(self, symbol: str) -> dict[str, Any]:
        rules = self.symbols.grid(symbol).rules
        fees = self.exchange.settings
        return {"symbol": symbol, "baseCoin": rules.base, "quoteCoin": rules.quote,
                "minTradeAmount": format(rules.min_size.normalize(), "f"), "maxTradeAmount": "900000000000000000000",
                "takerFeeRate": format(fees.taker_fee, "f"), "makerFeeRate": format(fees.maker_fee, "f"),
                "pricePrecision": str(decimals_of(rules.tick_size)),
                "quantityPrecision": str(decimals_of(rules.step_size)), "quotePrecision": "8", "status": "online",
                "minTradeUSDT": format(rules.min_notional.normalize(), "f"), "buyLimitPriceRatio": "0.05",
                "sellLimitPriceRatio": "0.05", "areaSymbol": "no", "orderQuantity": "200",
                "openTime": "1532454360000", "offTime": ""}

    async def _orderbook(self, req: WireRequest) -> dict[str, Any]:
        symbol = self._symbol(req)
        if symbol is None:
            raise ParamError("symbol", missing=True)
        limit = req.fields().integer("limit", 100)
        assert limit is not None
        if not 1 <= limit <= _MAX_BOOK:
            raise ParamError("limit")
        stream = self.streams.tapes[symbol].books[BOOK_DEPTHS[spec.CHANNEL_BOOKS]]
        data = self.streams.book_data(symbol, stream, limit)
        return {"asks": data["asks"], "bids": data["bids"], "ts": data["ts"]}
