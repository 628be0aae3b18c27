"""Order endpoints of the Bitget server (Bitget "Trade"): place, cancel, batch cancel, cancel all,
and the reads: one order, pending orders, order history, fills.

A placed order answers `{orderId, clientOid}`; a refusal is the envelope with the code (HTTP
400). An order the simulator has not answered in time gets 40010 ("Request timed out": the
outcome is unknown to the client). Cancel answers `{orderId, clientOid}` or 43001 (unknown or
already final). Batch cancel and cancel all answer `{successList, failureList}`; batch cancel
without `orderIdList` cancels every open order of the symbol (what ccxt's `cancel_all_orders`
sends), cancel all every open order of the product type; with nothing to cancel they answer 22001.
Lists are newest first, 100 a page, paged by `idLessThan` (the last page's `endId`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.server.dialect import bitget_error
from pmm.connectors.bitget_perpetual.server.orders_in import OrderParser, refusal, refusal_error
from pmm.connectors.bitget_perpetual.server.views import Views
from pmm.connectors.bitget_perpetual.server.wire import BitgetSymbols
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.desk_order import DeskOrder, State
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.wire import Fields, ParamError, WireRequest
from pmm.core.clock import Clock

T = TypeVar("T")
_KEEP_MS = 90 * 24 * 3600 * 1000


def page(rows: Iterable[T], fields: Fields, id_of: Callable[[T], str], ts_of: Callable[[T], int],
         now_ms: int) -> tuple[list[T], str]:
    """Bitget's paging over rows newest first: (the page, its endId)."""
    before = fields.integer("idLessThan")
    start, end = fields.integer("startTime", now_ms - _KEEP_MS), fields.integer("endTime", now_ms)
    limit = fields.integer("limit", spec.PAGE_LIMIT)
    assert start is not None and end is not None and limit is not None
    if not 1 <= limit <= spec.PAGE_LIMIT:
        raise ParamError("limit")
    out = []
    for row in rows:
        if before is not None and int(id_of(row)) >= before:
            continue
        if not start <= ts_of(row) <= end:
            continue
        out.append(row)
        if len(out) >= limit:
            break
    return out, (id_of(out[-1]) if out else "")


