"""Funding schedule and payment arithmetic (exchange_apis.md §A9).

Settlements happen at every multiple of the funding interval since the epoch (00:00/08:00/16:00
UTC for 8 h). A position pays or receives `signed_size * mark * rate`: with a positive rate longs
pay shorts.
"""

from __future__ import annotations

import math
from decimal import Decimal

from pmm.sim.num import round8


def next_funding_time(after: float, interval_s: float) -> float:
    """The first settlement time strictly after `after`."""
    return (math.floor(after / interval_s) + 1) * interval_s


def funding_time_ms(funding_ts: float) -> int:
    return round(funding_ts * 1000)


def funding_amount(signed_size: Decimal, mark: Decimal, rate: Decimal) -> Decimal:
    """What the account receives (positive) or pays (negative), rounded to 8 decimals."""
    return round8(-(signed_size * mark * rate))
