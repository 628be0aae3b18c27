"""The class itself: construction checks, orders it leaves alone, log de-duplication."""

from __future__ import annotations

from dataclasses import replace

import pytest
from strategy_helpers import RULES, T0, live, params, position, strategy, view

from pmm.core.model import OrderPurpose, PositionSide, Side
from pmm.errors import ConfigError
from pmm.strategy import PerpetualMarketMaking, __all__ as public


def test_rules_for_another_market_are_refused():
    with pytest.raises(ConfigError, match="Trading rules are for ETH-USDT"):
        PerpetualMarketMaking(params(), replace(RULES, market="ETH-USDT"))


def test_public_names():
    for name in ("PerpetualMarketMaking", "PmmParams", "StrategyView", "LiveOrder", "OrderIntent", "Cancel", "Decision"):
        assert name in public


def test_flatten_and_external_orders_are_left_alone_and_do_not_block_quotes():
    s = strategy()
    others = [
        live("f", Side.SELL, "100.6", purpose=OrderPurpose.FLATTEN),
        live("e", Side.BUY, "90", purpose=OrderPurpose.EXTERNAL),
    ]
    d = s.decide(view(now=T0, orders=others))
    assert d.cancels == ()
    assert len(d.places) == 2


def test_standing_warnings_are_logged_once_not_on_every_event():
    s = strategy()
    two = [position(PositionSide.LONG, "1", "100"), position(PositionSide.SHORT, "1", "100")]
    first = s.decide(view(now=T0, positions=two))
    assert any("More than one open position in ONEWAY" in line for line in first.logs)
    second = s.decide(view(now=T0 + 1, positions=two))
    assert not any("More than one open position" in line for line in second.logs)


def test_budget_omission_log_is_not_repeated_on_every_book_update():
    s = strategy()
    first = s.decide(view(now=T0, margin="5", fee="0.001"))
    assert sum("Insufficient balance" in line for line in first.logs) == 2
    second = s.decide(view(now=T0 + 0.1, margin="5", fee="0.001"))  # still starved: said already
    assert not any("Insufficient balance" in line for line in second.logs)
    assert second.reason == "insufficient margin: all orders omitted"
    third = s.decide(view(now=T0 + 0.2, margin="15", fee="0.001"))  # the buy fits now; the sell still not
    assert [o.side for o in third.places] == [Side.BUY]
    assert not any("Insufficient" in line for line in third.logs)  # the same omission, still ongoing
    fresh = strategy().decide(view(now=T0, margin="15", fee="0.001"))
    assert [line for line in fresh.logs if "Insufficient" in line] == [
        "Insufficient balance: SELL order (price: 101.00, size: 1) is omitted."
    ]
