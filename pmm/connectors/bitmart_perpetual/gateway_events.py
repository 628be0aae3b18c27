"""BitMart `futures/order` pushes -> pmm order events, for the gateway.

One push is `{"action", "order": {...}}`: action 1 is a fill (its `last_trade`: lastTradeID,
fillQty in contracts, fillPrice, fee negative when charged), 2 an order accepted, 3 a cancel (4/5
venue cancels on liquidation / ADL). The order's `state` and `deal_size` say where it stands.
BitMart says neither maker/taker nor why an order ended, so:

- a fill's liquidity follows from the order type and the fee (`parse.liquidity_of`);
- a Maker Only order that ends without a fill, and without this gateway having asked to cancel it,
  was refused for crossing the book: `OrderRejected` (pmm's post-only refusal), not a cancel.

BitMart's push carries no realized PnL either: a fill waits (`FILL_DETAIL_WAITS_S`) until the
account's trade rows (`/contract/private/trades`) give its `realised_profit`, `exec_type` and
`paid_fees`, and the order's later events wait behind it, so each order's events keep their order.
A fill the trade rows never show goes out as pushed (no PnL) with a warning.

It also keeps order id -> client id (trade rows name only the order id) and emits `OrderAccepted`
for a place reply, or before a fill that came first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
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

log = logging.getLogger("pmm.bitmart.gateway")

_FILL_ACTIONS = (spec.ACTION_MATCH, 6, 8, 9)  # a match, a partial liquidation, passive and active ADL fills
POST_ONLY_REASON = "maker-only order would have taken liquidity: BitMart canceled it unfilled"
FILL_DETAIL_WAITS_S = (0.05, 0.3, 1.0, 2.0)  # before each read of the trade rows a pushed fill waits for

# (symbol, since seconds) -> the account's trade rows of that symbol since then
ReadTrades = Callable[[str, float], Awaitable[list[dict[str, Any]]]]
Spawn = Callable[[Coroutine[Any, Any, Any]], Any]


class OrderPushes:
    def __init__(self, live: LiveOrders, emit: Callable[[Event], None], clock: Clock,
                 fee_rates: Callable[[str], tuple[Decimal, Decimal]], read_trades: ReadTrades | None = None,
                 spawn: Spawn | None = None, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._live = live
        self._emit = emit
        self._clock = clock
        self._fee_rates = fee_rates
        self._read_trades = read_trades
        self._spawn = spawn
        self._sleep = sleep
        self._client_ids: dict[ExchangeOrderId, ClientOrderId] = {}
        self._cancel_asked: set[ClientOrderId] = set()
        # Events waiting behind a fill whose details are being read, per order, and that fill's symbol.
        self._held: dict[ClientOrderId, list[Event]] = {}
        self._symbols: dict[ClientOrderId, str] = {}
        self._reading = False
        self._done: set[str] = set()  # trade ids of held fills whose details were read

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
        if live is None or live.exchange_id is not None or request.client_id in self._held:
            return  # the private stream already accepted or finished it (or its acceptance waits to go out)
        live.exchange_id = order_id
        now = self._clock.now()
        self._emit(OrderAccepted(request.client_id, order_id, request.market, now, now))

    def on_push(self, item: dict[str, Any], inst: Instrument, recv_ts: float) -> None:
        events = self.events(item, inst, recv_ts)
        client_id = client_id_of(item["order"])
        fills = [e for e in events if isinstance(e, OrderFilled)]
        if self._read_trades is None or (not fills and client_id not in self._held):
            self._send(events)
            return
        held = self._held.setdefault(client_id, [])
        for event in events:
            if isinstance(event, OrderFilled) and any(isinstance(h, OrderFilled) and h.trade_id == event.trade_id
                                                      for h in held):
                log.info("dropped a fill BitMart pushed again (trade %s of order %s)", event.trade_id, client_id)
                continue
            held.append(event)
        self._symbols[client_id] = inst.symbol
        if not self._reading and self._spawn is not None:
            self._reading = True
            self._spawn(self._read_details())

    def _send(self, events: list[Event]) -> None:
        for event in events:
            if self._live.on_event(event):
                self._emit(event)
            elif isinstance(event, OrderFilled):
                log.info("dropped a fill BitMart pushed again (trade %s of order %s)", event.trade_id,
                         event.client_id)
            if isinstance(event, (OrderCancelled, OrderRejected)):
                self._cancel_asked.discard(event.client_id)

    async def _read_details(self) -> None:
        """Read the trade rows until every held fill has its details, then let each order's events go."""
        assert self._read_trades is not None
        try:
            for wait in FILL_DETAIL_WAITS_S:
                await self._sleep(wait)
                for symbol in sorted(set(self._symbols.values())):
                    held = [e for cid, events in self._held.items() if self._symbols.get(cid) == symbol
                            for e in events if isinstance(e, OrderFilled) and e.trade_id not in self._done]
                    if not held:
                        continue
                    try:
                        rows = await self._read_trades(symbol, min(e.ts for e in held) - 2.0)
                    except Exception as exc:  # noqa: BLE001 - a failed read only leaves the fills as pushed
                        log.warning("could not read BitMart's trade rows for fill details (%s)", exc)
                        continue
                    self._complete({str(r.get("trade_id")): r for r in rows})
                if not any(isinstance(e, OrderFilled) and e.trade_id not in self._done
                           for events in self._held.values() for e in events):
                    break
            else:
                log.warning("BitMart's trade rows do not show %d pushed fill(s) yet; passing them on without "
                            "their realized PnL", sum(isinstance(e, OrderFilled) and e.trade_id not in self._done
                                                      for events in self._held.values() for e in events))
        finally:
            self._reading = False
            waiting, self._held, self._symbols, self._done = self._held, {}, {}, set()
            for events in waiting.values():
                self._send(events)

    def _complete(self, rows: dict[str, dict[str, Any]]) -> None:
        """Replace each held fill that the trade rows show by one with their PnL, fee and liquidity."""
        for events in self._held.values():
            for i, event in enumerate(events):
                if not isinstance(event, OrderFilled) or event.trade_id in self._done:
                    continue
                row = rows.get(str(event.trade_id))
                if row is None:
                    continue
                self._done.add(event.trade_id)
                events[i] = replace(event, realized_pnl=dec_or_zero(row.get("realised_profit")),
                                    fee=dec_or_zero(row.get("paid_fees")) if "paid_fees" in row else event.fee,
                                    liquidity=Liquidity.MAKER if row.get("exec_type") == "Maker"
                                    else Liquidity.TAKER)

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
