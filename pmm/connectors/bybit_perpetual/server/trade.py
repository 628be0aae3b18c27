"""Order endpoints of the Bybit server: create, cancel, cancel-all, realtime (open and recent
closed orders), history, execution list. A create with `triggerPrice` is a conditional order
(`server/stops.py`); `orderFilter` Order / StopOrder narrows realtime, history and cancel-all to
active or conditional orders (both when absent, as for Bybit's linear category).

Bybit acknowledges POST /v5/order/create with `{orderId, orderLinkId}` once the order is accepted
(the order's life then comes on the order topic); the simulator answers after its latency with
events. So an order is checked for Bybit's parameter rules, submitted, the simulator is advanced to
the moment the request arrives (`SimDriver.settle`), and the answer follows from the outcome: an
OrderRejected becomes a retCode error or an acceptance closed at once, per the one table in
server_codes.REJECTIONS. IOC is a limit order whose remainder the server cancels right after its
first match; FOK is checked against the book first and then placed as IOC; a market order is an IOC
at a slippage-guarded price (shown as its `price`, as Bybit does).
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server import params as p
from pmm.connectors.bybit_perpetual.constants import RetCode as R
from pmm.connectors.bybit_perpetual.server.auth import RawRequest
from pmm.connectors.bybit_perpetual.server.codes import api_error, param_error, refusal, refusal_error
from pmm.connectors.bybit_perpetual.server.faults import FaultInjector
from pmm.connectors.bybit_perpetual.server.ledger import Ledger
from pmm.connectors.bybit_perpetual.server.orders import OrderDesk, OrderRecord
from pmm.connectors.bybit_perpetual.server.stops import StopOrders
from pmm.connectors.bybit_perpetual.server.streams import MarketStreams
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap, position_side_in, side_in
from pmm.connectors.common.numbers import ms, parse_decimal, plain
from pmm.connectors.common.sim_driver import SimDriver
from pmm.core.clock import Clock
from pmm.core.model import ClientOrderId, OrderRequest, PositionAction, PositionSide, Side
from pmm.sim.exchange import SimExchange

_LINK_ID = re.compile(c.ORDER_LINK_ID_PATTERN)
_LIMIT_TIFS = (c.TIF_GTC, c.TIF_IOC, c.TIF_FOK, c.TIF_POST_ONLY)
_UNSUPPORTED = ("takeProfit", "stopLoss", "tpLimitPrice", "slLimitPrice", "orderIv")
_SERVER_ID_PREFIX = "srv:"  # ':' is not allowed in an orderLinkId, so these never collide
_ORDER_FILTERS = (c.ORDER_FILTER_ORDER, c.ORDER_FILTER_STOP)


def _order_filter(req: RawRequest) -> str | None:
    value = req.text("orderFilter")
    if value is not None and value not in _ORDER_FILTERS:
        raise param_error(f"params error: orderFilter {value} is not served by the simulated venue "
                          f"({' or '.join(_ORDER_FILTERS)})")
    return value


def _passes(record: OrderRecord, order_filter: str | None) -> bool:
    """Order: active orders; StopOrder: conditional orders not yet active; None: both."""
    return order_filter is None or (order_filter == c.ORDER_FILTER_STOP) == record.is_stop


def _newest_first(records: Iterable[OrderRecord]) -> list[OrderRecord]:
    """Newest first; orders created in the same millisecond latest-placed first."""
    return sorted(reversed(list(records)), key=lambda r: r.created_ms, reverse=True)


class TradeHandlers:
    """Order placement, cancellation and queries over the simulated exchange."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap, desk: OrderDesk, ledger: Ledger,
                 streams: MarketStreams, driver: SimDriver, faults: FaultInjector, clock: Clock,
                 stops: StopOrders) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._desk = desk
        self._ledger = ledger
        self._streams = streams
        self._driver = driver
        self._faults = faults
        self._clock = clock
        self._stops = stops
        self._ids = itertools.count(1)
        desk.on_accepted = self._expire_remainder

    # --- create ---------------------------------------------------------------------------------

    async def create(self, req: RawRequest) -> dict[str, Any]:
        record, request = self._parse_order(req)
        rejection = self._faults.take_order_rejection()
        if rejection is not None:
            raise api_error(rejection, notional=plain(record.grid.rules.min_notional),
                            min_qty=plain(record.grid.rules.min_size))
        if req.text("triggerPrice") not in (None, "", "0"):
            self._stops.rest(req, record, request)
            self._desk.publish(record)  # Untriggered, on the order topic
            return self._ack(record)
        if record.time_in_force == c.TIF_FOK and not self._fill_or_kill_possible(record):
            self._desk.close_refused(record, c.REJECT_NO_ENOUGH_QTY_TO_FILL, ms(self._clock.now()))
            return self._ack(record)
        self._desk.add_pending(record)
        self._exchange.submit_order(request)
        await self._driver.settle()
        if record.rejection is not None:
            ref = refusal(record.rejection.code)
            if ref.ret_code is None:
                self._desk.close_refused(record, ref.reject_reason, ms(record.rejection.ts))
                return self._ack(record)
            rules = record.grid.rules
            raise refusal_error(ref, notional=plain(rules.min_notional), min_qty=plain(rules.min_size))
        if not record.answered:
            self._desk.pending.pop(record.sim_id, None)
            raise api_error(R.SERVER_TIMEOUT)
        return self._ack(record)

    @staticmethod
    def _ack(record: OrderRecord) -> dict[str, Any]:
        return {"orderId": record.order_id, "orderLinkId": record.link_id}

    def _parse_order(self, req: RawRequest) -> tuple[OrderRecord, OrderRequest]:
        p.linear(req)
        symbol = p.symbol(req, self._symbols)
        assert symbol is not None
        market = self._symbols.market(symbol)
        assert market is not None
        grid = self._symbols.grid(symbol)
        side = side_in(req.params.get("side"))
        if side is None:
            raise param_error("params error: side invalid")
        order_type = req.text("orderType")
        if order_type not in (c.ORDER_TYPE_LIMIT, c.ORDER_TYPE_MARKET):
            raise param_error("params error: orderType invalid")
        for name in _UNSUPPORTED:
            if req.text(name) not in (None, "0"):
                raise param_error(f"params error: {name} is not supported by the simulated venue "
                                  "(no TP/SL orders)")
        qty = parse_decimal(req.text("qty"))
        if qty is None:
            raise param_error("params error: qty invalid")
        tif = req.text("timeInForce") or c.TIF_GTC
        if tif not in _LIMIT_TIFS:
            raise param_error("params error: timeInForce invalid")
        book = self._exchange.book(market)
        if order_type == c.ORDER_TYPE_LIMIT:
            price = parse_decimal(req.text("price"))
            if price is None:
                raise param_error("params error: price invalid")
            sim_price: Decimal | None = price
        else:
            tif, sim_price = c.TIF_IOC, None
            price = self._market_guard_price(book.best_ask if side is Side.BUY else book.best_bid, side, grid.rules)
        idx = p.integer(req, "positionIdx", c.POSITION_IDX_ONEWAY)
        assert idx is not None
        position_side = position_side_in(idx)
        if position_side is None:
            raise param_error("params error: position idx invalid")
        reduce_only = bool(p.boolean(req, "reduceOnly"))
        close_on_trigger = bool(p.boolean(req, "closeOnTrigger"))
        link_id = req.text("orderLinkId") or ""
        if link_id:
            if not _LINK_ID.match(link_id):
                raise param_error("params error: orderLinkId invalid (max 36 of A-Z a-z 0-9 - _)")
            if self._desk.link_id_taken(link_id):
                raise api_error(R.DUPLICATE_ORDER_LINK_ID)
        sim_id = link_id or f"{_SERVER_ID_PREFIX}{next(self._ids)}"
        now_ms = ms(self._clock.now())
        last = self._streams.state[symbol].last_price
        record = OrderRecord(
            order_id=str(uuid.uuid4()), link_id=link_id, sim_id=sim_id, symbol=symbol, market=market,
            side=req.text("side") or "", order_type=order_type, time_in_force=tif, price=price, qty=qty,
            reduce_only=reduce_only, close_on_trigger=close_on_trigger, position_idx=idx, grid=grid,
            created_ms=now_ms, updated_ms=now_ms, last_price_on_created=grid.price(last) if last is not None else "",
        )
        closing = reduce_only or close_on_trigger or (position_side is not PositionSide.BOTH
                                                      and position_side.closing_side is side)
        request = OrderRequest(
            client_id=ClientOrderId(sim_id), market=market, side=side, order_type=record.sim_order_type,
            amount=qty, price=sim_price, position_action=PositionAction.CLOSE if closing else PositionAction.OPEN,
            position_side=position_side, reduce_only=reduce_only or close_on_trigger,
        )
        return record, request

    @staticmethod
    def _market_guard_price(best: Decimal | None, side: Side, rules: Any) -> Decimal:
        """The IOC price Bybit turns a market order into: a few percent through the best price."""
        if best is None:
            return Decimal(0)
        if side is Side.BUY:
            return rules.ceil_price(best * (1 + c.MARKET_ORDER_SLIPPAGE))
        return rules.floor_price(best * (1 - c.MARKET_ORDER_SLIPPAGE))

    def _fill_or_kill_possible(self, record: OrderRecord) -> bool:
        """FOK: the book must hold the whole quantity at the limit price or better right now."""
        book = self._exchange.book(record.market)
        buy = record.side == c.SIDE_BUY
        available = Decimal(0)
        for price, size in book.iter_levels(Side.SELL if buy else Side.BUY):
            if (price > record.price) if buy else (price < record.price):
                break
            available += size
        return available >= record.qty

    def _expire_remainder(self, record: OrderRecord) -> None:
        """An IOC/FOK limit order keeps nothing on the book: cancel what its first match leaves."""
        if record.order_type == c.ORDER_TYPE_LIMIT and record.time_in_force in (c.TIF_IOC, c.TIF_FOK):
            record.expire_requested = True
            self._exchange.cancel_order(record.market, ClientOrderId(record.sim_id))

    # --- cancel ---------------------------------------------------------------------------------

    def _find(self, req: RawRequest) -> OrderRecord:
        p.linear(req)
        symbol = p.symbol(req, self._symbols)
        order_id, link_id = req.text("orderId"), req.text("orderLinkId")
        if order_id is None and link_id is None:
            raise param_error("params error: orderId or orderLinkId is required")
        record = self._desk.find(order_id, link_id)
        if record is None or record.symbol != symbol or not (record.is_open or record.is_untriggered):
            raise api_error(R.ORDER_NOT_EXIST)
        return record

    async def cancel(self, req: RawRequest) -> dict[str, Any]:
        record = self._find(req)
        if record.is_untriggered:
            self._stops.cancel([record])
            return self._ack(record)
        record.cancel_requested, record.cancel_refused = True, False
        self._exchange.cancel_order(record.market, ClientOrderId(record.sim_id))
        await self._driver.settle()
        if record.status != c.ORDER_STATUS_CANCELLED:
            raise api_error(R.ORDER_NOT_EXIST)  # it filled before the cancel arrived
        return self._ack(record)

    async def cancel_all(self, req: RawRequest) -> dict[str, Any]:
        p.linear(req)
        symbol = p.symbol(req, self._symbols, required=False)
        settle_coin, base_coin = req.text("settleCoin"), req.text("baseCoin")
        order_filter = _order_filter(req)

        def chosen(r: OrderRecord) -> bool:
            return ((settle_coin is None or r.grid.rules.quote == settle_coin)
                    and (base_coin is None or r.grid.rules.base == base_coin) and _passes(r, order_filter))

        stops = self._stops.cancel(r for r in self._stops.untriggered(symbol) if chosen(r))
        records = [r for r in self._desk.open_orders(symbol) if chosen(r)]
        for record in records:
            record.cancel_requested = True
        for market in sorted({r.market for r in records}):
            self._exchange.cancel_all(market)
        if records:
            await self._driver.settle()
        done = [r for r in records if r.status == c.ORDER_STATUS_CANCELLED]
        return {"list": [self._ack(r) for r in done + stops], "success": "1"}

    # --- queries --------------------------------------------------------------------------------

    def _matches(self, record: OrderRecord, req: RawRequest, symbol: str | None) -> bool:
        order_id, link_id = req.text("orderId"), req.text("orderLinkId")
        settle_coin, base_coin = req.text("settleCoin"), req.text("baseCoin")
        return ((symbol is None or record.symbol == symbol) and (order_id is None or record.order_id == order_id)
                and (link_id is None or record.link_id == link_id)
                and (settle_coin is None or record.grid.rules.quote == settle_coin)
                and (base_coin is None or record.grid.rules.base == base_coin))

    async def realtime(self, req: RawRequest) -> dict[str, Any]:
        """Open orders (openOnly=0, plus a named closed order); recent closed ones with openOnly=1."""
        p.linear(req)
        symbol = p.symbol(req, self._symbols, required=False)
        size = p.limit(req, c.ORDER_REALTIME_DEFAULT_LIMIT, c.ORDER_REALTIME_PAGE_LIMIT)
        open_only = p.integer(req, "openOnly", 0)
        named = req.text("orderId") is not None or req.text("orderLinkId") is not None
        order_filter = _order_filter(req)
        if open_only == 0:
            pool = [r for r in self._desk.by_id.values() if r.is_open or r.is_live_stop or named]
        else:
            pool = list(self._desk.closed)
        rows = _newest_first(r for r in pool if self._matches(r, req, symbol) and _passes(r, order_filter))
        chunk, cursor = p.page(rows, req, size)
        return {"category": c.CATEGORY_LINEAR, "list": [r.view() for r in chunk], "nextPageCursor": cursor}

    async def history(self, req: RawRequest) -> dict[str, Any]:
        p.linear(req)
        symbol = p.symbol(req, self._symbols, required=False)
        size = p.limit(req, c.ORDER_REALTIME_DEFAULT_LIMIT, c.ORDER_REALTIME_PAGE_LIMIT)
        start, end = p.window(req, ms(self._clock.now()))
        status, order_filter = req.text("orderStatus"), _order_filter(req)
        rows = _newest_first(r for r in self._desk.by_id.values()
                             if self._matches(r, req, symbol) and start <= r.created_ms <= end
                             and (status is None or r.status == status) and _passes(r, order_filter))
        chunk, cursor = p.page(rows, req, size)
        return {"category": c.CATEGORY_LINEAR, "list": [r.view() for r in chunk], "nextPageCursor": cursor}

    async def executions(self, req: RawRequest) -> dict[str, Any]:
        p.linear(req)
        symbol = p.symbol(req, self._symbols, required=False)
        size = p.limit(req, c.EXECUTION_DEFAULT_LIMIT, c.EXECUTION_PAGE_LIMIT)
        start, end = p.window(req, ms(self._clock.now()))
        order_id, link_id, exec_type = req.text("orderId"), req.text("orderLinkId"), req.text("execType")
        rows = [e for e in reversed(self._ledger.executions)
                if (symbol is None or e.symbol == symbol) and (order_id is None or e.order_id == order_id)
                and (link_id is None or e.link_id == link_id) and (exec_type is None or e.exec_type == exec_type)
                and start <= e.time_ms <= end]
        chunk, cursor = p.page(rows, req, size)
        return {"category": c.CATEGORY_LINEAR, "list": [e.view for e in chunk], "nextPageCursor": cursor}
