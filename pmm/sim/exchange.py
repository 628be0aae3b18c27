"""The in-process simulated USDT-margined linear perpetual exchange (docs/CONTRACTS.md).

Time only moves in `advance_to(t)`: everything due at or before `t` (market steps, order requests
after `latency_s`, funding settlements) is processed in time order, ties first-in first-out, and
answered with events from `pmm.core.events` stamped with the processing time (`recv_ts == ts`).

Start of time: the market sources and the funding schedule begin at the FIRST `advance_to(t)`,
whatever `t` is. Until then `next_event_time()` answers `settings.start_ts`, so a `--fast` driver
(which advances to `next_event_time()`) starts at `start_ts`, and a real-time driver (which
advances to the wall clock) starts now. Requests submitted before that first call are timed from
`start_ts`.

This module is the API and the clock; what happens at each moment is venue.py, and the rules are
described where they are implemented: matching.py (fills), account.py (margin, liquidation),
funding.py, validation.py (rejections), generators.py and replay.py (market sources).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable

from pmm.core.book import OrderBook
from pmm.core.events import AccountEvent, FundingInfoUpdated, MarketEvent
from pmm.core.model import (
    Balance,
    ClientOrderId,
    FillReport,
    FundingInfo,
    FundingPaymentReport,
    MarginMode,
    OrderReport,
    OrderRequest,
    Position,
    PositionMode,
    TradingRules,
)
from pmm.errors import ConfigError, ExchangeUnavailable, OrderError, VenueSetupError
from pmm.sim.account import Account
from pmm.sim.external import ExternalMarketSource, FedEvent, event_market
from pmm.sim.funding import next_funding_time
from pmm.sim.market import SimMarket, make_source
from pmm.sim.orders import SimOrder
from pmm.sim.persistence import (
    STATE_VERSION,
    account_summary,
    agenda_from_json,
    agenda_to_json,
    book_restore,
    book_to_json,
    fill_from_json,
    fill_to_json,
    funding_from_json,
    funding_to_json,
)
from pmm.sim.scheduler import Scheduler
from pmm.sim.settings import SimSettings
from pmm.sim.venue import Venue

__all__ = ["DEFAULT_LEVERAGE", "SimExchange", "account_summary"]

DEFAULT_LEVERAGE = 20  # what a fresh account uses per market (capped at max_leverage), as on venues


class SimExchange:
    """A deterministic simulated perpetual venue driven by virtual time (see module docstring)."""

    def __init__(self, settings: SimSettings) -> None:
        if not settings.markets:
            raise ConfigError("The simulated exchange needs at least one market in `sim.markets`.")
        if settings.latency_s < 0 or settings.funding_interval_s <= 0:
            raise ConfigError("`sim.latency_s` must be >= 0 and `sim.funding_interval_s` > 0.")
        self.settings = settings
        markets: dict[str, SimMarket] = {}
        for market_settings in settings.markets:
            if market_settings.market in markets:
                raise ConfigError(f"Simulated market {market_settings.market} is listed twice in `sim.markets`.")
            source = make_source(market_settings, settings.seed, settings.funding_interval_s)
            markets[market_settings.market] = SimMarket(market_settings, source)
        account = Account(
            balances=settings.balances,
            quotes={name: m.quote for name, m in markets.items()},
            leverage={name: min(DEFAULT_LEVERAGE, m.rules.max_leverage) for name, m in markets.items()},
            maintenance_margin=settings.maintenance_margin,
        )
        self._public: list[Callable[[MarketEvent], None]] = []
        self._private: list[Callable[[AccountEvent], None]] = []
        self._venue = Venue(settings, markets, account, self._emit_public, self._emit_private)
        self._markets = markets
        self._account = account
        self._agenda = Scheduler()
        self._started = False
        self._advancing = False

    # --- time ---------------------------------------------------------------------------------

    def next_event_time(self) -> float | None:
        if not self._started:
            return self.settings.start_ts
        return self._agenda.next_time()

    def markets_exhausted(self) -> bool:
        """True once every market source has ended for good (a replay reached the end of its file).

        The agenda always holds the next funding settlement, so `next_event_time()` never tells
        this. Generated and static markets never end; a fed (`ExternalMarket`) market that has
        nothing queued is idle, not ended.
        """
        if not self._started:
            return False
        for market in self._markets.values():
            source = market.source
            if isinstance(source, ExternalMarketSource) or source.next_time() is not None:
                return False
        return True

    def advance_to(self, t: float) -> None:
        if self._advancing:
            raise RuntimeError("SimExchange.advance_to was called from one of its own event callbacks")
        if not self._started:
            self._start(t)
        self._advancing = True
        venue, agenda = self._venue, self._agenda
        try:
            while (item := agenda.pop_due(t)) is not None:
                when, kind, payload = item
                if when > venue.now:
                    venue.now = when
                if kind == "market":
                    market = self._markets[payload]
                    venue.on_market_step(market)
                    self._schedule_source(payload, market)
                elif kind == "order":
                    venue.on_order(payload)
                elif kind == "cancel":
                    venue.on_cancel(*payload)
                elif kind == "cancel_all":
                    venue.on_cancel_all(payload)
                else:
                    agenda.push(venue.settle_funding(), "funding")
            if t > venue.now:
                venue.now = t
        finally:
            self._advancing = False

    def _start(self, t0: float) -> None:
        self._started = True
        self._venue.now = t0
        for name, market in self._markets.items():
            market.source.start(t0)
            self._schedule_source(name, market)
        self._venue.next_funding = next_funding_time(t0, self.settings.funding_interval_s)
        self._agenda.push(self._venue.next_funding, "funding")

    def skip_to(self, t: float) -> None:
        """Jump to `t` WITHOUT simulating the time in between: the venue stood still (no bot ran).

        Markets resume where they stood (their next step comes as late as it would have after the
        last one), requests in flight keep their remaining latency, and funding settlements in the
        gap are skipped. Used when a saved account resumes in a real-time run.
        """
        venue = self._venue
        if not self._started or t <= venue.now:
            return
        gap = t - venue.now
        for market in self._markets.values():
            market.source.delay(gap)
        entries = []
        for when, seq, kind, payload in self._agenda.entries():
            if kind == "funding":
                continue
            if kind == "market":
                due = self._markets[payload].source.next_time()
                if due is None:
                    continue
                when = due
            else:
                when += gap
            entries.append((when, seq, kind, payload))
        self._agenda.restore(entries, self._agenda.seq)
        venue.now = t
        venue.next_funding = next_funding_time(t, self.settings.funding_interval_s)
        self._agenda.push(venue.next_funding, "funding")

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
        return m.funding_info(self._venue.next_funding, self.settings.funding_interval_s)

    def balances(self) -> list[Balance]:
        orders = self._venue.orders.values()
        return [self._account.balance(asset, orders) for asset in self._account.wallet]

    def positions(self) -> list[Position]:
        return [self._account.report(pos) for pos in self._account.positions.values()]

    def open_orders(self, market: str | None = None) -> list[OrderReport]:
        return [o.report() for o in self._venue.orders.values() if market is None or o.market == market]

    def fills_since(self, ts: float, market: str | None = None) -> list[FillReport]:
        start = bisect_left(self._venue.fill_times, ts)
        return [f for f in self._venue.fills[start:] if market is None or f.market == market]

    def funding_payments_since(self, ts: float, market: str | None = None) -> list[FundingPaymentReport]:
        return [
            p
            for p in self._venue.funding_payments
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

    def _arrival(self) -> float:
        """Requests reach the venue `latency_s` after now (the last time advanced to)."""
        return self._venue.now + self.settings.latency_s

    def submit_order(self, request: OrderRequest) -> None:
        self._agenda.push(self._arrival(), "order", request)

    def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        self._agenda.push(self._arrival(), "cancel", (market, client_id))

    def cancel_all(self, market: str) -> None:
        if market not in self._markets:
            raise OrderError(f"cancel_all: the simulated exchange has no market {market}.", code="unknown_market")
        self._agenda.push(self._arrival(), "cancel_all", market)

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
                f"Cannot set {market} leverage: it must be an integer from 1 to {m.rules.max_leverage}, "
                f"was {leverage!r}."
            )
        self._account.leverage[market] = leverage

    def set_position_mode(self, mode: PositionMode) -> None:
        if mode is self._account.position_mode:
            return
        if self._account.positions or self._venue.orders:
            raise VenueSetupError(
                f"Cannot switch to {mode} position mode while positions or open orders exist: close them first."
            )
        self._account.position_mode = mode

    def set_margin_mode(self, market: str, mode: MarginMode) -> None:
        self._setup_market(market)
        if mode is self._account.margin_mode[market]:
            return
        if self._account.market_positions(market) or any(o.market == market for o in self._venue.orders.values()):
            raise VenueSetupError(
                f"Cannot switch {market} to {mode} margin while it has a position or open orders: close them first."
            )
        self._account.margin_mode[market] = mode

    # --- persistence --------------------------------------------------------------------------

    def export_state(self) -> dict:
        """The whole venue (account, orders, in-flight requests, markets, history) as JSON data."""
        venue = self._venue
        return {
            "version": STATE_VERSION,
            "now": venue.now,
            "started": self._started,
            "next_funding": venue.next_funding,
            "counters": dict(venue.counters),
            "account": self._account.to_json(),
            "orders": [order.to_json() for order in venue.orders.values()],
            "agenda": {"seq": self._agenda.seq, "entries": agenda_to_json(self._agenda.entries())},
            "markets": {name: m.to_json() | {"book": book_to_json(m.book)} for name, m in self._markets.items()},
            "fills": [fill_to_json(fill) for fill in venue.fills],
            "funding": [funding_to_json(payment) for payment in venue.funding_payments],
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
        venue = self._venue
        venue.now, venue.next_funding, self._started = state["now"], state["next_funding"], state["started"]
        venue.counters = dict(state["counters"])
        self._account.restore(state["account"])
        for name, data in state["markets"].items():
            market = self._markets[name]
            market.restore(data)
            book_restore(market.book, data["book"])
        venue.orders = {}
        for row in state["orders"]:
            order = SimOrder.from_json(row)
            venue.orders[order.client_id] = order
            if order.resting:
                self._markets[order.market].resting.add(order)
        self._agenda.restore(agenda_from_json(state["agenda"]["entries"]), state["agenda"]["seq"])
        venue.fills = [fill_from_json(row) for row in state["fills"]]
        venue.fill_times = [fill.ts for fill in venue.fills]
        venue.funding_payments = [funding_from_json(row) for row in state["funding"]]

    def close(self) -> None:
        """Release the replay files (the exchange keeps them open while streaming)."""
        for market in self._markets.values():
            market.source.close()

    # --- markets fed from outside (generator `ExternalMarket`; pmm/sim/external.py) -------------

    def feed(self, event: FedEvent, t: float) -> None:
        """One event of a venue's real feed for a fed market, processed at time `t`.

        Everything due up to `t` happens first (requests that arrived, a funding settlement),
        then the event moves the market as one step, exactly like a generated step (book, marks,
        fills of our resting orders, liquidation); see external.py for what each event does.
        `t` is the local time the event arrived (never earlier than the exchange's time).

        Funding follows the venue: a `FundingInfoUpdated` of the first fed market moves the next
        settlement to its announced `next_funding_ts` (its rate and mark are the ones settled).
        Announcements already in the past are ignored (the settlement happened). If the venue
        announces a later time while the pending settlement is one it announced, the venue has
        settled it and our clock is behind the venue's: it is settled now, then the new one is
        scheduled. Between settlements the interval of `settings.funding_interval_s` is only a
        guess until the venue's next announcement.
        """
        name = event_market(event)
        m = self._markets.get(name) if name is not None else None
        if m is None:
            raise ConfigError(f"The simulated exchange has no market {name}; it has {', '.join(self._markets)}.")
        source = m.source
        if not isinstance(source, ExternalMarketSource):
            raise ConfigError(
                f"Simulated market {name} is generated ({type(source).__name__}); only markets with an "
                "`ExternalMarket` generator take a real feed's events."
            )
        t = max(t, self._venue.now)
        announced_before = source.announced_funding
        idle = source.next_time() is None
        source.push(event, t)
        due = source.next_time()
        if self._started and idle and due is not None:
            self._agenda.push(due, "market", name)  # before start, _start() schedules it
        self.advance_to(t)
        if isinstance(event, FundingInfoUpdated) and name == self._funding_market():
            self._follow_funding(event.info.next_funding_ts, announced_before)

    def _funding_market(self) -> str | None:
        """The fed market whose announced funding times the (single) settlement schedule follows."""
        for name, market in self._markets.items():
            if isinstance(market.source, ExternalMarketSource):
                return name
        return None

    def _follow_funding(self, announced: float, announced_before: float | None) -> None:
        venue = self._venue
        pending = venue.next_funding
        if announced == pending or announced <= venue.now:
            return
        if announced > pending and pending == announced_before:
            # The venue settled the time it had announced before our clock got there: settle it
            # now (still keyed on its own time, venue.next_funding), then follow the new one.
            self._schedule_funding(venue.now)
            self.advance_to(venue.now)
        venue.next_funding = announced
        self._schedule_funding(announced)

    def _schedule_funding(self, t: float) -> None:
        """Move the agenda's (single) funding settlement to `t`."""
        entries = [entry for entry in self._agenda.entries() if entry[2] != "funding"]
        self._agenda.restore(entries, self._agenda.seq)
        self._agenda.push(t, "funding")

    def set_trading_rules(self, market: str, rules: TradingRules) -> None:
        """Replace a market's trading rules: paper trading loads the real venue's (which are only
        known once its feed is prepared). Open orders stay as they are; new requests are checked
        against the new rules; the account's leverage is capped at the new maximum."""
        m = self._market(market)
        if rules.market != market or rules.quote != m.quote:
            raise ConfigError(
                f"Trading rules of {rules.market} (quote {rules.quote}) cannot replace those of the "
                f"simulated market {market} (quote {m.quote})."
            )
        m.rules = rules
        self._account.leverage[market] = min(self._account.leverage[market], rules.max_leverage)
