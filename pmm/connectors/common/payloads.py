"""Reading venue payloads safely: exact decimals, book levels, and what a bad payload raises.

Money and sizes are built from the payloads' decimal strings (`dec` refuses floats and
non-finite values). A venue value pmm cannot interpret safely (an order status, a side) raises
`UnmappedValue`; whatever reading a malformed payload can raise is `BAD_PAYLOAD`, which callers
catch to drop the message, count and log it, and resync what it concerns (the order book, or the
account) instead of guessing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

from pmm.core.events import Level

Payload = Mapping[str, Any]
MarketOf = Callable[[str], str]  # venue symbol -> pmm market


class UnmappedValue(ValueError):
    """A venue value pmm cannot interpret safely (order status, side, position side or index)."""


BAD_PAYLOAD = (UnmappedValue, KeyError, IndexError, ValueError, TypeError, AttributeError, ArithmeticError)


def dec(value: object) -> Decimal:
    """Decimal from a payload value: strings (and exact ints) only, never floats; finite only."""
    if isinstance(value, str):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    else:
        raise TypeError(f"expected a decimal string, got {type(value).__name__} {value!r}")
    if not number.is_finite():  # "NaN" and "Infinity" parse, but are no price or size
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def book_levels(rows: Iterable[Iterable[Any]]) -> tuple[Level, ...]:
    """`[[price, size], ...]` -> levels; a price <= 0 or a negative size is impossible (ValueError)."""
    levels = tuple((dec(price), dec(size)) for price, size in rows)
    for price, size in levels:
        if price <= 0 or size < 0:
            raise ValueError(f"impossible order book level: price {price}, size {size}")
    return levels
