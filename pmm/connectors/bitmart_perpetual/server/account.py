"""Account endpoints of the BitMart server (Futures V2 "Futures Account" / "Futures Trade" reads):
one order, open orders, order history, trades, transaction history, positions (v1 and v2),
assets, fee rate, leverage and position mode.

Every private GET is KEYED (the key alone), as BitMart documents; paging as BitMart pages:
`/trades` and `/order-history` by `start_time` / `end_time` in SECONDS (default the last 7 days),
`/transaction-history` in MILLISECONDS with `page_size` (default 100, at most 1000), newest first.
`submit-leverage` sets the market's leverage and margin mode (`open_type`): 40040 for a leverage
that is not a whole number, 40029 above the maximum; a change while something is open there in the
other mode is 40045. `set-position-mode` with orders or positions open is 40011.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.server.dialect import bitmart_error, param_error
from pmm.connectors.bitmart_perpetual.server.orders_in import OrderParser
from pmm.connectors.bitmart_perpetual.server.views import FLOW_TYPES, Views
from pmm.connectors.common.numbers import ms, plain
from pmm.connectors.common.server.desk_order import State
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.wire import WireRequest
from pmm.core.clock import Clock
from pmm.core.model import MarginMode, PositionMode
from pmm.errors import VenueSetupError
from pmm.sim.exchange import SimExchange

_WEEK_S = 7 * 86400
_MODES = {spec.POSITION_MODE_ONE_WAY: PositionMode.ONEWAY, spec.POSITION_MODE_HEDGE: PositionMode.HEDGE}
_MARGIN = {spec.OPEN_TYPE_CROSS: MarginMode.CROSS, spec.OPEN_TYPE_ISOLATED: MarginMode.ISOLATED}


class AccountHandlers:
    def __init__(self, exchange: SimExchange, desk: OrderDesk, ledger: Ledger, parser: OrderParser, views: Views,
                 clock: Clock, on_settings: Callable[[str], None]) -> None:
        self._exchange = exchange
        self._desk = desk
        self._ledger = ledger
        self._parser = parser
        self._views = views
        self._clock = clock
        self._on_settings = on_settings

    # --- orders -------------------------------------------------------------------------------------

    async def order(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = self._parser.symbol(fields)
        order_id = fields.text("order_id")
        if order_id is None:
            raise param_error("order_id", missing=True)
        found = self._desk.find(order_id, None)
        if found is None or self._views.symbols.symbol(found.market) != symbol or found.state is State.REJECTED:
            raise bitmart_error(40037)
        return self._views.order(found)

    async def open_orders(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol, kind, limit = fields.text("symbol"), fields.text("type"), fields.integer("limit", 100)
        rows = [{k: v for k, v in self._views.order(o).items() if k != "account"}  # not in this list's rows
                for o in reversed(self._desk.orders()) if o.is_open
                and (symbol is None or self._views.symbols.symbol(o.market) == symbol)]
        return [r for r in rows if kind is None or r["type"] == kind][:limit]

    async def order_history(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._parser.symbol(fields)
        start, end = self._window_s(fields)
        return [self._views.order(o) for o in reversed(self._desk.orders())
                if o.is_done and o.rejection is None and self._views.symbols.symbol(o.market) == symbol
                and start <= o.updated <= end]

    def _window_s(self, fields: Any) -> tuple[float, float]:
        now = self._clock.now()
        end = fields.integer("end_time", int(now) + 1)
        start = fields.integer("start_time", end - _WEEK_S)
        if end < start:
            raise param_error("end_time")
        return float(start), float(end)

    async def trades(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = fields.text("symbol")
        start, end = self._window_s(fields)
        return [self._views.trade(b) for b in reversed(self._ledger.fills())
                if (symbol is None or self._views.symbols.symbol(b.market) == symbol) and start <= b.ts <= end]

    async def transactions(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol, flow = fields.text("symbol"), fields.text("flow_type")
        now_ms = ms(self._clock.now())
        end = fields.integer("end_time", now_ms + 1)
        start = fields.integer("start_time", now_ms - _WEEK_S * 1000)
        size = fields.integer("page_size", 100)
        assert end is not None and start is not None and size is not None
        if not 1 <= size <= 1000:
            raise param_error("page_size")
        wanted = FLOW_TYPES.get(flow) if flow is not None else None
        rows = []
        for bill in reversed(self._ledger.bills):
            if symbol is not None and self._views.symbols.symbol(bill.market) != symbol:
                continue
            for row in self._views.transactions(bill):
                if (wanted is None or row["type"] == wanted) and start <= int(row["time"]) <= end:
                    rows.append(row)
        return rows[:size]

    # --- positions, assets, fees ----------------------------------------------------------------------

    async def positions(self, req: WireRequest) -> list[dict[str, Any]]:
        return self._views.positions(self._clock.now(), req.fields().text("symbol"))

    async def assets(self, req: WireRequest) -> list[dict[str, Any]]:
        return [self._views.asset(b) for b in self._exchange.balances()]

    async def fee_rate(self, req: WireRequest) -> dict[str, Any]:
        symbol = self._parser.symbol(req.fields())
        settings = self._exchange.settings
        return {"symbol": symbol, "taker_fee_rate": plain(settings.taker_fee),
                "maker_fee_rate": plain(settings.maker_fee)}

    # --- settings -------------------------------------------------------------------------------------

    async def submit_leverage(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = self._parser.symbol(fields)
        market = self._views.symbols.market(symbol)
        assert market is not None
        open_type = fields.text("open_type")
        if open_type not in _MARGIN:
            raise bitmart_error(40045)
        leverage = fields.decimal("leverage")
        max_leverage = self._views.symbols.grid(symbol).rules.max_leverage
        if leverage is not None and (leverage != leverage.to_integral_value() or leverage < 1):
            raise bitmart_error(40040)
        if leverage is not None and leverage > max_leverage:
            raise bitmart_error(40029)
        try:
            if self._exchange.margin_mode(market) is not _MARGIN[open_type]:
                self._exchange.set_margin_mode(market, _MARGIN[open_type])
            if leverage is not None:
                self._exchange.set_leverage(market, int(leverage))
        except VenueSetupError:
            raise bitmart_error(40045, "The order open type is invalid: close the position and orders of "
                                       f"{symbol} before changing its margin mode") from None
        self._on_settings(market)
        return {"symbol": symbol, "leverage": str(self._exchange.leverage(market)), "open_type": open_type,
                "max_value": str(max_leverage)}

    async def get_position_mode(self, req: WireRequest) -> dict[str, Any]:
        return {"position_mode": self._views.mode()}

    async def set_position_mode(self, req: WireRequest) -> dict[str, Any]:
        wanted = req.fields().text("position_mode")
        if wanted not in _MODES:
            raise param_error("position_mode", missing=wanted is None)
        try:
            self._exchange.set_position_mode(_MODES[wanted])
        except VenueSetupError:
            raise bitmart_error(40011, "Invalid request: close every position and order before changing the "
                                       "position mode") from None
        return {"position_mode": wanted}
