"""`load_config`: read a YAML file, validate it, and report every problem at once.

Validation runs in two passes. The first validates the whole document and translates every
field-level error. When it fails, a second pass validates the document again without the keys
that failed (required ones replaced by harmless placeholders), so cross-field rules can still be
checked on the keys that are fine: one run shows the user everything to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

import yaml
from pydantic import ValidationError

from pmm.config import cross
from pmm.config.cross import Problem
from pmm.config.messages import show, translate
from pmm.config.models import BotConfig
from pmm.config.yaml_loader import YamlDocument, parse_yaml
from pmm.errors import ConfigError

# Valid stand-ins for required keys that failed, used only for the second pass. Every rule that
# reads one of these keys is skipped, so their values never reach a message.
_PLACEHOLDERS: dict[str, Any] = {
    "derivative": "sim_perpetual",
    "market": "BTC-USDT",
    "leverage": 1,
    "bid_spread": Decimal(1),
    "ask_spread": Decimal(1),
    "order_amount": Decimal(1),
    "order_refresh_time": Decimal(1),
}


def load_config(path: str | Path) -> BotConfig:
    """Load and validate a config file.

    Raises `ConfigError` whose `problems` hold one message per problem: a missing or
    unreadable file, a YAML syntax error (with its line), a document that is not a mapping, or
    every invalid, missing or unknown key.
    """
    file = Path(path).expanduser()
    shown = str(path)
    if not file.exists():
        _raise(
            shown,
            f"file not found (looked for {file.resolve()}); check the path, "
            "or start from configs/quickstart.yml.",
        )
    if not file.is_file():
        _raise(shown, "not a file; give the path of a .yml config file.")
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        _raise(shown, f"not UTF-8 text (byte {exc.start}); save it as UTF-8.")
    except OSError as exc:
        _raise(shown, f"cannot be read ({exc.strerror or exc}); check its permissions.")
    return parse_config_text(text, path=file.resolve(), shown=shown)


def parse_config_text(text: str, path: Path | None = None, shown: str | None = None) -> BotConfig:
    """Validate config YAML given as text. `path` locates relative files (replay paths)."""
    label = shown if shown is not None else (str(path) if path is not None else "<text>")
    try:
        doc = parse_yaml(text)
    except yaml.YAMLError as exc:
        _raise(label, _yaml_problem(exc))
    if doc.data is None:
        _raise(
            label,
            "the file is empty; it must hold `key: value` lines such as `bid_spread: 0.1` "
            "(see configs/quickstart.yml).",
        )
    if not isinstance(doc.data, Mapping):
        _raise(
            label,
            "the file must be a mapping of `key: value` lines at the top level, "
            f"was a {_kind(doc.data)}: {show(doc.data)}.",
        )
    return _validate(doc, text, path, label)


def parse_config(
    data: Mapping[str, Any], path: Path | None = None, source_text: str = ""
) -> BotConfig:
    """Validate an already-parsed mapping (e.g. built in tests or by other tools)."""
    return _validate(YamlDocument(data=data), source_text, path, str(path or "<mapping>"))


def _validate(doc: YamlDocument, text: str, path: Path | None, label: str) -> BotConfig:
    data: Mapping[str, Any] = doc.data
    found: list[Problem] = [
        Problem(
            key_path, f"duplicate key `{_dotted(key_path)}` (lines {first} and {second}); keep one."
        )
        for key_path, first, second in doc.duplicates
    ]
    skip: set[str] = set()
    try:
        config = BotConfig.model_validate(data)
    except ValidationError as exc:
        field_problems = translate(exc, BotConfig)
        found.extend(field_problems)
        skip = {str(p.path[0]) for p in field_problems if p.path}
        config = _second_pass(data, skip)
    if config is not None:
        config._path, config._source_text = path, text
        config = cross.complete(config)
        found.extend(cross.problems(config, frozenset(skip)))
    if found:
        found.sort(key=lambda p: doc.line_of(p.path) or 1_000_000)
        _raise(label, *[p.text for p in found])
    assert config is not None
    config._warnings = cross.warnings(config, frozenset(str(k) for k in data))
    return config


def _second_pass(data: Mapping[str, Any], skip: set[str]) -> BotConfig | None:
    """The config without the failed keys, or None if even that does not validate."""
    reduced = {k: v for k, v in data.items() if str(k) not in skip}
    for key, placeholder in _PLACEHOLDERS.items():
        if reduced.get(key) is None:
            reduced[key] = placeholder
            skip.add(key)
    try:
        return BotConfig.model_validate(reduced)
    except ValidationError:
        return None


def _raise(label: str, *problems: str) -> NoReturn:
    """Raise the ConfigError: the file named once, then the problem(s)."""
    if len(problems) == 1:
        message = f"Invalid config `{label}`: {problems[0]}"
    else:
        listed = "\n".join(f"  - {p}" for p in problems)
        message = f"Invalid config `{label}`: {len(problems)} problems:\n{listed}"
    raise ConfigError(message, problems=list(problems))


def _yaml_problem(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    context = getattr(exc, "context", None)
    detail = f"{what} ({context})" if context else what
    return (
        f"YAML syntax error{where}: {detail}; "
        "check the indentation and the `key: value` form there."
    )


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "single text value"
    return type(value).__name__


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
