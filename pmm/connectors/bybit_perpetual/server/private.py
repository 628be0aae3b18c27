"""Private topics of the Bybit server, built from the order desk's events (exchange_apis.md §B6):

- `order` on every order change: New on acceptance, PartiallyFilled / Filled per fill, Cancelled
  when closed (with cancelType and rejectReason), and a Cancelled order for a refusal Bybit closes
  itself (a PostOnly that would take);
- `execution` per fill (execType Trade, BustTrade for the venue's liquidation) and per funding
  settlement (execType Funding);
- `position` whenever the simulator reports a position change (size "0" and side "" when closed);
- `wallet` whenever the simulator reports the balance (after each fill and each settlement).

Every message is `{"id", "topic", "creationTime", "data": [...]}`; the ledger records executions
and transaction-log rows whether or not anybody listens.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server.ledger import Ledger
from pmm.connectors.bybit_perpetual.server.orders import view
from pmm.connectors.bybit_perpetual.server.views import AccountViews
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap
from pmm.connectors.common.server.desk_order import DeskOrder
from pmm.core.clock import Clock
from pmm.core.events import (
    AccountEvent,
    BalanceUpdated,
    FundingPaymentReceived,
    OrderFilled,
    PositionUpdated,
)
from pmm.core.model import PositionMode, PositionSide
from pmm.sim.exchange import SimExchange

Publish = Callable[[str, list[dict[str, Any]], float], None]


class PrivateStreams:
    """Turns the desk's events into ledger rows and private topic messages."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap, ledger: Ledger, views: AccountViews,
                 publish: Publish, clock: Clock) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._ledger = ledger
        self._views = views
        self._publish = publish
        self._clock = clock

    def on_event(self, event: AccountEvent | None, record: DeskOrder | None) -> None:
        match event:
            case OrderFilled():
                execution = self._ledger.on_fill(event, record)
                self._publish(c.TOPIC_EXECUTION, [{"category": c.CATEGORY_LINEAR} | execution.view], event.ts)
                if record is not None:
                    self._order(record, event.ts)
            case PositionUpdated():
                self._ledger.on_position(event)
                self._position(event)
            case BalanceUpdated():
                self._publish(c.TOPIC_WALLET, [self._views.wallet(None)], event.ts)
            case FundingPaymentReceived():
                executions = self._ledger.on_funding(event)
                if executions:
                    self._publish(c.TOPIC_EXECUTION, [{"category": c.CATEGORY_LINEAR} | e.view for e in executions],
                                  event.ts)
            case _:
                if record is not None:
                    self._order(record, event.ts if event is not None else self._clock.now())

    def _order(self, record: DeskOrder, ts: float) -> None:
        self._publish(c.TOPIC_ORDER, [view(record, self._symbols, with_category=True)], ts)

    def _position(self, event: PositionUpdated) -> None:
        mode = self._exchange.position_mode()
        idx_side = PositionSide.BOTH if mode is PositionMode.ONEWAY else event.side
        if mode is PositionMode.ONEWAY and event.position is None:
            other = PositionSide.SHORT if event.side is PositionSide.LONG else PositionSide.LONG
            if self._ledger.book(event.market, other).position is not None:
                return  # a one-way flip: the other side's update shows the position
        book = self._ledger.book(event.market, event.side)
        view = self._views.position_view(event.market, idx_side, event.position, book, mode, with_category=True)
        self._publish(c.TOPIC_POSITION, [view], event.ts)

    def publish_positions(self, market: str, ts: float) -> None:
        """The market's positions after a settings change (leverage, margin mode)."""
        symbol = self._symbols.symbol(market)
        self._publish(c.TOPIC_POSITION, self._views.positions(symbol, with_category=True, include_empty=True), ts)
