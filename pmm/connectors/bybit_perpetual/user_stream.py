"""The Bybit private stream: `/v5/private`, authenticated, subscribed to the account topics.

Bybit needs no listen key: the socket authenticates itself (`ws.py`) on every connection and
subscribes `order`, `execution`, `position` and `wallet` (the all-in-one topics). Messages are
`{"id", "topic", "creationTime", "data": [...]}`; each is handed to `on_event(topic, message,
recv_ts)`. After a reconnection, `on_reconnected` lets the gateway re-read what may have been
missed while the socket was down.

`LiveOrders` is what the gateway remembers about its orders (`common/account_gateway.PlacedOrder`) to
complete those messages: an execution row has no position index and no time in force, so the
position side and the order type come from the order as it was placed (or from the order topic /
open orders for others).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.auth import BybitAuth
from pmm.connectors.bybit_perpetual.parse import MarketOf, is_trade_execution
from pmm.connectors.bybit_perpetual.parse_events import parse_execution
from pmm.connectors.bybit_perpetual.ws import BybitWebSocket, Sleep
from pmm.connectors.common.account_gateway import PlacedOrder
from pmm.core.clock import Clock
from pmm.core.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from pmm.core.model import ClientOrderId, OrderRequest, PositionSide
from pmm.errors import AuthError

log = logging.getLogger("pmm.bybit.user_stream")

EventHandler = Callable[[str, dict[str, Any], float], None]

_MAX_REMEMBERED = 100_000


class PrivateStream:
    def __init__(self, *, ws_url: str, auth: BybitAuth, clock: Clock, connector_id: str, on_event: EventHandler,
                 emit: Emit, on_reconnected: Callable[[], None] | None = None, topics: tuple[str, ...] = c.PRIVATE_TOPICS,
                 ws_options: dict[str, Any] | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self._on_event = on_event
        self._on_reconnected = on_reconnected
        self.ws = BybitWebSocket(name="account", connector_id=connector_id, url=ws_url.rstrip("/") + c.WS_PRIVATE_PATH,
                                 on_message=self._on_message, emit=emit, clock=clock, topics=topics, auth=auth,
                                 on_connected=self._on_connected, sleep=sleep, **(ws_options or {}))

    def __repr__(self) -> str:
        return f"PrivateStream({self.ws!r})"

    async def start(self, wait_s: float = 10.0) -> None:
        """Connect; wait (up to `wait_s`) for the first authenticated subscription.

        A refused authentication is an `AuthError` now, before any order is placed; a socket that is
        merely slow to come up keeps trying in the background (reconciliation covers the gap).
        """
        self.ws.start()
        if await self.ws.wait_up(wait_s):
            return
        if self.ws.auth_error is not None:
            await self.ws.stop()
            raise AuthError(f"Bybit refused the private stream's authentication ({self.ws.auth_error}). Check the "
                            f"API key and secret (`pmm connect {c.CONNECTOR_ID}`) and that the key is for this "
                            "environment (mainnet or testnet).")
        log.warning("the Bybit private stream is not up after %.0f s (%s); continuing, it keeps reconnecting",
                    wait_s, self.ws.last_reason or "no answer")

    async def stop(self) -> None:
        await self.ws.stop()

    def _on_connected(self) -> None:
        if self.ws.connections > 1 and self._on_reconnected is not None:
            self._on_reconnected()  # events may have been missed while the socket was down

    def _on_message(self, message: Any, recv_ts: float) -> None:
        if not isinstance(message, dict):
            return
        topic = str(message.get("topic") or "")
        base = topic.split(".", 1)[0]  # "order.linear" and "order" are the same stream for us
        if base in c.PRIVATE_TOPICS:
            self._on_event(base, message, recv_ts)


class LiveOrders:
    """Our orders in flight, plus the position side of any order id seen (bounded)."""

    def __init__(self) -> None:
        self.orders: dict[ClientOrderId, PlacedOrder] = {}
        self._sides: dict[str, PositionSide] = {}

    def __len__(self) -> int:
        return len(self.orders)

    def get(self, client_id: ClientOrderId) -> PlacedOrder | None:
        return self.orders.get(client_id)

    def placed(self, request: OrderRequest, ts: float, side: PositionSide) -> None:
        self.orders[request.client_id] = PlacedOrder(request, ts, side)

    def forget(self, client_id: ClientOrderId) -> PlacedOrder | None:
        return self.orders.pop(client_id, None)

    def remember_side(self, exchange_id: str, side: PositionSide) -> None:
        self._sides[str(exchange_id)] = side
        if len(self._sides) > _MAX_REMEMBERED:  # the oldest ids are the least needed
            del self._sides[next(iter(self._sides))]

    def side_of(self, exchange_id: str) -> PositionSide:
        return self._sides.get(str(exchange_id), PositionSide.BOTH)

    def on_order_event(self, event: Any) -> None:
        """Keep track of an event from the order topic (accepted / cancelled / rejected)."""
        live = self.orders.get(event.client_id)
        match event:
            case OrderAccepted():
                if live is not None:
                    live.exchange_id = event.exchange_id
            case OrderCancelled() | OrderRejected():
                self.orders.pop(event.client_id, None)

    def fill(self, row: dict[str, Any], market_of: MarketOf, recv_ts: float) -> OrderFilled | None:
        """An execution row (a trade) as the fill of the order it belongs to."""
        if not is_trade_execution(row):
            return None
        link = str(row.get("orderLinkId") or "")
        live = self.orders.get(ClientOrderId(link)) if link else None
        side = live.position_side if live is not None else self.side_of(str(row["orderId"]))
        fill = parse_execution(row, market_of, recv_ts, position_side=side,
                               order_type=live.request.order_type if live is not None else None)
        if fill is None or live is None:
            return fill
        if fill.trade_id not in live.trade_ids:
            live.trade_ids.add(fill.trade_id)
            live.filled += fill.amount
            live.exchange_id = fill.exchange_id
        if fill.remaining <= 0:
            self.orders.pop(fill.client_id, None)
        return fill
