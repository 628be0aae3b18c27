"""Column types: a lossless Decimal, and float-second timestamps in double precision.

SQLite has no decimal type: SQLAlchemy's `Numeric` there goes through REAL (a float) and loses
digits (Hummingbot's `SqliteDecimal(6)` truncates below 1e-6). `DecimalText` stores the canonical
string instead, so reading back gives an equal `Decimal` with the same digits and exponent
("65000.10" stays "65000.10", "0.00000001" stays "0.00000001"). On PostgreSQL it is an
unconstrained `NUMERIC`, which is exact and keeps the scale.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Double, Numeric, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


def decimal_to_text(value: Decimal) -> str:
    """The canonical, lossless text of a finite Decimal.

    Plain notation when the exponent is <= 0 (readable in a SQL shell, and `Decimal()` of it gives
    back the same digits and exponent); scientific notation otherwise ("1E+3"), because "1000"
    would come back with a different exponent.
    """
    if not value.is_finite():
        # NaN or Infinity in money is a bug upstream; refuse it rather than persist garbage.
        raise ValueError(f"cannot store non-finite Decimal {value!r}")
    if value.as_tuple().exponent <= 0:  # type: ignore[operator]  # finite: exponent is an int
        return format(value, "f")
    return str(value)


def text_to_decimal(text: str) -> Decimal:
    """Inverse of `decimal_to_text`."""
    return Decimal(text)


class DecimalText(TypeDecorator[Decimal]):
    """A `Decimal` column that never passes through a float.

    Binding accepts `Decimal` and `int`; a `float` raises `TypeError` (it would already have lost
    digits before reaching us), as does a `str` (build the Decimal where the value is parsed).
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            # NUMERIC without precision/scale: arbitrary precision, keeps the given scale.
            return dialect.type_descriptor(Numeric(asdecimal=True))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
            raise TypeError(f"DecimalText column needs a Decimal, got {type(value).__name__} {value!r}")
        dec = value if isinstance(value, Decimal) else Decimal(value)
        if dialect.name == "postgresql":
            if not dec.is_finite():
                raise ValueError(f"cannot store non-finite Decimal {dec!r}")
            return dec
        return decimal_to_text(dec)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        if isinstance(value, str):
            return text_to_decimal(value)
        # A value written by something else as REAL/INTEGER: go through str, never Decimal(float),
        # so at least the shortest repr is kept rather than the binary expansion.
        return Decimal(str(value))

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


# Timestamps are float seconds since the epoch; DOUBLE keeps microseconds (Float may be 4 bytes).
Timestamp = Double
