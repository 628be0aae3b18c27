"""The in-process simulated USDT-margined linear perpetual exchange (docs/CONTRACTS.md).

Time only moves in `advance_to(t)`: everything due at or before `t` (market steps, order requests
after `latency_s`, funding settlements) is processed in time order, ties first-in first-out, and
answered with events from `pmm.core.events` stamped with the processing time (`recv_ts == ts`).

Start of time: the market sources and the funding schedule begin at the FIRST `advance_to(t)`,
whatever `t` is. Until then `next_event_time()` answers `settings.start_ts`, so a `--fast` driver
(which advances to `next_event_time()`) starts at `start_ts`, and a real-time driver (which
advances to the wall clock) starts now. Requests submitted before that first call are timed from
`start_ts`.

The venue's rules (fills, margin, funding, liquidation) are described in the modules that
implement them: matching.py, account.py, funding.py, validation.py.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable
from decimal import Decimal
from random import Random

from pmm.core.book import OrderBook
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
    Balance,
    ClientOrderId,
    ExchangeOrderId,
    FillReport,
    FundingInfo,
    FundingPaymentReport,
    Liquidity,
    MarginMode,
    OrderReport,
    OrderRequest,
    OrderType,
    Position,
    PositionMode,
    PositionSide,
    Side,
    TradeId,
    TradingRules,
)
from pmm.errors import ConfigError, ExchangeUnavailable, OrderError, VenueSetupError
from pmm.sim.account import Account
from pmm.sim.funding import funding_amount, funding_time_ms, next_funding_time
from pmm.sim.generators import MarketSource, MarkUpdate, StaticSource, SyntheticSource
from pmm.sim.matching import fill_from_levels, fill_from_trade, take_liquidity
from pmm.sim.num import dec, round8
from pmm.sim.orders import RestingOrders, SimOrder
from pmm.sim.persistence import (
    STATE_VERSION,
    agenda_from_json,
    agenda_to_json,
    book_restore,
    book_to_json,
    fill_from_json,
    fill_to_json,
    funding_from_json,
    funding_to_json,
)
from pmm.sim.positions import PositionState
from pmm.sim.replay import ReplaySource
from pmm.sim.scheduler import Scheduler
from pmm.sim.settings import ReplayMarket, SimMarketSettings, SimSettings, StaticMarket, SyntheticMarket
from pmm.sim.validation import check_order, is_reducing

DEFAULT_LEVERAGE = 20  # what a fresh account uses per market (capped at max_leverage), as on Binance


class SimMarket:
    """One market's venue-side state: rules, source, public book, mark/index/rate, our resting orders."""

    __slots__ = (
        "name", "quote", "rules", "source", "_book", "_pending", "last_trade_price", "resting", "mark", "index",
        "rate", "mark_from_book",
    )

    def __init__(self, settings: SimMarketSettings, source: MarketSource) -> None:
        base, _, quote = settings.market.partition("-")
        if not base or not quote:
            raise ConfigError(f"Simulated market `{settings.market}` must be named BASE-QUOTE, e.g. BTC-USDT.")
        self.name = settings.market
        self.quote = quote
        self.rules = TradingRules(
            market=settings.market,
            base=base,
            quote=quote,
            tick_size=settings.tick_size,
            step_size=settings.step_size,
            min_size=settings.min_size,
            min_notional=settings.min_notional,
            max_leverage=settings.max_leverage,
        )
        self.source = source
        self._book = OrderBook(settings.market)
        # Snapshots are applied to the OrderBook only when someone reads it: building the sorted
        # book costs more than the rest of a synthetic step, and nobody may look before the next.
        self._pending: BookSnapshot | None = None
        self.last_trade_price: Decimal | None = None
        self.resting = RestingOrders()
        self.mark: Decimal | None = None
        self.index: Decimal | None = None
        self.rate = ZERO
        self.mark_from_book = True  # a replay without mark records marks at the mid

    @property
    def book(self) -> OrderBook:
        if self._pending is not None:
            self._book.apply_snapshot(self._pending)
            self._pending = None
        self._book.last_trade_price = self.last_trade_price
        return self._book

    def set_snapshot(self, snapshot: BookSnapshot) -> None:
        self._pending = snapshot


