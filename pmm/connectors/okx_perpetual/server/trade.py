"""Order endpoints of the OKX server (docs-v5 "Trade"): place, batch place, cancel, batch cancel,
amend, one order, pending orders, order history, fills, and the dead-man switch.

Every order call answers per item with `{ordId, clOrdId, tag, ts, sCode, sMsg, subCode}` plus
top-level `inTime` / `outTime` (µs): code "0" when every item succeeded, "1" ("All operations
failed") when none did, "2" when some did, always HTTP 200. `/trade/order` takes one object,
the batch endpoints an array of at most 20 (ccxt's `create_order` posts a one-element array to
`/trade/batch-orders`). An order the simulator has not answered in time gets sCode 50004
("does not mean that the request was successful or failed").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pmm.connectors.common.server.dead_man import DeadManSwitch
from pmm.connectors.common.server.desk_order import DeskOrder, State, Tif
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.wire import Fields, ParamError, WireError, WireRequest
from pmm.connectors.okx_perpetual import errors, spec
from pmm.connectors.okx_perpetual.server.dialect import okx_error, param_refusal
from pmm.connectors.okx_perpetual.server.orders_in import OrderParser, refusal, refusal_error
from pmm.connectors.okx_perpetual.server.wire import Body, ms_text
from pmm.core.clock import Clock
from pmm.core.model import Side

Item = dict[str, Any]


def _failed(err: WireError | ParamError) -> tuple[str, str]:
    if isinstance(err, ParamError):
        code, msg = param_refusal(err)
        return str(code), msg
    return str(err.code), err.msg


class TradeHandlers:
    """Order placement, cancellation, amendment and queries over the order desk."""

    def __init__(self, desk: OrderDesk, parser: OrderParser, faults: KitFaults, clock: Clock,
                 new_order_id: Callable[[], str], dead_man: DeadManSwitch) -> None:
        self._desk = desk
        self._parser = parser
        self._faults = faults
        self._clock = clock
        self._new_order_id = new_order_id
        self._dead_man = dead_man

    def _answer(self, items: list[Item], received: float) -> Body:
        ok = sum(1 for item in items if item["sCode"] == "0")
        code = "0" if ok == len(items) else ("1" if ok == 0 else "2")
        msg = {"0": "", "1": "All operations failed", "2": errors.message(errors.PARTIAL)}[code]
        return Body(code=code, msg=msg, data=items, inTime=str(int(received * 1e6)),
                    outTime=str(int(self._clock.now() * 1e6)))

    @staticmethod
    def _batch(req: WireRequest) -> list[Fields]:
        items = req.items()
        if not items:
            raise okx_error(50014, param0="data")
        if len(items) > spec.BATCH_MAX:
            raise okx_error(51111, param0=str(spec.BATCH_MAX))
        return items

    # --- place --------------------------------------------------------------------------------------

    async def place(self, req: WireRequest) -> Body:
        return await self._place([req.fields()])

    async def place_batch(self, req: WireRequest) -> Body:
        return await self._place(self._batch(req))

    async def _place(self, objects: list[Fields]) -> Body:
        received = self._clock.now()
        taken: set[str] = set()
        parsed: list[DeskOrder | tuple[str, str, Fields]] = []
        for fields in objects:
            try:
                order = self._parser.parse(fields, self._new_order_id(), taken)
                rejection = self._faults.take_order_rejection()
                if rejection is not None:
                    raise okx_error(rejection)
                parsed.append(order)
            except (WireError, ParamError) as err:
                parsed.append((*_failed(err), fields))
        orders = [o for o in parsed if isinstance(o, DeskOrder)]
        await self._desk.place(orders)
        for order in orders:
            if order.rejection is not None and refusal(order.rejection.code).code is None:
                self._desk.close_refused(order, refusal(order.rejection.code).cause)  # accepted, canceled at once
        return self._answer([self._placed(o) for o in parsed], received)

    def _placed(self, result: DeskOrder | tuple[str, str, Fields]) -> Item:
        now = ms_text(self._clock.now())
        if isinstance(result, tuple):
            code, msg, fields = result
            return {"clOrdId": fields.text("clOrdId") or "", "ordId": "", "tag": fields.text("tag") or "",
                    "ts": now, "sCode": code, "sMsg": msg, "subCode": ""}
        order = result
        item = {"clOrdId": order.client_id, "ordId": order.order_id, "tag": order.extra.get("tag", ""), "ts": now,
                "sCode": "0", "sMsg": "Order placed", "subCode": ""}
        if order.rejection is not None:
            err = refusal_error(refusal(order.rejection.code))
            return {**item, "ordId": "", "sCode": str(err.code), "sMsg": err.msg}
        if order.state is State.PENDING:
            return {**item, "sCode": "50004", "sMsg": errors.message(50004)}
        return item

    # --- cancel and amend ---------------------------------------------------------------------------

    def _find(self, fields: Fields) -> DeskOrder:
        symbol = self._parser.symbol(fields)
        order_id, client_id = fields.text("ordId"), fields.text("clOrdId")
        if order_id is None and client_id is None:
            raise okx_error(51003)
        order = self._desk.find(order_id, client_id)
        if order is None or spec.to_venue_symbol(order.market) != symbol:
            raise okx_error(51400)
        return order

    async def cancel(self, req: WireRequest) -> Body:
        return await self._cancel([req.fields()])

    async def cancel_batch(self, req: WireRequest) -> Body:
        return await self._cancel(self._batch(req))

    async def _cancel(self, objects: list[Fields]) -> Body:
        received = self._clock.now()
        found: list[DeskOrder | tuple[str, str, Fields]] = []
        for fields in objects:
            try:
                order = self._find(fields)
                if not order.is_open:
                    raise okx_error(51400)
                found.append(order)
            except (WireError, ParamError) as err:
                found.append((*_failed(err), fields))
        await self._desk.cancel([o for o in found if isinstance(o, DeskOrder)])
        items = []
        for result in found:
            now = ms_text(self._clock.now())
            if isinstance(result, tuple):
                code, msg, fields = result
                items.append({"clOrdId": fields.text("clOrdId") or "", "ordId": fields.text("ordId") or "",
                              "ts": now, "sCode": code, "sMsg": msg})
                continue
            ok = result.state is State.CANCELED
            items.append({"clOrdId": result.client_id, "ordId": result.order_id, "ts": now,
                          "sCode": "0" if ok else "51400", "sMsg": "" if ok else errors.message(51400)})
        return self._answer(items, received)

    async def amend(self, req: WireRequest) -> Body:
        received = self._clock.now()
        fields = req.fields()
        item = {"clOrdId": fields.text("clOrdId") or "", "ordId": fields.text("ordId") or "",
                "ts": "", "reqId": fields.text("reqId") or "", "sCode": "0", "sMsg": "", "subCode": ""}
        try:
            order = self._find(fields)
            item.update(clOrdId=order.client_id, ordId=order.order_id)
            await self._amend(order, fields)
        except (WireError, ParamError) as err:
            item["sCode"], item["sMsg"] = _failed(err)
        item["ts"] = ms_text(self._clock.now())
        return self._answer([item], received)

    async def _amend(self, order: DeskOrder, fields: Fields) -> None:
        if not order.is_open:
            raise okx_error(51503)
        symbol = spec.to_venue_symbol(order.market)
        new_qty = self._parser.contracts(fields, symbol, "newSz") if "newSz" in fields else None
        new_px = fields.decimal("newPx")
        if new_qty is None and new_px is None:
            raise okx_error(51000, param0="newSz")
        if order.tif is Tif.POST_ONLY and new_px is not None and self._would_cross(order, new_px):
            raise okx_error(51511)
        order.extra.update(reqId=fields.text("reqId") or "", amendResult="0", amendSource="1")
        await self._desk.amend(order, new_qty, new_px)

    def _would_cross(self, order: DeskOrder, price: Any) -> bool:
        book = self._parser.book(order.market)
        if order.side is Side.BUY:
            return book.best_ask is not None and price >= book.best_ask
        return book.best_bid is not None and price <= book.best_bid

    # --- the dead-man switch ------------------------------------------------------------------------

    async def cancel_all_after(self, req: WireRequest) -> list[Item]:
        fields = req.fields()
        timeout = fields.integer("timeOut")
        if timeout is None:
            raise ParamError("timeOut", missing=True)
        if timeout != 0 and not spec.DEAD_MAN_MIN_S <= timeout <= spec.DEAD_MAN_MAX_S:
            raise ParamError("timeOut")
        deadline = self._dead_man.arm(float(timeout))
        return [{"triggerTime": ms_text(deadline) if deadline is not None else "0", "tag": fields.text("tag") or "",
                 "ts": ms_text(self._clock.now())}]
