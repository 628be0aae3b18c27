"""Order endpoints of the Bybit server: create, cancel, cancel-all, realtime (open and recent
closed orders), history, execution list. A create with `triggerPrice` is a conditional order
(`server/stops.py`); `orderFilter` Order / StopOrder narrows realtime, history and cancel-all to
active or conditional orders (both when absent, as for Bybit's linear category).

Bybit acknowledges POST /v5/order/create with `{orderId, orderLinkId}` once the order is accepted
(the order's life then comes on the order topic). An order is checked for Bybit's parameter rules
and placed through the kit's `OrderDesk` (common/server/order_desk.py: time in force, post-only,
reduce-only and fill-or-kill over the simulator, which it lets reach the moment the request
arrives); the answer follows from the outcome: a refusal becomes a retCode error or an acceptance
closed at once, per the one table in codes.REJECTIONS; no answer yet is retCode 10000. A market
order is an IOC at a slippage-guarded price (shown as its `price`, as Bybit does).
"""

from __future__ import annotations

import re
import uuid
from decimal import Decimal
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server import params as p
from pmm.connectors.bybit_perpetual.constants import RetCode as R
from pmm.connectors.bybit_perpetual.server.auth import RawRequest
from pmm.connectors.bybit_perpetual.server.codes import api_error, param_error, refusal, refusal_error
from pmm.connectors.bybit_perpetual.server.faults import FaultInjector
from pmm.connectors.bybit_perpetual.server.ledger import Ledger
from pmm.connectors.bybit_perpetual.server.orders import (
    TIF_IN,
    is_stop,
    is_untriggered,
    newest_first,
    shown,
    status,
    view,
)
from pmm.connectors.bybit_perpetual.server.stops import StopOrders
from pmm.connectors.bybit_perpetual.server.streams import MarketStreams
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap, position_side_in, side_in
from pmm.connectors.common.numbers import ms, parse_decimal, plain
from pmm.connectors.common.server.desk_order import Cause, DeskOrder, State, Tif
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.core.clock import Clock
from pmm.core.model import Side, TradingRules
from pmm.sim.exchange import SimExchange

_LINK_ID = re.compile(c.ORDER_LINK_ID_PATTERN)
_UNSUPPORTED = ("takeProfit", "stopLoss", "tpLimitPrice", "slLimitPrice", "orderIv")
_ORDER_FILTERS = (c.ORDER_FILTER_ORDER, c.ORDER_FILTER_STOP)
_REFUSED_CAUSE = {c.REJECT_POST_ONLY_WILL_TAKE_LIQUIDITY: Cause.POST_ONLY_CROSS}


def _order_filter(req: RawRequest) -> str | None:
    value = req.text("orderFilter")
    if value is not None and value not in _ORDER_FILTERS:
        raise param_error(f"params error: orderFilter {value} is not served by the simulated venue "
                          f"({' or '.join(_ORDER_FILTERS)})")
    return value


def _passes(order: DeskOrder, order_filter: str | None) -> bool:
    """Order: active orders; StopOrder: conditional orders not yet active; None: both."""
    return order_filter is None or (order_filter == c.ORDER_FILTER_STOP) == is_stop(order)


def _ack(order: DeskOrder) -> dict[str, Any]:
    return {"orderId": order.order_id, "orderLinkId": order.client_id}


