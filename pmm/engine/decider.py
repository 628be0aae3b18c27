"""Deciding: the strategy's view of the desk, its decision through the guards, the orders sent.

An evaluation after only the books moved is skipped when it cannot change anything (see
`Decider.books_moved`): on a busy book that is most of them.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from pmm.engine.desk import Desk
from pmm.log_repeats import SAME_UP_TO_FIGURES
from pmm.strategy.views import Decision, StrategyView

if TYPE_CHECKING:
    from pmm.engine.safety import PriceInputs, Safety
    from pmm.strategy import PerpetualMarketMaking

strategy_log = logging.getLogger("pmm.strategy")

_EMPTY = Decision()  # probes the guards: `Safety.shape` returns it unchanged when no guard applies


class Decider:
    """`timers` is the engine's timer table: the decider keeps its "strategy" (the strategy's next
    wake-up) and "stale" (the next stale-data check) entries."""

    def __init__(self, desk: Desk, strategy: PerpetualMarketMaking, safety: Safety, prices: PriceInputs, *,
                 quote_asset: str, maker_fee: Decimal, external_key: str | None,
                 timers: dict[str, float]) -> None:
        self._desk = desk
        self._strategy = strategy
        self._safety = safety
        self._prices = prices
        self._quote_asset = quote_asset
        self._maker_fee = maker_fee
        self._external_key = external_key
        self._timers = timers
        self._last_decision: Decision | None = None
        self._skipped_ref: Decimal | None = None  # the reference price of the last skipped evaluation
        self._idle_view: StrategyView | None = None  # the view of the last idle decision (see books_moved)
        self._last_reason = ""

    def view(self) -> StrategyView:
        desk = self._desk
        state = desk.state
        balance = desk.account.balances.get(self._quote_asset)
        ext = desk.markets.get(self._external_key) if self._external_key else None
        return StrategyView(
            now=desk.clock.now(),
            book=state.book,
            book_ready=state.ready and not state.book.is_empty,
            orders=desk.tracker.live_orders(desk.market),
            positions=desk.positions(),
            available_margin=balance.available if balance is not None else Decimal(0),
            maker_fee=self._maker_fee,
            funding=state.funding,
            external_book=ext.book if ext is not None else None,
            external_ready=bool(ext and ext.ready and not ext.book.is_empty),
            external_reason=self._prices.external_wait(),
            custom_price=self._prices.custom_price,
            custom_price_reason=self._prices.custom_price_reason,
        )

    @property
    def last_decision(self) -> Decision | None:
        """The last decision, with the reference price of any evaluation skipped since."""
        decision = self._last_decision
        ref = self._skipped_ref
        if decision is not None and ref is not None:
            self._skipped_ref = None
            if ref is not decision.ref_price:
                decision = self._last_decision = replace(decision, ref_price=ref)
        return decision

    def books_moved(self) -> bool:
        """Only the books moved since the last evaluation: skip it when it cannot change anything.

        After an idle decision (nothing placed or cancelled, no timer due, see
        `PerpetualMarketMaking.still_idle`), a new evaluation on a view that differs only in its
        books and time gives the same decision with a new reference price, unless that price
        crosses a quote's minimum spread, the book becomes unusable, or a guard trips. Every
        other input (orders, positions, margin, prices pushed in, connections) is compared with
        the idle decision's view; the timers (strategy wake-up, stale check) still fire as before.
        Returns whether the evaluation was skipped.
        """
        idle = self._idle_view
        if idle is None:
            self.evaluate()
            return False
        view = self.view()
        if (view.orders != idle.orders or view.positions != idle.positions
                or view.available_margin != idle.available_margin or view.maker_fee != idle.maker_fee
                or view.book_ready != idle.book_ready or view.external_ready != idle.external_ready
                or view.custom_price != idle.custom_price or view.custom_price_reason != idle.custom_price_reason):
            self.evaluate()
            return False
        safety = self._safety
        if safety.blocked_reason() is not None or safety.shape(_EMPTY, None) is not _EMPTY:
            self.evaluate()
            return False
        ref = self._strategy.still_idle(view)
        if ref is None:
            self.evaluate()
            return False
        self._skipped_ref = ref.price
        self._set_stale_timer()
        return True

    def evaluate(self) -> None:
        self._idle_view = None
        safety = self._safety
        blocked = safety.blocked_reason()
        view = self.view()
        if blocked is not None:
            # Stale or untrustworthy data: pull quotes now and let the strategy see no book.
            safety.pull_quotes(blocked)
            view = replace(view, book_ready=False)
        raw = self._strategy.decide(view)
        decision = safety.shape(raw, blocked)
        if blocked is None and decision is raw and not (raw.places or raw.cancels or raw.logs):
            self._idle_view = view  # the strategy says in still_idle whether it was idle
        self._set_stale_timer()
        self._last_decision, self._skipped_ref = decision, None
        # A decision that places nothing only restates conditions ("... is omitted"): those lines
        # collapse in the log even as their prices move (pmm.log_repeats).
        extra = None if decision.places else SAME_UP_TO_FIGURES
        for line in decision.logs:
            strategy_log.info(line, extra=extra)
        if decision.reason != self._last_reason:
            self._last_reason = decision.reason
            if decision.reason:
                strategy_log.info("%s", decision.reason)
        self._desk.orders.execute(decision)
        wakeup = self._strategy.next_wakeup()
        if wakeup is not None:
            self._timers["strategy"] = wakeup
        else:
            self._timers.pop("strategy", None)

    def _set_stale_timer(self) -> None:
        stale_check = self._safety.next_stale_check()
        if stale_check is not None and stale_check > self._desk.clock.now():
            self._timers["stale"] = stale_check
        else:  # already stale (re-checked on the next data) or disabled
            self._timers.pop("stale", None)