class TradeHandlers:
    """Order placement, cancellation and queries over the order desk."""

    def __init__(self, desk: OrderDesk, parser: OrderParser, symbols: BitgetSymbols, views: Views, ledger: Ledger,
                 faults: KitFaults, clock: Clock, new_order_id: Callable[[], str]) -> None:
        self._desk = desk
        self._parser = parser
        self._symbols = symbols
        self._views = views
        self._ledger = ledger
        self._faults = faults
        self._clock = clock
        self._new_order_id = new_order_id

    # --- place --------------------------------------------------------------------------------------

    async def place(self, req: WireRequest) -> dict[str, Any]:
        order = self._parser.parse(req.fields(), self._new_order_id())
        rejection = self._faults.take_order_rejection()
        if rejection is not None:
            raise bitget_error(rejection)
        await self._desk.place([order])
        if order.rejection is not None:
            ref = refusal(order.rejection.code)
            if ref.code is None:
                self._desk.close_refused(order, ref.cause)  # accepted, then canceled at once
            else:
                raise refusal_error(ref, self._symbols, self._symbols.symbol(order.market))
        if order.state is State.PENDING:
            raise bitget_error(40010)
        return {"orderId": order.order_id, "clientOid": order.client_id}

    # --- cancel -------------------------------------------------------------------------------------

    def _find(self, fields: Fields, symbol: str) -> DeskOrder | None:
        order_id, client_id = fields.text("orderId"), fields.text("clientOid")
        if order_id is None and client_id is None:
            raise bitget_error(40019, "orderId")
        order = self._desk.find(order_id, client_id)
        if order is None or self._symbols.symbol(order.market) != symbol:
            return None
        return order

    async def cancel(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = self._parser.symbol(fields)
        self._parser.product_type(fields)
        order = self._find(fields, symbol)
        if order is None or not order.is_open:
            raise bitget_error(43001)
        await self._desk.cancel([order])
        if order.state is not State.CANCELED:
            raise bitget_error(43001)  # it filled before the cancel arrived
        return {"orderId": order.order_id, "clientOid": order.client_id}

    async def _cancel_many(self, orders: list[DeskOrder],
                           refs: list[tuple[Fields, DeskOrder | None]]) -> dict[str, Any]:
        await self._desk.cancel([o for o in orders if o.is_open])
        success, failure = [], []
        for fields, order in refs:
            if order is not None and order.state is State.CANCELED:
                success.append({"orderId": order.order_id, "clientOid": order.client_id})
            else:
                failure.append({"orderId": order.order_id if order else fields.text("orderId") or "",
                                "clientOid": order.client_id if order else fields.text("clientOid") or "",
                                "errorMsg": "notExistend", "errorCode": "43001"})
        return {"successList": success, "failureList": failure}

    async def batch_cancel(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        symbol = self._parser.symbol(fields)
        listed = fields.raw.get("orderIdList")
        if listed in (None, "", []):
            market = self._symbols.market(symbol)
            orders = self._desk.open_orders(market)
            if not orders:
                raise bitget_error(22001)
            return await self._cancel_many(orders, [(Fields({}), o) for o in orders])
        if not isinstance(listed, list) or not all(isinstance(i, dict) for i in listed):
            raise ParamError("orderIdList")
        if len(listed) > 50:
            raise bitget_error(40306)
        refs = [(Fields(item), self._find(Fields(item), symbol)) for item in listed]
        return await self._cancel_many([o for _, o in refs if o is not None], refs)

    async def cancel_all(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        orders = self._desk.open_orders()
        if not orders:
            raise bitget_error(22001)
        return await self._cancel_many(orders, [(Fields({}), o) for o in orders])

    # --- reads --------------------------------------------------------------------------------------

    def _orders(self, fields: Fields, keep: Callable[[DeskOrder], bool]) -> list[DeskOrder]:
        symbol = fields.text("symbol")
        return [o for o in reversed(self._desk.orders()) if keep(o) and o.rejection is None
                and (symbol is None or self._symbols.symbol(o.market) == symbol.upper())]

    async def detail(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        symbol = self._parser.symbol(fields)
        order = self._find(fields, symbol)
        if order is None or order.state is State.REJECTED:
            raise bitget_error(40109, msg="The data of the order cannot be found, please confirm the order number")
        return self._views.order(order)

    async def pending(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        status, order_id, client_id = fields.text("status"), fields.text("orderId"), fields.text("clientOid")
        rows = self._orders(fields, lambda o: o.is_open and (order_id is None or o.order_id == order_id)
                            and (client_id is None or o.client_id == client_id))
        views = [(o, self._views.order(o)) for o in rows]
        chosen = [o for o, v in views if status is None or v["status"] == status]
        got, end_id = page(chosen, fields, lambda o: o.order_id, lambda o: ms(o.created), ms(self._clock.now()))
        return {"entrustedList": [self._views.order(o) for o in got] or None, "endId": end_id or None}

    async def history(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        rows = self._orders(fields, lambda o: o.is_done)
        got, end_id = page(rows, fields, lambda o: o.order_id, lambda o: ms(o.updated), ms(self._clock.now()))
        return {"entrustedList": [self._views.order(o) for o in got] or None, "endId": end_id or None}

    async def fills(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        symbol, order_id = fields.text("symbol"), fields.text("orderId")
        rows = [b for b in reversed(self._ledger.fills())
                if (symbol is None or self._symbols.symbol(b.market) == symbol.upper())
                and (order_id is None or (b.order is not None and b.order.order_id == order_id))]
        got, end_id = page(rows, fields, lambda b: b.bill_id, lambda b: ms(b.ts), ms(self._clock.now()))
        return {"fillList": [self._views.fill(b) for b in got] or None, "endId": end_id or None}
