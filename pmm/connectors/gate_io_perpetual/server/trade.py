"""Order endpoints of the Gate server (APIv4 "Futures"): place, one order, list, cancel one, cancel
all, the countdown dead-man switch, and the account's history (fills, fills by time range,
account book).

A new order is answered with the order as it stands once the simulator has seen it (filled,
partly filled, resting, or finished `ioc` with nothing to take); a refusal is Gate's label
(ORDER_POC_IMMEDIATE, INSUFFICIENT_AVAILABLE, REDUCE_EXCEEDED, ...). An order the simulator has
not answered in time gets SERVER_ERROR (HTTP 500: the request may or may not have been executed).
Cancels name the order by its id or by its `t-` text. Lists are newest first, paged by
`limit` / `offset` (and `from` / `to` in seconds for the time-range lists).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pmm.connectors.common.server.dead_man import DeadManSwitch
from pmm.connectors.common.server.desk_order import Cause, DeskOrder, State
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.wire import Fields, ParamError, WireRequest
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.server.dialect import gate_error
from pmm.connectors.gate_io_perpetual.server.orders_in import OrderParser, refusal
from pmm.connectors.gate_io_perpetual.server.views import Views
from pmm.connectors.gate_io_perpetual.server.wire import decimal_sizes, ms
from pmm.core.clock import Clock

T = TypeVar("T")
_MAX_LIMIT = 1000


def last_segment(req: WireRequest) -> str:
    return req.path.rstrip("/").rsplit("/", 1)[-1]


def paged(rows: Iterable[T], fields: Fields, default_limit: int = 100) -> list[T]:
    limit = fields.integer("limit", default_limit)
    offset = fields.integer("offset", 0)
    assert limit is not None and offset is not None
    if not 1 <= limit <= _MAX_LIMIT or offset < 0:
        raise ParamError("limit" if not 1 <= limit <= _MAX_LIMIT else "offset")
    return list(rows)[offset:offset + limit]


def in_window(fields: Fields, ts: float) -> bool:
    start, end = fields.decimal("from"), fields.decimal("to")
    return (start is None or ts >= start) and (end is None or ts <= end)


class TradeHandlers:
    """Orders and the account's history over the order desk and the ledger."""

    def __init__(self, desk: OrderDesk, parser: OrderParser, ledger: Ledger, views: Views, faults: KitFaults,
                 clock: Clock, new_order_id: Callable[[], str], dead_man: DeadManSwitch) -> None:
        self._desk = desk
        self._parser = parser
        self._ledger = ledger
        self._views = views
        self._faults = faults
        self._clock = clock
        self._new_order_id = new_order_id
        self._dead_man = dead_man

    # --- place and look up --------------------------------------------------------------------------

    async def place(self, req: WireRequest) -> dict[str, Any]:
        order = self._parser.parse(req.fields(), self._new_order_id())
        rejection = self._faults.take_order_rejection()
        if rejection is not None:
            raise gate_error(str(rejection))
        await self._desk.place([order])
        if order.rejection is not None:
            label = refusal(order.rejection.code)
            if label:
                raise gate_error(label)
            self._desk.close_refused(order, Cause.UNFILLED)  # a market order with nothing to take
        if order.state is State.PENDING:
            raise gate_error("SERVER_ERROR", "Order timed out: it may or may not have been placed; query it")
        return self._views.order(order, decimal=decimal_sizes(req.headers))

    def _find(self, ref: str, contract: str | None) -> DeskOrder:
        order = self._desk.find(None, ref) if ref.startswith(spec.TEXT_PREFIX) else self._desk.find(ref, None)
        if order is None or order.state is State.REJECTED or (
                contract is not None and spec.to_venue_symbol(order.market) != contract):
            raise gate_error("ORDER_NOT_FOUND")
        return order

    async def order(self, req: WireRequest) -> dict[str, Any]:
        order = self._find(last_segment(req), req.fields().text("contract"))
        return self._views.order(order, decimal=decimal_sizes(req.headers))

    async def orders(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._parser.symbol(fields.text("contract"))
        status = fields.required("status")
        if status not in ("open", "finished"):
            raise ParamError("status")
        keep = (lambda o: o.is_open) if status == "open" else (lambda o: o.is_done and o.rejection is None)
        rows = [o for o in reversed(self._desk.orders()) if keep(o) and spec.to_venue_symbol(o.market) == symbol]
        decimal = decimal_sizes(req.headers)
        return [self._views.order(o, decimal=decimal) for o in paged(rows, fields)]

    # --- cancel -------------------------------------------------------------------------------------

    async def cancel(self, req: WireRequest) -> dict[str, Any]:
        order = self._find(last_segment(req), req.fields().text("contract"))
        if not order.is_open:
            raise gate_error("ORDER_FINISHED")
        await self._desk.cancel([order])
        if order.state is not State.CANCELED:
            raise gate_error("ORDER_FINISHED")  # it filled before the cancel arrived
        return self._views.order(order, decimal=decimal_sizes(req.headers))

    async def cancel_all(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = self._parser.symbol(fields.text("contract"))
        side = fields.choice("side", ("ask", "bid"))
        market = self._views.symbols.market(symbol)
        chosen = [o for o in self._desk.open_orders(market)
                  if side is None or (o.side.value == "buy") == (side == "bid")]
        await self._desk.cancel(chosen)
        decimal = decimal_sizes(req.headers)
        return [self._views.order(o, decimal=decimal) for o in chosen if o.state is State.CANCELED]

    async def countdown_cancel_all(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        timeout = fields.integer("timeout")
        if timeout is None:
            raise ParamError("timeout", missing=True)
        if timeout != 0 and timeout < spec.DEAD_MAN_MIN_S:
            raise gate_error("INVALID_PARAM_VALUE", f"timeout must be 0 or at least {spec.DEAD_MAN_MIN_S} seconds")
        if fields.text("contract") is not None:
            self._parser.symbol(fields.text("contract"))
        deadline = self._dead_man.arm(float(timeout))
        return {"triggerTime": ms(deadline) if deadline is not None else 0}

    # --- history ------------------------------------------------------------------------------------

    def _fills(self, fields: Fields) -> list[Any]:
        contract, order_ref = fields.text("contract"), fields.text("order")
        return [b for b in reversed(self._ledger.fills())
                if (contract is None or spec.to_venue_symbol(b.market) == contract)
                and (order_ref is None or (b.order is not None and b.order.order_id == order_ref))]

    async def my_trades(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        decimal = decimal_sizes(req.headers)
        return [self._views.fill(b, decimal=decimal) for b in paged(self._fills(fields), fields)]

    async def my_trades_timerange(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        decimal = decimal_sizes(req.headers)
        rows = [b for b in self._fills(fields) if in_window(fields, b.ts)]
        return [self._views.fill(b, decimal=decimal) for b in paged(rows, fields)]

    async def account_book(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        contract, kind = fields.text("contract"), fields.text("type")
        rows = []
        for bill in reversed(self._ledger.bills):
            if contract is not None and spec.to_venue_symbol(bill.market) != contract:
                continue
            rows += [r for r in self._views.account_book(bill)
                     if (kind is None or r["type"] == kind) and in_window(fields, r["time"])]
        return paged(rows, fields)
