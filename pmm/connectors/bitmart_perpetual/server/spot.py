"""BitMart *spot* public market data on 127.0.0.1 over a simulated market (DESIGN.md §5): what the
`bitmart` price source reads, so a config quoting around BitMart's spot book dry-runs offline
(`pmm exchange-sim bitmart`). Public endpoints and channels only: no keys, no orders.

REST (envelope `{"code": 1000, "message": "OK", "data", "trace"}`): `GET /system/time`,
`/spot/v1/symbols/details` (every simulated market as `BASE_QUOTE`, trading), and
`/spot/quotation/v3/books?symbol=&limit=` (`[price, size]` rows in the base asset, limit 1-50).
WebSocket `/api` (`?protocol=1.1`): `{"op": "subscribe", "args": [...]}` answered per topic with
`{"event": "subscribe", "topic"}`, an unknown one with `{"event": "error", "message", "errorCode":
30039}`; text `ping` gets `pong`. `spot/depth{5,20,50}:<symbol>` pushes the whole top N on subscribe
and on every book change; `spot/trade:<symbol>` each trade. Frames go out as text (BitMart's
compressing host sends them deflated; the client reads both).
"""

from __future__ import annotations

import json
from typing import Any

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.server.dialect import BitmartRestDialect, bitmart_error, param_error
from pmm.connectors.bitmart_perpetual.server.wire import trade_id
from pmm.connectors.bitmart_perpetual.spot_feed import BOOKS_PATH, SYMBOLS_DETAILS_PATH, spot_symbol
from pmm.connectors.common.numbers import Grid, decimals_of, ms
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.kit_server import KitServer, Route, WindowLimiter
from pmm.connectors.common.server.stream_hub import Conn, StreamHub
from pmm.connectors.common.server.wire import WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.core.clock import Clock
from pmm.core.events import BookDelta, BookSnapshot, MarketEvent, Trade
from pmm.core.model import Side
from pmm.sim.exchange import SimExchange

DEPTHS = (5, 20, 50)
UNKNOWN_TOPIC = 30039


class _NoKeys:
    """The spot data server checks no signatures: it has no signed routes."""

    def check_rest(self, *args: Any, **kwargs: Any) -> int | None:
        return None


