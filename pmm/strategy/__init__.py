"""The PMM decision logic: pure, imports only `pmm.core`, `pmm.errors` and `pmm.strategy`.

`PerpetualMarketMaking.decide(view)` turns a `StrategyView` into a `Decision` (places, cancels,
reference price, why not quoting). Modules: `reference_price` (§2.1), `proposal` (§2.2 to §2.7),
`refresh` (§2.8, §2.9, timers), `positions` (take profit / stop loss, §3), `pmm` (the class).
"""

from __future__ import annotations

from pmm.strategy.params import OverrideOrder, PmmParams, PriceSource, PriceType
from pmm.strategy.pmm import POSITION_OPEN, PerpetualMarketMaking
from pmm.strategy.positions import ExitManager, ExitPlan
from pmm.strategy.proposal import ProposalResult, Proposed, build_proposal
from pmm.strategy.reference_price import RefPrice, maker_book_problem, reference_price
from pmm.strategy.refresh import Timers, within_tolerance
from pmm.strategy.views import Cancel, Decision, LiveOrder, OrderIntent, StrategyView

__all__ = [
    "POSITION_OPEN",
    "Cancel",
    "Decision",
    "ExitManager",
    "ExitPlan",
    "LiveOrder",
    "OrderIntent",
    "OverrideOrder",
    "PerpetualMarketMaking",
    "PmmParams",
    "PriceSource",
    "PriceType",
    "ProposalResult",
    "Proposed",
    "RefPrice",
    "StrategyView",
    "Timers",
    "build_proposal",
    "maker_book_problem",
    "reference_price",
    "within_tolerance",
]
