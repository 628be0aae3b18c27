"""JSON for store payloads and `--json` output: Decimals as strings, never floats."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from typing import Any

from pmm.store.types import decimal_to_text


def to_jsonable(obj: Any) -> Any:
    """A structure of dict/list/str/int/float/bool/None equivalent to `obj`.

    Decimals become their exact string ("65000.10"), enums their value, dataclasses dicts of their
    fields, tuples/sets lists, mapping keys strings, non-finite floats None.
    """
    if isinstance(obj, float) and not math.isfinite(obj):
        return None  # JSON has no NaN/Infinity; a status field that is not a number shows as null
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj.value if isinstance(obj, Enum) else obj
    if isinstance(obj, Decimal):
        return decimal_to_text(obj) if obj.is_finite() else str(obj)
    if isinstance(obj, Enum):
        return to_jsonable(obj.value)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(to_jsonable(k)): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in obj]
    raise TypeError(f"cannot convert {type(obj).__name__} to JSON")


def dumps(obj: Any, *, indent: int | None = None) -> str:
    """`json.dumps(to_jsonable(obj))`, keys in insertion order, non-ASCII kept."""
    return json.dumps(to_jsonable(obj), indent=indent, ensure_ascii=False, allow_nan=False)
