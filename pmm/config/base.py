"""The base of every config section model, and the shorthand for attaching a value rule."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, PlainValidator, model_validator

PERCENT = "percent"
SECONDS = "seconds"
BASE_UNITS = "base units"
QUOTE_PRICE = "quote price"


def rule(check: Callable[[Any], Any]) -> PlainValidator:
    """Validate a field with `check` only (no pydantic coercion, so no pydantic messages).

    `check` is one of the rules in `pmm.config.rules`; its `expected` text is found again by
    the message translator when the key is missing.
    """
    return PlainValidator(check)


class Section(BaseModel):
    """A mapping in the YAML: unknown keys are errors, and `key: null` means "not set".

    Hummingbot writes every key of its template, with `null` for the unset ones; treating null
    as absent is what lets those files load unchanged (a required key set to null is still
    reported as missing).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {key: value for key, value in data.items() if value is not None}
        return data
