"""The `sim:` section: defaults in sync with pmm.sim.settings, unit conversion, generators."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from pmm.config import SimConfig, SimMarketConfig, SyntheticGenerator, load_config, parse_config_text
from pmm.errors import ConfigError
from pmm.sim.settings import (
    ReplayMarket,
    SimMarketSettings,
    SimSettings,
    StaticMarket,
    SyntheticMarket,
)

BASE = """\
derivative: sim_perpetual
market: BTC-USDT
leverage: 10
bid_spread: 0.1
ask_spread: 0.1
order_amount: 0.01
order_refresh_time: 15
"""


def sim(section: str, base: str = BASE) -> SimSettings:
    return parse_config_text(base + section).to_sim_settings()


def only_problem(text: str) -> str:
    with pytest.raises(ConfigError) as err:
        parse_config_text(text)
    assert len(err.value.problems) == 1, err.value.problems
    return err.value.problems[0]


def _defaults(cls: type) -> dict[str, object]:
    return {
        f.name: f.default
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING
    }


# --- defaults match pmm.sim.settings ----------------------------------------------------------


def test_no_sim_section_gives_the_sim_settings_defaults() -> None:
    settings = sim("")
    expected = SimSettings(markets=settings.markets)
    assert settings == expected
    (market,) = settings.markets
    assert market == SimMarketSettings(market="BTC-USDT", generator=SyntheticMarket())


def test_sim_field_defaults_are_the_settings_defaults_in_percent() -> None:
    defaults = _defaults(SimSettings)
    config = SimConfig()
    assert config.maker_fee_pct / 100 == defaults["maker_fee"]
    assert config.taker_fee_pct / 100 == defaults["taker_fee"]
    assert config.maintenance_margin_pct / 100 == defaults["maintenance_margin"]
    assert float(config.funding_interval_hours * 3600) == defaults["funding_interval_s"]
    assert float(config.latency_ms / 1000) == defaults["latency_s"]
    assert config.seed == defaults["seed"]
    assert config.start_time == defaults["start_ts"]


def test_market_and_generator_defaults_are_the_settings_defaults() -> None:
    market_defaults = _defaults(SimMarketSettings)
    config = SimMarketConfig()
    for name in ("tick_size", "step_size", "min_size", "min_notional", "max_leverage"):
        assert getattr(config, name) == market_defaults[name], name
    assert SyntheticGenerator().to_settings(Path(".")) == SyntheticMarket()


def test_default_balance_is_in_the_quote_asset() -> None:
    settings = sim("", base=BASE.replace("BTC-USDT", "ETH-USDC"))
    assert settings.balances == {"USDC": Decimal("10000")}


# --- conversions ------------------------------------------------------------------------------


def test_percents_hours_and_milliseconds_are_converted() -> None:
    settings = sim(
        "sim:\n"
        "  seed: 42\n"
        "  balances: {USDT: 2500.5, btc: 0.1}\n"
        "  maker_fee_pct: -0.01\n"
        "  taker_fee_pct: 0.04\n"
        "  funding_interval_hours: 4\n"
        "  maintenance_margin_pct: 0.4\n"
        "  latency_ms: 25\n"
        "  start_time: 1700000000\n"
    )
    assert settings.seed == 42
    assert settings.balances == {"USDT": Decimal("2500.5"), "BTC": Decimal("0.1")}
    assert settings.maker_fee == Decimal("-0.0001")
    assert settings.taker_fee == Decimal("0.0004")
    assert settings.funding_interval_s == 4 * 3600.0
    assert settings.maintenance_margin == Decimal("0.004")
    assert settings.latency_s == 0.025
    assert settings.start_ts == 1_700_000_000.0


@pytest.mark.parametrize(
    "text",
    ["2026-03-01T00:00:00Z", '"2026-03-01T00:00:00Z"', '"2026-03-01T01:00:00+01:00"', "2026-03-01", '"2026-03-01 00:00:00"'],
)
def test_start_time_in_iso_8601(text: str) -> None:
    expected = datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp()
    assert sim(f"sim:\n  start_time: {text}\n").start_ts == expected


def test_synthetic_generator_fields() -> None:
    settings = sim(
        "sim:\n"
        "  markets:\n"
        "    BTC-USDT:\n"
        "      tick_size: 0.5\n"
        "      step_size: 0.0001\n"
        "      min_size: 0.0001\n"
        "      min_notional: 10\n"
        "      max_leverage: 100\n"
        "      generator:\n"
        "        type: synthetic\n"
        "        start_price: 30000.5\n"
        "        volatility_pct_per_sqrt_hour: 0.5\n"
        "        book_interval_s: 0.5\n"
        "        depth_levels: 10\n"
        "        level_spacing_ticks: 2\n"
        "        level_size: 1.25\n"
        "        half_spread_ticks: 3\n"
        "        trade_rate_per_min: 12\n"
        "        trade_size: 0.1\n"
        "        funding_rate_mean_pct: 0.01\n"
        "        funding_rate_volatility_pct: 0.003\n"
        "        mark_premium_pct: -0.02\n"
    )
    (market,) = settings.markets
    assert market == SimMarketSettings(
        market="BTC-USDT",
        generator=SyntheticMarket(
            start_price=Decimal("30000.5"),
            volatility=Decimal("0.005"),
            book_interval_s=0.5,
            depth_levels=10,
            level_spacing_ticks=2,
            level_size=Decimal("1.25"),
            half_spread_ticks=3,
            trade_rate_per_min=12.0,
            trade_size=Decimal("0.1"),
            funding_rate_mean=Decimal("0.0001"),
            funding_rate_volatility=Decimal("0.00003"),
            mark_premium=Decimal("-0.0002"),
        ),
        tick_size=Decimal("0.5"),
        step_size=Decimal("0.0001"),
        min_size=Decimal("0.0001"),
        min_notional=Decimal(10),
        max_leverage=100,
    )


def test_generator_type_defaults_to_synthetic() -> None:
    settings = sim("sim:\n  markets:\n    BTC-USDT:\n      generator: {start_price: 100}\n")
    assert settings.markets[0].generator == SyntheticMarket(start_price=Decimal(100))


def test_static_generator() -> None:
    settings = sim(
        "sim:\n"
        "  markets:\n"
        "    BTC-USDT:\n"
        "      generator:\n"
        "        type: Static\n"
        "        bids: [[99.5, 1], [99.0, 2.5]]\n"
        "        asks: [[100.5, 1]]\n"
        "        mark_price: 100.1\n"
        "        funding_rate_pct: 0.01\n"
    )
    assert settings.markets[0].generator == StaticMarket(
        bids=((Decimal("99.5"), Decimal(1)), (Decimal("99.0"), Decimal("2.5"))),
        asks=((Decimal("100.5"), Decimal(1)),),
        mark_price=Decimal("100.1"),
        funding_rate=Decimal("0.0001"),
    )


def test_replay_path_is_relative_to_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    recording = tmp_path / "data" / "btc.jsonl"
    recording.write_text("", encoding="utf-8")
    config_file = tmp_path / "replay.yml"
    config_file.write_text(
        BASE
        + "sim:\n  markets:\n    BTC-USDT:\n      generator: {type: replay, path: data/btc.jsonl, speed: 2}\n",
        encoding="utf-8",
    )
    settings = load_config(config_file).to_sim_settings()
    assert settings.markets[0].generator == ReplayMarket(path=recording.resolve(), speed=2.0)


def test_replay_file_must_exist(tmp_path: Path) -> None:
    config_file = tmp_path / "replay.yml"
    config_file.write_text(
        BASE + "sim:\n  markets:\n    BTC-USDT:\n      generator: {type: replay, path: gone.jsonl}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as err:
        load_config(config_file)
    (problem,) = err.value.problems
    assert problem.startswith("`sim.markets.BTC-USDT.generator.path` must name an existing file")
    assert str(tmp_path / "gone.jsonl") in problem
    assert problem.endswith('was "gone.jsonl".')


def test_maker_market_gets_a_default_generator_next_to_listed_ones() -> None:
    settings = sim("sim:\n  markets:\n    ETH-USDT: {tick_size: 0.01}\n")
    assert [m.market for m in settings.markets] == ["ETH-USDT", "BTC-USDT"]
    assert settings.markets[1].generator == SyntheticMarket()


def test_external_sim_market_gets_a_default_generator() -> None:
    settings = sim(
        "price_source: external_market\n"
        "price_source_derivative: sim_perpetual\n"
        "price_source_market: BTC-USDT-INDEX\n"
    )
    assert [m.market for m in settings.markets] == ["BTC-USDT", "BTC-USDT-INDEX"]


def test_non_sim_derivative_gets_no_default_market() -> None:
    config = parse_config_text(BASE.replace("sim_perpetual", "binance_perpetual"))
    assert config.sim.markets == {}


def test_sim_section_on_a_live_connector_is_a_warning() -> None:
    config = parse_config_text(BASE.replace("sim_perpetual", "binance_perpetual") + "sim:\n  seed: 2\n")
    assert config.warnings == ("`sim` ignored: `derivative` binance_perpetual is not simulated.",)
    paper = parse_config_text(BASE.replace("sim_perpetual", "binance_perpetual_paper_trade") + "sim:\n  seed: 2\n")
    assert paper.warnings == ()


# --- bad values -------------------------------------------------------------------------------

M = "sim:\n  markets:\n    BTC-USDT:\n"
G = M + "      generator:\n"

BAD = [
    ("sim:\n  maker_fee_pct: 2\n", "`sim.maker_fee_pct` must be at least -1 and at most 1 (percent, negative is a rebate), was 2."),
    ("sim:\n  taker_fee_pct: -0.1\n", "`sim.taker_fee_pct` must be at least 0 and at most 1 (percent), was -0.1."),
    ("sim:\n  funding_interval_hours: 0\n", "`sim.funding_interval_hours` must be greater than 0 and at most 24 (hours), was 0."),
    ("sim:\n  maintenance_margin_pct: 0\n", "`sim.maintenance_margin_pct` must be greater than 0 and less than 100 (percent of notional), was 0."),
    ("sim:\n  latency_ms: -1\n", "`sim.latency_ms` must be at least 0 and at most 60000 (milliseconds), was -1."),
    ("sim:\n  seed: -1\n", "`sim.seed` must be at least 0, was -1."),
    ("sim:\n  seed: abc\n", '`sim.seed` must be a whole number at least 0, was "abc".'),
    (
        "sim:\n  start_time: soon\n",
        "`sim.start_time` must be an ISO-8601 UTC time like 2026-01-01T00:00:00Z or epoch seconds (at least 0), was \"soon\".",
    ),
    (
        "sim:\n  start_time: 1767225600000\n",
        "`sim.start_time` must be an ISO-8601 UTC time like 2026-01-01T00:00:00Z or epoch seconds (at least 0), "
        "was 1767225600000 (this looks like milliseconds: divide by 1000).",
    ),
    ("sim:\n  balances: {USDT: -5}\n", "`sim.balances.USDT` must be at least 0 (asset units), was -5."),
    ("sim:\n  balances: {US-DT: 5}\n", 'key `sim.balances.US-DT` must be an asset symbol like USDT, was "US-DT".'),
    ("sim:\n  balances: 100\n", "`sim.balances` must be a section of `key: value` lines, was 100."),
    (
        "sim:\n  markets:\n    BTCUSDT: {}\n",
        'key `sim.markets.BTCUSDT` must be a trading pair like BASE-QUOTE (e.g. BTC-USDT), was "BTCUSDT".',
    ),
    (M + "      tick_size: 0\n", "`sim.markets.BTC-USDT.tick_size` must be greater than 0 (quote price), was 0."),
    (M + "      max_leverage: 0\n", "`sim.markets.BTC-USDT.max_leverage` must be at least 1 and at most 1000 (x), was 0."),
    (M + "      tick: 0.1\n", "unknown key `sim.markets.BTC-USDT.tick` (did you mean `sim.markets.BTC-USDT.tick_size`?)."),
    (
        G + "        type: random\n",
        '`sim.markets.BTC-USDT.generator.type` must be one of synthetic, static, replay, was "random".',
    ),
    (
        G + "        type: statik\n",
        '`sim.markets.BTC-USDT.generator.type` must be one of synthetic, static, replay, was "statik" (did you mean `static`?).',
    ),
    (
        M + "      generator: 5\n",
        "`sim.markets.BTC-USDT.generator` must be a section with `type:` synthetic, static or replay, was 5.",
    ),
    (
        G + "        start_price: 0\n",
        "`sim.markets.BTC-USDT.generator.start_price` must be greater than 0 (quote price), was 0.",
    ),
    (
        G + "        volatility_pct_per_sqrt_hour: -1\n",
        "`sim.markets.BTC-USDT.generator.volatility_pct_per_sqrt_hour` must be at least 0 and less than 100 "
        "(percent of price per square root of an hour), was -1.",
    ),
    (
        G + "        depth_levels: 0\n",
        "`sim.markets.BTC-USDT.generator.depth_levels` must be at least 1 and at most 1000 (levels per side), was 0.",
    ),
    (
        G + "        trade_rate_per_min: -1\n",
        "`sim.markets.BTC-USDT.generator.trade_rate_per_min` must be at least 0 (trades per minute), was -1.",
    ),
    (
        G + "        start_pric: 5\n",
        "unknown key `sim.markets.BTC-USDT.generator.start_pric` (did you mean `sim.markets.BTC-USDT.generator.start_price`?).",
    ),
    (
        G + "        type: static\n        bids: [[100, 1], [101, 1]]\n        asks: [[102, 1]]\n",
        "`sim.markets.BTC-USDT.generator.bids[1]` must be a level priced below the previous one (100), was [101, 1].",
    ),
    (
        G + "        type: static\n        bids: [[100, 1]]\n        asks: [[102, 0]]\n",
        "`sim.markets.BTC-USDT.generator.asks[0]` must be a [price, size] pair, both greater than 0, was [102, 0].",
    ),
    (
        G + "        type: static\n        bids: [[100, 1]]\n        asks: [[99, 1]]\n",
        "`sim.markets.BTC-USDT.generator.asks[0]` must be priced above the best bid (100), was [99, 1].",
    ),
    (
        G + "        type: static\n        bids: [[100, 1]]\n",
        "`sim.markets.BTC-USDT.generator.asks` is required: a non-empty list of [price, size] levels, "
        "both greater than 0, lowest price first.",
    ),
    (
        G + "        type: replay\n",
        "`sim.markets.BTC-USDT.generator.path` is required: a file path (relative to the config file's folder).",
    ),
    (
        G + "        type: replay\n        path: x.jsonl\n        speed: 0\n",
        "`sim.markets.BTC-USDT.generator.speed` must be greater than 0 (times real time, real-time runs only), was 0.",
    ),
]


@pytest.mark.parametrize(("section", "expected"), BAD, ids=[e.split(" ")[0] + str(i) for i, (_, e) in enumerate(BAD)])
def test_bad_sim_value(section: str, expected: str) -> None:
    assert only_problem(BASE + section) == expected


def test_generator_shorthand_names_the_type() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config_text(BASE + M + "      generator: static\n")
    bids, asks = err.value.problems
    assert bids.startswith("`sim.markets.BTC-USDT.generator.bids` is required")
    assert asks.startswith("`sim.markets.BTC-USDT.generator.asks` is required")
