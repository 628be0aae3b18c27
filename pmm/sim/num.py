"""Decimal helpers shared by the simulator: money rounding and string (de)serialisation."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Final

from pmm.core.events import Level

Q8: Final = Decimal("0.00000001")


def round8(value: Decimal) -> Decimal:
    """Money amounts the venue books (fees, funding, margins) carry 8 decimals."""
    return value.quantize(Q8, rounding=ROUND_HALF_UP)


def dec(text: str) -> Decimal:
    """A Decimal from its exported string; raises ValueError on garbage (never from a float)."""
    if not isinstance(text, str):
        raise ValueError(f"expected a decimal string, was {text!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"expected a decimal string, was {text!r}") from None
    if not value.is_finite():
        raise ValueError(f"expected a finite decimal, was {text!r}")
    return value


def levels_to_json(levels: tuple[Level, ...] | list[Level]) -> list[list[str]]:
    return [[str(price), str(size)] for price, size in levels]


def levels_from_json(rows: list[list[str]]) -> tuple[Level, ...]:
    return tuple((dec(price), dec(size)) for price, size in rows)
