"""The account's history as a venue server reports it: one row ("bill") per fill and per funding
settlement, with the balance change and the wallet balance after it, in venue-neutral terms.

Venues serve it as fills / executions (the fill rows) and as bills / income / transaction logs
(every row); a funding row's change is signed from the account's side (negative = paid). Kept from
the simulator's events whether or not anybody listens, so "fills since T" and "funding since T"
are answered after the fact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from pmm.connectors.common.server.desk_order import DeskOrder
from pmm.core.events import FundingPaymentReceived, OrderFilled
from pmm.core.model import ZERO
from pmm.sim.exchange import SimExchange


@dataclass(frozen=True, slots=True)
class Bill:
    """One balance change: a fill (`fill`, and its `order` when it was ours) or a funding payment."""

    bill_id: str
    market: str
    asset: str
    change: Decimal  # signed: realised PnL - fee of a fill; the payment of a funding row
    balance_after: Decimal
    ts: float
    fill: OrderFilled | None = None
    order: DeskOrder | None = None
    funding: FundingPaymentReceived | None = None

    @property
    def is_funding(self) -> bool:
        return self.funding is not None


class Ledger:
    """Every bill since the server started, oldest first."""

    def __init__(self, exchange: SimExchange, new_bill_id: Callable[[], str]) -> None:
        self._exchange = exchange
        self._new_bill_id = new_bill_id
        self.bills: list[Bill] = []

    def on_fill(self, event: OrderFilled, order: DeskOrder | None) -> Bill:
        bill = Bill(self._new_bill_id(), event.market, event.fee_asset, event.realized_pnl - event.fee,
                    self._wallet(event.fee_asset), event.ts, fill=event, order=order)
        self.bills.append(bill)
        return bill

    def on_funding(self, event: FundingPaymentReceived) -> Bill:
        bill = Bill(self._new_bill_id(), event.market, event.asset, event.amount, self._wallet(event.asset),
                    event.ts, funding=event)
        self.bills.append(bill)
        return bill

    def fills(self) -> list[Bill]:
        return [b for b in self.bills if b.fill is not None]

    def _wallet(self, asset: str) -> Decimal:
        for balance in self._exchange.balances():
            if balance.asset == asset:
                return balance.total
        return ZERO
