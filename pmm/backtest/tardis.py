"""Tardis.dev CSV exports as backtest data: `incremental_book_L2`, `trades`, `derivative_ticker`.

Columns (comma separated, times in microseconds since the epoch, UTC; files may be gzip):

    incremental_book_L2  exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount
    trades               exchange,symbol,timestamp,local_timestamp,id,side,price,amount
    derivative_ticker    exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,
                         predicted_funding_rate,open_interest,last_price,index_price,mark_price

Book rows arriving together (same `local_timestamp` and `is_snapshot`) are one message: one
`BookSnapshot` (snapshot rows; a later run of them replaces the book, as after a reconnect) or one
`BookDelta`. `amount` is the level's new size (0 removes it). A trade's `side` is the aggressor's;
`unknown` sides are skipped. A ticker row is a mark, index and funding update; its
`funding_timestamp` is the next settlement. `local_timestamp` is the backtest's clock, `timestamp`
the venue's. The files are merged by `local_timestamp`; each must hold one symbol.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import io
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import IO

from pmm.core.events import BookDelta, BookSnapshot, Event, FundingInfoUpdated, Level, Trade
from pmm.core.model import FundingInfo, Side, TradeId
from pmm.errors import ConfigError

BOOK = ("exchange", "symbol", "timestamp", "local_timestamp", "is_snapshot", "side", "price", "amount")
TRADES = ("exchange", "symbol", "timestamp", "local_timestamp", "id", "side", "price", "amount")
TICKER = ("exchange", "symbol", "timestamp", "local_timestamp", "funding_timestamp", "funding_rate",
          "predicted_funding_rate", "open_interest", "last_price", "index_price", "mark_price")
_KINDS = {BOOK: "book", TRADES: "trades", TICKER: "ticker"}
_US = 1_000_000

Timed = tuple[float, Event]


def _open(path: Path) -> IO[str]:
    raw = path.open("rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return io.TextIOWrapper(gzip.GzipFile(fileobj=raw), encoding="utf-8", newline="")
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding="utf-8", newline="")


def _columns(path: Path) -> tuple[str, ...] | None:
    try:
        with _open(path) as f:
            first = f.readline()
    except (OSError, EOFError, UnicodeDecodeError):
        return None
    return tuple(c.strip() for c in first.strip().split(","))


def is_tardis_csv(path: Path) -> bool:
    return _columns(path) in _KINDS


class _Rows:
    """A CSV file's rows as dicts, with the line number for error messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = _open(path)
        self._reader = csv.DictReader(self._file)
        self.symbol: str | None = None

    def __iter__(self) -> Iterator[dict[str, str]]:
        try:
            for row in self._reader:
                symbol = row.get("symbol")
                if self.symbol is None:
                    self.symbol = symbol
                elif symbol != self.symbol:
                    self.fail(f"a second symbol {symbol!r} (the file began with {self.symbol!r}); export one "
                              "symbol per file")
                yield row
        finally:
            self._file.close()

    def fail(self, problem: str) -> None:
        raise ConfigError(f"Tardis CSV `{self.path}` line {self._reader.line_num}: {problem}. See the Tardis.dev "
                          "CSV formats (README: pmm backtest).")

    def decimal(self, row: dict[str, str], key: str) -> Decimal:
        try:
            value = Decimal(row[key])
        except (InvalidOperation, KeyError, TypeError):
            self.fail(f"`{key}` is not a number, was {row.get(key)!r}")
        if not value.is_finite() or value < 0:
            self.fail(f"`{key}` must be a finite number >= 0, was {row[key]!r}")
        return value

    def seconds(self, row: dict[str, str], key: str) -> float:
        raw = row.get(key) or ""
        if not raw.isdigit():
            self.fail(f"`{key}` must be microseconds since the epoch, was {raw!r}")
        return int(raw) / _US


