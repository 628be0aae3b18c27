"""Shared test setup: trap accidental float/Decimal mixing everywhere (STYLE.md); pmm's logging as
pytest left it, before every test."""

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


@pytest.fixture(autouse=True)
def _pmm_logging_as_pytest_left_it():
    """Every test starts with pmm's loggers propagating to the root (where caplog listens) and no
    global `logging.disable`: a bot run in-process sets up its own output (`ui/log_output.py`), and a
    test that ends it abruptly must not silence the log-reading tests that come after it on the same
    worker."""
    import logging

    pmm_logger = logging.getLogger("pmm")
    saved = pmm_logger.level, pmm_logger.propagate, list(pmm_logger.handlers)
    logging.disable(logging.NOTSET)
    pmm_logger.setLevel(logging.NOTSET)
    pmm_logger.propagate = True
    yield
    pmm_logger.setLevel(saved[0])
    pmm_logger.propagate = saved[1]
    pmm_logger.handlers[:] = saved[2]
    logging.disable(logging.NOTSET)
