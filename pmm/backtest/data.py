"""Recorded market data for a backtest, as the events a venue's feed would have emitted.

`open_data(paths, market, ...)` reads pmm recordings and replay files (docs/replay_format.md, one
after the other in time) or Tardis.dev CSV exports (tardis.py, merged by time), and gives a
`MarketData`: `next_time()` / `pop()` in time order, each event stamped with the local time it
arrived (`recv_ts`; the backtest's clock) and the venue's time (`ts`).

`--from` / `--to`: records before `from` are not played, but the book they build is kept and
played as one snapshot at `from` (with the last mark and funding), so a window can start between
two snapshots of a recording.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from pmm.core.book import OrderBook
from pmm.core.events import BookDelta, BookResyncRequired, BookSnapshot, Event, FundingInfoUpdated, Trade
from pmm.core.model import FundingInfo, Side, TradeId, TradingRules
from pmm.errors import ConfigError
from pmm.sim.replay import ReplayReader, open_replay
from pmm.sim.replay_records import ReplayRecord

DEFAULT_FUNDING_INTERVAL_S = 8 * 3600.0
LATENCY_SAMPLES = 20_000  # receive-minus-venue times kept for the recorded latency (the first ones)

Timed = tuple[float, Event]


@dataclass
class Header:
    market: str | None = None
    connector: str | None = None
    rules: dict | None = None


def read_header(path: Path) -> Header:
    """A recording's header line (version 2), or an empty header for a version 1 replay file."""
    file = open_replay(path)
    try:
        line = file.readline()
    finally:
        file.close()
    try:
        obj = json.loads(line)
    except ValueError:
        return Header()
    if not isinstance(obj, dict) or obj.get("type") != "header":
        return Header()
    return Header(obj.get("market"), obj.get("connector"), obj.get("rules"))


def rules_from(market: str, raw: dict) -> TradingRules:
    base, _, quote = market.partition("-")
    return TradingRules(market=market, base=base, quote=quote, tick_size=Decimal(raw["tick_size"]),
                        step_size=Decimal(raw["step_size"]), min_size=Decimal(raw["min_size"]),
                        min_notional=Decimal(raw["min_notional"]), max_leverage=int(raw["max_leverage"]))


class _FundingState:
    """Turns `mark` and `funding` lines into `FundingInfoUpdated` (a venue announces them together)."""

    def __init__(self, market: str, interval_s: float) -> None:
        self.market = market
        self.mark: Decimal | None = None
        self.index: Decimal | None = None
        self.rate = Decimal(0)
        self.next_ts: float | None = None
        self.interval_s = interval_s

    def update(self, record: ReplayRecord) -> FundingInfoUpdated | None:
        if record.type == "mark":
            self.mark, self.index = record.mark_price, record.index_price
        else:
            self.rate = record.rate if record.rate is not None else self.rate
            if record.next_funding_ts is not None:
                self.next_ts = record.next_funding_ts
        return self.event(record.ts, record.venue_ts)

    def event(self, t: float, venue_ts: float | None = None) -> FundingInfoUpdated | None:
        if self.mark is None or self.index is None:
            return None
        next_ts = self.next_ts
        if next_ts is None or next_ts <= t:  # a file without funding times: the usual schedule
            next_ts = (math.floor(t / self.interval_s) + 1) * self.interval_s
        info = FundingInfo(self.market, self.mark, self.index, self.rate, next_ts, self.interval_s)
        return FundingInfoUpdated(info, venue_ts if venue_ts is not None else t, t)


