"""The words of config problems: the error rules raise, value display, typo suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NoReturn

from pydantic_core import PydanticCustomError

ERROR_TYPE = "pmm_value"


def fail(allowed: str, hint: str = "", subpath: str = "", shown: str = "") -> NoReturn:
    """Raise the one error type the message translator understands.

    `shown` replaces the offending input in the message when the input is not the value the
    user should look at (e.g. a model-level check that blames one field).
    """
    raise PydanticCustomError(
        ERROR_TYPE,
        "must be {allowed}",
        {"allowed": allowed, "hint": hint, "subpath": subpath, "shown": shown},
    )


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of `choices` to `word`, if any is close enough to be a likely typo."""
    by_lower = {option.lower(): option for option in choices}
    lowered = word.strip().lower()
    matches = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=0.6)
    if matches:
        return by_lower[matches[0]]
    # A shortened name ("mid" for mid_price) is too short for difflib's ratio.
    prefixed = [by_lower[o] for o in by_lower if len(lowered) >= 3 and o.startswith(lowered)]
    return prefixed[0] if len(prefixed) == 1 else None


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """" (did you mean `x`?)" or "" when nothing is close."""
    if not isinstance(word, str):
        return ""
    best = suggest(word, choices)
    return f" (did you mean `{best}`?)" if best else ""


_MAX_SHOWN = 80


def show(value: Any) -> str:
    """A value as the user would write it in YAML, shortened if long."""
    text = _show(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return str(value)
