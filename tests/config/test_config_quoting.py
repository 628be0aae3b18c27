"""The `quoting:` section and the `exchange_stop_loss` key."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmm.config import parse_config_text
from pmm.errors import ConfigError
from pmm.strategy.params import QuotingModel, QuotingParams

BASE = """\
derivative: sim_perpetual
market: BTC-USDT
leverage: 10
bid_spread: 0.1
ask_spread: 0.1
order_amount: 0.01
order_refresh_time: 15
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config_text(text)
    assert err.value.exit_code == 2
    return [str(p) for p in err.value.problems]


def test_absent_section_is_the_hummingbot_model_without_limit() -> None:
    assert parse_config_text(BASE).to_strategy_params().quoting == QuotingParams()
    assert QuotingParams().model is QuotingModel.HUMMINGBOT and QuotingParams().max_position is None


def test_glft_section_reaches_the_strategy() -> None:
    text = BASE + "quoting:\n  model: glft\n  risk_aversion: 0.2\n  max_position: 0.05\n  funding_skew: false\n"
    q = parse_config_text(text).to_strategy_params().quoting
    assert q == QuotingParams(QuotingModel.GLFT, Decimal("0.2"), Decimal("0.05"), 600.0, 5.0, False)


@pytest.mark.parametrize(("section", "words"), [
    ("  model: glft\n", ["`quoting.max_position` must be set with `model: glft`"]),
    ("  model: avellaneda\n", ["`quoting.model`"]),
    ("  risk_aversion: 0\n  model: hummingbot\n", ["`quoting.risk_aversion` must be greater than 0"]),
    ("  max_position: -1\n", ["`quoting.max_position` must be greater than 0"]),
    ("  calibration_window_s: 10\n", ["`quoting.calibration_window_s` must be at least 60"]),
    ("  calibration_window_s: 100\n  recalibrate_every_s: 200\n",
     ["`quoting.recalibrate_every_s` must be at most calibration_window_s (100)"]),
    ("  gamma: 0.1\n", ["unknown key `quoting.gamma`"]),
])
def test_invalid_quoting_keys_are_named(section: str, words: list[str]) -> None:
    found = problems(BASE + "quoting:\n" + section)
    assert len(found) == 1, found
    for w in words:
        assert w in found[0], found


def test_exchange_stop_loss_needs_a_stop_loss_spread() -> None:
    found = problems(BASE + "exchange_stop_loss: true\n")
    assert len(found) == 1 and "`stop_loss_spread` must be above 0" in found[0], found
    assert "`exchange_stop_loss`" in found[0]
    config = parse_config_text(BASE + "exchange_stop_loss: true\nstop_loss_spread: 2\n")
    assert config.exchange_stop_loss is True and config.stop_loss_spread == Decimal(2)
    assert parse_config_text(BASE + "exchange_stop_loss: false\n").exchange_stop_loss is False
