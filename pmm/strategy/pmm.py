"""`PerpetualMarketMaking`: Hummingbot's perpetual_market_making decision logic, event driven.

The engine calls `decide(view)` on every event that can change the outcome and schedules a
re-evaluation at `next_wakeup()`. `decide` is idempotent: orders the engine is placing appear in
`view.orders` as PENDING_NEW and orders being cancelled carry `cancel_pending`, so a second call
with the same view proposes nothing new (the timers also move forward when orders are created).

Modes (reference §2.0): with no open position on the market, market making (§2.1 to §2.10);
with one, position management only (§3, see `positions.py`). With `quoting.model: glft` the base
prices come from the GLFT model (`model_quotes.py`, once calibrated) and market making goes on
while a position is open, next to its take-profit and stop-loss.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from pmm.core.events import OrderFilled
from pmm.core.model import (
    OrderPurpose,
    OrderType,
    Position,
    PositionAction,
    PositionMode,
    PositionSide,
    Side,
    TradingRules,
)
from pmm.errors import ConfigError
from pmm.strategy.model_quotes import GlftQuoter, model_base_proposal, net_position
from pmm.strategy.params import PmmParams
from pmm.strategy.positions import EXIT_NOT_NEEDED, EXIT_PURPOSES, ExitManager
from pmm.strategy.proposal import Proposed, build_proposal, order_margin
from pmm.strategy.reference_price import RefPrice, maker_book_problem, reference_price
from pmm.strategy.refresh import Timers, below_min_spread, within_tolerance
from pmm.strategy.views import Cancel, Decision, LiveOrder, OrderIntent, StrategyView

POSITION_OPEN = "position open: managing exits"
POSITION_OPEN_QUOTING = "position open: quoting both sides next to its exits"


def _fmt(value: Decimal) -> str:
    """A Decimal without trailing zeros or exponent: 50.00 -> "50", 1.50 -> "1.5"."""
    return format(value.normalize(), "f")


def iso_time(ts: float) -> str:
    """UTC ISO-8601 to the second, for reasons shown to the user."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _LogDedup:
    """Emits advisory logs only when they were not emitted by the previous evaluation.

    `decide` runs on every book update; the same "order omitted" line at that rate is noise.
    """

    __slots__ = ("_previous",)

    def __init__(self) -> None:
        self._previous: frozenset[str] = frozenset()

    def filter(self, lines: list[str]) -> list[str]:
        current = frozenset(lines)
        fresh = [line for line in lines if line not in self._previous]
        self._previous = current
        return fresh


