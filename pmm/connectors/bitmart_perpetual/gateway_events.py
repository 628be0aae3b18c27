"""BitMart `futures/order` pushes -> pmm order events, for the gateway.

One push is `{"action", "order": {...}}`: action 1 is a fill (its `last_trade`: lastTradeID,
fillQty in contracts, fillPrice, fee negative when charged), 2 an order accepted, 3 a cancel (4/5
venue cancels on liquidation / ADL). The order's `state` and `deal_size` say where it stands.
BitMart says neither maker/taker nor why an order ended, so:

- a fill's liquidity follows from the order type and the fee (`parse.liquidity_of`);
- a Maker Only order that ends without a fill, and without this gateway having asked to cancel it,
  was refused for crossing the book: `OrderRejected` (pmm's post-only refusal), not a cancel.

It also keeps order id -> client id (trade rows name only the order id) and emits `OrderAccepted`
for a place reply, or before a fill that came first.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.parse import (
    Instrument,
    client_id_of,
    dec_or_zero,
    liquidity_of,
    ms_to_s,
    order_type_of,
    side_of,
    status_of,
)
from pmm.connectors.common.live_orders import LiveOrders
from pmm.connectors.common.payloads import dec
from pmm.core.clock import Clock
from pmm.core.events import Event, OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from pmm.core.model import (
    ZERO,
    ClientOrderId,
    ExchangeOrderId,
    Liquidity,
    OrderRequest,
    OrderStatus,
    OrderType,
    TradeId,
)

_FILL_ACTIONS = (spec.ACTION_MATCH, 6, 8, 9)  # a match, a partial liquidation, passive and active ADL fills
POST_ONLY_REASON = "maker-only order would have taken liquidity: BitMart canceled it unfilled"


class OrderPushes:
    def __init__(self, live: LiveOrders, emit: Callable[[Event], None], clock: Clock,
                 fee_rates: Callable[[str], tuple[Decimal, Decimal]]) -> None:
        self._live = live
        self._emit = emit
        self._clock = clock
        self._fee_rates = fee_rates
        self._client_ids: dict[ExchangeOrderId, ClientOrderId] = {}
        self._cancel_asked: set[ClientOrderId] = set()

    def learn(self, order_id: ExchangeOrderId, client_id: ClientOrderId) -> None:
        self._client_ids[order_id] = client_id

    def client_id(self, order_id: ExchangeOrderId) -> ClientOrderId | None:
        return self._client_ids.get(order_id)

    def cancel_requested(self, client_id: ClientOrderId) -> None:
        self._cancel_asked.add(client_id)

    def accepted(self, request: OrderRequest, order_id: ExchangeOrderId) -> None:
        """The place reply named the order id."""
        self.learn(order_id, request.client_id)
        live = self._live.get(request.client_id)
        if live is None or live.exchange_id is not None:
            return  # the private stream already accepted or finished it
        live.exchange_id = order_id
        now = self._clock.now()
        self._emit(OrderAccepted(request.client_id, order_id, request.market, now, now))

    def on_push(self, item: dict[str, Any], inst: Instrument, recv_ts: float) -> None:
        for event in self.events(item, inst, recv_ts):
            if self._live.on_event(event):
                self._emit(event)
            if isinstance(event, (OrderCancelled, OrderRejected)):
                self._cancel_asked.discard(event.client_id)

    def events(self, item: dict[str, Any], inst: Instrument, recv_ts: float) -> list[Event]:
        row = item["order"]
        action = int(str(item["action"]))
        client_id, exchange_id = client_id_of(row), ExchangeOrderId(str(row["order_id"]))
        self.learn(exchange_id, client_id)
        status = status_of(row)
        sides = side_of(row["side"], row.get("position_mode"))
        live = self._live.get(client_id)
        order_type = live.request.order_type if live is not None else order_type_of(row.get("type"))
        ts = ms_to_s(row.get("update_time") or row.get("create_time") or 0) or recv_ts
        events: list[Event] = []
        trade = row.get("last_trade")
        if action in _FILL_ACTIONS and isinstance(trade, dict) and dec_or_zero(trade.get("fillQty")) > 0:
            if live is not None and live.exchange_id is None:
                events.append(OrderAccepted(client_id, exchange_id, inst.market, ts, recv_ts))
            qty, price = dec(trade["fillQty"]), dec(trade["fillPrice"])
            fee = -dec_or_zero(trade.get("fee"))
            maker, taker = self._fee_rates(inst.market)
            amount = inst.to_base(qty)
            liquidity = Liquidity.MAKER if order_type is OrderType.LIMIT_MAKER else \
                liquidity_of(order_type, fee, price * amount, maker, taker)
            remaining = inst.to_base(max(ZERO, dec(row["size"]) - dec_or_zero(row.get("deal_size"))))
            position_side = live.position_side if live is not None and live.position_side else sides.position_side
            events.append(OrderFilled(client_id, exchange_id, TradeId(str(trade["lastTradeID"])), inst.market,
                                      sides.side, order_type, price, amount, remaining, fee,
                                      str(trade.get("feeCcy") or inst.quote), liquidity, position_side, ZERO, ts,
                                      recv_ts))
        if status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED) and not events:
            events.append(OrderAccepted(client_id, exchange_id, inst.market, ts, recv_ts))
        elif status is OrderStatus.CANCELLED:
            refused = (order_type is OrderType.LIMIT_MAKER and dec_or_zero(row.get("deal_size")) == 0
                       and client_id not in self._cancel_asked and action == spec.ACTION_CANCEL)
            if refused:
                events.append(OrderRejected(client_id, inst.market, POST_ONLY_REASON, None, ts, recv_ts))
            else:
                events.append(OrderCancelled(client_id, exchange_id, inst.market, ts, recv_ts))
        return events
