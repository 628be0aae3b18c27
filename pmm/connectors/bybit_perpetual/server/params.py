"""Request parameter rules shared by the Bybit server's REST handlers: category, symbol, integers,
booleans, page limits and cursors (an opaque offset), time windows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server.auth import RawRequest
from pmm.connectors.bybit_perpetual.server.codes import param_error
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap

T = TypeVar("T")


def category(req: RawRequest, *, required: bool = True) -> str | None:
    """The `category`; 10001 when missing (if required) or not one of Bybit's."""
    value = req.text("category")
    if value is None:
        if required:
            raise param_error("params error: Category is null")
        return None
    if value not in c.CATEGORIES:
        raise param_error(f"params error: category {value} is invalid")
    return value


def linear(req: RawRequest, *, required: bool = True) -> None:
    """Trading endpoints serve linear only (this venue lists no spot, inverse or option market)."""
    value = category(req, required=required)
    if value is not None and value != c.CATEGORY_LINEAR:
        raise param_error(f"params error: category {value} is not served by the simulated venue (linear only)")


def symbol(req: RawRequest, symbols: SymbolMap, *, required: bool = True) -> str | None:
    value = req.text("symbol")
    if value is None:
        if required:
            raise param_error("params error: symbol is empty")
        return None
    if symbols.market(value) is None:
        raise param_error(f"params error: symbol invalid: {value}")
    return value


def linear_symbol(req: RawRequest, symbols: SymbolMap) -> tuple[str, str]:
    """A linear request's symbol (required) and the pmm market it names."""
    linear(req)
    value = symbol(req, symbols)
    market = symbols.market(value or "")
    assert value is not None and market is not None
    return value, market


def linear_symbol_if_any(req: RawRequest, symbols: SymbolMap) -> str | None:
    linear(req)
    return symbol(req, symbols, required=False)


def integer(req: RawRequest, name: str, default: int | None = None) -> int | None:
    value = req.text(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise param_error(f"params error: {name} invalid") from None


def boolean(req: RawRequest, name: str) -> bool | None:
    value = req.params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if value in (0, 1) and not isinstance(value, bool):
        return bool(value)
    raise param_error(f"params error: {name} invalid")


def limit(req: RawRequest, default: int, maximum: int, minimum: int = 1) -> int:
    value = integer(req, "limit", default)
    assert value is not None
    if not minimum <= value <= maximum:
        raise param_error(f"params error: limit must be between {minimum} and {maximum}, was {value}")
    return value


def window(req: RawRequest, now_ms: int, default_ms: int = c.DEFAULT_QUERY_WINDOW_MS) -> tuple[int, int]:
    """(start, end) in ms: both given, or one and `default_ms` around it, or the last `default_ms`."""
    start, end = integer(req, "startTime"), integer(req, "endTime")
    if start is None and end is None:
        return now_ms - default_ms, now_ms
    if start is None:
        assert end is not None
        return end - default_ms, end
    if end is None:
        return start, start + default_ms
    if end < start:
        raise param_error("params error: endTime is earlier than startTime")
    return start, end


def page(rows: Sequence[T], req: RawRequest, size: int) -> tuple[list[T], str]:
    """One page of `rows` from the request's cursor, and the next cursor ("" on the last page)."""
    cursor = req.text("cursor")
    try:
        offset = int(cursor) if cursor is not None else 0
    except ValueError:
        raise param_error("params error: cursor invalid") from None
    chunk = list(rows[offset:offset + size])
    following = offset + size
    return chunk, str(following) if following < len(rows) else ""
