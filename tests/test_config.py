"""The YAML config: example configs, reference defaults, percent conversion, Decimal exactness.

Message wording per bad value is in tests/config/test_config_messages.py; the `sim:` section
in tests/config/test_config_sim.py.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from pmm.config import KNOWN_DERIVATIVES, KNOWN_EXCHANGES, BotConfig, load_config, parse_config_text
from pmm.connectors.registry import built_connectors, price_sources
from pmm.core.model import MarginMode, PositionMode, Side
from pmm.errors import ConfigError
from pmm.strategy.params import OverrideOrder, PmmParams, PriceSource, PriceType

REPO = Path(__file__).resolve().parents[1]
CONFIGS = sorted((REPO / "configs").glob("*.yml")) + sorted((REPO / "configs").glob("*.yaml"))

MINIMAL = """\
derivative: sim_perpetual
market: BTC-USDT
leverage: 10
bid_spread: 1
ask_spread: 1
order_amount: 0.01
order_refresh_time: 15
"""


def parse(extra: str = "", base: str = MINIMAL) -> BotConfig:
    return parse_config_text(base + extra)


# --- example configs ------------------------------------------------------------------------


def test_there_are_example_configs() -> None:
    names = {p.name for p in CONFIGS}
    assert {"quickstart.yml", "conservative.yml", "aggressive_hedge.yml", "external_price.yml"} <= names
    assert {"sim_external_price.yml", "sim_static.yml", "sim_custom_api.yml"} <= names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_example_config_loads(path: Path) -> None:
    config = load_config(path)
    assert config.path == path.resolve()
    assert config.source_text == path.read_text(encoding="utf-8")
    assert config.derivative in KNOWN_DERIVATIVES
    assert config.warnings == ()  # examples should not carry keys that do nothing
    params = config.to_strategy_params()
    assert isinstance(params, PmmParams)
    assert params.market == config.market
    if config.derivative == "sim_perpetual":
        settings = config.to_sim_settings()
        assert config.market in {m.market for m in settings.markets}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_example_configs_are_written_as_hummingbot_configs(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "template_version: 6" in text
    assert "strategy: perpetual_market_making" in text


def test_quickstart_is_the_offline_embedded_default() -> None:
    config = load_config(REPO / "configs" / "quickstart.yml")
    assert config.derivative == "sim_perpetual"
    assert config.market == "BTC-USDT"
    assert config.leverage == 10
    assert config.position_mode is PositionMode.ONEWAY
    assert config.order_amount == Decimal("0.01")
    assert config.order_refresh_time == 15.0
    assert Decimal("0.05") <= config.bid_spread <= Decimal("0.1")
    assert Decimal("0.05") <= config.ask_spread <= Decimal("0.1")
    assert config.long_profit_taking_spread == config.short_profit_taking_spread == Decimal("0.2")
    assert config.stop_loss_spread == Decimal(1)
    assert config.time_between_stop_loss_orders == 30.0
    assert config.filled_order_delay == 10.0
    params = config.to_strategy_params()
    assert params.profit_taking_enabled and params.stop_loss_enabled
    sim = config.to_sim_settings()
    (market,) = sim.markets
    generator = market.generator
    # Busy enough to fill, move 0.2% and 1%, and pay funding within a simulated day.
    assert generator.trade_rate_per_min >= 10  # type: ignore[union-attr]
    assert generator.volatility >= Decimal("0.004")  # type: ignore[union-attr]
    assert sim.funding_interval_s <= 8 * 3600
    assert config.leverage <= market.max_leverage


def test_sim_external_price_uses_a_second_sim_market() -> None:
    config = load_config(REPO / "configs" / "sim_external_price.yml")
    assert config.price_source is PriceSource.EXTERNAL_MARKET
    assert config.price_source_derivative == config.derivative == "sim_perpetual"
    assert config.price_source_market != config.market
    markets = {m.market for m in config.to_sim_settings().markets}
    assert {config.market, config.price_source_market} <= markets


def test_custom_api_example_uses_a_local_url() -> None:
    config = load_config(REPO / "configs" / "sim_custom_api.yml")
    assert config.price_source is PriceSource.CUSTOM_API
    assert config.price_type is PriceType.CUSTOM
    assert config.price_source_custom_api is not None
    assert config.price_source_custom_api.startswith("http://127.0.0.1")


# --- defaults (reference §1, "config default" column) ---------------------------------------


REFERENCE_DEFAULTS: dict[str, object] = {
    "strategy": "perpetual_market_making",
    "position_mode": PositionMode.ONEWAY,
    "minimum_spread": Decimal(-100),
    "order_refresh_tolerance_pct": Decimal(0),
    "long_profit_taking_spread": Decimal(0),
    "short_profit_taking_spread": Decimal(0),
    "stop_loss_spread": Decimal(0),
    "time_between_stop_loss_orders": 60.0,
    "stop_loss_slippage_buffer": Decimal("0.5"),
    "price_ceiling": Decimal(-1),
    "price_floor": Decimal(-1),
    "order_levels": 1,
    "order_level_amount": Decimal(0),
    "order_level_spread": Decimal(1),
    "filled_order_delay": 60.0,
    "order_optimization_enabled": False,
    "ask_order_optimization_depth": Decimal(0),
    "bid_order_optimization_depth": Decimal(0),
    "price_source": PriceSource.CURRENT_MARKET,
    "price_type": PriceType.MID_PRICE,
    "price_source_derivative": None,
    "price_source_market": None,
    "price_source_custom_api": None,
    "custom_api_update_interval": 5.0,
    "order_override": {},
    "margin_mode": MarginMode.CROSS,
}


@pytest.mark.parametrize("key", sorted(REFERENCE_DEFAULTS))
def test_defaults_equal_the_reference_config_defaults(key: str) -> None:
    assert getattr(parse(), key) == REFERENCE_DEFAULTS[key]


def test_default_params_are_the_reference_defaults_as_fractions() -> None:
    params = parse().to_strategy_params()
    assert params.minimum_spread == Decimal(-1)  # -100% disables
    assert params.order_refresh_tolerance_pct == Decimal(0)
    assert params.order_level_spread == Decimal("0.01")
    assert params.stop_loss_slippage_buffer == Decimal("0.005")
    assert params.order_override == ()
    assert not params.profit_taking_enabled and not params.stop_loss_enabled


@pytest.mark.parametrize(
    "key",
    ["derivative", "market", "leverage", "bid_spread", "ask_spread", "order_amount", "order_refresh_time"],
)
def test_required_keys_have_no_default(key: str) -> None:
    text = "".join(line + "\n" for line in MINIMAL.splitlines() if not line.startswith(key + ":"))
    with pytest.raises(ConfigError) as err:
        parse_config_text(text)
    assert err.value.problems[0].startswith(f"`{key}` is required: ")


def test_null_means_default_as_hummingbot_writes_it() -> None:
    config = parse("price_source_derivative: null\norder_override: null\nminimum_spread: null\n")
    assert config.price_source_derivative is None
    assert config.order_override == {}
    assert config.minimum_spread == Decimal(-100)


def test_template_version_is_accepted_and_ignored() -> None:
    assert parse("template_version: 6\n").to_strategy_params() == parse().to_strategy_params()


# --- percent -> fraction --------------------------------------------------------------------


DIVIDED_BY_100 = [
    "bid_spread",
    "ask_spread",
    "minimum_spread",
    "order_refresh_tolerance_pct",
    "order_level_spread",
    "long_profit_taking_spread",
    "short_profit_taking_spread",
    "stop_loss_spread",
    "stop_loss_slippage_buffer",
]


@pytest.mark.parametrize("key", DIVIDED_BY_100)
def test_percent_keys_become_fractions(key: str) -> None:
    base = MINIMAL.replace(f"{key}: 1\n", "")
    params = parse_config_text(base + f"{key}: 1\n").to_strategy_params()
    assert getattr(params, key) == Decimal("0.01")


def test_bid_spread_one_percent_is_one_hundredth() -> None:
    assert parse().to_strategy_params().bid_spread == Decimal("0.01")


NOT_DIVIDED = {
    "order_amount": ("0.25", Decimal("0.25")),
    "order_level_amount": ("0.25", Decimal("0.25")),
    "price_ceiling": ("70000", Decimal("70000")),
    "price_floor": ("60000", Decimal("60000")),
    "ask_order_optimization_depth": ("1.5", Decimal("1.5")),
    "bid_order_optimization_depth": ("1.5", Decimal("1.5")),
    "leverage": ("20", 20),
    "order_refresh_time": ("7.5", 7.5),
    "filled_order_delay": ("7.5", 7.5),
    "time_between_stop_loss_orders": ("7.5", 7.5),
}


@pytest.mark.parametrize("key", sorted(NOT_DIVIDED))
def test_amounts_prices_leverage_and_times_are_not_divided(key: str) -> None:
    text, expected = NOT_DIVIDED[key]
    base = "".join(line + "\n" for line in MINIMAL.splitlines() if not line.startswith(key + ":"))
    params = parse_config_text(base + f"{key}: {text}\n").to_strategy_params()
    assert getattr(params, key) == expected


def test_order_override_spreads_are_divided_by_100_and_order_is_kept() -> None:
    config = parse(
        "order_override:\n"
        "  order_2: [sell, 0.75, 0.02]\n"
        "  order_1: [BUY, 0.5, 0.01]\n"
        "  3: [sell, 1, 1]\n"
    )
    assert config.to_strategy_params().order_override == (
        OverrideOrder("order_2", Side.SELL, Decimal("0.0075"), Decimal("0.02")),
        OverrideOrder("order_1", Side.BUY, Decimal("0.005"), Decimal("0.01")),
        OverrideOrder("3", Side.SELL, Decimal("0.01"), Decimal(1)),
    )


def test_all_params_pass_through() -> None:
    config = parse(
        "position_mode: Hedge\nmargin_mode: isolated\norder_levels: 3\n"
        "order_optimization_enabled: true\nprice_type: last_price\n"
    )
    params = config.to_strategy_params()
    assert params.position_mode is PositionMode.HEDGE
    assert params.margin_mode is MarginMode.ISOLATED
    assert params.order_levels == 3
    assert params.order_optimization_enabled is True
    assert params.price_type is PriceType.LAST_PRICE


# --- Decimal exactness ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1", "0.1"),
        ("0.10", "0.10"),
        ("0.3", "0.3"),
        ("1.1", "1.1"),
        ("0.000123", "0.000123"),
        ('"0.7"', "0.7"),
        ("1e-5", "0.00001"),
        ("2.5e+1", "25"),
        ("12", "12"),
    ],
)
def test_decimals_come_from_the_yaml_text(text: str, expected: str) -> None:
    config = parse(f"order_level_amount: {text}\n")
    assert config.order_level_amount == Decimal(expected)
    assert str(config.order_level_amount) == str(Decimal(expected)) or "e" in text.lower()


def test_point_one_percent_is_exactly_one_thousandth() -> None:
    base = MINIMAL.replace("bid_spread: 1\n", "")
    params = parse_config_text(base + "bid_spread: 0.1\n").to_strategy_params()
    assert params.bid_spread == Decimal("0.001")
    assert str(params.bid_spread) == "0.001"


# --- choices --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "mode"),
    [
        ("One-way", PositionMode.ONEWAY),
        ("one-way", PositionMode.ONEWAY),
        ("ONE-WAY", PositionMode.ONEWAY),
        ("oneway", PositionMode.ONEWAY),
        ("OneWay", PositionMode.ONEWAY),
        ("Hedge", PositionMode.HEDGE),
        ("hedge", PositionMode.HEDGE),
        ("HEDGE", PositionMode.HEDGE),
    ],
)
def test_position_mode_spellings(text: str, mode: PositionMode) -> None:
    assert parse(f"position_mode: {text}\n").position_mode is mode


@pytest.mark.parametrize("text", ["yes", "no", "true", "false", '"y"', '"n"', "True"])
def test_booleans_as_hummingbot_accepts_them(text: str) -> None:
    value = parse(f"order_optimization_enabled: {text}\n").order_optimization_enabled
    assert value is (text.strip('"').lower() in ("yes", "true", "y"))


def test_market_is_upper_cased() -> None:
    assert parse(base=MINIMAL.replace("BTC-USDT", "eth-usdt")).market == "ETH-USDT"


@pytest.mark.parametrize("name", KNOWN_DERIVATIVES)
def test_every_known_derivative_loads(name: str) -> None:
    config = parse(base=MINIMAL.replace("sim_perpetual", name))
    assert config.derivative == name


@pytest.mark.parametrize("name", KNOWN_EXCHANGES)
def test_spot_exchange_as_external_price_source(name: str) -> None:
    """A built venue's spot market loads; a known venue that is not built yet fails at load (exit 2),
    naming the key, the value and the sources that can be read: the bot could never quote."""
    text = f"price_source: external_market\nprice_source_derivative: {name}\nprice_source_market: BTC-USDT\n"
    if name in price_sources():
        assert parse(text).price_source_derivative == name
        return
    with pytest.raises(ConfigError) as err:
        parse(text)
    assert err.value.exit_code == 2
    (problem,) = err.value.problems
    assert problem.startswith("`price_source_derivative` must be a price source this version of pmm can read (")
    assert f"{name} is known but its market data feed is not built yet" in problem
    assert problem.endswith(f'was "{name}".')


def test_built_spot_markets_are_price_sources() -> None:
    assert {"binance", "bybit"} <= set(price_sources())


@pytest.mark.parametrize("name", [n for n in KNOWN_DERIVATIVES if n != "sim_perpetual"])
def test_perpetual_of_another_venue_as_price_source_loads_only_when_built(name: str) -> None:
    text = (MINIMAL.replace("sim_perpetual", "bybit_perpetual" if name.startswith("binance") else "binance_perpetual")
            + f"price_source: external_market\nprice_source_derivative: {name}\nprice_source_market: BTC-USDT\n")
    if name in built_connectors():
        assert parse(base=text).price_source_derivative == name
    else:
        with pytest.raises(ConfigError, match=f"{name} is known but its market data feed is not built yet"):
            parse(base=text)


def test_sim_market_is_no_price_source_for_a_live_venue() -> None:
    text = (MINIMAL.replace("sim_perpetual", "binance_perpetual")
            + "price_source: external_market\nprice_source_derivative: sim_perpetual\nprice_source_market: BTC-USDT\n")
    with pytest.raises(ConfigError, match="may be sim_perpetual only when `derivative` is sim_perpetual too"):
        parse(base=text)


def test_price_source_endpoints_are_ignored_without_an_external_price_source() -> None:
    config = parse("connector:\n  price_source_rest_url: http://127.0.0.1:8082\n")
    assert config.warnings == ("`connector.price_source_rest_url` ignored: `price_source` is current_market.",)


def test_custom_api_forces_price_type_custom() -> None:
    config = parse("price_source: custom_api\nprice_source_custom_api: https://example.org/price\n")
    assert config.price_type is PriceType.CUSTOM
    assert config.to_strategy_params().price_type is PriceType.CUSTOM


def test_external_price_on_the_same_sim_with_another_market_loads() -> None:
    config = parse(
        "price_source: external_market\nprice_source_derivative: sim_perpetual\n"
        "price_source_market: BTC-USDT-INDEX\n"
    )
    assert config.price_source_market == "BTC-USDT-INDEX"
    assert set(config.sim.markets) == {"BTC-USDT", "BTC-USDT-INDEX"}


def test_connector_overrides() -> None:
    config = parse("connector:\n  rest_url: http://127.0.0.1:8080\n  ws_url: ws://127.0.0.1:8080/ws\n")
    assert config.connector.rest_url == "http://127.0.0.1:8080"
    assert config.connector.ws_url == "ws://127.0.0.1:8080/ws"


def test_warnings_for_keys_without_effect() -> None:
    config = parse("price_source_derivative: binance_perpetual\n")
    assert config.warnings == ("`price_source_derivative` ignored: `price_source` is current_market.",)


def test_load_config_accepts_str_and_path(tmp_path: Path) -> None:
    file = tmp_path / "bot.yml"
    file.write_text(MINIMAL, encoding="utf-8")
    assert load_config(str(file)).path == file.resolve()
    assert load_config(file).source_text == MINIMAL


# --- the mapping entry point and the docs ---------------------------------------------------


def test_parse_config_from_a_mapping_with_python_floats() -> None:
    from pmm.config import parse_config

    config = parse_config(
        {
            "derivative": "sim_perpetual",
            "market": "BTC-USDT",
            "leverage": 5,
            "bid_spread": 0.1,
            "ask_spread": 0.3,
            "order_amount": 0.01,
            "order_refresh_time": 10,
        }
    )
    assert config.bid_spread == Decimal("0.1")
    assert config.ask_spread == Decimal("0.3")
    assert config.to_strategy_params().ask_spread == Decimal("0.003")
    assert config.path is None


def _all_keys() -> set[str]:
    from pmm.config import (
        ConnectorOverrides,
        ReplayGenerator,
        SimConfig,
        SimMarketConfig,
        StaticGenerator,
        SyntheticGenerator,
    )

    from pmm.config.quoting import QuotingConfig

    models = (
        BotConfig,
        ConnectorOverrides,
        QuotingConfig,
        SimConfig,
        SimMarketConfig,
        SyntheticGenerator,
        StaticGenerator,
        ReplayGenerator,
    )
    return {name for model in models for name in model.model_fields}


@pytest.mark.parametrize("key", sorted(_all_keys()))
def test_every_key_is_documented(key: str) -> None:
    doc = (REPO / "README.md").read_text(encoding="utf-8")  # the config reference lives there
    assert f"`{key}`" in doc
