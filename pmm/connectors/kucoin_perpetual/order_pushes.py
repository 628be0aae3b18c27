"""What KuCoin's order pushes (`/contractMarket/tradeOrders`) mean as pmm events.

- `open`: the order rests (OrderAccepted, unless the place answer already said so);
- `match`: one fill. KuCoin's push carries no fee and no realised PnL: the fee is the fill's value
  times the account's rate for its liquidity (from the contract), rounded to 8 decimals half up as
  KuCoin books money, and the PnL comes from the gateway's first-in-first-out lots (`pnl.py`);
- `canceled`: OrderCancelled, or OrderRejected for a post-only order KuCoin cancelled before it
  ever opened, with nothing filled and no cancel asked for: the order would have taken liquidity.

KuCoin's documented push has no `clientOid`: an order is also known by the `orderId` its place
answer named (`placed`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pmm.connectors.common.live_orders import LiveOrders
from pmm.connectors.kucoin_perpetual.parse import OrderChange
from pmm.connectors.kucoin_perpetual.pnl import LotBook
from pmm.core.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected
from pmm.core.model import ClientOrderId, Liquidity, OrderType, TradeId

_Q8 = Decimal("0.00000001")


class OrderPushes:
    def __init__(self, live: LiveOrders, lots: LotBook, fee_rates: Callable[[str], tuple[Decimal, Decimal]],
                 quote_of: Callable[[str], str]) -> None:
        self._live = live
        self._lots = lots
        self._fee_rates = fee_rates
        self._quote_of = quote_of  # market -> its settlement asset (the fee's)
        self._opened: set[ClientOrderId] = set()  # orders KuCoin said are open (in the book)
        self._cancelling: set[ClientOrderId] = set()
        self._client_ids: dict[str, ClientOrderId] = {}  # orderId -> our client id

    def placed(self, order_id: str, client_id: ClientOrderId) -> None:
        self._client_ids[order_id] = client_id

    def cancelling(self, client_ids: list[ClientOrderId]) -> None:
        self._cancelling.update(client_ids)

    def named(self, change: OrderChange) -> OrderChange:
        known = self._client_ids.get(change.exchange_id)
        return change if known is None or known == change.client_id else replace(change, client_id=known)

    def events(self, change: OrderChange, recv_ts: float) -> list[Any]:
        live = self._live.get(change.client_id)
        ts = change.ts or recv_ts
        events: list[Any] = []
        if change.kind == "open":
            self._opened.add(change.client_id)
            if live is None or live.exchange_id is None:
                events.append(OrderAccepted(change.client_id, change.exchange_id, change.market, ts, recv_ts))
        elif change.kind == "match":
            if live is not None and live.exchange_id is None:  # the fill came before the place reply
                events.append(OrderAccepted(change.client_id, change.exchange_id, change.market, ts, recv_ts))
            events.append(self._fill(change, ts, recv_ts))
        elif change.kind == "canceled":
            refused = (live is not None and live.request.order_type is OrderType.LIMIT_MAKER and change.filled == 0
                       and change.client_id not in self._opened and change.client_id not in self._cancelling)
            if refused:
                events.append(OrderRejected(change.client_id, change.market, "post-only order would have crossed the "
                                            "book (KuCoin cancelled it before it opened)", None, ts, recv_ts))
            else:
                events.append(OrderCancelled(change.client_id, change.exchange_id, change.market, ts, recv_ts))
        if change.kind in ("filled", "canceled"):
            self._client_ids.pop(change.exchange_id, None)
            self._opened.discard(change.client_id)
            self._cancelling.discard(change.client_id)
        return events

    def _fill(self, change: OrderChange, ts: float, recv_ts: float) -> OrderFilled:
        live = self._live.get(change.client_id)
        maker, taker = self._fee_rates(change.market)
        rate = maker if change.liquidity is Liquidity.MAKER else taker
        fee = (change.match_price * change.match_size * rate).quantize(_Q8, rounding=ROUND_HALF_UP)
        position_side = change.position_side if live is None or live.position_side is None else live.position_side
        pnl = self._lots.book(change.trade_id, change.market, change.side, position_side, change.match_price,
                              change.match_size)
        order_type = live.request.order_type if live is not None else OrderType.LIMIT
        return OrderFilled(change.client_id, change.exchange_id, TradeId(change.trade_id), change.market, change.side,
                           order_type, change.match_price, change.match_size, change.remaining, fee,
                           self._quote_of(change.market), change.liquidity, position_side, pnl, ts, recv_ts)
