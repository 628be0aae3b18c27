"""One decoded replay line -> a checked `ReplayRecord` (format: docs/replay_format.md).

A bad line raises `BadRecord` saying what is wrong; the reader (replay.py) adds the file and the
line number. The usual line (decimal strings, `ts_ms`) takes a fast path; anything unusual is
re-checked by the slow path, which also writes the messages.

A replay repeats the same few thousand prices and sizes: `DecimalTexts` keeps the Decimal of each
text it has already parsed and checked, so a repeated text costs one dict lookup instead of a
Decimal construction and its range checks. Decimals are immutable, so records may share them.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any, NamedTuple

from pmm.core.events import Level
from pmm.core.model import Side

RECORD_TYPES = ("snapshot", "delta", "trade", "mark", "funding", "resync")
META_TYPES = ("header", "end")  # a recording's first and last line (version 2): no market content
SUPPORTED_VERSION = 2

_ZERO = Decimal(0)
_INF = Decimal("Infinity")
_TEXTS_MAX = 4096  # per kind; a full table is emptied (about 0.7 MB each when full)


class BadRecord(ValueError):
    pass


class ReplayRecord(NamedTuple):
    """One parsed line: its file time, its type and the type's fields (Decimals).

    A NamedTuple rather than a frozen dataclass: as immutable, and several times cheaper to build
    (one per line).
    """

    ts: float
    type: str
    bids: tuple[Level, ...] = ()
    asks: tuple[Level, ...] = ()
    price: Decimal | None = None
    amount: Decimal | None = None
    side: Side | None = None
    trade_id: str | None = None
    mark_price: Decimal | None = None
    index_price: Decimal | None = None
    rate: Decimal | None = None
    venue_ts: float | None = None  # the venue's time of the event (recordings); `ts` is when it arrived
    next_funding_ts: float | None = None
    reason: str = ""  # resync


class DecimalTexts:
    """The checked Decimal of each decimal string seen recently: positive ones, and non-negative
    ones (see the module docstring). Only finite values in range are kept."""

    __slots__ = ("non_negative", "positive")

    def __init__(self) -> None:
        self.positive: dict[str, Decimal] = {}
        self.non_negative: dict[str, Decimal] = {}

    def parse_positive(self, text: str) -> Decimal | None:
        """Decimal(text) if it is finite and > 0 (remembered), else None."""
        try:
            value = Decimal(text)
            if not _ZERO < value < _INF:  # a NaN raises here
                return None
        except ArithmeticError:
            return None
        table = self.positive
        if len(table) >= _TEXTS_MAX:
            table.clear()
        table[text] = value
        return value

    def parse_non_negative(self, text: str) -> Decimal | None:
        """Decimal(text) if it is finite and >= 0 (remembered), else None."""
        try:
            value = Decimal(text)
            if not _ZERO <= value < _INF:  # a NaN raises here
                return None
        except ArithmeticError:
            return None
        table = self.non_negative
        if len(table) >= _TEXTS_MAX:
            table.clear()
        table[text] = value
        return value


def _decimal(obj: dict[str, Any], key: str, *, positive: bool = False, non_negative: bool = False) -> Decimal:
    raw = obj.get(key)
    if type(raw) is str:  # fast path for the usual decimal string; anything odd takes the checks below
        try:
            value = Decimal(raw)
            if -_INF < value < _INF and (value > 0 if positive else value >= 0 if non_negative else True):
                return value
        except ArithmeticError:
            pass
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal)):
        raise BadRecord(f'`{key}` must be a decimal string like "100.5", was {raw!r}')
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise BadRecord(f"`{key}` is not a number, was {raw!r}") from None
    if not value.is_finite():
        raise BadRecord(f"`{key}` must be finite, was {raw!r}")
    if positive and value <= 0:
        raise BadRecord(f"`{key}` must be > 0, was {raw!r}")
    if non_negative and value < 0:
        raise BadRecord(f"`{key}` must be >= 0, was {raw!r}")
    return value


def _positive(obj: dict[str, Any], key: str, texts: DecimalTexts) -> Decimal:
    raw = obj.get(key)
    if type(raw) is str:
        value = texts.positive.get(raw) or texts.parse_positive(raw)
        if value is not None:
            return value
    return _decimal(obj, key, positive=True)


def _levels(obj: dict[str, Any], key: str, texts: DecimalTexts) -> tuple[Level, ...]:
    rows = obj.get(key, [])
    if type(rows) is list:
        # Fast path: [price, size] pairs of decimal strings, price > 0, size >= 0, both finite.
        # Anything else is checked (and explained) by the slow path below.
        prices, sizes = texts.positive, texts.non_negative
        levels = []
        for row in rows:
            if type(row) is not list or len(row) != 2:
                break
            p, q = row
            if type(p) is not str or type(q) is not str:
                break
            price = prices.get(p) or texts.parse_positive(p)
            size = sizes.get(q)
            if size is None:
                size = texts.parse_non_negative(q)
            if price is None or size is None:
                break
            levels.append((price, size))
        else:
            return tuple(levels)
    return _levels_checked(rows, key)


def _levels_checked(rows: Any, key: str) -> tuple[Level, ...]:
    if not isinstance(rows, list):
        raise BadRecord(f"`{key}` must be a list of [price, size] pairs, was {rows!r}")
    levels = []
    for row in rows:
        if not isinstance(row, list) or len(row) != 2:
            raise BadRecord(f"`{key}` entries must be [price, size] pairs, was {row!r}")
        level = {"price": row[0], "size": row[1]}
        levels.append((_decimal(level, "price", positive=True), _decimal(level, "size", non_negative=True)))
    return tuple(levels)


def _timestamp(obj: dict[str, Any]) -> float:
    raw = obj.get("ts_ms")
    if type(raw) is int and "ts" not in obj:  # the usual form; int / float is finite (or overflows)
        return raw / 1000.0
    has_ts, has_ms = "ts" in obj, "ts_ms" in obj
    if has_ts == has_ms:
        raise BadRecord("give exactly one of `ts` (seconds) or `ts_ms` (integer milliseconds)")
    raw = obj["ts"] if has_ts else obj["ts_ms"]
    if isinstance(raw, bool) or not isinstance(raw, (int, Decimal)) or (has_ms and not isinstance(raw, int)):
        raise BadRecord(f"`{'ts' if has_ts else 'ts_ms'}` must be a number, was {raw!r}")
    ts = float(raw) if has_ts else raw / 1000.0
    if not math.isfinite(ts):
        raise BadRecord(f"timestamp must be finite, was {raw!r}")
    return ts


def check_meta(obj: dict[str, Any]) -> None:
    """A recording's `header` (its format version must be one this pmm reads) or `end` line."""
    if obj.get("type") == "header":
        version = obj.get("version")
        if obj.get("format") != "pmm-replay" or type(version) is not int:
            raise BadRecord(f'a header needs "format": "pmm-replay" and an integer "version", was {obj!r}')
        if version > SUPPORTED_VERSION:
            raise BadRecord(f"recorded in replay format version {version}; this pmm reads up to version "
                            f"{SUPPORTED_VERSION}: upgrade pmm")


