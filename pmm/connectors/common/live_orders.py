"""The orders a gateway placed and has not seen end, and the fills it already reported.

Every venue gateway keeps the same bookkeeping over its account events: an order is remembered
when it is sent (`placed`), learns its exchange id when accepted, counts its fills, and is
forgotten when it is cancelled, rejected or completely filled. `AccountGateway._resync` reads it to
rebuild the events missed while the private stream was down. Venues repeat fills in some cases (a
private stream may push the same trade twice): `on_event` answers False for a fill whose trade id was already
reported, so the gateway drops it instead of counting it twice.
"""

from __future__ import annotations

from collections import OrderedDict

from pmm.connectors.common.account_gateway import PlacedOrder
from pmm.core.events import Event, OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from pmm.core.model import ClientOrderId, OrderRequest, PositionSide

_MAX_TRADES = 100_000  # trade ids remembered to drop repeats; the oldest are the least needed


class LiveOrders:
    def __init__(self, max_trades: int = _MAX_TRADES) -> None:
        self.orders: dict[ClientOrderId, PlacedOrder] = {}
        self._trades: OrderedDict[str, None] = OrderedDict()
        self._max_trades = max_trades

    def __len__(self) -> int:
        return len(self.orders)

    def get(self, client_id: ClientOrderId) -> PlacedOrder | None:
        return self.orders.get(client_id)

    def placed(self, request: OrderRequest, ts: float, position_side: PositionSide | None = None) -> PlacedOrder:
        live = self.orders[request.client_id] = PlacedOrder(request, ts, position_side)
        return live

    def forget(self, client_id: ClientOrderId) -> PlacedOrder | None:
        return self.orders.pop(client_id, None)

    def on_event(self, event: Event) -> bool:
        """Track one order event; False when it is a fill already reported (drop it)."""
        match event:
            case OrderAccepted():
                live = self.orders.get(event.client_id)
                if live is not None:
                    live.exchange_id = event.exchange_id
            case OrderFilled():
                live = self.orders.get(event.client_id)
                key = f"{event.market}/{event.trade_id}"
                if key in self._trades or (live is not None and event.trade_id in live.trade_ids):
                    return False
                self._trades[key] = None
                if len(self._trades) > self._max_trades:
                    self._trades.popitem(last=False)
                if live is not None:
                    live.trade_ids.add(event.trade_id)
                    live.filled += event.amount
                    live.exchange_id = event.exchange_id
                if event.remaining <= 0:
                    self.orders.pop(event.client_id, None)
            case OrderCancelled() | OrderRejected():
                self.orders.pop(event.client_id, None)
        return True
