"""Replay of a recorded market from a JSON-lines file (format: docs/replay_format.md).

The file is streamed: one line is parsed ahead of time (to know when the next item is due) and
nothing else is held in memory. A malformed line raises `ConfigError` naming the file and the
line number. Records' times are mapped to virtual time as
`t0 + (ts - first_ts) / speed`, where `t0` is the exchange's start (its first `advance_to`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from pmm.core.events import BookDelta, BookSnapshot, Level, Trade
from pmm.core.model import Side, TradeId
from pmm.errors import ConfigError
from pmm.sim.generators import MarketItem, MarkUpdate
from pmm.sim.settings import ReplayMarket

RECORD_TYPES = ("snapshot", "delta", "trade", "mark", "funding")


class _BadRecord(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class ReplayRecord:
    """One parsed line: its file time, its type and the type's fields (Decimals)."""

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


_ZERO = Decimal(0)
_INF = Decimal("Infinity")
_DECODER = json.JSONDecoder(parse_float=Decimal)  # one decoder: `json.loads(..., parse_float=)` builds one per call


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
        raise _BadRecord(f'`{key}` must be a decimal string like "100.5", was {raw!r}')
    try:
        value = Decimal(raw)
    except ArithmeticError:
        raise _BadRecord(f"`{key}` is not a number, was {raw!r}") from None
    if not value.is_finite():
        raise _BadRecord(f"`{key}` must be finite, was {raw!r}")
    if positive and value <= 0:
        raise _BadRecord(f"`{key}` must be > 0, was {raw!r}")
    if non_negative and value < 0:
        raise _BadRecord(f"`{key}` must be >= 0, was {raw!r}")
    return value


class _Unusual(Exception):
    pass


def _levels(obj: dict[str, Any], key: str) -> tuple[Level, ...]:
    rows = obj.get(key, [])
    if type(rows) is list:
        # Fast path: [price, size] pairs of decimal strings, price > 0, size >= 0, both finite.
        # Anything else is checked (and explained) by the slow path below.
        try:
            levels = []
            for row in rows:
                if type(row) is not list or len(row) != 2:
                    raise _Unusual
                p, q = row
                if type(p) is not str or type(q) is not str:
                    raise _Unusual
                price, size = Decimal(p), Decimal(q)
                if not (_ZERO < price < _INF and _ZERO <= size < _INF):
                    raise _Unusual
                levels.append((price, size))
            return tuple(levels)
        except (_Unusual, ArithmeticError):
            pass
    return _levels_checked(rows, key)


def _levels_checked(rows: Any, key: str) -> tuple[Level, ...]:
    if not isinstance(rows, list):
        raise _BadRecord(f"`{key}` must be a list of [price, size] pairs, was {rows!r}")
    levels = []
    for row in rows:
        if not isinstance(row, list) or len(row) != 2:
            raise _BadRecord(f"`{key}` entries must be [price, size] pairs, was {row!r}")
        level = {"price": row[0], "size": row[1]}
        levels.append((_decimal(level, "price", positive=True), _decimal(level, "size", non_negative=True)))
    return tuple(levels)


def _timestamp(obj: dict[str, Any]) -> float:
    has_ts, has_ms = "ts" in obj, "ts_ms" in obj
    if has_ts == has_ms:
        raise _BadRecord("give exactly one of `ts` (seconds) or `ts_ms` (integer milliseconds)")
    raw = obj["ts"] if has_ts else obj["ts_ms"]
    if isinstance(raw, bool) or not isinstance(raw, (int, Decimal)) or (has_ms and not isinstance(raw, int)):
        raise _BadRecord(f"`{'ts' if has_ts else 'ts_ms'}` must be a number, was {raw!r}")
    ts = float(raw) if has_ts else raw / 1000.0
    if not math.isfinite(ts):
        raise _BadRecord(f"timestamp must be finite, was {raw!r}")
    return ts


def parse_record(obj: Any) -> tuple[ReplayRecord, str | None]:
    """One decoded JSON line -> (record, its `market` or None). Raises _BadRecord."""
    if not isinstance(obj, dict):
        raise _BadRecord("each line must be a JSON object")
    kind = obj.get("type")
    if kind not in RECORD_TYPES:
        raise _BadRecord(f"`type` must be one of {', '.join(RECORD_TYPES)}, was {kind!r}")
    market = obj.get("market")
    if market is not None and not isinstance(market, str):
        raise _BadRecord(f"`market` must be a string, was {market!r}")
    ts = _timestamp(obj)
    if kind == "snapshot":  # best first, empty levels dropped, as every snapshot we publish
        bids = sorted((level for level in _levels(obj, "bids") if level[1] > 0), reverse=True)
        asks = sorted(level for level in _levels(obj, "asks") if level[1] > 0)
        record = ReplayRecord(ts, kind, bids=tuple(bids), asks=tuple(asks))
    elif kind == "delta":
        record = ReplayRecord(ts, kind, bids=_levels(obj, "bids"), asks=_levels(obj, "asks"))
    elif kind == "trade":
        side = obj.get("side")
        if side not in ("buy", "sell"):
            raise _BadRecord(f'`side` (the aggressor) must be "buy" or "sell", was {side!r}')
        trade_id = obj.get("trade_id")
        if trade_id is not None and not isinstance(trade_id, (str, int)):
            raise _BadRecord(f"`trade_id` must be a string, was {trade_id!r}")
        record = ReplayRecord(
            ts, kind, price=_decimal(obj, "price", positive=True), amount=_decimal(obj, "amount", positive=True),
            side=Side(side), trade_id=None if trade_id is None else str(trade_id),
        )
    elif kind == "mark":
        mark = _decimal(obj, "mark_price", positive=True)
        index = _decimal(obj, "index_price", positive=True) if "index_price" in obj else mark
        record = ReplayRecord(ts, kind, mark_price=mark, index_price=index)
    else:  # funding; `next_funding_ts` is informational: the venue settles on its own schedule
        nxt = obj.get("next_funding_ts", 0)
        if isinstance(nxt, bool) or not isinstance(nxt, (int, Decimal)):
            raise _BadRecord(f"`next_funding_ts` must be a number of seconds, was {nxt!r}")
        record = ReplayRecord(ts, kind, rate=_decimal(obj, "rate"))
    return record, market


