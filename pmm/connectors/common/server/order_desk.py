"""One order desk over the simulated exchange, for every venue server: place, cancel, amend, and
each order's life kept current from the simulator's private events.

Venues answer an order request with its fate; the simulator answers after its latency with events.
So the desk submits, lets the simulator reach the moment the request arrives (`SimDriver.settle`),
and leaves the outcome on the `DeskOrder`: accepted (`state` OPEN), refused (`rejection`, with the
simulator's code the venue maps to its own), or still PENDING (the venue answers "unknown").

Time in force over a simulator that only knows limit, post-only and market orders:
- IOC: a limit order whose rest the desk cancels right after it took what it could;
- FOK: the book must hold the whole size at the price or better now (else canceled, cause
  FOK_UNFILLABLE, never sent), then placed as IOC;
- post-only: the simulator refuses one that would cross; `close_refused` turns that into
  "accepted, then canceled" for venues that answer so;
- reduce-only: the simulator refuses one that would open, and cancels one left with nothing to
  reduce (cause REDUCE_ONLY).
Amend is cancel-and-replace of the live leg (the simulator has no amend): the order keeps its ids
and fills; what it does not show is the lost queue place.

Listeners get `(event, order)` for every private event after the order changed (order None for
events about no order of ours: positions, balances, funding), and `(None, order)` when the desk
closed an order itself.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from decimal import Decimal

from pmm.connectors.common.server.desk_order import Cause, DeskOrder, State, Tif
from pmm.connectors.common.sim_driver import SimDriver
from pmm.core.clock import Clock
from pmm.core.events import (
    AccountEvent,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderFilled,
    OrderRejected,
)
from pmm.core.model import ZERO, ClientOrderId, OrderRequest, PositionAction, Side
from pmm.sim.exchange import SimExchange

OrderListener = Callable[[AccountEvent | None, DeskOrder | None], None]


class OrderDesk:
    """Every order placed through one server (see module docstring)."""

    def __init__(self, exchange: SimExchange, driver: SimDriver, clock: Clock, *, closed_kept: int = 10_000) -> None:
        self._exchange = exchange
        self._driver = driver
        self._clock = clock
        self._closed_kept = closed_kept
        self.by_id: dict[str, DeskOrder] = {}
        self.by_sim: dict[str, DeskOrder] = {}
        self.by_client: dict[str, DeskOrder] = {}  # the latest order with each client id
        self._closed: deque[DeskOrder] = deque()
        self._listeners: list[OrderListener] = []
        exchange.subscribe_private(self.on_private)

    def listen(self, listener: OrderListener) -> None:
        self._listeners.append(listener)

    # --- lookups ------------------------------------------------------------------------------------

    def find(self, order_id: str | None, client_id: str | None) -> DeskOrder | None:
        """By the venue's order id first, else by client id."""
        if order_id is not None:
            return self.by_id.get(order_id)
        return self.by_client.get(client_id) if client_id is not None else None

    def live_client_id(self, client_id: str) -> bool:
        found = self.by_client.get(client_id)
        return found is not None and not found.is_done

    def open_orders(self, market: str | None = None) -> list[DeskOrder]:
        return [o for o in self.by_id.values() if o.is_open and (market is None or o.market == market)]

    def orders(self) -> list[DeskOrder]:
        """Every order the desk still keeps, oldest first."""
        return list(self.by_id.values())

    # --- placing ------------------------------------------------------------------------------------

    def fill_or_kill_possible(self, order: DeskOrder) -> bool:
        """The book holds the whole size at the order's price or better right now."""
        book = self._exchange.book(order.market)
        buy = order.side is Side.BUY
        available = ZERO
        for price, size in book.iter_levels(Side.SELL if buy else Side.BUY):
            if order.price is not None and ((price > order.price) if buy else (price < order.price)):
                break
            available += size
        return available >= order.qty

    async def place(self, orders: Iterable[DeskOrder]) -> None:
        """Submit every order and let the simulator answer them (see module docstring)."""
        sent = False
        for order in orders:
            self._register(order)
            if order.tif is Tif.FOK and not self.fill_or_kill_possible(order):
                self.close_refused(order, Cause.FOK_UNFILLABLE)
                continue
            self._submit(order, order.qty)
            sent = True
        if sent:
            await self._driver.settle()

    def _submit(self, order: DeskOrder, qty: Decimal) -> None:
        # The first leg goes by the id the venue chose for it (`sim_id`), else by the order id.
        order.sim_id = (order.sim_id or order.order_id) if not order.amends else f"{order.order_id}~{order.amends}"
        self.by_sim[order.sim_id] = order
        self._exchange.submit_order(OrderRequest(
            client_id=ClientOrderId(order.sim_id), market=order.market, side=order.side,
            order_type=order.sim_type, amount=qty, price=order.price,
            position_action=PositionAction.CLOSE if order.closing else PositionAction.OPEN,
            position_side=order.position_side, reduce_only=order.reduce_only))

    def register(self, order: DeskOrder) -> None:
        """Keep an order the simulator does not see yet (a resting conditional order) by its ids."""
        self._register(order)

    def tell(self, order: DeskOrder) -> None:
        """Tell the listeners of a change the venue made itself (a conditional order rests, fires)."""
        self._tell(None, order)

    def _register(self, order: DeskOrder) -> None:
        order.created = order.updated = order.created or self._clock.now()
        self.by_id[order.order_id] = order
        if order.client_id:
            self.by_client[order.client_id] = order

    def close_refused(self, order: DeskOrder, cause: Cause) -> None:
        """An order the venue accepts and cancels at once (a FOK it cannot fill, a post-only order
        that would take): canceled with `cause`, told to the listeners."""
        order.rejection = None
        order.state, order.cause = State.CANCELED, cause
        order.updated = self._clock.now()
        self._closed_now(order)
        self._tell(None, order)

    # --- canceling and amending -----------------------------------------------------------------

    async def cancel(self, orders: Iterable[DeskOrder], cause: Cause = Cause.USER) -> None:
        """Cancel the open ones; afterwards each is CANCELED, or filled / refused (`cancel_refused`)."""
        if self.cancel_now(orders, cause):
            await self._driver.settle()

    def cancel_now(self, orders: Iterable[DeskOrder], cause: Cause = Cause.USER) -> int:
        """Send the cancels without waiting for the answers (timers, dead-man switches)."""
        count = 0
        for order in orders:
            if order.is_open:
                order.cause, order.cancel_refused = cause, False
                self._exchange.cancel_order(order.market, ClientOrderId(order.sim_id))
                count += 1
        return count

    async def amend(self, order: DeskOrder, qty: Decimal | None, price: Decimal | None) -> None:
        """Replace the live leg with the new size (total, fills included) and/or price. An order
        amended to at most what it filled is canceled; afterwards check `order.state`."""
        new_qty = qty if qty is not None else order.qty
        order.extra["amending"] = True
        self._exchange.cancel_order(order.market, ClientOrderId(order.sim_id))
        await self._driver.settle()
        order.extra.pop("amending", None)
        if order.state is not State.OPEN and order.state is not State.PARTIALLY_FILLED:
            return  # it filled or closed before the cancel arrived
        if new_qty <= order.cum_qty:  # nothing left to work: done with what it filled
            order.cause = Cause.USER
            self._finish(order, State.FILLED if order.cum_qty else State.CANCELED, None)
            self._tell(None, order)
            return
        order.qty, order.price, order.amends = new_qty, price if price is not None else order.price, order.amends + 1
        self._submit(order, new_qty - order.cum_qty)
        await self._driver.settle()

    # --- the simulator's private events ---------------------------------------------------------

    def on_private(self, event: AccountEvent) -> None:
        order: DeskOrder | None = None
        match event:
            case OrderAccepted():
                order = self.by_sim.get(event.client_id)
                if order is None:
                    return
                order.updated = event.ts
                if order.state is State.PENDING:
                    order.state = State.OPEN
                if order.tif in (Tif.IOC, Tif.FOK) and order.price is not None:
                    order.cause = Cause.UNFILLED  # the rest goes at once
                    self._exchange.cancel_order(order.market, ClientOrderId(order.sim_id))
            case OrderRejected():
                order = self.by_sim.get(event.client_id)
                if order is None:
                    return
                order.rejection = event
                if order.amends:  # the replacement leg of an amend: the order ends
                    order.cause = Cause.VENUE
                    self._finish(order, State.CANCELED, event.ts)
                    self._tell(None, order)
                    return
                self._finish(order, State.REJECTED, None)
                return  # venues answer the request; nothing goes on a stream
            case OrderFilled():
                order = self.by_sim.get(event.client_id)
                if order is not None:
                    self._apply_fill(order, event)
            case OrderCancelled():
                order = self.by_sim.get(event.client_id)
                if order is None or order.is_done or order.extra.get("amending"):
                    return
                if order.cause is Cause.NONE:
                    order.cause = self._unrequested_cause(order)
                self._finish(order, State.CANCELED, event.ts)
            case OrderCancelRejected():
                found = self.by_sim.get(event.client_id)
                if found is not None:
                    found.cancel_refused = True
                return
            case _:
                pass
        self._tell(event, order)

    def _apply_fill(self, order: DeskOrder, event: OrderFilled) -> None:
        order.cum_qty += event.amount
        order.cum_value += event.price * event.amount
        order.cum_fee += event.fee
        order.fee_asset = event.fee_asset
        order.pnl += event.realized_pnl
        order.last_fill = event
        order.updated = event.ts
        if order.cum_qty >= order.qty:
            self._finish(order, State.FILLED, event.ts)
        else:
            order.state = State.PARTIALLY_FILLED

    @staticmethod
    def _unrequested_cause(order: DeskOrder) -> Cause:
        if order.price is None:
            return Cause.UNFILLED
        return Cause.REDUCE_ONLY if order.closing else Cause.VENUE

    def _finish(self, order: DeskOrder, state: State, ts: float | None) -> None:
        order.state = state
        order.updated = ts if ts is not None else self._clock.now()
        self._closed_now(order)

    def _closed_now(self, order: DeskOrder) -> None:
        self._closed.append(order)
        while len(self._closed) > self._closed_kept:
            self.forget(self._closed.popleft())

    def forget(self, order: DeskOrder) -> None:
        """Drop a closed order from every lookup (a venue forgets old orders on its own schedule)."""
        self.by_id.pop(order.order_id, None)
        for sim_id in [k for k, v in self.by_sim.items() if v is order]:
            del self.by_sim[sim_id]
        if self.by_client.get(order.client_id) is order:
            del self.by_client[order.client_id]

    def _tell(self, event: AccountEvent | None, order: DeskOrder | None) -> None:
        for listener in self._listeners:
            listener(event, order)
