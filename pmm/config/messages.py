"""Turn pydantic's validation errors into pmm's config messages.

Every message names the dotted key path in backticks, the bad value after ", was", and what is
allowed: "`bid_spread` must be greater than 0 and less than 100 (percent), was 150." Leaf values
are validated by the rules in `pmm.config.rules`, which put the "what is allowed" words in the
error's context; this module only has to find the key path (walking the model types along the
error's location) and handle pydantic's structural errors (missing key, unknown key, a section
that is not a mapping, an unknown generator type).
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from pmm.config.cross import Problem
from pmm.config.wording import ERROR_TYPE, did_you_mean, show

#: Keys of Hummingbot's older perpetual templates (version 5 and before) that pmm does not run.
LEGACY_KEYS = frozenset(
    {
        "position_management",
        "ts_activation_spread",
        "ts_callback_rate",
        "close_position_order_type",
        "ping_pong_enabled",
        "hanging_orders_enabled",
        "hanging_orders_cancel_pct",
        "add_transaction_costs",
        "take_if_crossed",
    }
)

@dataclass(slots=True)
class _Location:
    """Where a pydantic error location points, in the user's terms."""

    display: str  # dotted key path as shown: "sim.markets.BTC-USDT.generator.bids[2]"
    yaml_path: tuple[str | int, ...]  # the same path as the YAML document's keys / indexes
    field: FieldInfo | None  # the field at the end, when it is a model field
    parent: type[BaseModel] | None  # the model holding the last key
    is_key: bool  # the error is about a mapping key itself, not its value


def _strip(tp: Any) -> Any:
    """Remove Annotated and Optional wrappers."""
    while True:
        if get_origin(tp) is Annotated:
            tp = get_args(tp)[0]
            continue
        if get_origin(tp) in (Union, types.UnionType):
            members = [m for m in get_args(tp) if m is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _union_member(tp: Any, tag: Any) -> type[BaseModel] | None:
    """The member of a tagged union whose `type` default is `tag` (the generator models)."""
    if get_origin(tp) not in (Union, types.UnionType):
        return None
    for member in get_args(tp):
        model = _strip(member)
        if isinstance(model, type) and issubclass(model, BaseModel):
            type_field = model.model_fields.get("type")
            if type_field is not None and type_field.default == tag:
                return model
    return None


def _locate(root: type[BaseModel], loc: tuple[str | int, ...]) -> _Location:
    """Follow `loc` through the model types from `root`."""
    tp: Any = root
    display = ""
    yaml_path: list[str | int] = []
    field: FieldInfo | None = None
    parent: type[BaseModel] | None = None
    is_key = False

    def add_key(key: str | int) -> None:
        nonlocal display
        display = f"{display}.{key}" if display else str(key)
        yaml_path.append(str(key))

    for part in loc:
        if part == "[key]":
            is_key = True
            break
        tp = _strip(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            parent = tp
            field = tp.model_fields.get(str(part))
            add_key(part)
            tp = field.annotation if field is not None else None
        elif get_origin(tp) is dict:
            add_key(part)
            field, tp = None, get_args(tp)[1]
        elif get_origin(tp) in (list, tuple) and isinstance(part, int):
            display += f"[{part}]"
            yaml_path.append(part)
            field, tp = None, get_args(tp)[0]
        elif (member := _union_member(tp, part)) is not None:
            tp = member  # the discriminator's tag is not a key the user wrote
        else:
            add_key(part)
            field, tp = None, None
    return _Location(display, tuple(yaml_path), field, parent, is_key)


def _expected(field: FieldInfo | None) -> str:
    """The noun phrase of what a field accepts, from the rule attached to it."""
    if field is None:
        return "see the Configuration reference in README.md"
    for meta in field.metadata:
        check = getattr(meta, "func", None)
        expected = getattr(check, "expected", None)
        if isinstance(expected, str):
            return expected
    annotation = _strip(field.annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "a section of `key: value` lines"
    return "see the Configuration reference in README.md"


def translate(error: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """One `Problem` per pydantic error, in pmm's wording."""
    return [_translate_one(details, root) for details in error.errors()]


def _translate_one(details: ErrorDetails, root: type[BaseModel]) -> Problem:
    kind = details["type"]
    ctx: dict[str, Any] = dict(details.get("ctx") or {})
    value = details.get("input")
    where = _locate(root, tuple(details["loc"]))
    path = where.display

    if kind == ERROR_TYPE:
        subpath = ctx.get("subpath") or ""
        shown = ctx.get("shown") or show(value)
        yaml_path = where.yaml_path + _subpath_parts(subpath)
        if where.is_key:
            return Problem(
                yaml_path,
                f"key `{path}{subpath}` must be {ctx['allowed']}, was {shown}{ctx.get('hint', '')}.",
            )
        return Problem(
            yaml_path,
            f"`{path}{subpath}` must be {ctx['allowed']}, was {shown}{ctx.get('hint', '')}.",
        )
    if kind == "missing":
        return Problem(where.yaml_path, f"`{path}` is required: {_expected(where.field)}.")
    if kind == "extra_forbidden":
        key = path.rsplit(".", 1)[-1]
        prefix = path[: -len(key)]
        if not prefix and key in LEGACY_KEYS:
            return Problem(
                where.yaml_path,
                f"unknown key `{key}`: it belongs to an older Hummingbot template "
                "(template_version 5 or earlier) and pmm does not support it; remove it.",
            )
        names = list(where.parent.model_fields) if where.parent is not None else []
        hint = did_you_mean(key, names)
        if hint:
            hint = hint.replace("`", f"`{prefix}", 1)
        return Problem(where.yaml_path, f"unknown key `{path}`{hint}.")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return Problem(
            where.yaml_path,
            f"`{path}` must be a section of `key: value` lines, was {show(value)}.",
        )
    if kind == "union_tag_invalid":
        tags = [t.strip("'\" ") for t in str(ctx.get("expected_tags", "")).split(",")]
        hint = did_you_mean(ctx.get("tag"), tags)
        return Problem(
            where.yaml_path + ("type",),
            f"`{path}.type` must be one of {', '.join(tags)}, was {show(ctx.get('tag'))}{hint}.",
        )
    if kind == "union_tag_not_found":
        return Problem(
            where.yaml_path,
            f"`{path}` must be a section with `type:` synthetic, static or replay, "
            f"was {show(value)}.",
        )
    # Anything else is a structural error no rule covers; keep pydantic's words but our form.
    return Problem(where.yaml_path, f"`{path}`: {details['msg'].lower()}, was {show(value)}.")


def _subpath_parts(subpath: str) -> tuple[str | int, ...]:
    """".asks[0]" -> ("asks", 0), to find the line of a sub-item."""
    parts: list[str | int] = []
    for piece in subpath.replace("[", ".[").split("."):
        if not piece:
            continue
        if piece.startswith("[") and piece.endswith("]") and piece[1:-1].isdigit():
            parts.append(int(piece[1:-1]))
        else:
            parts.append(piece)
    return tuple(parts)
