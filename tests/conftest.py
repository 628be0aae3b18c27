"""Shared test setup: trap accidental float/Decimal mixing everywhere (STYLE.md)."""

from __future__ import annotations

import decimal

import pytest


@pytest.fixture(autouse=True)
def _trap_float_decimal_mixing():
    ctx = decimal.getcontext()
    old = ctx.traps[decimal.FloatOperation]
    ctx.traps[decimal.FloatOperation] = True
    yield
    ctx.traps[decimal.FloatOperation] = old