def _venue_ts(obj: dict[str, Any]) -> float | None:
    raw = obj.get("venue_ts")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, Decimal)):
        raise BadRecord(f"`venue_ts` must be a number of seconds, was {raw!r}")
    return float(raw)


def parse_record(obj: Any, texts: DecimalTexts) -> tuple[ReplayRecord | None, str | None]:
    """One decoded JSON line -> (record, its `market` or None); (None, None) for a `header` or `end`
    line. Raises BadRecord."""
    if type(obj) is not dict:
        raise BadRecord("each line must be a JSON object")
    kind = obj.get("type")
    if kind in META_TYPES:
        check_meta(obj)
        return None, None
    if kind not in RECORD_TYPES:
        raise BadRecord(f"`type` must be one of {', '.join(RECORD_TYPES)}, was {kind!r}")
    market = obj.get("market")
    if market is not None and type(market) is not str:
        raise BadRecord(f"`market` must be a string, was {market!r}")
    ts = _timestamp(obj)
    if kind == "delta":
        record = ReplayRecord(ts, kind, _levels(obj, "bids", texts), _levels(obj, "asks", texts))
    elif kind == "trade":
        side = obj.get("side")
        if side not in ("buy", "sell"):
            raise BadRecord(f'`side` (the aggressor) must be "buy" or "sell", was {side!r}')
        trade_id = obj.get("trade_id")
        if trade_id is not None and not isinstance(trade_id, (str, int)):
            raise BadRecord(f"`trade_id` must be a string, was {trade_id!r}")
        record = ReplayRecord(
            ts, kind, price=_positive(obj, "price", texts), amount=_positive(obj, "amount", texts),
            side=Side(side), trade_id=None if trade_id is None else str(trade_id),
        )
    elif kind == "snapshot":  # best first, empty levels dropped, as every snapshot we publish
        bids = sorted((level for level in _levels(obj, "bids", texts) if level[1] > 0), reverse=True)
        asks = sorted(level for level in _levels(obj, "asks", texts) if level[1] > 0)
        record = ReplayRecord(ts, kind, bids=tuple(bids), asks=tuple(asks))
    elif kind == "mark":
        mark = _decimal(obj, "mark_price", positive=True)
        index = _decimal(obj, "index_price", positive=True) if "index_price" in obj else mark
        record = ReplayRecord(ts, kind, mark_price=mark, index_price=index)
    elif kind == "resync":
        reason = obj.get("reason", "")
        record = ReplayRecord(ts, kind, reason=reason if isinstance(reason, str) else str(reason))
    else:  # funding; `next_funding_ts`: the `sim` generator settles on its own schedule, a backtest at it
        nxt = obj.get("next_funding_ts", 0)
        if isinstance(nxt, bool) or not isinstance(nxt, (int, Decimal)):
            raise BadRecord(f"`next_funding_ts` must be a number of seconds, was {nxt!r}")
        record = ReplayRecord(ts, kind, rate=_decimal(obj, "rate"), next_funding_ts=float(nxt) or None)
    if "venue_ts" in obj:
        record = record._replace(venue_ts=_venue_ts(obj))
    return record, market
