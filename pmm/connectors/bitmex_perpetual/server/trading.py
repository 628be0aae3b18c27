"""Order and position endpoints of the BitMEX server (BitMEX REST API 1.2.0 "Order", "Position").

- `POST /order`: `symbol`, `side` (Buy / Sell; default Buy, Sell for a negative `orderQty`), `orderQty`
  in contracts (a whole number of `lotSize`), `price`, `ordType` (Limit, Market, Stop, StopLimit; by
  default Limit with a price, Stop with only a `stopPx`, else Market), `execInst` (comma-separated:
  ParticipateDoNotInitiate, ReduceOnly, Close, MarkPrice, LastPrice, IndexPrice), `timeInForce`,
  `clOrdID` (at most 36 characters, unique among open orders), `text`. The answer is the order after
  matching; BitMEX accepts and at once cancels a post-only order that would take liquidity and a
  reduce-only order with nothing to reduce (HTTP 200, `ordStatus` Canceled, the reason in `text`);
  other refusals are HTTP 400 with the table's message. An order the simulator has not answered in
  time: HTTP 504 (the client must reconcile).
- `DELETE /order` (`orderID` / `clOrdID`, one or a list): the orders, each canceled or with an `error`
  ("Unable to cancel order due to existing state: Filled"); naming no known order: 404 "Not Found".
- `PUT /order`: amend `orderQty` / `leavesQty` / `price` of an open order.
- `DELETE /order/all` (optional `symbol`): every open order and resting stop, canceled.
- `POST /order/cancelAllAfter` (`timeout` ms, 0 disarms): the dead-man switch.
- `POST /position/leverage` (0 = cross margin, else isolated at that leverage), `POST /position/isolate`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.server.dialect import bitmex_error, error_of_code
from pmm.connectors.bitmex_perpetual.server.market import select
from pmm.connectors.bitmex_perpetual.server.streams import PrivateTables
from pmm.connectors.bitmex_perpetual.server.views import Views
from pmm.connectors.bitmex_perpetual.server.wire import BitmexSymbols, iso
from pmm.connectors.common.server.dead_man import DeadManSwitch
from pmm.connectors.common.server.desk_order import Cause, DeskOrder, State, Tif
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn, TriggerOrder
from pmm.connectors.common.server.wire import Fields, ParamError, WireError, WireRequest
from pmm.core.clock import Clock
from pmm.core.model import MarginMode, Side
from pmm.errors import VenueSetupError
from pmm.sim.exchange import SimExchange

Row = dict[str, Any]

# Simulator refusal code -> BitMEX: an HTTP 400 message, or None for "accepted, then canceled" (cause).
REFUSALS: dict[str, tuple[str | None, Cause]] = {
    "unknown_market": ("Invalid symbol", Cause.NONE),
    "duplicate_client_id": ("Duplicate clOrdID", Cause.NONE),
    "invalid_amount": ("Invalid orderQty", Cause.NONE),
    "off_step": ("Order quantity must be a multiple of lot size", Cause.NONE),
    "invalid_price": ("Invalid price", Cause.NONE),
    "off_tick": ("Invalid price tickSize", Cause.NONE),
    "position_side_mismatch": ("Invalid side", Cause.NONE),
    "below_min_size": ("Order quantity is below the minimum", Cause.NONE),
    "below_min_notional": ("Order quantity is below the minimum", Cause.NONE),
    "insufficient_margin": ("Account has insufficient Available Balance", Cause.NONE),
    "no_liquidity": (None, Cause.UNFILLED),
    "reduce_only_rejected": (None, Cause.REDUCE_ONLY),
    "post_only_would_cross": (None, Cause.POST_ONLY_CROSS),
}
_TIMED_OUT = WireError("HTTPError", "The request timed out; check the order's state before retrying.", 504)
_KNOWN_INSTS = {spec.EXEC_POST_ONLY, spec.EXEC_REDUCE_ONLY, spec.EXEC_CLOSE, spec.EXEC_MARK_PRICE,
                spec.EXEC_LAST_PRICE, "IndexPrice", "AllOrNone", "Fixed"}


def _ids(fields: Fields, name: str) -> list[str]:
    """An id parameter: one id, a list of ids, or a JSON array of ids in a string."""
    raw = fields.raw.get(name)
    if raw is None or raw == "":
        return []
    if isinstance(raw, list):
        return [str(v) for v in raw]
    text = str(raw)
    if text.startswith("["):
        try:
            return [str(v) for v in json.loads(text)]
        except ValueError:
            raise ParamError(name) from None
    return [part for part in text.split(",") if part]


class TradingHandlers:
    def __init__(self, exchange: SimExchange, symbols: BitmexSymbols, desk: OrderDesk, triggers: TriggerDesk,
                 dead_man: DeadManSwitch, private: PrivateTables, views: Views, faults: KitFaults, clock: Clock,
                 new_order_id: Callable[[], str]) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._desk = desk
        self._triggers = triggers
        self._dead_man = dead_man
        self._private = private
        self._views = views
        self._faults = faults
        self._clock = clock
        self._new_order_id = new_order_id

    # --- reading an order ---------------------------------------------------------------------------

    def _market(self, fields: Fields) -> tuple[str, str]:
        symbol = fields.required("symbol")
        market = self._symbols.market(symbol)
        if market is None:
            raise bitmex_error("Invalid symbol", 400)
        return symbol, market

    def _qty(self, symbol: str, contracts: int) -> Decimal:
        lot = int(self._views.symbols.multiplier(symbol) * self._symbols.grid(symbol).rules.step_size)
        if contracts <= 0:
            raise bitmex_error("Invalid orderQty", 400)
        if contracts % lot:
            raise bitmex_error(f"Order quantity must be a multiple of lot size: {lot}", 400)
        return self._symbols.base(symbol, Decimal(contracts))

    def parse(self, fields: Fields) -> tuple[DeskOrder | None, TriggerOrder | None]:
        symbol, market = self._market(fields)
        qty_signed = fields.integer("orderQty")
        if qty_signed is None:
            raise ParamError("orderQty", missing=True)
        side_text = fields.text("side") or ("Sell" if qty_signed < 0 else "Buy")
        if side_text not in ("Buy", "Sell"):
            raise bitmex_error("Invalid side", 400)
        side = Side.BUY if side_text == "Buy" else Side.SELL
        qty = self._qty(symbol, abs(qty_signed))
        price, stop_px = fields.decimal("price"), fields.decimal("stopPx")
        ord_type = fields.text("ordType") or ("StopLimit" if stop_px and price else "Stop" if stop_px else
                                              "Limit" if price else "Market")
        if ord_type not in spec.ORD_TYPES:
            raise bitmex_error("Invalid ordType", 400)
        insts = [part.strip() for part in (fields.text("execInst") or "").split(",") if part.strip()]
        if any(inst not in _KNOWN_INSTS for inst in insts):
            raise bitmex_error("Invalid execInst", 400)
        if ord_type in ("Limit", "StopLimit") and (price is None or price <= 0):
            raise bitmex_error("Invalid price", 400)
        if price is not None and not self._symbols.grid(symbol).rules.is_on_tick(price):
            raise bitmex_error("Invalid price tickSize", 400)
        client_id = fields.text("clOrdID") or ""
        if len(client_id) > spec.CLORDID_MAX_LEN:
            raise bitmex_error("Invalid clOrdID", 400)
        if client_id and (self._desk.live_client_id(client_id) or any(
                t.client_id == client_id for t in self._triggers.live())):
            raise bitmex_error("Duplicate clOrdID", 400)
        reduce_only = spec.EXEC_REDUCE_ONLY in insts or spec.EXEC_CLOSE in insts
        if ord_type in ("Stop", "StopLimit"):
            if stop_px is None or stop_px <= 0:
                raise bitmex_error("Invalid stopPx for ordType", 400)
            on = TriggerOn.LAST if spec.EXEC_LAST_PRICE in insts else TriggerOn.MARK
            trigger = TriggerOrder(self._new_order_id(), client_id, market, side, stop_px, on,
                                   rising=side is Side.BUY, qty=qty, order_price=price if ord_type == "StopLimit"
                                   else None, reduce_only=reduce_only)
            trigger.extra.update(execInst=",".join(insts), ordType=ord_type)
            return None, trigger
        tif_text = fields.text("timeInForce")
        tif = Tif.POST_ONLY if spec.EXEC_POST_ONLY in insts else Tif.IOC if ord_type == "Market" or \
            tif_text == "ImmediateOrCancel" else Tif.FOK if tif_text == "FillOrKill" else Tif.GTC
        order = DeskOrder(order_id=self._new_order_id(), client_id=client_id, market=market, side=side, tif=tif,
                          price=price if ord_type == "Limit" else None, qty=qty, reduce_only=reduce_only)
        order.extra.update(execInst=",".join(insts), ordType=ord_type, text=fields.text("text") or "")
        return order, None

    # --- endpoints ----------------------------------------------------------------------------------

    async def place(self, req: WireRequest) -> Row:
        fields = req.fields()
        order, trigger = self.parse(fields)
        rejection = self._faults.take_order_rejection()
        if rejection is not None:
            raise error_of_code(rejection)
        if trigger is not None:
            self._triggers.add(trigger)
            return self._views.stop_order(trigger)
        assert order is not None
        await self._desk.place([order])
        if order.rejection is not None:
            message, cause = REFUSALS.get(order.rejection.code or "", ("Invalid order", Cause.NONE))
            if message is not None:
                raise bitmex_error(message + (", 1000000 USDt required" if cause is Cause.NONE and
                                              message.startswith("Account has") else ""), 400)
            self._desk.close_refused(order, cause)  # accepted, canceled at once
        if order.state is State.PENDING:
            raise _TIMED_OUT
        return self._views.order(order)

    def _find(self, order_ids: list[str], client_ids: list[str]) -> list[DeskOrder | TriggerOrder]:
        found: list[DeskOrder | TriggerOrder] = []
        for order_id in order_ids:
            hit = self._triggers.by_id.get(order_id) or self._desk.find(order_id, None)
            if hit is not None:
                found.append(hit)
        for client_id in client_ids:
            trigger = next((t for t in self._triggers.live() if t.client_id == client_id), None)
            hit2 = trigger or self._desk.find(None, client_id)
            if hit2 is not None:
                found.append(hit2)
        return found

    async def cancel(self, req: WireRequest) -> list[Row]:
        fields = req.fields()
        order_ids, client_ids = _ids(fields, "orderID"), _ids(fields, "clOrdID")
        if not order_ids and not client_ids:
            raise ParamError("orderID", missing=True)
        found = self._find(order_ids, client_ids)
        if not found:
            raise WireError("HTTPError", "Not Found", 404)
        return await self._cancel(found)

    async def _cancel(self, found: list[DeskOrder | TriggerOrder]) -> list[Row]:
        orders = [o for o in found if isinstance(o, DeskOrder)]
        self._triggers.cancel([t for t in found if isinstance(t, TriggerOrder)])
        closed_before = {o.order_id: o.state for o in orders if not o.is_open}
        await self._desk.cancel([o for o in orders if o.is_open])
        rows = []
        for item in found:
            if isinstance(item, TriggerOrder):
                rows.append(self._views.stop_order(item))
                continue
            row = self._views.order(item)
            if item.order_id in closed_before or item.state is not State.CANCELED:
                row["error"] = f"Unable to cancel order due to existing state: {row['ordStatus']}"
            rows.append(row)
        return rows

    async def cancel_all(self, req: WireRequest) -> list[Row]:
        fields = req.fields()
        symbol = fields.text("symbol")
        market = self._symbols.market(symbol) if symbol is not None else None
        if symbol is not None and market is None:
            raise bitmex_error("Invalid symbol", 400)
        found: list[DeskOrder | TriggerOrder] = [*self._desk.open_orders(market), *self._triggers.live(market)]
        return await self._cancel(found) if found else []

    async def amend(self, req: WireRequest) -> Row:
        fields = req.fields()
        ids = _ids(fields, "orderID")
        found = self._find(ids, [] if ids else _ids(fields, "origClOrdID"))
        order = next((o for o in found if isinstance(o, DeskOrder)), None)
        if order is None:
            raise WireError("HTTPError", "Not Found", 404)
        if not order.is_open:
            raise bitmex_error("Invalid ordStatus", 400)
        symbol = self._symbols.symbol(order.market)
        qty = fields.integer("orderQty")
        leaves = fields.integer("leavesQty")
        new_qty = self._qty(symbol, qty) if qty is not None else (
            order.cum_qty + self._qty(symbol, leaves) if leaves is not None else None)
        price = fields.decimal("price")
        if new_qty is None and price is None:
            raise ParamError("orderQty", missing=True)
        await self._desk.amend(order, new_qty, price)
        return self._views.order(order)

    async def cancel_all_after(self, req: WireRequest) -> Row:
        timeout = req.fields().decimal("timeout", required=True)
        assert timeout is not None
        if timeout < 0:
            raise ParamError("timeout")
        deadline = self._dead_man.arm(float(timeout) / 1000)
        return {"now": iso(self._clock.now()), "cancelTime": iso(deadline) if deadline is not None else "0"}

    async def open_orders(self, req: WireRequest) -> list[Row]:
        return select(self.order_rows(), req.fields(), matches=self._order_matches)

    def order_rows(self) -> list[Row]:
        rows = [self._views.order(o) for o in self._desk.orders()]
        rows += [self._views.stop_order(t) for t in self._triggers.by_id.values()]
        return sorted(rows, key=lambda r: r["timestamp"])

    def open_order_rows(self) -> list[Row]:
        return [r for r in self.order_rows() if r["ordStatus"] in ("New", "PartiallyFilled")]

    @staticmethod
    def _order_matches(row: Row, wanted: dict[str, Any]) -> bool:
        for key, value in wanted.items():
            if key == "open":
                if (row["ordStatus"] in ("New", "PartiallyFilled")) != bool(value):
                    return False
            elif row.get(key) != value:
                return False
        return True

    # --- positions ----------------------------------------------------------------------------------

    async def leverage(self, req: WireRequest) -> Row:
        fields = req.fields()
        symbol, market = self._market(fields)
        leverage = fields.decimal("leverage", required=True)
        assert leverage is not None
        if leverage < 0 or leverage > self._symbols.grid(symbol).rules.max_leverage:
            raise bitmex_error("Invalid leverage", 400)
        try:
            if leverage == 0:
                self._exchange.set_margin_mode(market, MarginMode.CROSS)
            else:
                self._exchange.set_margin_mode(market, MarginMode.ISOLATED)
                self._exchange.set_leverage(market, max(1, int(leverage)))
        except VenueSetupError as exc:
            raise bitmex_error("Cannot change margin type with open position", 400) from exc
        self._private.push_position(market)
        return self._private.position_row(market)

    async def isolate(self, req: WireRequest) -> Row:
        fields = req.fields()
        symbol, market = self._market(fields)
        mode = MarginMode.ISOLATED if fields.boolean("enabled", True) else MarginMode.CROSS
        try:
            self._exchange.set_margin_mode(market, mode)
        except VenueSetupError as exc:
            raise bitmex_error("Cannot change margin type with open position", 400) from exc
        self._private.push_position(market)
        return self._private.position_row(market)