class ReplayReader:
    """Reads the records of one market from the file, one line at a time, checking each line."""

    def __init__(self, path: Path, market: str, offset: int = 0, line_no: int = 0, last_ts: float | None = None):
        self.path = Path(path)
        self.market = market
        try:
            self._file: IO[bytes] = open(self.path, "rb")  # noqa: SIM115 - kept open while streaming
        except OSError as exc:
            raise ConfigError(f"Cannot open replay file `{self.path}`: {exc.strerror}. Check `sim` replay `path`.") from None
        self._file.seek(offset)
        self.offset = offset  # byte offset of the first unread line
        self.line_no = line_no  # number of lines consumed so far
        self.last_ts = last_ts

    def read(self) -> ReplayRecord | None:
        """The next record of this market, or None at the end of the file."""
        while True:
            raw = self._file.readline()
            if not raw:
                return None
            self.offset += len(raw)
            self.line_no += 1
            text = raw.decode("utf-8", errors="replace").strip()
            if not text or text.startswith("#"):
                continue
            try:
                obj = json.loads(text) if text.startswith("\ufeff") else _DECODER.decode(text)  # loads explains a BOM
                record, market = parse_record(obj)
                if self.last_ts is not None and record.ts < self.last_ts:
                    raise _BadRecord(f"time goes backwards ({record.ts} after {self.last_ts}); sort the file by time")
            except (ValueError, RecursionError) as exc:  # JSONDecodeError and _BadRecord are ValueErrors
                problem = str(exc) if isinstance(exc, _BadRecord) else f"not valid JSON ({exc})"
                raise ConfigError(
                    f"Replay file `{self.path}` line {self.line_no}: {problem}. See docs/replay_format.md."
                ) from None
            self.last_ts = record.ts
            if market is None or market == self.market:
                return record

    def close(self) -> None:
        self._file.close()


class ReplaySource:
    """Market items from a replay file, shifted to start at the exchange's first time."""

    def __init__(self, market: str, config: ReplayMarket) -> None:
        if not config.speed > 0:
            raise ConfigError(f"Replay market {market}: `speed` must be > 0, was {config.speed}.")
        self._market = market
        self._config = config
        self._speed = config.speed
        self._reader = ReplayReader(config.path, market)
        self._pending_offset, self._pending_line = 0, 0
        self._pending = self._reader.read()
        self._file_t0 = self._pending.ts if self._pending is not None else 0.0
        self._t0: float | None = None
        self._update_id = 0
        self._trade_count = 0

    def start(self, t0: float) -> None:
        if self._t0 is None:
            self._t0 = t0

    def next_time(self) -> float | None:
        if self._t0 is None or self._pending is None:
            return None
        return self._t0 + (self._pending.ts - self._file_t0) / self._speed

    def step(self) -> list[MarketItem]:
        record, t = self._pending, self.next_time()
        assert record is not None and t is not None
        self._pending_offset, self._pending_line = self._reader.offset, self._reader.line_no
        self._pending = self._reader.read()
        return [self._item(record, t)]

    def _item(self, record: ReplayRecord, t: float) -> MarketItem:
        market = self._market
        if record.type == "snapshot":
            self._update_id += 1
            return BookSnapshot(market, record.bids, record.asks, self._update_id, t, t)
        if record.type == "delta":
            self._update_id += 1
            return BookDelta(market, record.bids, record.asks, self._update_id, t, t)
        if record.type == "trade":
            assert record.price is not None and record.amount is not None and record.side is not None
            self._trade_count += 1
            trade_id = record.trade_id if record.trade_id is not None else f"{market}-{self._trade_count}"
            return Trade(market, TradeId(trade_id), record.price, record.amount, record.side, t, t)
        if record.type == "mark":
            return MarkUpdate(market, record.mark_price, record.index_price, None)
        return MarkUpdate(market, None, None, record.rate)

    def delay(self, seconds: float) -> None:
        if self._t0 is not None:
            self._t0 += seconds

    def export_state(self) -> dict:
        # Resume by re-reading the pending record's line: it was already validated once.
        return {
            "t0": self._t0,
            "file_t0": self._file_t0,
            "offset": self._pending_offset,
            "line_no": self._pending_line,
            "update_id": self._update_id,
            "trade_count": self._trade_count,
            "exhausted": self._pending is None,
        }

    def restore_state(self, data: dict) -> None:
        self._reader.close()
        self._t0, self._file_t0 = data["t0"], data["file_t0"]
        self._update_id, self._trade_count = data["update_id"], data["trade_count"]
        self._reader = ReplayReader(self._config.path, self._market, data["offset"], data["line_no"])
        self._pending = None if data["exhausted"] else self._reader.read()
        self._pending_offset, self._pending_line = data["offset"], data["line_no"]

    def close(self) -> None:
        self._reader.close()