class TradeHandlers:
    """Order placement, cancellation and queries over the kit's order desk."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap, desk: OrderDesk, ledger: Ledger,
                 streams: MarketStreams, faults: FaultInjector, clock: Clock, stops: StopOrders) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._desk = desk
        self._ledger = ledger
        self._streams = streams
        self._faults = faults
        self._clock = clock
        self._stops = stops

    # --- create ---------------------------------------------------------------------------------

    async def create(self, req: RawRequest) -> dict[str, Any]:
        order = self._parse_order(req)
        rules = self._symbols.grid(self._symbols.symbol(order.market)).rules
        rejection = self._faults.take_order_rejection()
        if rejection is not None:
            raise api_error(rejection, notional=plain(rules.min_notional), min_qty=plain(rules.min_size))
        if req.text("triggerPrice") not in (None, "", "0"):
            self._stops.rest(req, order)  # Untriggered, on the order topic
            return _ack(order)
        await self._desk.place([order])
        if order.rejection is not None:
            ref = refusal(order.rejection.code)
            if ref.ret_code is None:  # accepted, then closed at once
                order.extra["reject_reason"] = ref.reject_reason
                self._desk.close_refused(order, _REFUSED_CAUSE.get(ref.reject_reason, Cause.UNFILLED))
                return _ack(order)
            raise refusal_error(ref, notional=plain(rules.min_notional), min_qty=plain(rules.min_size))
        if order.state is State.PENDING:
            raise api_error(R.SERVER_TIMEOUT)
        return _ack(order)

    def _parse_order(self, req: RawRequest) -> DeskOrder:
        symbol, market = p.linear_symbol(req, self._symbols)
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
        tif = TIF_IN.get(req.text("timeInForce") or c.TIF_GTC)
        if tif is None:
            raise param_error("params error: timeInForce invalid")
        book = self._exchange.book(market)
        sim_price: Decimal | None
        if order_type == c.ORDER_TYPE_LIMIT:
            price = parse_decimal(req.text("price"))
            if price is None:
                raise param_error("params error: price invalid")
            sim_price = price
        else:
            tif, sim_price = Tif.IOC, None
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
            taken = self._desk.by_client.get(link_id)
            if taken is not None and taken.state is not State.REJECTED:  # unique for ever, not only while live
                raise api_error(R.DUPLICATE_ORDER_LINK_ID)
        last = self._streams.state[symbol].last_price
        order = DeskOrder(order_id=str(uuid.uuid4()), client_id=link_id, market=market, side=side, tif=tif,
                          price=sim_price, qty=qty, position_side=position_side,
                          reduce_only=reduce_only or close_on_trigger, sim_id=link_id)
        order.extra.update(price=price, reduce_only=reduce_only, close_on_trigger=close_on_trigger,
                           last_price_on_created=grid.price(last) if last is not None else "")
        return order

    @staticmethod
    def _market_guard_price(best: Decimal | None, side: Side, rules: TradingRules) -> Decimal:
        """The IOC price Bybit turns a market order into: a few percent through the best price."""
        if best is None:
            return Decimal(0)
        if side is Side.BUY:
            return rules.ceil_price(best * (1 + c.MARKET_ORDER_SLIPPAGE))
        return rules.floor_price(best * (1 - c.MARKET_ORDER_SLIPPAGE))

    # --- cancel ---------------------------------------------------------------------------------

    def _find(self, req: RawRequest) -> DeskOrder:
        p.linear(req)
        symbol = p.symbol(req, self._symbols)
        order_id, link_id = req.text("orderId"), req.text("orderLinkId")
        if order_id is None and link_id is None:
            raise param_error("params error: orderId or orderLinkId is required")
        order = self._desk.find(order_id, link_id)
        if (order is None or self._symbols.symbol(order.market) != symbol
                or not (order.is_open or is_untriggered(order))):
            raise api_error(R.ORDER_NOT_EXIST)
        return order

    async def cancel(self, req: RawRequest) -> dict[str, Any]:
        order = self._find(req)
        if is_untriggered(order):
            self._stops.cancel([order])
            return _ack(order)
        await self._desk.cancel([order])
        if order.state is not State.CANCELED:
            raise api_error(R.ORDER_NOT_EXIST)  # it filled before the cancel arrived
        return _ack(order)

    async def cancel_all(self, req: RawRequest) -> dict[str, Any]:
        symbol = p.linear_symbol_if_any(req, self._symbols)
        settle_coin, base_coin = req.text("settleCoin"), req.text("baseCoin")
        order_filter = _order_filter(req)

        def chosen(o: DeskOrder) -> bool:
            rules = self._symbols.grid(self._symbols.symbol(o.market)).rules
            return ((symbol is None or self._symbols.symbol(o.market) == symbol)
                    and (settle_coin is None or rules.quote == settle_coin)
                    and (base_coin is None or rules.base == base_coin) and _passes(o, order_filter))

        stops = self._stops.cancel(o for o in self._desk.orders() if is_untriggered(o) and chosen(o))
        orders = [o for o in self._desk.open_orders() if chosen(o)]
        await self._desk.cancel(orders)
        done = [o for o in orders if o.state is State.CANCELED]
        return {"list": [_ack(o) for o in done + stops], "success": "1"}

    # --- queries --------------------------------------------------------------------------------

    def _matches(self, order: DeskOrder, req: RawRequest, symbol: str | None) -> bool:
        order_id, link_id = req.text("orderId"), req.text("orderLinkId")
        settle_coin, base_coin = req.text("settleCoin"), req.text("baseCoin")
        own = self._symbols.symbol(order.market)
        rules = self._symbols.grid(own).rules
        return (shown(order) and (symbol is None or own == symbol)
                and (order_id is None or order.order_id == order_id)
                and (link_id is None or order.client_id == link_id)
                and (settle_coin is None or rules.quote == settle_coin)
                and (base_coin is None or rules.base == base_coin))

    def _page(self, req: RawRequest, orders: list[DeskOrder]) -> dict[str, Any]:
        size = p.limit(req, c.ORDER_REALTIME_DEFAULT_LIMIT, c.ORDER_REALTIME_PAGE_LIMIT)
        chunk, cursor = p.page(newest_first(orders), req, size)
        return {"category": c.CATEGORY_LINEAR, "list": [view(o, self._symbols) for o in chunk],
                "nextPageCursor": cursor}

    async def realtime(self, req: RawRequest) -> dict[str, Any]:
        """Open orders (openOnly=0, plus a named closed order); recent closed ones with openOnly=1."""
        symbol = p.linear_symbol_if_any(req, self._symbols)
        open_only = p.integer(req, "openOnly", 0)
        named = req.text("orderId") is not None or req.text("orderLinkId") is not None
        order_filter = _order_filter(req)
        if open_only == 0:
            pool = [o for o in self._desk.orders()
                    if o.is_open or (is_stop(o) and not o.is_done) or named]
        else:  # the last closed ones, in the order they closed
            pool = sorted((o for o in self._desk.orders() if o.is_done), key=lambda o: o.updated)
            pool = pool[-c.CLOSED_ORDERS_KEPT:]
        return self._page(req, [o for o in pool if self._matches(o, req, symbol) and _passes(o, order_filter)])

    async def history(self, req: RawRequest) -> dict[str, Any]:
        symbol = p.linear_symbol_if_any(req, self._symbols)
        start, end = p.window(req, ms(self._clock.now()))
        wanted, order_filter = req.text("orderStatus"), _order_filter(req)
        return self._page(req, [o for o in self._desk.orders()
                                if self._matches(o, req, symbol) and start <= ms(o.created) <= end
                                and (wanted is None or status(o) == wanted)
                                and _passes(o, order_filter)])

    async def executions(self, req: RawRequest) -> dict[str, Any]:
        symbol = p.linear_symbol_if_any(req, self._symbols)
        size = p.limit(req, c.EXECUTION_DEFAULT_LIMIT, c.EXECUTION_PAGE_LIMIT)
        start, end = p.window(req, ms(self._clock.now()))
        order_id, link_id, exec_type = req.text("orderId"), req.text("orderLinkId"), req.text("execType")
        rows = [e for e in reversed(self._ledger.executions)
                if (symbol is None or e.symbol == symbol) and (order_id is None or e.order_id == order_id)
                and (link_id is None or e.link_id == link_id) and (exec_type is None or e.exec_type == exec_type)
                and start <= e.time_ms <= end]
        chunk, cursor = p.page(rows, req, size)
        return {"category": c.CATEGORY_LINEAR, "list": [e.view for e in chunk], "nextPageCursor": cursor}
