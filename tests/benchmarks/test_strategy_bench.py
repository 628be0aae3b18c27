"""A tiny run of `python -m benchmarks.strategy`: both models on one regime, the table printed."""

from __future__ import annotations

from benchmarks import strategy


def test_smoke_both_models_print_a_row(capsys) -> None:  # type: ignore[no-untyped-def]
    assert strategy.main(["--days", "0.01", "--regimes", "high_funding"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| high_funding")]
    assert [r.split("|")[2].strip() for r in rows] == ["hummingbot", "glft"]


def test_regimes_reach_the_simulated_market() -> None:
    from pmm.config import parse_config_text

    up = parse_config_text(strategy.config_text("trend_up", "glft", 1))
    generator = up.sim.markets["BTC-USDT"].generator
    assert generator.drift_pct_per_hour > 0 and generator.trade_reach_ticks == 200  # type: ignore[union-attr]
    assert up.quoting.model.value == "glft"
    assert parse_config_text(strategy.config_text("flat", "hummingbot", 1)).quoting.model.value == "hummingbot"
