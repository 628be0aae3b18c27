"""Every class of bad value gives one problem naming the key path, the value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmm.config import load_config, parse_config_text
from pmm.errors import EXIT_CONFIG, ConfigError

MINIMAL = {
    "derivative": "sim_perpetual",
    "market": "BTC-USDT",
    "leverage": "10",
    "bid_spread": "1",
    "ask_spread": "1",
    "order_amount": "0.01",
    "order_refresh_time": "15",
}


def yaml_with(**changes: str | None) -> str:
    """MINIMAL with keys replaced (None removes a key) or added, as YAML text."""
    values = {**MINIMAL, **changes}
    return "".join(f"{k}: {v}\n" for k, v in values.items() if v is not None)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        parse_config_text(text)
    assert err.value.exit_code == EXIT_CONFIG
    return err.value.problems


def only_problem(text: str) -> str:
    found = problems_of(text)
    assert len(found) == 1, found
    return found[0]


# (key, bad YAML value, exact problem)
EXACT = [
    ("bid_spread", "150", "`bid_spread` must be greater than 0 and less than 100 (percent), was 150."),
    ("bid_spread", "0", "`bid_spread` must be greater than 0 and less than 100 (percent), was 0."),
    ("ask_spread", "-1", "`ask_spread` must be greater than 0 and less than 100 (percent), was -1."),
    ("ask_spread", "100", "`ask_spread` must be greater than 0 and less than 100 (percent), was 100."),
    ("leverage", "0", "`leverage` must be greater than 0 (x), was 0."),
    ("leverage", "2.5", "`leverage` must be a whole number greater than 0 (x), was 2.5."),
    ("leverage", "ten", '`leverage` must be a whole number greater than 0 (x), was "ten".'),
    ("order_amount", "0", "`order_amount` must be greater than 0 (base units), was 0."),
    ("order_refresh_time", "0", "`order_refresh_time` must be greater than 0 (seconds), was 0."),
    (
        "minimum_spread",
        "-101",
        "`minimum_spread` must be at least -100 and at most 100 (percent, -100 disables), was -101.",
    ),
    (
        "order_refresh_tolerance_pct",
        "11",
        "`order_refresh_tolerance_pct` must be at least -10 and at most 10 "
        "(percent, negative always refreshes), was 11.",
    ),
    (
        "long_profit_taking_spread",
        "-0.1",
        "`long_profit_taking_spread` must be at least 0 and at most 100 (percent, 0 disables), was -0.1.",
    ),
    (
        "short_profit_taking_spread",
        "101",
        "`short_profit_taking_spread` must be at least 0 and at most 100 (percent, 0 disables), was 101.",
    ),
    (
        "stop_loss_spread",
        "101",
        "`stop_loss_spread` must be at least 0 and less than 101 (percent, 0 disables), was 101.",
    ),
    (
        "time_between_stop_loss_orders",
        "-5",
        "`time_between_stop_loss_orders` must be greater than 0 (seconds), was -5.",
    ),
    (
        "stop_loss_slippage_buffer",
        "-0.5",
        "`stop_loss_slippage_buffer` must be at least 0 and less than 100 (percent), was -0.5.",
    ),
    (
        "price_ceiling",
        "0",
        "`price_ceiling` must be -1 or greater than 0 (quote price, -1 disables), was 0.",
    ),
    (
        "price_floor",
        "-2",
        "`price_floor` must be -1 or greater than 0 (quote price, -1 disables), was -2.",
    ),
    ("order_levels", "0", "`order_levels` must be greater than 0 (levels per side), was 0."),
    (
        "order_level_spread",
        "0",
        "`order_level_spread` must be greater than 0 and less than 100 (percent), was 0.",
    ),
    (
        "order_level_amount",
        "lots",
        '`order_level_amount` must be a number (base units, added per level, may be negative), '
        'was "lots".',
    ),
    ("filled_order_delay", "0", "`filled_order_delay` must be greater than 0 (seconds), was 0."),
    (
        "ask_order_optimization_depth",
        "-1",
        "`ask_order_optimization_depth` must be at least 0 (base units), was -1.",
    ),
    (
        "bid_order_optimization_depth",
        "-1",
        "`bid_order_optimization_depth` must be at least 0 (base units), was -1.",
    ),
    (
        "order_optimization_enabled",
        "maybe",
        '`order_optimization_enabled` must be true or false, was "maybe".',
    ),
    (
        "custom_api_update_interval",
        "0.1",
        "`custom_api_update_interval` must be at least 0.5 (seconds), was 0.1.",
    ),
    (
        "position_mode",
        "Hedged",
        '`position_mode` must be one of One-way, Hedge, was "Hedged" (did you mean `Hedge`?).',
    ),
    (
        "margin_mode",
        "portfolio",
        '`margin_mode` must be one of cross, isolated, was "portfolio".',
    ),
    (
        "price_source",
        "external",
        "`price_source` must be one of current_market, external_market, custom_api, "
        'was "external" (did you mean `external_market`?).',
    ),
    (
        "price_type",
        "mid",
        "`price_type` must be one of mid_price, last_price, last_own_trade_price, best_bid, "
        'best_ask, custom, was "mid" (did you mean `mid_price`?).',
    ),
    (
        "strategy",
        "pure_market_making",
        "`strategy` must be perpetual_market_making (the only strategy pmm runs), "
        'was "pure_market_making".',
    ),
    (
        "market",
        "BTCUSDT",
        '`market` must be a trading pair like BASE-QUOTE (e.g. BTC-USDT), was "BTCUSDT".',
    ),
    (
        "market",
        "BTC/USDT",
        "`market` must be a trading pair like BASE-QUOTE (e.g. BTC-USDT), "
        'was "BTC/USDT" (did you mean `BTC-USDT`?).',
    ),
    (
        "price_source_custom_api",
        "localhost:8000",
        "`price_source_custom_api` must be a URL starting with http:// or https:// and naming "
        'a host, was "localhost:8000".',
    ),
]


@pytest.mark.parametrize(("key", "value", "expected"), EXACT, ids=[f"{k}={v}" for k, v, _ in EXACT])
def test_bad_value_message(key: str, value: str, expected: str) -> None:
    assert only_problem(yaml_with(**{key: value})) == expected


def test_percent_sign_gets_a_hint() -> None:
    assert only_problem(yaml_with(bid_spread='"1%"')) == (
        "`bid_spread` must be a number greater than 0 and less than 100 (percent), "
        'was "1%" (write the number without the % sign: 1 means 1%).'
    )


def test_unknown_derivative_suggests_the_closest() -> None:
    problem = only_problem(yaml_with(derivative="binance_perp"))
    assert problem.startswith("`derivative` must be one of the known perpetual connectors: sim_perpetual, ")
    assert problem.endswith('was "binance_perp" (did you mean `binance_perpetual`?).')


def test_bad_price_source_derivative() -> None:
    problem = only_problem(
        yaml_with(
            price_source="external_market",
            price_source_derivative="kraken",
            price_source_market="BTC-USDT",
        )
    )
    assert problem.startswith("`price_source_derivative` must be one of the known exchange or derivative")
    assert "binance_perpetual" in problem and "bitmart" in problem
    assert problem.endswith('was "kraken".')


@pytest.mark.parametrize("key", ["derivative", "market", "leverage", "bid_spread", "ask_spread"])
def test_missing_required_key(key: str) -> None:
    problem = only_problem(yaml_with(**{key: None}))
    assert problem.startswith(f"`{key}` is required: ")


def test_missing_leverage_says_what_to_enter() -> None:
    assert only_problem(yaml_with(leverage=None)) == (
        "`leverage` is required: a whole number greater than 0 (x)."
    )


def test_required_key_set_to_null_is_missing() -> None:
    assert only_problem(yaml_with(order_amount="null")).startswith("`order_amount` is required: ")


def test_unknown_key_with_suggestion() -> None:
    assert only_problem(yaml_with(bid_sprad="1")) == "unknown key `bid_sprad` (did you mean `bid_spread`?)."


def test_unknown_key_without_suggestion() -> None:
    assert only_problem(yaml_with(flux_capacitor="1")) == "unknown key `flux_capacitor`."


def test_unknown_nested_key_suggests_the_full_path() -> None:
    text = yaml_with() + "sim:\n  maker_fee: 0.02\n"
    assert only_problem(text) == "unknown key `sim.maker_fee` (did you mean `sim.maker_fee_pct`?)."


def test_legacy_hummingbot_key_is_explained() -> None:
    problem = only_problem(yaml_with(ping_pong_enabled="false"))
    assert problem.startswith("unknown key `ping_pong_enabled`: it belongs to an older Hummingbot template")


# --- cross-field rules ----------------------------------------------------------------------


def test_ceiling_below_floor() -> None:
    assert only_problem(yaml_with(price_ceiling="100", price_floor="200")) == (
        "`price_ceiling` must not be lower than `price_floor` (200), was 100."
    )


def test_ceiling_alone_and_equal_band_are_fine() -> None:
    parse_config_text(yaml_with(price_ceiling="100"))
    parse_config_text(yaml_with(price_ceiling="100", price_floor="100"))


def test_external_market_needs_both_fields() -> None:
    assert problems_of(yaml_with(price_source="external_market")) == [
        "`price_source_derivative` is required when `price_source` is external_market: "
        "a connector such as binance_perpetual.",
        "`price_source_market` is required when `price_source` is external_market: "
        "a trading pair like BASE-QUOTE (e.g. BTC-USDT).",
    ]


def test_external_market_same_connector_same_market() -> None:
    problem = only_problem(
        yaml_with(
            price_source="external_market",
            price_source_derivative="sim_perpetual",
            price_source_market="btc-usdt",
        )
    )
    assert problem == (
        "`price_source_derivative` may equal `derivative` only when `price_source_market` "
        'differs from `market` (both are BTC-USDT), was "sim_perpetual".'
    )


def test_custom_api_needs_its_url() -> None:
    assert only_problem(yaml_with(price_source="custom_api")) == (
        "`price_source_custom_api` is required when `price_source` is custom_api: "
        "a URL starting with http:// or https:// and naming a host."
    )


def test_custom_api_with_a_market_price_type() -> None:
    text = yaml_with(
        price_source="custom_api",
        price_source_custom_api="http://localhost:8000/p",
        price_type="mid_price",
    )
    assert only_problem(text) == (
        '`price_type` must be custom when `price_source` is custom_api, was "mid_price".'
    )


@pytest.mark.parametrize("source", ["current_market", "external_market"])
def test_custom_price_type_needs_custom_api(source: str) -> None:
    extra = (
        {"price_source_derivative": "binance_perpetual", "price_source_market": "BTC-USDT"}
        if source == "external_market"
        else {}
    )
    problem = only_problem(yaml_with(price_source=source, price_type="custom", **extra))
    assert problem.startswith("`price_type` must be one of mid_price, last_price, ")
    assert f"when `price_source` is {source}" in problem
    assert problem.endswith('was "custom".')


def test_leverage_above_the_sim_market_maximum() -> None:
    text = yaml_with(leverage="75")
    assert only_problem(text) == (
        "`leverage` must be at most `sim.markets.BTC-USDT.max_leverage` (50), was 75."
    )


# --- several problems at once ---------------------------------------------------------------


def test_all_problems_are_reported_at_once_in_file_order() -> None:
    text = (
        "derivative: sim_perpetual\n"
        "market: BTC-USDT\n"
        "leverage: 0\n"
        "bid_spread: 150\n"
        "ask_sprad: 0.1\n"
        "order_amount: 0.01\n"
        "order_refresh_time: 15\n"
        "position_mode: sideways\n"
        "price_source: external_market\n"
        "price_ceiling: 100\n"
        "price_floor: 200\n"
        "sim:\n"
        "  maker_fee_pct: 5\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_config_text(text)
    problems = err.value.problems
    assert [p.split(" ")[0] if p.startswith("`") else p.split(" ")[2] for p in problems] == [
        "`leverage`",
        "`bid_spread`",
        "`ask_sprad`",
        "`position_mode`",
        "`price_ceiling`",
        "`sim.maker_fee_pct`",
        "`ask_spread`",  # missing keys have no line: they come last
        "`price_source_derivative`",
        "`price_source_market`",
    ]
    message = str(err.value)
    assert message.startswith("Invalid config `<text>`: 9 problems:\n  - `leverage`")
    assert all(p in message for p in problems)


def test_one_problem_message_is_one_line() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config_text(yaml_with(bid_spread="150"))
    assert str(err.value) == (
        "Invalid config `<text>`: `bid_spread` must be greater than 0 and less than 100 "
        "(percent), was 150."
    )


def test_duplicate_key_is_a_problem() -> None:
    text = yaml_with() + "bid_spread: 2\n"
    assert only_problem(text) == "duplicate key `bid_spread` (lines 4 and 8); keep one."


# --- file and YAML level --------------------------------------------------------------------


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    file = tmp_path / "bad.yml"
    file.write_text("derivative: sim_perpetual\nmarket: [BTC-USDT\nleverage: 10\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(file)
    (problem,) = err.value.problems
    assert problem.startswith("YAML syntax error at line 3")
    assert str(file) in str(err.value)


def test_tab_indentation_is_a_syntax_error_with_line() -> None:
    problem = only_problem("derivative: sim_perpetual\nsim:\n\tseed: 1\n")
    assert problem.startswith("YAML syntax error at line 3")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "nope.yml")
    assert "nope.yml" in str(err.value)
    assert "file not found" in err.value.problems[0]


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path)
    assert "not a file" in err.value.problems[0]


def test_not_utf8(tmp_path: Path) -> None:
    file = tmp_path / "latin1.yml"
    file.write_bytes("market: BTC-USDT # caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError) as err:
        load_config(file)
    assert "UTF-8" in err.value.problems[0]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n"])
def test_empty_file(text: str) -> None:
    assert only_problem(text).startswith("the file is empty")


@pytest.mark.parametrize(("text", "kind"), [("- a\n- b\n", "list"), ("hello\n", "single text value")])
def test_top_level_must_be_a_mapping(text: str, kind: str) -> None:
    assert only_problem(text).startswith(f"the file must be a mapping of `key: value` lines at the top level, was a {kind}")


# --- order_override and sections -------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("[hold, 1, 1]", '`order_override.o1[0]` must be one of buy, sell, was "hold".'),
        (
            "[buy, abc, 1]",
            '`order_override.o1[1]` must be a number greater than -100 and less than 100 (percent), was "abc".',
        ),
        ("[buy, 1, 0]", "`order_override.o1[2]` must be a number greater than 0 (base units), was 0."),
        (
            "[buy, 1]",
            "`order_override.o1` must be a list [side, spread_pct, amount], e.g. [buy, 0.5, 0.01], "
            'was ["buy", 1].',
        ),
    ],
)
def test_bad_order_override_entry(entry: str, expected: str) -> None:
    assert only_problem(yaml_with() + f"order_override:\n  o1: {entry}\n") == expected


def test_section_that_is_not_a_mapping() -> None:
    assert only_problem(yaml_with(sim="5")) == "`sim` must be a section of `key: value` lines, was 5."


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        (
            "rest_url",
            "127.0.0.1:8080",
            '`connector.rest_url` must be a URL starting with http:// or https:// and naming a host, '
            'was "127.0.0.1:8080".',
        ),
        (
            "ws_url",
            "http://127.0.0.1/ws",
            '`connector.ws_url` must be a URL starting with ws:// or wss:// and naming a host, '
            'was "http://127.0.0.1/ws".',
        ),
    ],
)
def test_bad_connector_url(key: str, value: str, expected: str) -> None:
    assert only_problem(yaml_with() + f"connector:\n  {key}: {value}\n") == expected
