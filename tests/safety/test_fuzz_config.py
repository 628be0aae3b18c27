"""Bad input in the config (issue 6): random YAML documents, random text and mutated example configs
never make the config loader raise anything but `ConfigError` (so `pmm start` exits 2 with the
problems listed, never 1 with "internal error"); a config the loader accepts builds the strategy
parameters and the risk limits without error.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pmm.config.loader import load_config, parse_config_text
from pmm.errors import ConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
EXAMPLES = sorted(p.name for p in CONFIGS.glob("*.yml"))
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KEYS = sorted({k for name in EXAMPLES for k in (yaml.safe_load((CONFIGS / name).read_text()) or {})})
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True), st.decimals(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "-1", "0", "1e999", ".nan", "-.inf", "1:30", "0x1f", "2026-13-40", "BTC-USDT", "yes",
                     "One-way", "Hedge", "sim_perpetual", "binance_perpetual", "custom_api", "http://127.0.0.1:1/x",
                     "1" * 5000, "~", "[", "{", "&a", "*a", "!!binary x"]),
)
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) |
                      st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=4),
                      max_leaves=15)


def _loads(text: str, path: Path | None = None) -> None:
    """The loader's contract: a config, or ConfigError; a config builds what `pmm start` builds."""
    try:
        config = parse_config_text(text, path=path)
    except ConfigError as exc:
        assert exc.problems, "a ConfigError without problems"
        return
    config.to_strategy_params()
    config.risk.to_limits()


def _dump(data: Any) -> str:
    # PyYAML cannot represent Decimals; write them as the plain numbers a user would type.
    def represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> Any:
        return dumper.represent_scalar("tag:yaml.org,2002:float" if value.is_finite() else "tag:yaml.org,2002:str",
                                       str(value))

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(Decimal, represent_decimal)
    return yaml.dump(data, Dumper=Dumper, allow_unicode=True, sort_keys=False)


@FUZZ
@given(st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=10)), VALUES, max_size=12))
def test_random_documents_are_config_errors(document):
    _loads(_dump(document))


@FUZZ
@given(VALUES)
def test_random_top_level_values_are_config_errors(value):
    _loads(_dump(value))


@FUZZ
@given(st.text(max_size=300))
def test_random_text_is_a_config_error(text):
    _loads(text)


def _paths(obj: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            out += _paths(value, (*prefix, i))
    return out


@st.composite
def mutated_example(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(EXAMPLES))
    data = yaml.load((CONFIGS / name).read_text(), Loader=yaml.SafeLoader)
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        parent = data
        for key in path[:-1]:
            parent = parent[key]
        how = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if how == "delete":
            del parent[path[-1]]
        elif how == "add" and isinstance(parent, dict):
            parent[draw(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)))] = draw(VALUES)
        else:
            parent[path[-1]] = draw(VALUES)
    return name, data


@FUZZ
@given(mutated_example())
def test_mutated_example_configs_are_config_errors(example):
    name, data = example
    _loads(_dump(data), path=CONFIGS / name)


@st.composite
def mangled_text(draw: st.DrawFn) -> tuple[str, str]:
    """An example file with lines dropped, duplicated or cut, and stray characters inserted."""
    name = draw(st.sampled_from(EXAMPLES))
    lines = (CONFIGS / name).read_text().splitlines()
    for _ in range(draw(st.integers(1, 5))):
        i = draw(st.integers(0, len(lines) - 1))
        how = draw(st.sampled_from(["drop", "dup", "cut", "insert", "indent"]))
        if how == "drop":
            del lines[i]
        elif how == "dup":
            lines.insert(i, lines[i])
        elif how == "cut":
            lines[i] = lines[i][: draw(st.integers(0, len(lines[i])))]
        elif how == "insert":
            at = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:at] + draw(st.sampled_from([":", "\t", "'", '"', "#", "- ", "&a ", "*a", "{", "]",
                                                             "\x00", "\u2028", "!!", "%"])) + lines[i][at:]
        else:
            lines[i] = draw(st.sampled_from(["  ", "    ", "\t"])) + lines[i]
        if not lines:
            break
    return name, "\n".join(lines)


@FUZZ
@given(mangled_text())
def test_mangled_example_files_are_config_errors(example):
    name, text = example
    _loads(text, path=CONFIGS / name)


@pytest.mark.parametrize("text", [
    "leverage: " + "1" * 5000,  # past Python's int-from-text digit limit
    "a: " + "[" * 3000 + "]" * 3000,  # deeper than the parser's recursion
    "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(  # nine nested aliases: 9^9 items once expanded
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]\n" for i in range(8)),
    "market: 2024-13-45",
    "x: !!python/object/apply:os.system ['true']",
    "\x00",
    "",
    "- a\n- b",
])
def test_hostile_documents_are_config_errors(text):
    with pytest.raises(ConfigError):
        parse_config_text(text)


@FUZZ
@given(st.binary(max_size=400))
def test_a_file_of_random_bytes_is_a_config_error(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("cfg") / "random.yml"
    path.write_bytes(data)
    try:
        load_config(path)
    except ConfigError:
        pass


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_config_loads(name):
    """The mutations start from configs that load."""
    load_config(CONFIGS / name)
