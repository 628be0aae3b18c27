"""Read-only account history endpoints of the OKX server: one order, pending orders, order
history, fills (3 days) and fills-history (3 months), bills (7 days) and bills-archive (3 months).

Rows are newest first. Paging as OKX pages: `after` = rows older than that id, `before` = rows newer
than it (ids are increasing numbers), `begin` / `end` in ms, `limit` at most 100 (default 100).
Bills filter on `type` (2 trade, 8 funding), `subType`, `ccy`, `instId`, `mgnMode`; `instType`
other than SWAP (or absent) finds nothing, as an account without those products.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.desk_order import DeskOrder, State
from pmm.connectors.common.server.ledger import Bill, Ledger
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.wire import Fields, ParamError, WireRequest
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.server.dialect import okx_error
from pmm.connectors.okx_perpetual.server.views import Views
from pmm.core.clock import Clock

T = TypeVar("T")
_DAY_MS = 24 * 3600 * 1000
_ORDERS_HISTORY_MS = 7 * _DAY_MS
_ARCHIVE_MS = 92 * _DAY_MS


def page(rows: Iterable[T], fields: Fields, id_of: Callable[[T], str], ts_of: Callable[[T], int], now_ms: int,
         keep_ms: int) -> list[T]:
    """OKX's paging over rows newest first (see module docstring)."""
    after, before = fields.integer("after"), fields.integer("before")
    begin, end = fields.integer("begin", now_ms - keep_ms), fields.integer("end", now_ms)
    limit = fields.integer("limit", spec.PAGE_LIMIT)
    assert begin is not None and end is not None and limit is not None
    if not 1 <= limit <= spec.PAGE_LIMIT:
        raise ParamError("limit")
    out = []
    for row in rows:
        row_id = int(id_of(row))
        if (after is not None and row_id >= after) or (before is not None and row_id <= before):
            continue
        if not max(begin, now_ms - keep_ms) <= ts_of(row) <= end:
            continue
        out.append(row)
        if len(out) >= limit:
            break
    return out


def _swap_only(fields: Fields, required: bool = False) -> bool:
    """False when the request asks for another instrument type (nothing to show)."""
    inst_type = fields.required("instType") if required else fields.text("instType")
    return inst_type in (None, spec.INST_TYPE)


class QueryHandlers:
    """Orders, fills and bills as OKX lists them."""

    def __init__(self, desk: OrderDesk, ledger: Ledger, views: Views, clock: Clock) -> None:
        self._desk = desk
        self._ledger = ledger
        self._views = views
        self._clock = clock

    def _orders(self, fields: Fields, keep: Callable[[DeskOrder], bool]) -> list[DeskOrder]:
        inst_id, ord_type, state = fields.text("instId"), fields.text("ordType"), fields.text("state")
        rows = [o for o in reversed(self._desk.orders()) if keep(o)
                and (inst_id is None or spec.to_venue_symbol(o.market) == inst_id)
                and (ord_type is None or o.extra.get("ordType") in ord_type.split(","))]
        views = [(o, self._views.order(o)) for o in rows]
        return [o for o, view in views if state is None or view["state"] == state]

    async def order(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        symbol = fields.required("instId")
        order_id, client_id = fields.text("ordId"), fields.text("clOrdId")
        if order_id is None and client_id is None:
            raise okx_error(51003)
        found = self._desk.find(order_id, client_id)
        if found is None or spec.to_venue_symbol(found.market) != symbol or found.state is State.REJECTED:
            raise okx_error(51603)  # a refused request never became an order
        return [self._views.order(found)]

    async def pending(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        if not _swap_only(fields):
            return []
        now_ms = ms(self._clock.now())
        rows = page(self._orders(fields, lambda o: o.is_open), fields, lambda o: o.order_id,
                    lambda o: ms(o.created), now_ms, _ARCHIVE_MS)
        return [self._views.order(o) for o in rows]

    async def history(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        if not _swap_only(fields, required=True):
            return []
        now_ms = ms(self._clock.now())
        rows = page(self._orders(fields, lambda o: o.is_done and o.rejection is None), fields,
                    lambda o: o.order_id, lambda o: ms(o.updated), now_ms,
                    _ARCHIVE_MS if req.path == spec.ORDERS_HISTORY_PATH + "-archive" else _ORDERS_HISTORY_MS)
        return [self._views.order(o) for o in rows]

    def _fills(self, req: WireRequest, keep_ms: int, type_required: bool) -> list[dict[str, Any]]:
        fields = req.fields()
        if not _swap_only(fields, required=type_required):
            return []
        inst_id, ord_id = fields.text("instId"), fields.text("ordId")
        rows = [b for b in reversed(self._ledger.fills())
                if (inst_id is None or spec.to_venue_symbol(b.market) == inst_id)
                and (ord_id is None or (b.order is not None and b.order.order_id == ord_id))]
        chosen = page(rows, fields, lambda b: b.bill_id, lambda b: ms(b.ts), ms(self._clock.now()), keep_ms)
        return [self._views.fill(b) for b in chosen]

    async def fills(self, req: WireRequest) -> list[dict[str, Any]]:
        return self._fills(req, spec.FILLS_RECENT_MS, type_required=False)

    async def fills_history(self, req: WireRequest) -> list[dict[str, Any]]:
        return self._fills(req, _ARCHIVE_MS, type_required=True)

    def _bills(self, req: WireRequest, keep_ms: int) -> list[dict[str, Any]]:
        fields = req.fields()
        if not _swap_only(fields):
            return []
        wanted = {name: fields.text(name) for name in ("type", "subType", "ccy", "instId", "mgnMode")}
        rows = []
        for bill in reversed(self._ledger.bills):
            view = self._views.bill(bill)
            if all(value is None or view[name] in value.split(",") for name, value in wanted.items()):
                rows.append((bill, view))
        chosen = page(rows, fields, lambda r: r[0].bill_id, lambda r: _bill_ms(r[0]), ms(self._clock.now()),
                      keep_ms)
        return [view for _, view in chosen]

    async def bills(self, req: WireRequest) -> list[dict[str, Any]]:
        return self._bills(req, spec.BILLS_RECENT_MS)

    async def bills_archive(self, req: WireRequest) -> list[dict[str, Any]]:
        return self._bills(req, _ARCHIVE_MS)


def _bill_ms(bill: Bill) -> int:
    return bill.funding.funding_time_ms if bill.funding is not None else ms(bill.ts)
