"""A request as a loopback venue server receives it, and the refusals every dialect answers.

`WireRequest` keeps the raw request target, query and body exactly as received (signatures are
checked over those bytes, never over a re-serialisation) next to the parsed parameters: the query
for every method, and the JSON body (object or array, fractions as `Decimal`) when there is one.
`Fields` reads one parameter object the way venues read theirs: "" and null mean absent, JSON
numbers and booleans become text, anything else is a parameter error.

Refusals are venue-neutral exceptions the framework turns into the venue's own answer:
`WireError` already carries the venue's code, message and HTTP status; `ParamError` names a bad or
missing parameter and `BadBody` a body that is not JSON, and the venue's dialect words both.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from pmm.connectors.common.numbers import parse_decimal, plain


class WireError(Exception):
    """A refusal in the venue's terms: its code, message, HTTP status, and optional data/headers."""

    def __init__(self, code: int | str, msg: str, status: int = 200, *, data: Any = None,
                 headers: Mapping[str, str] | None = None, text: str | None = None) -> None:
        super().__init__(f"{code}: {msg}")
        self.code = code
        self.msg = msg
        self.status = status
        self.data = data
        self.headers = dict(headers or {})
        self.text = text  # a plain-text body instead of the venue's envelope (a venue's IP-ban page)


class ParamError(Exception):
    """Parameter `name` is missing (`missing=True`) or invalid; the dialect words the answer."""

    def __init__(self, name: str, *, missing: bool = False) -> None:
        super().__init__(f"{'missing' if missing else 'invalid'} parameter {name}")
        self.name = name
        self.missing = missing


class BadBody(Exception):
    """The request body is not valid JSON."""


class WireRequest:
    """One HTTP request: raw target/query/body as received, headers, and parsed parameters."""

    __slots__ = ("method", "path", "target", "query", "body", "headers", "query_params", "reply_headers", "_json",
                 "_parsed")

    def __init__(self, method: str, path: str, target: str, body: bytes, headers: Mapping[str, str]) -> None:
        self.method = method.upper()
        self.path = path
        self.target = target  # path plus "?query", as sent (not re-encoded)
        self.query = target.partition("?")[2]
        # surrogateescape keeps every byte, so a signature is checked over exactly what arrived.
        self.body = body.decode("utf-8", "surrogateescape")
        self.headers = headers
        self.query_params: dict[str, str] = dict(parse_qsl(self.query, keep_blank_values=True))
        # Headers the venue adds to this request's answer, success or refusal (its rate-limit state).
        self.reply_headers: dict[str, str] = {}
        self._json: Any = None
        self._parsed = False

    def json(self) -> Any:
        """The JSON body (None when empty); `BadBody` when it is not JSON."""
        if not self._parsed:
            text = self.body.strip()
            if text:
                try:
                    self._json = json.loads(text, parse_float=Decimal)
                except ValueError:
                    raise BadBody() from None
            self._parsed = True
        return self._json

    def fields(self) -> Fields:
        """The parameters of a one-object request: the query of a GET, the JSON object of a POST."""
        if self.method == "GET":
            return Fields(self.query_params)
        body = self.json()
        if body is None:
            return Fields(self.query_params)
        if not isinstance(body, dict):
            raise BadBody()
        return Fields(body)

    def items(self) -> list[Fields]:
        """The objects of a batch request: a JSON array of objects (a lone object counts as one)."""
        body = self.json()
        if isinstance(body, dict):
            return [Fields(body)]
        if not isinstance(body, list) or not all(isinstance(item, dict) for item in body):
            raise BadBody()
        return [Fields(item) for item in body]


class Fields:
    """One parameter object read the way venues read theirs (see module docstring)."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.raw = raw

    def __contains__(self, name: str) -> bool:
        return self.text(name) is not None

    def text(self, name: str) -> str | None:
        """The parameter as text ("" and null are absent; true -> "true", 5 -> "5", 0.5 -> "0.5")."""
        value = self.raw.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, Decimal):
            return plain(value)
        if isinstance(value, (int, str)):
            return str(value)
        raise ParamError(name)

    def required(self, name: str) -> str:
        value = self.text(name)
        if value is None:
            raise ParamError(name, missing=True)
        return value

    def decimal(self, name: str, *, required: bool = False) -> Decimal | None:
        text = self.required(name) if required else self.text(name)
        if text is None:
            return None
        value = parse_decimal(text)
        if value is None:
            raise ParamError(name)
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        text = self.text(name)
        if text is None:
            return default
        value = parse_decimal(text)
        if value is None or value != value.to_integral_value():
            raise ParamError(name)
        return int(value)

    def boolean(self, name: str, default: bool = False) -> bool:
        text = self.text(name)
        if text is None:
            return default
        if text.lower() not in ("true", "false"):
            raise ParamError(name)
        return text.lower() == "true"

    def choice(self, name: str, allowed: tuple[str, ...], default: str | None = None) -> str | None:
        text = self.text(name)
        if text is None:
            return default
        if text not in allowed:
            raise ParamError(name)
        return text