class BitmartSpotServer(KitServer):
    venue = "BitMart spot"

    def __init__(self, exchange: SimExchange, *, host: str = "127.0.0.1", port: int = 0,
                 clock: Clock | None = None) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.grids = {spot_symbol(m): Grid(exchange.trading_rules(m)) for m in exchange.markets()}
        self.markets = {spot_symbol(m): m for m in exchange.markets()}
        self.faults = KitFaults()
        self.driver = SimDriver(exchange, self.clock, 0.02, name="BitMart spot server")
        self.dialect = BitmartRestDialect(_NoKeys())  # type: ignore[arg-type]
        self.limiter = WindowLimiter(self.clock)
        self.hub = StreamHub(self.clock, self.faults, name="BitMart spot server", idle_cutoff_s=20.0)
        self.faults.bind(self.hub)
        self.hub.dialect = self
        exchange.subscribe_public(self._on_public)
        self.driver.on_tick(self.hub.on_tick)

    @property
    def public_ws_url(self) -> str:
        return f"{self.ws_url}/api?protocol=1.1"

    # --- REST ---------------------------------------------------------------------------------------

    def routes(self) -> list[Route]:
        return [Route("GET", spec.SERVER_TIME_PATH, self._time), Route("GET", SYMBOLS_DETAILS_PATH, self._details),
                Route("GET", BOOKS_PATH, self._books)]

    def ws_paths(self) -> dict[str, str]:
        return {"/api": "public"}

    async def _time(self, req: WireRequest) -> dict[str, Any]:
        return {"server_time": ms(self.clock.now())}

    async def _details(self, req: WireRequest) -> dict[str, Any]:
        rows: list[dict[str, Any]] = []
        for symbol, grid in self.grids.items():
            rules = grid.rules
            rows.append({"symbol": symbol, "symbol_id": 1024 + len(rows), "base_currency": rules.base,
                         "quote_currency": rules.quote, "quote_increment": grid.qty(rules.step_size),
                         "base_min_size": grid.qty(rules.min_size), "price_min_precision": 1,
                         "price_max_precision": decimals_of(rules.tick_size), "expiration": "NA",
                         "min_buy_amount": format(rules.min_notional, "f"),
                         "min_sell_amount": format(rules.min_notional, "f"), "trade_status": "trading"})
        return {"symbols": rows}

    async def _books(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = fields.text("symbol")
        if symbol is None:
            raise param_error("symbol", missing=True)
        if symbol not in self.grids:
            raise bitmart_error(50001, "Symbol not found")
        limit = fields.integer("limit", 35)
        if limit is None or not 1 <= limit <= 50:
            raise param_error("limit")
        book = self._book(symbol, limit)
        return {"ts": str(ms(self.clock.now())), "symbol": symbol, "asks": book["asks"], "bids": book["bids"]}

    def _book(self, symbol: str, depth: int) -> dict[str, Any]:
        grid = self.grids[symbol]
        book = self.exchange.book(self.markets[symbol])
        return {"asks": grid.levels(book.levels(Side.SELL, depth)), "bids": grid.levels(book.levels(Side.BUY, depth)),
                "ms_t": ms(self.clock.now()), "symbol": symbol}

    # --- WebSocket (the hub's dialect) ------------------------------------------------------------------

    def on_open(self, conn: Conn) -> None:
        return None

    def on_close(self, conn: Conn) -> None:
        return None

    def on_text(self, conn: Conn, text: str) -> None:
        if text == "ping":
            self.hub.send(conn, "pong")
            return
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        op = msg.get("op") if isinstance(msg, dict) else None
        args = msg.get("args") if isinstance(msg, dict) else None
        if op not in ("subscribe", "unsubscribe") or not isinstance(args, list):
            self.hub.send(conn, {"event": "error", "message": f"Unrecognized request: {text[:200]}",
                                 "errorCode": UNKNOWN_TOPIC})
            return
        for topic in args:
            if not self._known(topic):
                self.hub.send(conn, {"event": "error", "message": f"Unrecognized request: {text[:200]}",
                                     "errorCode": UNKNOWN_TOPIC})
                continue
            if op == "subscribe":
                self.hub.subscribe(conn, topic)
            else:
                self.hub.unsubscribe(conn, topic)
            self.hub.send(conn, {"event": op, "topic": topic})
            channel, _, symbol = topic.partition(":")
            if op == "subscribe" and channel.startswith("spot/depth"):
                self.hub.send(conn, {"table": channel, "data": [self._book(symbol, int(channel[len("spot/depth"):]))]})

    def _known(self, topic: Any) -> bool:
        if not isinstance(topic, str):
            return False
        channel, _, symbol = topic.partition(":")
        return symbol in self.grids and channel in ("spot/trade", *(f"spot/depth{d}" for d in DEPTHS))

    def _on_public(self, event: MarketEvent) -> None:
        match event:
            case BookSnapshot() | BookDelta():
                symbol = spot_symbol(event.market)
                for depth in DEPTHS:
                    topic = f"spot/depth{depth}:{symbol}"
                    if self.hub.has_subscribers(topic):
                        self.hub.publish(topic, {"table": f"spot/depth{depth}", "data": [self._book(symbol, depth)]},
                                         shape="depth")
            case Trade():
                symbol = spot_symbol(event.market)
                topic = f"spot/trade:{symbol}"
                if self.hub.has_subscribers(topic):
                    grid = self.grids[symbol]
                    self.hub.publish(topic, {"table": "spot/trade", "data": [{
                        "ms_t": ms(event.ts), "price": grid.price(event.price), "s_t": int(event.ts),
                        "side": event.aggressor.value, "size": grid.qty(event.amount), "symbol": symbol,
                        "trade_id": trade_id(str(event.trade_id))}]})
            case _:
                pass