class PerpetualMarketMaking:
    """The strategy. Pure: no I/O, no clock; time comes from `view.now` and `on_fill(now=...)`."""

    def __init__(self, params: PmmParams, rules: TradingRules) -> None:
        if params.market != rules.market:
            raise ConfigError(f"Trading rules are for {rules.market}, but the strategy trades {params.market}.")
        if params.leverage <= 0:
            raise ConfigError(f"leverage must be a positive integer, got {params.leverage}.")
        if params.price_ceiling != -1 and params.price_ceiling < params.price_floor:
            raise ConfigError("Parameter price_ceiling cannot be lower than price_floor.")
        self.params = params
        self.rules = rules
        self._timers = Timers()
        self._exits = ExitManager(params, rules)
        self._last_own_trade_price: Decimal | None = None
        self._now = 0.0  # latest time seen (decide or on_fill)
        self._wakeups: list[float] = []  # timer candidates found by the last decide
        self._has_live_quotes = False
        # After a market-making decision that did nothing and had no timer due: its live quotes
        # and the reference price type (see `still_idle`); None otherwise.
        self._idle: tuple[list[LiveOrder], str] | None = None
        # The `_idle` and the reference price object `still_idle` last found no quote below the
        # minimum spread for: the same objects give the same answer without the Decimal divisions.
        self._spread_checked: tuple[object, object] = (None, None)
        self._logs = _LogDedup()
        hedge = params.position_mode is PositionMode.HEDGE
        self._quote_position_side = {
            Side.BUY: PositionSide.LONG if hedge else PositionSide.BOTH,
            Side.SELL: PositionSide.SHORT if hedge else PositionSide.BOTH,
        }
        self._leverage = Decimal(params.leverage)
        self._glft = GlftQuoter(params, rules) if params.quoting.glft else None
        self._keep_log = (
            "Not canceling active orders since difference between new order prices and current order "
            f"prices is within {params.order_refresh_tolerance_pct:.2%} order_refresh_tolerance_pct"
        )

    # --- read-only state (status, tests) ------------------------------------------------------

    @property
    def create_timestamp(self) -> float:
        return self._timers.create_ts

    @property
    def cancel_timestamp(self) -> float:
        return self._timers.cancel_ts

    @property
    def last_own_trade_price(self) -> Decimal | None:
        return self._last_own_trade_price

    def model_status(self, positions: tuple[Position, ...]) -> dict[str, object] | None:
        """The quoting model's inputs and outputs for `status`; None with the Hummingbot model."""
        return None if self._glft is None else self._glft.status(positions)

    # --- events -------------------------------------------------------------------------------

    def on_fill(self, fill: OrderFilled, order: LiveOrder | None, now: float) -> None:
        """Any fill of our orders on this market, partial or complete, quote or exit (fix §6.14).

        Starts `filled_order_delay` and records the fill price for `last_own_trade_price`.
        `order` may be None when the engine does not know the order (or an adopted EXTERNAL one):
        every fill on our market counts, since waiting longer is the safe side.
        """
        if fill.market != self.params.market:
            return
        self._now = max(self._now, now)
        self._timers.on_fill(now, self.params.filled_order_delay)
        self._last_own_trade_price = fill.price

    def on_market_trade(self, price: Decimal, aggressor: Side, mid: Decimal | None, now: float) -> None:
        """A public trade on the maker market (the engine passes the book's mid at that moment):
        the GLFT calibration's fill-intensity data. Nothing else reads it."""
        if self._glft is not None:
            self._glft.calibrator.observe_trade(price, aggressor, mid, now)

    def _observe_mid(self, view: StrategyView) -> None:
        if self._glft is not None and view.book_ready:
            mid = view.book.mid
            if mid is not None:
                self._glft.calibrator.observe_mid(mid, view.now)

    def next_wakeup(self) -> float | None:
        """Earliest future time at which a timer can change what `decide` returns."""
        now = self._now
        best: float | None = None
        candidates = list(self._wakeups)
        candidates.append(self._timers.create_ts)
        if self._has_live_quotes:
            candidates.append(self._timers.cancel_ts)
        for t in candidates:
            if t > now and (best is None or t < best):
                best = t
        return best

    # --- the decision -------------------------------------------------------------------------

    def decide(self, view: StrategyView) -> Decision:
        """What to place and cancel now. Cheap, and idempotent for the same view."""
        self._now = max(self._now, view.now)
        self._idle = None
        self._observe_mid(view)
        ref = reference_price(self.params, view, self._last_own_trade_price)
        market = self.params.market
        positions = [p for p in view.positions if p.market == market and p.amount > 0]
        if positions:
            if self._glft is not None:
                return self._quote_in_position(view, ref, positions)
            return self._manage_positions(view, ref, positions)
        return self._market_make(view, ref)

    def still_idle(self, view: StrategyView) -> RefPrice | None:
        """A cheap re-evaluation after only the books (and the time) changed.

        Valid right after `decide` returned a market-making decision with nothing to place or
        cancel and no timer due. The caller vouches that, since that `decide`, nothing in the view
        but the order books and `now` changed and no `next_wakeup()` has passed. Then `decide(view)`
        would return the same decision with only the reference price changed iff the reference
        price is still known (same price type) and no live quote falls below the minimum spread
        (every other rule of an idle decision depends on the timers and the orders only). Returns
        that reference price, or None when a full `decide` is needed.
        """
        self._observe_mid(view)
        idle = self._idle
        if idle is None:
            return None
        live, price_type = idle
        ref = reference_price(self.params, view, self._last_own_trade_price)
        refp = ref.price
        if refp is None or ref.price_type != price_type or maker_book_problem(view) is not None:
            return None
        checked_idle, checked_ref = self._spread_checked
        if checked_idle is not idle or checked_ref is not refp:
            minimum = self.params.minimum_spread
            for o in live:
                if below_min_spread(o, refp, minimum):
                    return None
            self._spread_checked = (idle, refp)
        self._now = max(self._now, view.now)
        return ref

    # --- position management (§3) -------------------------------------------------------------

    def _manage_positions(self, view: StrategyView, ref: RefPrice, positions: list[Position]) -> Decision:
        book_usable = maker_book_problem(view) is None
        plan = self._exits.manage(view, positions, book_usable)
        if self.params.position_mode is PositionMode.ONEWAY:
            # as the reference: quotes on the closing side go, same-side quotes stay
            closing = {p.side.closing_side for p in positions}
            for o in view.orders:
                if o.purpose is OrderPurpose.QUOTE and o.side in closing:
                    plan.cancel(o, "position open: closing-side quote cancelled in favour of exits")
        self._wakeups = plan.wakeups
        self._has_live_quotes = False  # cancel_ts does not act while a position is open
        reason = "; ".join([POSITION_OPEN, *plan.notes])
        return Decision(
            places=tuple(plan.places),
            cancels=tuple(plan.cancels.values()),
            ref_price=ref.price,
            ref_price_type=ref.price_type,
            quoting=False,
            reason=reason,
            logs=tuple(plan.logs + self._logs.filter(plan.advisory)),
        )

    def _quote_in_position(self, view: StrategyView, ref: RefPrice, positions: list[Position]) -> Decision:
        """GLFT: exits as in position management, and market making on both sides beside them."""
        plan = self._exits.manage(view, positions, maker_book_problem(view) is None)
        quoting = self._market_make(view, ref, in_position=True, advisory_extra=plan.advisory)
        self._wakeups = plan.wakeups
        cancels = dict(plan.cancels)
        for c in quoting.cancels:
            cancels.setdefault(c.client_id, c)
        reason = "; ".join(x for x in [POSITION_OPEN_QUOTING if quoting.quoting else POSITION_OPEN,
                                        *plan.notes, quoting.reason] if x)
        return Decision(
            places=tuple(plan.places) + quoting.places,
            cancels=tuple(cancels.values()),
            ref_price=ref.price,
            ref_price_type=ref.price_type,
            quoting=quoting.quoting,
            reason=reason,
            logs=tuple(plan.logs) + quoting.logs,
        )

    # --- market making (§2) -------------------------------------------------------------------

    def _market_make(self, view: StrategyView, ref: RefPrice, in_position: bool = False,
                     advisory_extra: list[str] | None = None) -> Decision:
        """Market making (§2). `in_position` (GLFT only): exits stay, and no idle shortcut."""
        p = self.params
        now = view.now
        timers = self._timers
        self._wakeups = []
        if not in_position:
            self._exits.reset()
        cancels: dict[str, Cancel] = {}
        quotes: list[LiveOrder] = []
        for o in view.orders:
            if o.purpose is OrderPurpose.QUOTE:
                quotes.append(o)
            elif o.purpose in EXIT_PURPOSES and not o.cancel_pending and not in_position:
                # no position any more: its exits go (FLATTEN / EXTERNAL are the engine's business)
                cancels[o.client_id] = Cancel(o.client_id, EXIT_NOT_NEEDED)
        live = [o for o in quotes if not o.cancel_pending]

        problem = ref.reason if ref.price is None else maker_book_problem(view)
        if problem is not None:
            # freeze: nothing is placed, refreshed or spread-checked without a trustworthy price
            self._has_live_quotes = bool(live)
            return Decision(
                cancels=tuple(cancels.values()),
                ref_price=ref.price,
                ref_price_type=ref.price_type,
                quoting=False,
                reason=problem,
                logs=tuple(self._logs.filter(list(advisory_extra or []))),
            )
        refp = ref.price
        assert refp is not None

        proposal: list[Proposed] | None = None
        notes: list[str] = []
        advisory: list[str] = []
        logs: list[str] = []
        if timers.create_ts <= now:
            # margin held by the live quotes would be freed by replacing them: add it back so
            # the tolerance comparison is not skewed by our own orders (zero when creating)
            available = view.available_margin
            for o in live:
                available += order_margin(o.price, o.remaining, self._leverage, view.maker_fee)
            base = None
            if self._glft is not None:
                model = self._glft.quote(view, refp)
                if model is not None:  # until calibrated: the configured spreads
                    base = model_base_proposal(p, self.rules, model)
            result = build_proposal(p, self.rules, refp, view.book, view.orders, available, view.maker_fee,
                                    base=base, position=net_position(view.positions, p.market))
            proposal = result.orders
            notes = result.notes
            advisory = result.logs

        # §2.8 refresh with tolerance
        if timers.cancel_ts <= now and live:
            if proposal is not None and within_tolerance(live, proposal, p.order_refresh_tolerance_pct):
                logs.append(self._keep_log)
                timers.set_timers(now, p.order_refresh_time)
            else:
                for o in live:
                    cancels.setdefault(o.client_id, Cancel(o.client_id, "order refresh"))

        # §2.9 minimum spread, every evaluation
        for o in live:
            if o.client_id not in cancels and below_min_spread(o, refp, p.minimum_spread):
                cancels[o.client_id] = Cancel(o.client_id, f"below minimum spread {p.minimum_spread}")

        # §2.10 create: only when no quote at all is active (cancel-pending ones count too)
        places: tuple[OrderIntent, ...] = ()
        if proposal and timers.create_ts <= now and not quotes:
            places = tuple(self._quote_intent(o) for o in proposal)
            timers.set_timers(now, p.order_refresh_time)
            logs.extend(self._creation_logs(proposal))

        staying = any(o.client_id not in cancels for o in live)
        self._has_live_quotes = bool(live) or bool(places)  # cancel_ts only matters with quotes
        quoting = bool(places) or staying
        reason = self._mm_reason(now, quoting, quotes, live, cancels, proposal, notes)
        if (not in_position and proposal is None and not places and not cancels and not logs and not advisory
                and (timers.cancel_ts > now or not live)):
            self._idle = (live, ref.price_type)
        return Decision(
            places=places,
            cancels=tuple(cancels.values()),
            ref_price=refp,
            ref_price_type=ref.price_type,
            quoting=quoting,
            reason=reason,
            logs=tuple(logs + self._logs.filter(advisory + list(advisory_extra or []))),
        )

    def _quote_intent(self, o: Proposed) -> OrderIntent:
        return OrderIntent(
            side=o.side,
            price=o.price,
            amount=o.amount,
            order_type=OrderType.LIMIT_MAKER,
            purpose=OrderPurpose.QUOTE,
            position_action=PositionAction.OPEN,
            position_side=self._quote_position_side[o.side],
            reduce_only=False,
            level=o.level,
        )

    def _creation_logs(self, proposal: list[Proposed]) -> list[str]:
        out = []
        for side, word in ((Side.BUY, "bid"), (Side.SELL, "ask")):
            orders = [o for o in proposal if o.side is side]
            if orders:
                listed = ", ".join(f"'{_fmt(o.amount)} {self.rules.base}, {_fmt(o.price)} {self.rules.quote}'"
                                   for o in orders)
                out.append(
                    f"({self.params.market}) Creating {len(orders)} LIMIT_MAKER {word} orders at (Size, Price): "
                    f"[{listed}] to OPEN position."
                )
        return out

    def _mm_reason(
        self,
        now: float,
        quoting: bool,
        quotes: list[LiveOrder],
        live: list[LiveOrder],
        cancels: dict[str, Cancel],
        proposal: list[Proposed] | None,
        notes: list[str],
    ) -> str:
        """Why not quoting (or a partial restriction while quoting)."""
        if quoting:
            # partial suppressions (price band) are worth showing even while quoting
            return "; ".join(n for n in notes if "suppressed" in n)
        timers = self._timers
        if timers.create_ts > now:
            until = iso_time(timers.create_ts)
            if timers.create_ts == timers.fill_delay_until:
                return f"waiting filled_order_delay until {until}"
            return f"waiting order_refresh_time until {until}"
        if quotes:
            pending = sum(1 for o in quotes if o.cancel_pending or o.client_id in cancels)
            return f"waiting for {pending} order cancel(s) to be confirmed before re-quoting"
        if notes:
            return "; ".join(notes)
        if proposal == []:
            return "no orders proposed"
        return "not quoting"