def _book(rows: _Rows, market: str) -> Iterator[Timed]:
    bids: list[Level] = []
    asks: list[Level] = []
    key: tuple[str, str] | None = None
    times = (0.0, 0.0)
    seq = 0

    def message() -> Timed:
        nonlocal seq
        seq += 1
        venue_ts, t = times
        assert key is not None
        if key[1] == "true":
            book_bids = tuple(sorted(((p, s) for p, s in bids if s > 0), reverse=True))
            book_asks = tuple(sorted((p, s) for p, s in asks if s > 0))
            return t, BookSnapshot(market, book_bids, book_asks, seq, venue_ts, t)
        return t, BookDelta(market, tuple(bids), tuple(asks), seq, venue_ts, t)

    for row in rows:
        row_key = (row["local_timestamp"], row["is_snapshot"])
        if row_key != key:
            if key is not None:
                yield message()
            key, bids, asks = row_key, [], []
            times = (rows.seconds(row, "timestamp"), rows.seconds(row, "local_timestamp"))
        price, amount = rows.decimal(row, "price"), rows.decimal(row, "amount")
        if price <= 0:
            rows.fail(f"`price` must be > 0, was {row['price']!r}")
        side = row["side"]
        if side not in ("bid", "ask"):
            rows.fail(f'`side` must be "bid" or "ask", was {side!r}')
        (bids if side == "bid" else asks).append((price, amount))
    if key is not None:
        yield message()


def _trades(rows: _Rows, market: str) -> Iterator[Timed]:
    for n, row in enumerate(rows, 1):
        side = row["side"]
        if side not in ("buy", "sell"):
            continue  # an aggressor the venue did not say: no queue can be credited with it
        amount, price = rows.decimal(row, "amount"), rows.decimal(row, "price")
        if amount <= 0 or price <= 0:
            rows.fail("a trade's `price` and `amount` must be > 0")
        t = rows.seconds(row, "local_timestamp")
        trade_id = TradeId(row["id"] or f"{market}-{n}")
        yield t, Trade(market, trade_id, price, amount, Side(side), rows.seconds(row, "timestamp"), t)


def _ticker(rows: _Rows, market: str, interval_s: float) -> Iterator[Timed]:
    mark = index = None
    rate = Decimal(0)
    for row in rows:
        if row.get("mark_price"):
            mark = rows.decimal(row, "mark_price")
        if row.get("index_price"):
            index = rows.decimal(row, "index_price")
        if row.get("funding_rate"):
            try:
                rate = Decimal(row["funding_rate"])
            except InvalidOperation:
                rows.fail(f"`funding_rate` is not a number, was {row['funding_rate']!r}")
        if mark is None or not row.get("funding_timestamp"):
            continue
        t = rows.seconds(row, "local_timestamp")
        info = FundingInfo(market, mark, index if index is not None else mark, rate,
                           rows.seconds(row, "funding_timestamp"), interval_s)
        yield t, FundingInfoUpdated(info, rows.seconds(row, "timestamp"), t)


def _numbered(stream: Iterator[Timed], n: int) -> Iterator[tuple[float, int, Event]]:
    for t, event in stream:
        yield t, n, event


def tardis_events(paths: Sequence[Path], market: str, interval_s: float, latency: list[float]) -> Iterator[Timed]:
    """The events of the CSV files merged by local time; `latency` gets receive-minus-venue samples."""
    streams: list[Iterator[Timed]] = []
    for path in paths:
        kind = _KINDS[_columns(path)]  # type: ignore[index]
        rows = _Rows(path)
        if kind == "book":
            streams.append(_book(rows, market))
        elif kind == "trades":
            streams.append(_trades(rows, market))
        else:
            streams.append(_ticker(rows, market, interval_s))
    # Equal times keep the order of `paths` (book before trades if given so).
    keyed = [_numbered(stream, n) for n, stream in enumerate(streams)]
    for t, _, event in heapq.merge(*keyed, key=lambda item: (item[0], item[1])):
        if isinstance(event, BookDelta | Trade) and len(latency) < 20_000:
            latency.append(t - event.ts)
        yield t, event
