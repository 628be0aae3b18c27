"""DecimalText: lossless round trip through SQLite, refusal of floats and non-finite values."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import StatementError

from pmm.store.db import open_engine
from pmm.store.types import DecimalText, decimal_to_text

VALUES = [
    "0.00000001",
    "65000.10",
    "65000.1",
    "0",
    "0.000",
    "-0",
    "-12.5",
    "123456789012345678901234567890.123456789012345678901234567890",
    "1E+3",
    "1E-30",
    "99999999999999999999999999999999999999",
    "0.1",
]


@pytest.fixture
def table_engine(db_url: str):  # type: ignore[no-untyped-def]
    engine = open_engine(db_url)
    md = MetaData()
    t = Table("decimals", md, Column("id", Integer, primary_key=True), Column("v", DecimalText, nullable=True))
    md.create_all(engine)
    yield engine, t
    engine.dispose()


@pytest.mark.parametrize("s", VALUES)
def test_round_trip_keeps_value_and_digits(table_engine, s: str) -> None:  # type: ignore[no-untyped-def]
    engine, t = table_engine
    original = Decimal(s)
    with engine.begin() as conn:
        conn.execute(insert(t).values(id=1, v=original))
    with engine.connect() as conn:
        back = conn.execute(select(t.c.v)).scalar_one()
        stored = conn.execute(text("SELECT v, typeof(v) FROM decimals")).one()
    assert isinstance(back, Decimal)
    assert back == original
    assert back.as_tuple() == original.as_tuple()  # same sign, digits and exponent
    assert stored[1] == "text"  # never REAL


def test_plain_notation_in_the_database(table_engine) -> None:  # type: ignore[no-untyped-def]
    engine, t = table_engine
    with engine.begin() as conn:
        conn.execute(insert(t), [{"id": 1, "v": Decimal("0.00000001")}, {"id": 2, "v": Decimal("65000.10")}])
    with engine.connect() as conn:
        raw = conn.execute(text("SELECT v FROM decimals ORDER BY id")).scalars().all()
    assert raw == ["0.00000001", "65000.10"]


def test_null_and_int(table_engine) -> None:  # type: ignore[no-untyped-def]
    engine, t = table_engine
    with engine.begin() as conn:
        conn.execute(insert(t), [{"id": 1, "v": None}, {"id": 2, "v": 7}])
    with engine.connect() as conn:
        assert conn.execute(select(t.c.v).order_by(t.c.id)).scalars().all() == [None, Decimal(7)]


@pytest.mark.parametrize("bad", [0.1, "0.1", True])
def test_floats_and_strings_are_refused(table_engine, bad: object) -> None:  # type: ignore[no-untyped-def]
    engine, t = table_engine
    with pytest.raises(StatementError, match="needs a Decimal"):
        with engine.begin() as conn:
            conn.execute(insert(t).values(id=1, v=bad))


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity", "sNaN"])
def test_non_finite_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="non-finite"):
        decimal_to_text(Decimal(bad))


def test_postgresql_uses_numeric() -> None:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    assert DecimalText().dialect_impl(dialect).compile(dialect=dialect) == "NUMERIC"
