"""Private topics of the KuCoin server, built from the order desk's and trigger desk's events:

- `/contractMarket/tradeOrders` (subject `orderChange`) and `tradeOrders:{symbol}`
  (`symbolOrderChange`): `open` when an order rests, `match` per fill (before `filled`), `filled`,
  `canceled` (a post-only order that would take, or a market order with nothing to take, gets only
  `canceled`);
- `/contract/position:{symbol}` and `/contract/positionAll` (`position.change` on every change,
  `position.settlement` at a funding settlement);
- `/contractAccount/wallet` (`walletBalance.change`);
- `/contractMarket/advancedOrders` (`stopOrder`): stop orders placed, triggered, cancelled.

The pushes of one account event form one user frame for the fault injector (duplicated or
reordered together). Fills and funding also become ledger bills whether or not anybody listens.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.server.desk_order import DeskOrder, State
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.stream_hub import StreamHub
from pmm.connectors.common.server.triggers import TriggerOrder
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.server.views import Views
from pmm.connectors.kucoin_perpetual.server.wire import ms, num, ns
from pmm.core.clock import Clock
from pmm.core.events import (
    AccountEvent,
    BalanceUpdated,
    FundingPaymentReceived,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    PositionUpdated,
)
from pmm.core.model import PositionMode, PositionSide
from pmm.sim.exchange import SimExchange

USER_ID = "633559791e1cbc0001f319bc"
Key = tuple[str, str | None]


class PrivateStreams:
    def __init__(self, exchange: SimExchange, views: Views, ledger: Ledger, hub: StreamHub, faults: FaultInjector,
                 clock: Clock) -> None:
        self._exchange = exchange
        self._views = views
        self._ledger = ledger
        self._hub = hub
        self._faults = faults
        self._clock = clock
        self._out: list[tuple[Key, dict[str, Any]]] = []

    def _push(self, keys: list[Key], topic: str, subject: str, data: dict[str, Any]) -> None:
        for key in keys:
            if self._hub.has_subscribers(key):
                shown = key[0] if key[1] is None else f"{key[0]}:{key[1]}"
                self._out.append((key, {"topic": shown if topic == "" else topic, "type": "message",
                                        "subject": subject, "userId": USER_ID, "channelType": "private",
                                        "data": data}))

    def _flush(self) -> None:
        if not self._out:
            return
        pushes, self._out = self._out, []
        for frame in self._faults.shape_frame("user", "private", pushes):
            for key, payload in frame:
                self._hub.publish(key, payload)

    # --- events -------------------------------------------------------------------------------------

    def on_order_event(self, event: AccountEvent | None, order: DeskOrder | None) -> None:
        match event:
            case OrderFilled():
                self._ledger.on_fill(event, order)
                if order is not None:
                    self._order(order, "match", fill=event)
                    if order.state is State.FILLED:
                        self._order(order, "filled")
            case OrderAccepted():
                if order is not None and order.is_open:
                    self._order(order, "open")
            case OrderCancelled():
                if order is not None and order.state is State.CANCELED:
                    self._order(order, "canceled")
            case PositionUpdated():
                self._position(event)
            case BalanceUpdated():
                self._wallet(event.balance.asset, event.ts)
            case FundingPaymentReceived():
                self._ledger.on_funding(event)
                self._settlement(event)
            case None:
                if order is not None and order.state is State.CANCELED:
                    self._order(order, "canceled")
            case _:
                pass
        self._flush()

    def on_trigger(self, trigger: TriggerOrder) -> None:
        self._push([(spec.TOPIC_ADVANCED_ORDERS, None)], "", "stopOrder", self._views.stop_push(trigger))
        self._flush()

    def _order(self, order: DeskOrder, kind: str, *, fill: Any = None) -> None:
        symbol = self._views.symbols.symbol(order.market)
        data = self._views.order_push(order, kind, fill=fill)
        self._push([(spec.TOPIC_TRADE_ORDERS, None)], "", "orderChange", data)
        self._push([(spec.TOPIC_TRADE_ORDERS, symbol)], "", "symbolOrderChange", data)

    def _position(self, event: PositionUpdated) -> None:
        key = (event.market, event.side)
        if event.position is not None:
            self._views.opened.setdefault(key, event.ts)
        else:
            self._views.opened.pop(key, None)
            other = PositionSide.SHORT if event.side is PositionSide.LONG else PositionSide.LONG
            oneway = self._exchange.position_mode() is PositionMode.ONEWAY
            if oneway and any(p.market == event.market and p.side is other for p in self._exchange.positions()):
                return  # a one-way flip: the other side's update shows the position
        symbol = self._views.symbols.symbol(event.market)
        row = self._views.position(event.position, event.market, event.side, event.ts)
        row["changeReason"] = "positionChange"
        self._push([(spec.TOPIC_POSITION, symbol), (spec.TOPIC_POSITION_ALL, None)], "", "position.change", row)

    def push_position(self, market: str) -> None:
        """After a settings change (leverage, margin mode): the market's positions as they are now."""
        symbol = self._views.symbols.symbol(market)
        for row in self._views.positions(self._clock.now(), symbol):
            row["changeReason"] = "marginChange"
            self._push([(spec.TOPIC_POSITION, symbol), (spec.TOPIC_POSITION_ALL, None)], "", "position.change", row)
        self._flush()

    def _settlement(self, pay: FundingPaymentReceived) -> None:
        symbol = self._views.symbols.symbol(pay.market)
        lots = self._views.symbols.lots(symbol, abs(pay.position_amount))
        data = {"fundingTime": pay.funding_time_ms, "qty": lots if pay.position_amount >= 0 else -lots,
                "markPrice": num(pay.mark_price), "fundingRate": num(pay.rate), "fundingFee": num(-pay.amount),
                "ts": ns(pay.ts), "settleCurrency": pay.asset, "symbol": symbol}
        self._push([(spec.TOPIC_POSITION, symbol), (spec.TOPIC_POSITION_ALL, None)], "", "position.settlement", data)

    def _wallet(self, asset: str, ts: float) -> None:
        self._push([(spec.TOPIC_WALLET, None)], "", "walletBalance.change", self._views.wallet(asset, ts))

    # --- snapshots after a subscribe ----------------------------------------------------------------

    def first_messages(self, key: Key) -> list[dict[str, Any]]:
        """KuCoin pushes nothing on subscribe; the client reads REST for the state."""
        del key
        return []

    def now_ms(self) -> int:
        return ms(self._clock.now())