def make_source(market: SimMarketSettings, seed: int, funding_interval_s: float) -> MarketSource:
    """The market source for one market; its randomness is seeded by (seed, market name) only."""
    generator = market.generator
    if isinstance(generator, SyntheticMarket):
        return SyntheticSource(market, generator, Random(f"{seed}/{market.market}"), funding_interval_s)
    if isinstance(generator, StaticMarket):
        return StaticSource(market.market, generator)
    if isinstance(generator, ReplayMarket):
        return ReplaySource(market.market, generator)
    raise ConfigError(f"Simulated market {market.market}: unknown generator {type(generator).__name__}.")


class SimExchange:
    """A deterministic simulated perpetual venue driven by virtual time (see module docstring)."""

    def __init__(self, settings: SimSettings) -> None:
        if not settings.markets:
            raise ConfigError("The simulated exchange needs at least one market in `sim.markets`.")
        if settings.latency_s < 0 or settings.funding_interval_s <= 0:
            raise ConfigError("`sim.latency_s` must be >= 0 and `sim.funding_interval_s` > 0.")
        self.settings = settings
        self._markets: dict[str, SimMarket] = {}
        for market_settings in settings.markets:
            if market_settings.market in self._markets:
                raise ConfigError(f"Simulated market {market_settings.market} is listed twice in `sim.markets`.")
            source = make_source(market_settings, settings.seed, settings.funding_interval_s)
            self._markets[market_settings.market] = SimMarket(market_settings, source)
        self._account = Account(
            balances=settings.balances,
            quotes={name: m.quote for name, m in self._markets.items()},
            leverage={name: min(DEFAULT_LEVERAGE, m.rules.max_leverage) for name, m in self._markets.items()},
            maintenance_margin=settings.maintenance_margin,
        )
        self._orders: dict[ClientOrderId, SimOrder] = {}  # open orders, oldest first
        self._agenda = Scheduler()
        self._now = settings.start_ts
        self._started = False
        self._advancing = False
        self._next_funding = next_funding_time(settings.start_ts, settings.funding_interval_s)
        self._public: list[Callable[[MarketEvent], None]] = []
        self._private: list[Callable[[AccountEvent], None]] = []
        self._fills: list[FillReport] = []
        self._fill_times: list[float] = []
        self._funding_payments: list[FundingPaymentReport] = []
        self._counters = {"order_id": 0, "fill_id": 0, "liquidation": 0, "order_seq": 0}

    # --- time ---------------------------------------------------------------------------------

    def next_event_time(self) -> float | None:
        if not self._started:
            return self.settings.start_ts
        return self._agenda.next_time()

    def advance_to(self, t: float) -> None:
        if self._advancing:
            raise RuntimeError("SimExchange.advance_to was called from one of its own event callbacks")
        if not self._started:
            self._start(t)
        self._advancing = True
        try:
            agenda = self._agenda
            while (item := agenda.pop_due(t)) is not None:
                when, kind, payload = item
                if when > self._now:
                    self._now = when
                if kind == "market":
                    self._on_market_step(self._markets[payload])
                elif kind == "order":
                    self._on_order(payload)
                elif kind == "cancel":
                    self._on_cancel(*payload)
                elif kind == "cancel_all":
                    self._on_cancel_all(payload)
                else:
                    self._on_funding()
            if t > self._now:
                self._now = t
        finally:
            self._advancing = False

    def _start(self, t0: float) -> None:
        self._started = True
        self._now = t0
        for name, market in self._markets.items():
            market.source.start(t0)
            self._schedule_source(name, market)
        self._next_funding = next_funding_time(t0, self.settings.funding_interval_s)
        self._agenda.push(self._next_funding, "funding")

    def _schedule_source(self, name: str, market: SimMarket) -> None:
        due = market.source.next_time()
        if due is not None:
            self._agenda.push(due, "market", name)

    # --- listeners ----------------------------------------------------------------------------

    def subscribe_public(self, callback: Callable[[MarketEvent], None]) -> None:
        self._public.append(callback)

    def subscribe_private(self, callback: Callable[[AccountEvent], None]) -> None:
        self._private.append(callback)

    def _emit_public(self, event: MarketEvent) -> None:
        for callback in self._public:
            callback(event)

    def _emit_private(self, event: AccountEvent) -> None:
        for callback in self._private:
            callback(event)

    # --- reads --------------------------------------------------------------------------------

    def _market(self, market: str) -> SimMarket:
        found = self._markets.get(market)
        if found is None:
            raise ConfigError(f"The simulated exchange has no market {market}; it has {', '.join(self._markets)}.")
        return found

    def trading_rules(self, market: str) -> TradingRules:
        return self._market(market).rules

    def markets(self) -> list[str]:
        return list(self._markets)

    def book(self, market: str) -> OrderBook:
        """The venue's live book object: read it, never modify it."""
        return self._market(market).book

    def funding_info(self, market: str) -> FundingInfo:
        m = self._market(market)
        if m.mark is None:
            raise ExchangeUnavailable(
                f"The simulated {market} market has no mark price yet: advance the exchange to its start first."
            )
        return self._funding_info(m)

    def _funding_info(self, m: SimMarket) -> FundingInfo:
        assert m.mark is not None and m.index is not None
        return FundingInfo(m.name, m.mark, m.index, m.rate, self._next_funding, self.settings.funding_interval_s)

    def balances(self) -> list[Balance]:
        orders = self._orders.values()
        return [self._account.balance(asset, orders) for asset in self._account.wallet]

    def positions(self) -> list[Position]:
        return [self._account.report(pos) for pos in self._account.positions.values()]

    def open_orders(self, market: str | None = None) -> list[OrderReport]:
        return [o.report() for o in self._orders.values() if market is None or o.market == market]

    def fills_since(self, ts: float, market: str | None = None) -> list[FillReport]:
        start = bisect_left(self._fill_times, ts)
        return [f for f in self._fills[start:] if market is None or f.market == market]

    def funding_payments_since(self, ts: float, market: str | None = None) -> list[FundingPaymentReport]:
        return [
            p
            for p in self._funding_payments
            if p.funding_time_ms >= ts * 1000 and (market is None or p.market == market)
        ]

    def position_mode(self) -> PositionMode:
        return self._account.position_mode

    def leverage(self, market: str) -> int:
        self._market(market)
        return self._account.leverage[market]

    def margin_mode(self, market: str) -> MarginMode:
        self._market(market)
        return self._account.margin_mode[market]

    # --- trading ------------------------------------------------------------------------------

    def submit_order(self, request: OrderRequest) -> None:
        self._agenda.push(self._now + self.settings.latency_s, "order", request)

    def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        self._agenda.push(self._now + self.settings.latency_s, "cancel", (market, client_id))

    def cancel_all(self, market: str) -> None:
        if market not in self._markets:
            raise OrderError(f"cancel_all: the simulated exchange has no market {market}.", code="unknown_market")
        self._agenda.push(self._now + self.settings.latency_s, "cancel_all", market)

    # --- account setup ------------------------------------------------------------------------

    def _setup_market(self, market: str) -> SimMarket:
        found = self._markets.get(market)
        if found is None:
            raise VenueSetupError(f"The simulated exchange has no market {market}; check the strategy's `market`.")
        return found

    def set_leverage(self, market: str, leverage: int) -> None:
        m = self._setup_market(market)
        if isinstance(leverage, bool) or not isinstance(leverage, int) or not 1 <= leverage <= m.rules.max_leverage:
            raise VenueSetupError(
                f"Cannot set {market} leverage: it must be an integer from 1 to {m.rules.max_leverage}, was {leverage!r}."
            )
        self._account.leverage[market] = leverage

    def set_position_mode(self, mode: PositionMode) -> None:
        if mode is self._account.position_mode:
            return
        if self._account.positions or self._orders:
            raise VenueSetupError(
                f"Cannot switch to {mode} position mode while positions or open orders exist: close them first."
            )
        self._account.position_mode = mode

    def set_margin_mode(self, market: str, mode: MarginMode) -> None:
        self._setup_market(market)
        if mode is self._account.margin_mode[market]:
            return
        if self._account.market_positions(market) or any(o.market == market for o in self._orders.values()):
            raise VenueSetupError(
                f"Cannot switch {market} to {mode} margin while it has a position or open orders: close them first."
            )
        self._account.margin_mode[market] = mode

    # --- market steps -------------------------------------------------------------------------

    def _on_market_step(self, m: SimMarket) -> None:
        snapshot: BookSnapshot | None = None
        deltas: list[BookDelta] = []
        marked = False
        for item in m.source.step():
            if isinstance(item, BookSnapshot):
                m.set_snapshot(item)
                self._emit_public(item)
                snapshot = item
            elif isinstance(item, MarkUpdate):
                marked = self._apply_mark(m, item) or marked
            elif isinstance(item, Trade):
                m.last_trade_price = item.price
                self._emit_public(item)
                resting = m.resting.bids if item.aggressor is Side.SELL else m.resting.asks
                if resting:
                    fill_from_trade(resting, item.price, item.amount, self._execute)
            else:
                m.book.apply_delta(item)
                self._emit_public(item)
                deltas.append(item)
        if (snapshot or deltas) and m.mark_from_book:
            mid = m.book.mid
            if mid is not None and mid != m.mark:
                m.mark = m.index = mid
                marked = True
        if marked and m.mark is not None:
            self._account.marks[m.name] = m.mark
            self._emit_public(FundingInfoUpdated(self._funding_info(m), self._now, self._now))
        if (snapshot or deltas) and m.resting:
            self._match_book(m, snapshot, deltas)
        self._schedule_source(m.name, m)
        if self._account.positions:
            self._check_liquidation()

    @staticmethod
    def _apply_mark(m: SimMarket, update: MarkUpdate) -> bool:
        if update.mark_price is not None:
            m.mark = update.mark_price
            m.index = update.index_price if update.index_price is not None else update.mark_price
            m.mark_from_book = False
        if update.rate is not None:
            m.rate = update.rate
        return True

    def _match_book(self, m: SimMarket, snapshot: BookSnapshot | None, deltas: list[BookDelta]) -> None:
        """Resting orders the book moved through fill at their price (see matching.py).

        After a snapshot the whole opposite side may fill us; after deltas only the liquidity
        they brought (so a level that stays crossed is not consumed twice).
        """
        resting = m.resting
        if snapshot is not None:
            bids, asks = snapshot.bids, snapshot.asks
        else:
            bids = tuple(sorted(((p, s) for d in deltas for p, s in d.bids if s > 0), reverse=True))
            asks = tuple(sorted((p, s) for d in deltas for p, s in d.asks if s > 0))
        if resting.bids and asks and asks[0][0] <= resting.bids[0].price:  # type: ignore[operator]
            fill_from_levels(resting.bids, asks, self._execute)
        if resting.asks and bids and bids[0][0] >= resting.asks[0].price:  # type: ignore[operator]
            fill_from_levels(resting.asks, bids, self._execute)

    # --- requests -----------------------------------------------------------------------------

    def _next_id(self, counter: str) -> int:
        self._counters[counter] += 1
        return self._counters[counter]

    def _reject(self, request: OrderRequest, code: str, reason: str) -> None:
        now = self._now
        self._emit_private(OrderRejected(request.client_id, request.market, reason, code, now, now))

    def _on_order(self, request: OrderRequest) -> None:
        m = self._markets.get(request.market)
        if m is None:
            self._reject(request, "unknown_market", f"the simulated exchange has no market {request.market}")
            return
        rejection = check_order(
            request, m.rules, self._account, m.book, self._orders, lambda: self._available(m.quote)
        )
        if rejection is not None:
            self._reject(request, rejection.code, rejection.reason)
            return
        order = SimOrder(
            request,
            ExchangeOrderId(str(self._next_id("order_id"))),
            reducing=is_reducing(request, self._account.position_mode),
            created_ts=self._now,
            seq=self._next_id("order_seq"),
        )
        self._orders[order.client_id] = order
        self._emit_private(OrderAccepted(order.client_id, order.exchange_id, order.market, self._now, self._now))
        opposite = Side.SELL if order.side is Side.BUY else Side.BUY
        best = m.book.best_ask if order.side is Side.BUY else m.book.best_bid
        if best is not None and (
            order.order_type is OrderType.MARKET
            or (best <= order.price if order.side is Side.BUY else best >= order.price)  # type: ignore[operator]
        ):
            take_liquidity(order, m.book.iter_levels(opposite), self._execute)
        if order.is_open:
            if order.order_type is OrderType.MARKET:
                self._cancel(order)  # what the book could not fill is cancelled
            else:
                order.resting = True
                m.resting.add(order)
        if self._account.positions:
            self._check_liquidation()

    def _available(self, asset: str) -> Decimal:
        return self._account.available(asset, self._orders.values())

    def _on_cancel(self, market: str, client_id: ClientOrderId) -> None:
        order = self._orders.get(client_id)
        if order is None or order.market != market:
            reason = f"unknown order {client_id} on {market}: never accepted, already filled or cancelled"
            self._emit_private(OrderCancelRejected(client_id, market, reason, self._now, self._now))
            return
        self._cancel(order)

    def _on_cancel_all(self, market: str) -> None:
        for order in [o for o in self._orders.values() if o.market == market]:
            self._cancel(order)

    def _cancel(self, order: SimOrder) -> None:
        self._close_order(order)
        self._emit_private(OrderCancelled(order.client_id, order.exchange_id, order.market, self._now, self._now))

    def _close_order(self, order: SimOrder) -> None:
        order.is_open = False
        if self._orders.get(order.client_id) is order:
            del self._orders[order.client_id]
        if order.resting:
            order.resting = False
            self._markets[order.market].resting.remove(order)

    # --- fills --------------------------------------------------------------------------------

    def _execute(self, order: SimOrder, price: Decimal, qty: Decimal, liquidity: Liquidity) -> Decimal:
        """Fill `qty` of our order (clipped to the position for reducing orders); returns the qty."""
        if order.reducing:
            reducible = self._account.reducible(order.market, order.side, order.position_side)
            if qty > reducible:
                qty = reducible
            if qty <= 0:
                self._cancel(order)  # nothing left to reduce
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
        quote = self._markets[market].quote
        fee = round8(price * qty * (settings.maker_fee if liquidity is Liquidity.MAKER else settings.taker_fee))
        realized, touched = self._account.apply_fill(market, side, position_side, price, qty, fee)
        trade_id = TradeId(f"F{self._next_id('fill_id')}")
        now = self._now
        self._fills.append(
            FillReport(trade_id, client_id, exchange_id, market, side, price, qty, fee, quote, liquidity,
                       position_side, realized, now)
        )
        self._fill_times.append(now)
        self._emit_private(
            OrderFilled(client_id, exchange_id, trade_id, market, side, order_type, price, qty, remaining, fee,
                        quote, liquidity, position_side, realized, now, now)
        )
        for pos_side in touched:
            self._emit_position(market, pos_side)
        self._emit_balance(quote)

    def _emit_position(self, market: str, side: PositionSide) -> None:
        pos = self._account.position(market, side)
        report = None if pos is None else self._account.report(pos)
        self._emit_private(PositionUpdated(market, side, report, self._now, self._now))

    def _emit_balance(self, asset: str) -> None:
        balance = self._account.balance(asset, self._orders.values())
        self._emit_private(BalanceUpdated(balance, self._now, self._now))

    def _expire_reduce_only(self, market: str) -> None:
        """Reduce-only orders left without a position to reduce are cancelled (as venues do)."""
        for order in [o for o in self._orders.values() if o.market == market and o.reducing]:
            if order.is_open and self._account.reducible(market, order.side, order.position_side) <= 0:
                self._cancel(order)

    # --- funding and liquidation --------------------------------------------------------------

    def _on_funding(self) -> None:
        """Settle funding for every open position; one payment per market (hedge sides netted)."""
        funding_ts = self._next_funding
        time_ms = funding_time_ms(funding_ts)
        by_market: dict[str, list[PositionState]] = {}
        for pos in self._account.positions.values():
            by_market.setdefault(pos.market, []).append(pos)
        for name, positions in by_market.items():
            m = self._markets[name]
            mark = m.mark if m.mark is not None else positions[0].entry_price
            total = net_size = ZERO
            for pos in positions:
                amount = funding_amount(pos.signed_size, mark, m.rate)
                self._account.apply_funding(pos, amount)
                total += amount
                net_size += pos.signed_size
            report = FundingPaymentReport(name, time_ms, m.rate, total, m.quote, net_size, mark)
            self._funding_payments.append(report)
            self._emit_private(
                FundingPaymentReceived(name, time_ms, m.rate, total, m.quote, net_size, mark, self._now, self._now)
            )
            for pos in positions:
                self._emit_position(name, pos.side)
            self._emit_balance(m.quote)
        self._next_funding = next_funding_time(funding_ts, self.settings.funding_interval_s)
        self._agenda.push(self._next_funding, "funding")
        for m in self._markets.values():  # the advertised next funding time moved on
            if m.mark is not None:
                self._emit_public(FundingInfoUpdated(self._funding_info(m), self._now, self._now))
        if self._account.positions:
            self._check_liquidation()

    def _check_liquidation(self) -> None:
        account = self._account
        isolated = account.isolated_breached()
        if isolated:
            self._liquidate(isolated)
        for asset in {account.quotes[pos.market] for pos in account.positions.values()}:
            cross = account.cross_breached(asset)
            if cross:
                self._liquidate(cross)

    def _liquidate(self, positions: list[PositionState]) -> None:
        """Cancel the markets' open orders, then close each position at mark as a taker."""
        markets = {pos.market for pos in positions}
        for order in [o for o in self._orders.values() if o.market in markets]:
            self._cancel(order)
        oneway = self._account.position_mode is PositionMode.ONEWAY
        for pos in positions:
            if self._account.position(pos.market, pos.side) is not pos:
                continue
            mark = self._markets[pos.market].mark
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

    # --- persistence --------------------------------------------------------------------------

    def export_state(self) -> dict:
        """The whole venue (account, orders, in-flight requests, markets, history) as JSON data."""
        return {
            "version": STATE_VERSION,
            "now": self._now,
            "started": self._started,
            "next_funding": self._next_funding,
            "counters": dict(self._counters),
            "account": self._account.to_json(),
            "orders": [order.to_json() for order in self._orders.values()],
            "agenda": {"seq": self._agenda.seq, "entries": agenda_to_json(self._agenda.entries())},
            "markets": {
                name: {
                    "source": m.source.export_state(),
                    "book": book_to_json(m.book),
                    "mark": None if m.mark is None else str(m.mark),
                    "index": None if m.index is None else str(m.index),
                    "rate": str(m.rate),
                    "mark_from_book": m.mark_from_book,
                    "last_trade_price": None if m.last_trade_price is None else str(m.last_trade_price),
                }
                for name, m in self._markets.items()
            },
            "fills": [fill_to_json(fill) for fill in self._fills],
            "funding": [funding_to_json(payment) for payment in self._funding_payments],
        }

    def restore_state(self, state: dict) -> None:
        """Load `export_state()` output into this exchange (built with the same settings)."""
        if state.get("version") != STATE_VERSION:
            raise ConfigError(f"Cannot restore simulated exchange state version {state.get('version')!r}.")
        if set(state["markets"]) != set(self._markets):
            raise ConfigError(
                f"Saved simulated exchange has markets {sorted(state['markets'])}, the settings have "
                f"{sorted(self._markets)}: restore with the same `sim.markets`."
            )
        self._now, self._started, self._next_funding = state["now"], state["started"], state["next_funding"]
        self._counters = dict(state["counters"])
        self._account.restore(state["account"])
        for name, data in state["markets"].items():
            m = self._markets[name]
            m.source.restore_state(data["source"])
            book_restore(m.book, data["book"])
            m.mark = None if data["mark"] is None else dec(data["mark"])
            m.index = None if data["index"] is None else dec(data["index"])
            m.rate = dec(data["rate"])
            m.mark_from_book = data["mark_from_book"]
            last = data["last_trade_price"]
            m.last_trade_price = None if last is None else dec(last)
            m.resting = RestingOrders()
        self._orders = {}
        for row in state["orders"]:
            order = SimOrder.from_json(row)
            self._orders[order.client_id] = order
            if order.resting:
                self._markets[order.market].resting.add(order)
        self._agenda.restore(agenda_from_json(state["agenda"]["entries"]), state["agenda"]["seq"])
        self._fills = [fill_from_json(row) for row in state["fills"]]
        self._fill_times = [fill.ts for fill in self._fills]
        self._funding_payments = [funding_from_json(row) for row in state["funding"]]

    def close(self) -> None:
        """Release the replay files (the exchange keeps them open while streaming)."""
        for market in self._markets.values():
            market.source.close()
