"""Numbers on the wire: milliseconds, plain decimal strings, a market's tick/step grid.

Venue servers send prices and sizes as strings. A book level's price string must be identical in a
REST snapshot and in every stream message (clients key their books on it), so prices and sizes are
written with the decimals of the market's tick and step; computed money (fees, PnL, margins) with a
fixed number of decimals.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from pmm.core.model import TradingRules


def ms(ts: float) -> int:
    """Float seconds since the epoch -> integer milliseconds."""
    return int(round(ts * 1000))


def plain(value: Decimal) -> str:
    """A Decimal as a plain string, never in exponent notation ("1E+1" -> "10")."""
    text = format(value, "f")
    return "0" if text in ("-0", "") else text


def fixed(value: Decimal, places: int) -> str:
    """`value` rounded half-up to `places` decimals, written plainly ("-0.00" -> "0.00")."""
    text = plain(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def parse_decimal(text: object) -> Decimal | None:
    """A finite Decimal from a request parameter ("25000", "25000.0", "0.01"), or None."""
    if isinstance(text, bool):
        return None
    if isinstance(text, Decimal):
        return text if text.is_finite() else None
    if isinstance(text, int):
        return Decimal(text)
    if not isinstance(text, str):
        return None
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def decimals_of(step: Decimal) -> int:
    """How many decimals a grid step shows: 0.1 -> 1, 0.5 -> 1, 0.001 -> 3, 10 -> 0."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


class Grid:
    """Writes one market's prices and sizes with the decimals of its tick and step."""

    __slots__ = ("rules", "price_places", "qty_places", "_price_exp", "_qty_exp")

    def __init__(self, rules: TradingRules) -> None:
        self.rules = rules
        self.price_places = decimals_of(rules.tick_size)
        self.qty_places = decimals_of(rules.step_size)
        self._price_exp = Decimal(1).scaleb(-self.price_places)
        self._qty_exp = Decimal(1).scaleb(-self.qty_places)

    @staticmethod
    def _fixed(value: Decimal, exp: Decimal) -> str:
        exact = value.quantize(exp)
        # Never round a value that is off the grid: show it exactly instead.
        return plain(exact if exact == value else value)

    def price(self, value: Decimal) -> str:
        return self._fixed(value, self._price_exp)

    def qty(self, value: Decimal) -> str:
        return self._fixed(value, self._qty_exp)

    def levels(self, levels: Iterable[tuple[Decimal, Decimal]]) -> list[list[str]]:
        return [[self.price(p), self.qty(s)] for p, s in levels]
