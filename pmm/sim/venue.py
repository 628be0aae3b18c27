"""What happens inside the venue when something is due: market steps, order requests, fills,
funding settlements and liquidations, each answered with events.

`Venue` holds the trading state (markets, account, open orders, history); `SimExchange` owns it,
decides WHEN things happen (its agenda) and sets `now` before each call.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from pmm.core.events import (
    AccountEvent,
    BalanceUpdated,
    BookDelta,
    BookSnapshot,
    FundingInfoUpdated,
    FundingPaymentReceived,
    MarketEvent,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderFilled,
    OrderRejected,
    PositionUpdated,
    Trade,
)
from pmm.core.model import (
    ZERO,
    ClientOrderId,
    ExchangeOrderId,
    FillReport,
    FundingPaymentReport,
    Liquidity,
    OrderRequest,
    OrderType,
    PositionMode,
    PositionSide,
    Side,
    TradeId,
)
from pmm.sim.account import Account
from pmm.sim.funding import funding_amount, funding_time_ms, next_funding_time
from pmm.sim.generators import MarkUpdate
from pmm.sim.market import SimMarket
from pmm.sim.matching import fill_from_levels, fill_from_trade, take_liquidity
from pmm.sim.num import round8
from pmm.sim.orders import SimOrder
from pmm.sim.positions import PositionState
from pmm.sim.queue import QueueTracker, trade_reaches
from pmm.sim.settings import SimSettings
from pmm.sim.validation import check_order, is_reducing


_MID_MARK_INTERVAL_S = 1.0  # marks taken at the book's mid are published at most this often

class Venue:
    """The simulated venue's trading state and the rules that change it (see module docstring)."""

    def __init__(
        self,
        settings: SimSettings,
        markets: dict[str, SimMarket],
        account: Account,
        emit_public: Callable[[MarketEvent], None],
        emit_private: Callable[[AccountEvent], None],
    ) -> None:
        self.settings = settings
        self.markets = markets
        self.account = account
        self.orders: dict[ClientOrderId, SimOrder] = {}  # open orders, oldest first
        self.fills: list[FillReport] = []
        self.fill_times: list[float] = []
        self.funding_payments: list[FundingPaymentReport] = []
        self.counters = {"order_id": 0, "fill_id": 0, "liquidation": 0, "order_seq": 0}
        self.now = settings.start_ts
        self.next_funding = next_funding_time(settings.start_ts, settings.funding_interval_s)
        self._emit_public = emit_public
        self._emit_private = emit_private
        self.queue = QueueTracker(settings.queue_model) if settings.queue_model is not None else None

    def _next_id(self, counter: str) -> int:
        self.counters[counter] += 1
        return self.counters[counter]

    def _publish_funding_info(self, m: SimMarket) -> None:
        info = m.funding_info(self.next_funding, self.settings.funding_interval_s)
        self._emit_public(FundingInfoUpdated(info, self.now, self.now))

    # --- market steps -------------------------------------------------------------------------

    def on_market_step(self, m: SimMarket) -> None:
        snapshot: BookSnapshot | None = None
        deltas: list[BookDelta] = []
        marked = False
        for item in m.source.step():
            if isinstance(item, BookSnapshot):
                m.book.defer_snapshot(item)
                self._emit_public(item)
                snapshot = item
            elif isinstance(item, MarkUpdate):
                m.apply_mark(item)
                marked = True
            elif isinstance(item, Trade):
                m.book.last_trade_price = item.price
                self._emit_public(item)
                resting = m.resting.bids if item.aggressor is Side.SELL else m.resting.asks
                if resting:
                    if self.queue is None:
                        fill_from_trade(resting, item.price, item.amount, self._execute)
                    else:
                        self._fill_from_trade_queued(resting, item.price, item.amount)
            else:
                touched = self._queued_levels(m, item) if self.queue is not None and m.resting else ()
                m.book.apply_delta(item)
                for order, old_size in touched:
                    self.queue.level_changed(order.client_id, old_size, m.book.size_at(order.side, order.price))  # type: ignore[union-attr,arg-type]
                self._emit_public(item)
                deltas.append(item)
        if snapshot is not None and self.queue is not None:
            for order in (*m.resting.bids, *m.resting.asks):
                self.queue.capped(order.client_id, m.book.size_at(order.side, order.price))  # type: ignore[arg-type]
        book_moved = snapshot is not None or bool(deltas)
        mid_marked = book_moved and m.mark_at_mid()
        if (marked or mid_marked) and m.mark is not None:
            self.account.marks[m.name] = m.mark
            # A mark at the mid moves with every touch change: like a venue's mark-price stream it
            # is published at most once per (simulated) second; the account uses it at once.
            if marked or self.now >= m.mid_mark_due:
                m.mid_mark_due = self.now + _MID_MARK_INTERVAL_S
                self._publish_funding_info(m)
        if book_moved and m.resting:
            self._match_book(m, snapshot, deltas)
        if self.account.positions:
            self.check_liquidation()

    def _fill_from_trade_queued(self, resting: list[SimOrder], price: Decimal, amount: Decimal) -> None:
        """`fill_from_trade` with queue position (pmm/sim/queue.py): a print at our price reaches us
        only past the queue ahead of us; a print through our price fills us."""
        queue = self.queue
        assert queue is not None
        left = amount
        for order in tuple(resting):  # best first; execute() removes finished orders
            if left <= 0:
                return
            reaches, through = trade_reaches(order.side, order.price, price)  # type: ignore[arg-type]
            if not reaches:
                return
            if not order.is_open:
                continue
            reach = left if through else queue.reaching(order.client_id, left)
            if reach <= 0:
                continue
            remaining = order.remaining
            left -= self._execute(order, order.price, remaining if remaining < reach else reach,  # type: ignore[arg-type]
                                  Liquidity.MAKER)

    @staticmethod
    def _queued_levels(m: SimMarket, delta: BookDelta) -> list[tuple[SimOrder, Decimal]]:
        """Our resting orders whose price level `delta` changes, with the level's size before it."""
        touched = []
        for orders, levels, side in ((m.resting.bids, delta.bids, Side.BUY), (m.resting.asks, delta.asks, Side.SELL)):
            if not orders or not levels:
                continue
            prices = {price for price, _ in levels}
            touched += [(o, m.book.size_at(side, o.price)) for o in orders if o.price in prices]  # type: ignore[arg-type]
        return touched

    def _match_book(self, m: SimMarket, snapshot: BookSnapshot | None, deltas: list[BookDelta]) -> None:
        """Resting orders the book moved through fill at their price (see matching.py).

        After a snapshot the whole opposite side may fill us; after deltas only the liquidity
        they brought (so a level that stays crossed is not consumed twice).
        """
        resting = m.resting
        if snapshot is not None:
            bids, asks = snapshot.bids, snapshot.asks
        else:
            # Usually nothing crosses: compare the deltas' best new levels with our best orders
            # before sorting anything.
            crossing = False
            if resting.bids:
                ours = resting.bids[0].price
                crossing = any(s > 0 and p <= ours for d in deltas for p, s in d.asks)  # type: ignore[operator]
            if not crossing and resting.asks:
                ours = resting.asks[0].price
                crossing = any(s > 0 and p >= ours for d in deltas for p, s in d.bids)  # type: ignore[operator]
            if not crossing:
                return
            bids = tuple(sorted(((p, s) for d in deltas for p, s in d.bids if s > 0), reverse=True))
            asks = tuple(sorted((p, s) for d in deltas for p, s in d.asks if s > 0))
        if resting.bids and asks and asks[0][0] <= resting.bids[0].price:  # type: ignore[operator]
            fill_from_levels(resting.bids, asks, self._execute)
        if resting.asks and bids and bids[0][0] >= resting.asks[0].price:  # type: ignore[operator]
            fill_from_levels(resting.asks, bids, self._execute)

    # --- requests -----------------------------------------------------------------------------

    def on_order(self, request: OrderRequest) -> None:
        now = self.now
        m = self.markets.get(request.market)
        if m is None:
            reason = f"the simulated exchange has no market {request.market}"
            self._emit_private(OrderRejected(request.client_id, request.market, reason, "unknown_market", now, now))
            return
        rejection = check_order(request, m.rules, self.account, m.book, self.orders, lambda: self.available(m.quote))
        if rejection is not None:
            self._emit_private(
                OrderRejected(request.client_id, request.market, rejection.reason, rejection.code, now, now)
            )
            return
        order = SimOrder(
            request,
            ExchangeOrderId(str(self._next_id("order_id"))),
            reducing=is_reducing(request, self.account.position_mode),
            created_ts=now,
            seq=self._next_id("order_seq"),
        )
        self.orders[order.client_id] = order
        self._emit_private(OrderAccepted(order.client_id, order.exchange_id, order.market, now, now))
        buy = order.side is Side.BUY
        best = m.book.best_ask if buy else m.book.best_bid
        if best is not None and (
            order.order_type is OrderType.MARKET or (best <= order.price if buy else best >= order.price)  # type: ignore[operator]
        ):
            take_liquidity(order, m.book.iter_levels(Side.SELL if buy else Side.BUY), self._execute)
        if order.is_open:
            if order.order_type is OrderType.MARKET:
                self.cancel(order)  # what the book could not fill is cancelled
            else:
                order.resting = True
                m.resting.add(order)
                if self.queue is not None:  # behind everything the book shows at its price
                    self.queue.join(order.client_id, m.book.size_at(order.side, order.price))  # type: ignore[arg-type]
        if self.account.positions:
            self.check_liquidation()

    def available(self, asset: str) -> Decimal:
        return self.account.available(asset, self.orders.values())

    def on_cancel(self, market: str, client_id: ClientOrderId) -> None:
        order = self.orders.get(client_id)
        if order is None or order.market != market:
            reason = f"unknown order {client_id} on {market}: never accepted, already filled or cancelled"
            self._emit_private(OrderCancelRejected(client_id, market, reason, self.now, self.now))
            return
        self.cancel(order)

    def on_cancel_all(self, market: str) -> None:
        for order in [o for o in self.orders.values() if o.market == market]:
            self.cancel(order)

    def cancel(self, order: SimOrder) -> None:
        self._close_order(order)
        self._emit_private(OrderCancelled(order.client_id, order.exchange_id, order.market, self.now, self.now))

    def _close_order(self, order: SimOrder) -> None:
        order.is_open = False
        if self.orders.get(order.client_id) is order:
            del self.orders[order.client_id]
        if order.resting:
            order.resting = False
            self.markets[order.market].resting.remove(order)
            if self.queue is not None:
                self.queue.leave(order.client_id)

    # --- fills --------------------------------------------------------------------------------

    def _execute(self, order: SimOrder, price: Decimal, qty: Decimal, liquidity: Liquidity) -> Decimal:
        """Fill `qty` of our order (clipped to the position for reducing orders); returns the qty."""
        if order.reducing:
            reducible = self.account.reducible(order.market, order.side, order.position_side)
            if qty > reducible:
                qty = reducible
            if qty <= 0:
                self.cancel(order)  # nothing left to reduce
                return ZERO
        order.filled += qty
        self._book_fill(order.market, order.client_id, order.exchange_id, order.side, order.order_type,
                        order.position_side, price, qty, liquidity, order.remaining)
        if order.remaining <= 0:
            self._close_order(order)
        self._expire_reduce_only(order.market)
        return qty

    def _book_fill(
        self,
        market: str,
        client_id: ClientOrderId,
        exchange_id: ExchangeOrderId,
        side: Side,
        order_type: OrderType,
        position_side: PositionSide,
        price: Decimal,
        qty: Decimal,
        liquidity: Liquidity,
        remaining: Decimal,
    ) -> None:
        """Account for one execution and tell the listeners: the fill, positions, the balance."""
        settings = self.settings
        quote = self.markets[market].quote
        fee = round8(price * qty * (settings.maker_fee if liquidity is Liquidity.MAKER else settings.taker_fee))
        realized, touched = self.account.apply_fill(market, side, position_side, price, qty, fee)
        trade_id = TradeId(f"F{self._next_id('fill_id')}")
        now = self.now
        self.fills.append(
            FillReport(trade_id, client_id, exchange_id, market, side, price, qty, fee, quote, liquidity,
                       position_side, realized, now)
        )
        self.fill_times.append(now)
        self._emit_private(
            OrderFilled(client_id, exchange_id, trade_id, market, side, order_type, price, qty, remaining, fee,
                        quote, liquidity, position_side, realized, now, now)
        )
        for pos_side in touched:
            self._emit_position(market, pos_side)
        self._emit_balance(quote)

    def _emit_position(self, market: str, side: PositionSide) -> None:
        pos = self.account.position(market, side)
        report = None if pos is None else self.account.report(pos)
        self._emit_private(PositionUpdated(market, side, report, self.now, self.now))

    def _emit_balance(self, asset: str) -> None:
        balance = self.account.balance(asset, self.orders.values())
        self._emit_private(BalanceUpdated(balance, self.now, self.now))

    def _expire_reduce_only(self, market: str) -> None:
        """Reduce-only orders left without a position to reduce are cancelled (as venues do)."""
        for order in [o for o in self.orders.values() if o.market == market and o.reducing]:
            if order.is_open and self.account.reducible(market, order.side, order.position_side) <= 0:
                self.cancel(order)

    # --- funding and liquidation --------------------------------------------------------------

    def settle_funding(self) -> float:
        """Settle funding due now for every open position (hedge sides of a market netted into one
        payment); returns the next settlement time."""
        funding_ts = self.next_funding
        time_ms = funding_time_ms(funding_ts)
        by_market: dict[str, list[PositionState]] = {}
        for pos in self.account.positions.values():
            by_market.setdefault(pos.market, []).append(pos)
        for name, positions in by_market.items():
            m = self.markets[name]
            mark = m.mark if m.mark is not None else positions[0].entry_price
            total = net_size = ZERO
            for pos in positions:
                amount = funding_amount(pos.signed_size, mark, m.rate)
                self.account.apply_funding(pos, amount)
                total += amount
                net_size += pos.signed_size
            self.funding_payments.append(FundingPaymentReport(name, time_ms, m.rate, total, m.quote, net_size, mark))
            self._emit_private(
                FundingPaymentReceived(name, time_ms, m.rate, total, m.quote, net_size, mark, self.now, self.now)
            )
            for pos in positions:
                self._emit_position(name, pos.side)
            self._emit_balance(m.quote)
        self.next_funding = next_funding_time(funding_ts, self.settings.funding_interval_s)
        for m in self.markets.values():  # the advertised next funding time moved on
            if m.mark is not None:
                self._publish_funding_info(m)
        if self.account.positions:
            self.check_liquidation()
        return self.next_funding

    def check_liquidation(self) -> None:
        account = self.account
        isolated = account.isolated_breached()
        if isolated:
            self._liquidate(isolated)
        for asset in sorted({account.quotes[pos.market] for pos in account.positions.values()}):
            cross = account.cross_breached(asset)
            if cross:
                self._liquidate(cross)

    def _liquidate(self, positions: list[PositionState]) -> None:
        """Cancel the markets' open orders, then close each position at mark as a taker."""
        markets = {pos.market for pos in positions}
        for order in [o for o in self.orders.values() if o.market in markets]:
            self.cancel(order)
        oneway = self.account.position_mode is PositionMode.ONEWAY
        for pos in positions:
            if self.account.position(pos.market, pos.side) is not pos:
                continue
            mark = self.markets[pos.market].mark
            assert mark is not None
            self._book_fill(
                pos.market,
                ClientOrderId(f"liquidation-{self._next_id('liquidation')}"),
                ExchangeOrderId(str(self._next_id("order_id"))),
                pos.side.closing_side,
                OrderType.MARKET,
                PositionSide.BOTH if oneway else pos.side,
                mark,
                pos.size,
                Liquidity.TAKER,
                ZERO,
            )
