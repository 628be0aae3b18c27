"""Value rules: parse one config value and say, in words, what is allowed.

Each rule is a callable used as a pydantic `PlainValidator`, so pydantic's own coercion (and its
messages) never run for leaf values. A failing rule raises `PydanticCustomError("pmm_value", ...)`
whose context carries the words the message translator needs:

- `allowed`: what the value must be, completing "`key` must be ..., was X."
- `hint`: optional extra text, e.g. a "did you mean" suggestion.
- `subpath`: optional suffix of the key path, e.g. "[2]" for one level of a book side.

Every rule also has `expected`, the noun phrase used when the key is missing
("`leverage` is required: a whole number greater than 0 (x).").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlparse

from pmm.config.wording import did_you_mean, fail, show


def to_decimal(value: Any) -> Decimal | None:
    """Parse a number given as int, Decimal, numeric string or float; None if it is not one.

    Floats (from code, not from our YAML loader) go through `repr`, which is the shortest text
    that round-trips, so 0.1 becomes Decimal("0.1") and not the binary expansion.
    """
    if isinstance(value, bool):  # bool is an int subclass; `true` is never a number here
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            return Decimal(value.strip().replace("_", ""))
        except InvalidOperation:
            return None
    return None


@dataclass(frozen=True, slots=True)
class Number:
    """A finite number within optional bounds; returns a `Decimal`, `float` or `int`.

    `gt`/`ge`/`lt`/`le` are the exclusive/inclusive bounds, `unit` what the user types
    ("percent", "seconds", ...), `note` an extra remark ("-1 disables"). `special` is a value
    allowed outside the bounds (price_ceiling's -1).
    """

    gt: Decimal | int | None = None
    ge: Decimal | int | None = None
    lt: Decimal | int | None = None
    le: Decimal | int | None = None
    unit: str = ""
    note: str = ""
    kind: type = Decimal  # Decimal, float or int
    special: Decimal | int | None = None

    @property
    def _bounds(self) -> str:
        parts: list[str] = []
        if self.gt is not None:
            parts.append(f"greater than {str(self.gt)}")
        if self.ge is not None:
            parts.append(f"at least {str(self.ge)}")
        if self.lt is not None:
            parts.append(f"less than {str(self.lt)}")
        if self.le is not None:
            parts.append(f"at most {str(self.le)}")
        text = " and ".join(parts)
        if self.special is not None:
            text = f"{str(self.special)} or {text}" if text else str(self.special)
        return text

    @property
    def _extras(self) -> str:
        extras = ", ".join(x for x in (self.unit, self.note) if x)
        return f" ({extras})" if extras else ""

    @property
    def range_text(self) -> str:
        """The bounds in words: "greater than 0 and less than 100 (percent)"."""
        return (self._bounds or "any number") + self._extras

    @property
    def expected(self) -> str:
        """The noun phrase: "a number greater than 0 and less than 100 (percent)"."""
        noun = "a whole number" if self.kind is int else "a number"
        bounds = f" {self._bounds}" if self._bounds else ""
        return f"{noun}{bounds}{self._extras}"

    def __call__(self, value: Any) -> Any:
        number = to_decimal(value)
        if number is None:
            hint = ""
            if isinstance(value, str) and value.strip().endswith("%"):
                hint = " (write the number without the % sign: 1 means 1%)"
            fail(self.expected, hint)
        if not number.is_finite():
            fail(self.expected)
        if self.kind is int and number != number.to_integral_value():
            fail(self.expected)
        if not (self.special is not None and number == self.special):
            if (
                (self.gt is not None and not number > self.gt)
                or (self.ge is not None and not number >= self.ge)
                or (self.lt is not None and not number < self.lt)
                or (self.le is not None and not number <= self.le)
            ):
                fail(self.range_text)
        if self.kind is int:
            return int(number)
        if self.kind is float:
            return float(number)
        return number


@dataclass(frozen=True, slots=True)
class Choice:
    """One of a fixed set of words, case-insensitive; `aliases` maps extra spellings to a value.

    `values` maps each canonical spelling (as shown to the user) to the value returned.
    """

    values: Mapping[str, Any]
    aliases: Mapping[str, str] = field(default_factory=dict)
    what: str = ""

    @property
    def expected(self) -> str:
        listed = ", ".join(self.values)
        return f"one of {listed}" + (f" ({self.what})" if self.what else "")

    def __call__(self, value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower()
            for canonical, result in self.values.items():
                if key == canonical.lower():
                    return result
            if key in self.aliases:
                return self.values[self.aliases[key]]
        fail(self.expected, did_you_mean(value, self.values))


@dataclass(frozen=True, slots=True)
class Boolean:
    """true/false; also yes/no/y/n as Hummingbot accepts them."""

    expected: str = "true or false"

    def __call__(self, value: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            word = value.strip().lower()
            if word in ("true", "yes", "y"):
                return True
            if word in ("false", "no", "n"):
                return False
        fail(self.expected)


_PAIR = re.compile(r"^[A-Z0-9]+(?:-[A-Z0-9_]+)+$")


@dataclass(frozen=True, slots=True)
class TradingPair:
    """A trading pair "BASE-QUOTE" (extra dash-separated parts allowed: "BTC-USDT-INDEX").

    Upper-cased, because venues and Hummingbot spell pairs that way.
    """

    expected: str = "a trading pair like BASE-QUOTE (e.g. BTC-USDT)"

    def __call__(self, value: Any) -> str:
        if isinstance(value, str):
            pair = value.strip().upper()
            if _PAIR.match(pair):
                return pair
            if pair.replace("/", "-") != pair or pair.replace("_", "-") != pair:
                hint = f" (did you mean `{re.sub(r'[/_]', '-', pair)}`?)"
                fail(self.expected, hint)
        fail(self.expected)


_ASSET = re.compile(r"^[A-Z0-9]+$")


@dataclass(frozen=True, slots=True)
class Asset:
    """An asset symbol such as USDT (upper-cased)."""

    expected: str = "an asset symbol like USDT"

    def __call__(self, value: Any) -> str:
        if isinstance(value, str) and _ASSET.match(value.strip().upper()):
            return value.strip().upper()
        fail(self.expected)


@dataclass(frozen=True, slots=True)
class Connector:
    """A connector id from a known list (lower-cased)."""

    known: tuple[str, ...]
    what: str

    @property
    def expected(self) -> str:
        return f"one of the known {self.what}: {', '.join(self.known)}"

    def __call__(self, value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in self.known:
            return value.strip().lower()
        fail(self.expected, did_you_mean(value, self.known))


@dataclass(frozen=True, slots=True)
class Url:
    """An absolute URL with one of `schemes` and a host."""

    schemes: tuple[str, ...]

    @property
    def expected(self) -> str:
        shown = " or ".join(f"{s}://" for s in self.schemes)
        return f"a URL starting with {shown} and naming a host"

    def __call__(self, value: Any) -> str:
        if isinstance(value, str):
            text = value.strip()
            parsed = urlparse(text)
            if parsed.scheme.lower() in self.schemes and parsed.netloc:
                return text
        fail(self.expected)


@dataclass(frozen=True, slots=True)
class Exactly:
    """Exactly one word (case-insensitive), e.g. the `strategy` name."""

    word: str
    note: str = ""

    @property
    def expected(self) -> str:
        return self.word + (f" ({self.note})" if self.note else "")

    def __call__(self, value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() == self.word:
            return self.word
        fail(self.expected)


@dataclass(frozen=True, slots=True)
class Name:
    """A free-form name used as a mapping key (an `order_override` entry name)."""

    expected: str = "a name"

    def __call__(self, value: Any) -> str:
        if isinstance(value, str) and value.strip():
            return value.strip()
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        fail(self.expected)


@dataclass(frozen=True, slots=True)
class Text:
    """Any non-empty string (used for free-form names such as a replay file path)."""

    expected: str = "a non-empty text"

    def __call__(self, value: Any) -> str:
        if isinstance(value, str) and value.strip():
            return value.strip()
        fail(self.expected)


@dataclass(frozen=True, slots=True)
class Timestamp:
    """A point in time: ISO-8601 ("2026-01-01T00:00:00Z", UTC if no offset) or epoch seconds."""

    expected: str = (
        "an ISO-8601 UTC time like 2026-01-01T00:00:00Z or epoch seconds (at least 0)"
    )

    def __call__(self, value: Any) -> float:
        # YAML itself turns unquoted timestamps into datetime/date objects.
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.timestamp()
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()
        number = to_decimal(value)
        if number is None and isinstance(value, str):
            try:
                return self(datetime.fromisoformat(value.strip()))
            except ValueError:
                fail(self.expected)
        if number is None or not number.is_finite() or number < 0:
            fail(self.expected)
        if number > Decimal("1e11"):  # year 5138 in seconds, but 1973 in milliseconds
            fail(self.expected, " (this looks like milliseconds: divide by 1000)")
        return float(number)


@dataclass(frozen=True, slots=True)
class BookLevels:
    """A non-empty list of [price, size] pairs, prices and sizes greater than 0.

    `descending` is True for bids (best = highest first), False for asks.
    """

    descending: bool

    @property
    def expected(self) -> str:
        order = "highest price first" if self.descending else "lowest price first"
        return f"a non-empty list of [price, size] levels, both greater than 0, {order}"

    def __call__(self, value: Any) -> tuple[tuple[Decimal, Decimal], ...]:
        if not isinstance(value, list | tuple) or not value:
            fail(self.expected)
        levels: list[tuple[Decimal, Decimal]] = []
        for index, level in enumerate(value):
            at, shown = f"[{index}]", show(level)
            if not isinstance(level, list | tuple) or len(level) != 2:
                fail("a [price, size] pair", subpath=at, shown=shown)
            price, size = to_decimal(level[0]), to_decimal(level[1])
            if price is None or size is None or not price.is_finite() or not size.is_finite():
                fail("a [price, size] pair of numbers", subpath=at, shown=shown)
            if price <= 0 or size <= 0:
                fail("a [price, size] pair, both greater than 0", subpath=at, shown=shown)
            if levels:
                previous = levels[-1][0]
                if (self.descending and price >= previous) or (
                    not self.descending and price <= previous
                ):
                    order = "below" if self.descending else "above"
                    fail(
                        f"a level priced {order} the previous one ({previous})",
                        subpath=at,
                        shown=shown,
                    )
            levels.append((price, size))
        return tuple(levels)
