"""Gate *spot* public market data on 127.0.0.1 over a simulated market (DESIGN.md §5): what the
`gate_io` price source reads, so a config quoting around Gate's spot book dry-runs offline
(`pmm exchange-sim gate_io`). Public endpoints and streams only: no keys, no orders.

REST (APIv4 spot shapes): `GET /api/v4/spot/time`, `/spot/currency_pairs[/{pair}]`,
`/spot/order_book` (`currency_pair`, `limit`, `with_id`; levels `[price, amount]`, `current` and
`update` in ms), `/spot/trades`. WebSocket `/ws/v4/`: `spot.order_book_update` (`[pair, "100ms"]`,
pushes `{t, e, E, s, U, u, b, a}` whose `U` is the previous `u` + 1), `spot.trades` (one trade per
push), `spot.ping` -> `spot.pong`. Faults (`KitFaults`): a skipped book id (a gap in `U`), cut
sockets, duplicated or reordered book frames, error answers and delays.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from pmm.connectors.common.numbers import decimals_of
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.kit_server import KitServer, Route, WindowLimiter
from pmm.connectors.common.server.market_tape import Tape
from pmm.connectors.common.server.stream_hub import Conn, StreamHub
from pmm.connectors.common.server.wire import ParamError, WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.auth import Verifier
from pmm.connectors.gate_io_perpetual.server.dialect import GateRestDialect, gate_error
from pmm.connectors.gate_io_perpetual.server.routes import PUBLIC_LIMIT
from pmm.connectors.gate_io_perpetual.server.trade import last_segment
from pmm.connectors.gate_io_perpetual.server.wire import GateSymbols, id_maker, ms
from pmm.core.clock import Clock
from pmm.core.events import BookDelta, BookSnapshot, MarketEvent, Trade
from pmm.core.model import Side
from pmm.sim.exchange import SimExchange

_FIRST_ID = 48_776_300
_DEPTH = 100


class GateSpotServer(KitServer):
    """Gate spot public data over a `SimExchange`, listening on loopback only (see module docstring)."""

    venue = "Gate spot"

    def __init__(self, exchange: SimExchange, *, host: str = "127.0.0.1", port: int = 0,
                 clock: Clock | None = None) -> None:
        super().__init__(exchange, host=host, port=port, clock=clock)
        self.symbols = GateSymbols(exchange.trading_rules(m) for m in exchange.markets())
        self.faults = KitFaults()
        self.driver = SimDriver(exchange, self.clock, 0.02, name="Gate spot server")
        self.dialect = GateRestDialect(Verifier("", "", self.clock))  # public routes only
        self.limiter = WindowLimiter(self.clock)
        self.hub = StreamHub(self.clock, self.faults, name="Gate spot server", idle_cutoff_s=60.0)
        self.faults.bind(self.hub)
        new_trade_id = id_maker(309_143_000)
        self.tapes = {s: Tape(self.symbols.market(s) or s, (_DEPTH,), _FIRST_ID, new_trade_id)
                      for s in self.symbols.symbols()}
        self.hub.dialect = _SpotDialect(self)
        exchange.subscribe_public(self._on_public)
        self.driver.on_tick(self.hub.on_tick)

    def routes(self) -> list[Route]:
        api = spec.API
        handlers = [(f"{api}/spot/time", self._time), (spec.SPOT_PAIRS_PATH, self._pairs),
                    (f"{spec.SPOT_PAIRS_PATH}/{{pair}}", self._pair), (spec.SPOT_ORDER_BOOK_PATH, self._order_book),
                    (spec.SPOT_TRADES_PATH, self._trades)]
        return [Route("GET", path, handler, limit=PUBLIC_LIMIT) for path, handler in handlers]

    def ws_paths(self) -> dict[str, str]:
        return {spec.SPOT_WS_PATH: "public"}

    # --- the simulator's public events --------------------------------------------------------------

    def _on_public(self, event: MarketEvent) -> None:
        match event:
            case BookSnapshot() | BookDelta():
                self._on_book(event.market, event.ts)
            case Trade():
                self._on_trade(event)
            case _:
                pass

    def _on_book(self, market: str, ts: float) -> None:
        symbol = self.symbols.symbol(market)
        skip = self.faults.take_depth_skip()
        result = self.tapes[symbol].books[_DEPTH].update(self.exchange.book(market), ts, skip)
        if result is None:
            if skip:
                self.faults.skip_depth_update_ids(skip)  # nothing went out: the gap waits for the next change
            return
        prev, seq, (bids, asks) = result
        key: Hashable = (spec.SPOT_CHANNEL_BOOK_UPDATE, symbol)
        if self.hub.has_subscribers(key):
            body = {"t": ms(ts), "e": "depthUpdate", "E": int(ts), "s": symbol, "U": prev + 1, "u": seq,
                    "b": self._levels(symbol, bids), "a": self._levels(symbol, asks)}
            self.hub.publish(key, self._push(spec.SPOT_CHANNEL_BOOK_UPDATE, body), shape="depth")

    def _on_trade(self, trade: Trade) -> None:
        symbol = self.symbols.symbol(trade.market)
        done = self.tapes[symbol].on_trade(trade.price, trade.amount, trade.aggressor, trade.ts)
        key: Hashable = (spec.SPOT_CHANNEL_TRADES, symbol)
        if self.hub.has_subscribers(key):
            self.hub.publish(key, self._push(spec.SPOT_CHANNEL_TRADES, self._trade_row(symbol, done)))

    def _push(self, channel: str, result: Any) -> dict[str, Any]:
        now = self.clock.now()
        return {"time": int(now), "time_ms": ms(now), "channel": channel, "event": "update", "result": result}

    def _levels(self, symbol: str, levels: Any) -> list[list[str]]:
        grid = self.symbols.grid(symbol)
        return [[grid.price(p), grid.qty(s)] for p, s in levels]

    def _trade_row(self, symbol: str, t: Any) -> dict[str, Any]:
        grid = self.symbols.grid(symbol)
        return {"id": int(t.trade_id), "create_time": int(t.ts), "create_time_ms": f"{t.ts * 1000:.3f}",
                "side": t.taker_side.value, "currency_pair": symbol, "amount": grid.qty(t.qty),
                "price": grid.price(t.price), "range": f"{t.trade_id}-{t.trade_id}"}

    # --- REST ---------------------------------------------------------------------------------------

    def _symbol(self, name: str | None) -> str:
        if name is None:
            raise ParamError("currency_pair", missing=True)
        if self.symbols.market(name) is None:
            raise gate_error("INVALID_CURRENCY_PAIR", f"Invalid currency pair: {name}")
        return name

    async def _time(self, req: WireRequest) -> dict[str, int]:
        return {"server_time": ms(self.clock.now())}

    def _pair_row(self, symbol: str) -> dict[str, Any]:
        rules = self.symbols.grid(symbol).rules
        return {"id": symbol, "base": rules.base, "base_name": rules.base, "quote": rules.quote,
                "quote_name": rules.quote, "fee": "0.2", "min_base_amount": format(rules.min_size.normalize(), "f"),
                "min_quote_amount": format(rules.min_notional.normalize(), "f"), "max_base_amount": "",
                "max_quote_amount": "", "amount_precision": decimals_of(rules.step_size),
                "precision": decimals_of(rules.tick_size), "trade_status": "tradable",
                "sell_start": 0, "buy_start": 0, "type": "normal"}

    async def _pairs(self, req: WireRequest) -> list[dict[str, Any]]:
        return [self._pair_row(s) for s in self.symbols.symbols()]

    async def _pair(self, req: WireRequest) -> dict[str, Any]:
        return self._pair_row(self._symbol(last_segment(req)))

    async def _order_book(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = self._symbol(fields.text("currency_pair"))
        limit = fields.integer("limit", 10)
        assert limit is not None
        if not 1 <= limit <= _DEPTH:
            raise ParamError("limit")
        stream = self.tapes[symbol].books[_DEPTH]
        now = self.clock.now()
        body: dict[str, Any] = {"current": ms(now), "update": ms(stream.ts or now),
                                "asks": self._levels(symbol, stream.levels(Side.SELL, limit)),
                                "bids": self._levels(symbol, stream.levels(Side.BUY, limit))}
        return {"id": stream.seq, **body} if fields.boolean("with_id") else body

    async def _trades(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._symbol(fields.text("currency_pair"))
        limit = fields.integer("limit", 100) or 100
        return [self._trade_row(symbol, t) for t in reversed(list(self.tapes[symbol].trades)[-limit:])]


class _SpotDialect:
    """The spot socket's words: `spot.ping`, subscribe / unsubscribe to the book and trades."""

    def __init__(self, server: GateSpotServer) -> None:
        self._server = server

    def on_open(self, conn: Conn) -> None:
        return None

    def on_close(self, conn: Conn) -> None:
        return None

    def on_text(self, conn: Conn, text: str) -> None:
        server = self._server
        try:
            msg = json.loads(text)
        except ValueError:
            msg = None
        if not isinstance(msg, dict):
            return
        now = server.clock.now()
        channel, event, payload = msg.get("channel"), msg.get("event"), msg.get("payload")
        reply: dict[str, Any] = {"time": int(now), "time_ms": ms(now), "conn_id": conn.conn_id}
        if "id" in msg:
            reply["id"] = msg["id"]
        if channel == spec.SPOT_CHANNEL_PING:
            server.hub.send(conn, {**reply, "channel": spec.SPOT_CHANNEL_PONG, "event": "", "result": None})
            return
        reply.update(channel=channel, event=event, payload=payload)
        known = channel in (spec.SPOT_CHANNEL_BOOK_UPDATE, spec.SPOT_CHANNEL_TRADES)
        pairs = (payload[:1] if channel == spec.SPOT_CHANNEL_BOOK_UPDATE else payload) \
            if isinstance(payload, list) else []
        if not known or event not in ("subscribe", "unsubscribe") or not pairs \
                or not all(isinstance(p, str) and server.symbols.market(p) for p in pairs):
            server.hub.send(conn, {**reply, "error": {"code": 2, "message": f"invalid argument: {channel} {payload}"},
                                   "result": {"status": "fail"}})
            return
        for pair in pairs:
            key = (channel, pair)
            (server.hub.subscribe if event == "subscribe" else server.hub.unsubscribe)(conn, key)
        server.hub.send(conn, {**reply, "error": None, "result": {"status": "success"}})


def make_spot_server(exchange: SimExchange, *, port: int = 0) -> GateSpotServer:
    """The spot server factory the spec names (`(exchange, *, port) -> server`)."""
    return GateSpotServer(exchange, port=port)

