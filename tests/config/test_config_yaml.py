"""The config YAML loader: exact Decimals from the scalar text, key lines, duplicate keys."""

from __future__ import annotations

from decimal import Decimal

import pytest
import yaml

from pmm.config.yaml_loader import parse_yaml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1", Decimal("0.1")),
        ("0.10", Decimal("0.10")),
        ("-2.50", Decimal("-2.50")),
        ("1_000.5", Decimal("1000.5")),
        (".5", Decimal("0.5")),
        ("1.5e+3", Decimal("1.5E+3")),
    ],
)
def test_floats_become_decimals_from_their_text(text: str, expected: Decimal) -> None:
    value = parse_yaml(f"x: {text}\n").data["x"]
    assert isinstance(value, Decimal)
    assert value == expected
    assert str(value) == str(expected)  # same digits, same exponent: no binary detour


def test_non_finite_floats_become_non_finite_decimals() -> None:
    data = parse_yaml("a: .inf\nb: -.inf\nc: .nan\n").data
    assert data["a"] == Decimal("Infinity")
    assert data["b"] == Decimal("-Infinity")
    assert data["c"].is_nan()


def test_ints_bools_and_strings_are_unchanged() -> None:
    data = parse_yaml("a: 3\nb: true\nc: One-way\nd: '0.1'\n").data
    assert data == {"a": 3, "b": True, "c": "One-way", "d": "0.1"}


def test_key_lines_and_nearest_ancestor() -> None:
    doc = parse_yaml("a: 1\nsim:\n  markets:\n    BTC-USDT:\n      bids:\n        - [1, 2]\n")
    assert doc.line_of(("a",)) == 1
    assert doc.line_of(("sim", "markets", "BTC-USDT")) == 4
    assert doc.line_of(("sim", "markets", "BTC-USDT", "bids", 0)) == 6
    assert doc.line_of(("sim", "markets", "BTC-USDT", "tick_size")) == 4
    assert doc.line_of(("nope",)) is None


def test_duplicate_keys_are_recorded_with_both_lines() -> None:
    doc = parse_yaml("a: 1\nsim:\n  seed: 1\n  seed: 2\na: 3\n")
    assert doc.duplicates == [(("sim", "seed"), 3, 4), (("a",), 1, 5)]
    assert doc.data["a"] == 3


def test_empty_document() -> None:
    assert parse_yaml("").data is None
    assert parse_yaml("# nothing\n").data is None


def test_syntax_error_is_raised_with_a_mark() -> None:
    with pytest.raises(yaml.MarkedYAMLError) as err:
        parse_yaml("a: [1\nb: 2\n")
    assert err.value.problem_mark is not None