class ReadProgress:
    """How much of the data files has been read, in bytes (for the progress line's time left)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.total = sum(p.stat().st_size for p in paths)
        self.done_files = 0
        self.reader: ReplayReader | None = None

    def fraction(self) -> float | None:
        if not self.total:
            return None
        current = self.reader.raw_position() if self.reader is not None else 0
        return min(1.0, (self.done_files + current) / self.total)


def replay_events(path: Path, market: str, interval_s: float, latency: list[float],
                  read: ReadProgress | None = None) -> Iterator[Timed]:
    """The events of one pmm recording or replay file; `latency` collects receive-minus-venue times."""
    reader = ReplayReader(path, market)
    if read is not None:
        read.reader = reader
    funding = _FundingState(market, interval_s)
    trades = 0
    try:
        while (record := reader.read()) is not None:
            t, kind = record.ts, record.type
            venue_ts = record.venue_ts if record.venue_ts is not None else t
            if record.venue_ts is not None and kind in ("delta", "trade") and len(latency) < LATENCY_SAMPLES:
                latency.append(t - record.venue_ts)
            if kind == "delta":
                yield t, BookDelta(market, record.bids, record.asks, reader.line_no, venue_ts, t)
            elif kind == "trade":
                trades += 1
                trade_id = TradeId(record.trade_id if record.trade_id is not None else f"{market}-{trades}")
                side = record.side if record.side is not None else Side.BUY
                yield t, Trade(market, trade_id, record.price, record.amount, side, venue_ts, t)  # type: ignore[arg-type]
            elif kind == "snapshot":
                yield t, BookSnapshot(market, record.bids, record.asks, reader.line_no, venue_ts, t)
            elif kind == "resync":
                where = f"{path.name} line {reader.line_no}"
                yield t, BookResyncRequired(market, f"recorded resync at {where}: {record.reason or 'gap'}", t, t)
            else:
                event = funding.update(record)
                if event is not None:
                    yield t, event
    finally:
        if read is not None:
            read.done_files += path.stat().st_size
            read.reader = None
        reader.close()


def chained(sources: Sequence[tuple[Path, Iterator[Timed]]]) -> Iterator[Timed]:
    """Files one after the other; a file starting before the previous one ended is refused."""
    last = -math.inf
    for path, events in sources:
        for t, event in events:
            if t < last:
                raise ConfigError(f"`{path}` starts before the data before it ends ({t} < {last}): give --data files "
                                  "in time order, without overlaps.")
            last = t
            yield t, event


class MarketData:
    """Timed events with one of look-ahead (`next_time`), windowed by `--from` / `--to`."""

    def __init__(self, market: str, events: Iterator[Timed], rules: TradingRules | None, latency: list[float],
                 t_from: float | None = None, t_to: float | None = None, read: ReadProgress | None = None) -> None:
        self.market = market
        self._read = read
        self.rules = rules
        self.latency_samples = latency
        self.delivered = 0
        self._events = events
        self._to = t_to
        self._pending: list[Timed] = []
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self._prime(t_from)

    def _prime(self, t_from: float | None) -> None:
        if t_from is None:
            self._pull()
            return
        book, book_valid = OrderBook(self.market), False
        funding: FundingInfoUpdated | None = None
        for t, event in self._events:
            if t >= t_from:
                start: list[Timed] = []
                if book_valid:
                    bids, asks = tuple(book.levels(Side.BUY)), tuple(book.levels(Side.SELL))
                    start.append((t_from, BookSnapshot(self.market, bids, asks, 0, t_from, t_from)))
                if funding is not None:
                    start.append((t_from, FundingInfoUpdated(funding.info, t_from, t_from)))
                self._pending = [*start, (t, event)]
                break
            match event:
                case BookSnapshot():
                    book.apply_snapshot(event)
                    book_valid = True
                case BookDelta() if book_valid:
                    book.apply_delta(event)
                case BookResyncRequired():
                    book_valid = False
                case FundingInfoUpdated():
                    funding = event
        self._set_first()

    def _pull(self) -> None:
        nxt = next(self._events, None)
        self._pending = [] if nxt is None else [nxt]
        self._set_first()

    def _set_first(self) -> None:
        if self.first_ts is None and self._pending:
            self.first_ts = self._pending[0][0]

    def next_time(self) -> float | None:
        if not self._pending:
            return None
        t = self._pending[0][0]
        if self._to is not None and t > self._to:
            self._pending = []
            return None
        return t

    def pop(self) -> Timed:
        item = self._pending.pop(0)
        if not self._pending:
            nxt = next(self._events, None)
            if nxt is not None:
                self._pending.append(nxt)
        self.delivered += 1
        self.last_ts = item[0]
        return item

    def fraction_read(self) -> float | None:
        return self._read.fraction() if self._read is not None else None

    def recorded_latency_s(self) -> float | None:
        """The median receive-minus-venue time of the recording's deltas and trades (None: unknown)."""
        samples = sorted(s for s in self.latency_samples if s >= 0)
        return samples[len(samples) // 2] if samples else None


def open_data(paths: Sequence[Path], market: str, *, t_from: float | None = None, t_to: float | None = None,
              funding_interval_s: float = DEFAULT_FUNDING_INTERVAL_S,
              fallback_rules: TradingRules | None = None) -> MarketData:
    """The market data of `paths` for `market` (module docstring)."""
    from pmm.backtest import tardis

    if not paths:
        raise ConfigError("Give at least one --data file: a `pmm record` recording, a replay file or Tardis CSVs.")
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"--data `{path}` does not exist or is not a file.")
    latency: list[float] = []
    read: ReadProgress | None = None
    csvs = [p for p in paths if tardis.is_tardis_csv(p)]
    if csvs and len(csvs) != len(paths):
        raise ConfigError("--data mixes Tardis CSV exports with pmm recordings; backtest one kind at a time.")
    if csvs:
        events = tardis.tardis_events(csvs, market, funding_interval_s, latency)
        rules = fallback_rules
    else:
        headers = [(p, read_header(p)) for p in paths]
        for path, header in headers:
            if header.market is not None and header.market != market:
                raise ConfigError(f"--data `{path}` is a recording of {header.market}, but the config's `market` is "
                                  f"{market}. Backtest a config of the recorded market.")
        raw_rules = next((h.rules for _, h in headers if h.rules), None)
        rules = rules_from(market, raw_rules) if raw_rules else fallback_rules
        ordered = sorted(paths, key=lambda p: _first_time(p, market))
        read = ReadProgress(ordered)
        events = chained([(p, replay_events(p, market, funding_interval_s, latency, read)) for p in ordered])
    data = MarketData(market, events, rules, latency, t_from, t_to, read)
    if data.next_time() is None:
        window = "" if t_from is None and t_to is None else " in the --from/--to window"
        raise ConfigError(f"--data has no records of {market}{window}: nothing to backtest.")
    return data


def _first_time(path: Path, market: str) -> float:
    reader = ReplayReader(path, market)
    try:
        record = reader.read()
        return record.ts if record is not None else math.inf
    finally:
        reader.close()
