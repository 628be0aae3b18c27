"""Writing a recording: a venue's public feed as pmm replay lines, gzip-compressed (docs/replay_format.md).

A recording is the replay format's version 2: a `header` line (format, version, connector, market,
the market's trading rules), then one line per market event in the order the feed emitted them,
then an `end` line. Each event line carries `ts` = the local time it arrived (what the bot reacts
to, and what orders the file) and `venue_ts` = the venue's own time; their difference is the feed's
latency, which `pmm backtest` can take as its latency model. Book lines keep their `update_id`.
A `resync` line marks where the feed found its book untrustworthy (a sequence gap, a reconnect):
the book is unknown from there until the next `snapshot`.

The writer flushes the compressor every second (`SYNC_FLUSH`): if the process is killed, every
line up to the last flush can still be read. A clean stop (`close`) writes the `end` line and the
gzip trailer, so Ctrl-C leaves a whole, valid file.
"""

from __future__ import annotations

import gzip
import json
import zlib
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, Final

from pmm.core.events import BookDelta, BookResyncRequired, BookSnapshot, Event, FundingInfoUpdated, Level, Trade
from pmm.core.model import TradingRules

FORMAT: Final = "pmm-replay"
VERSION: Final = 2  # version 1: the plain JSON-lines replay files of the `sim` replay generator
FLUSH_INTERVAL_S: Final = 1.0


def _levels(levels: tuple[Level, ...]) -> list[list[str]]:
    return [[str(price), str(size)] for price, size in levels]


def rules_json(rules: TradingRules) -> dict[str, Any]:
    return {"tick_size": str(rules.tick_size), "step_size": str(rules.step_size), "min_size": str(rules.min_size),
            "min_notional": str(rules.min_notional), "max_leverage": rules.max_leverage}


def header_line(connector_id: str, market: str, rules: TradingRules, started_ts: float) -> dict[str, Any]:
    return {"type": "header", "format": FORMAT, "version": VERSION, "connector": connector_id, "market": market,
            "rules": rules_json(rules), "ts": started_ts}


def event_lines(event: Event, recv_ts: float, last_funding: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The lines one feed event becomes (none for events a replay has no use for).

    A `FundingInfoUpdated` becomes a `mark` line, and a `funding` line only when the rate or the
    next funding time changed since `last_funding` (the venue repeats them with every mark).
    """
    match event:
        case BookDelta():
            return [{"type": "delta", "ts": recv_ts, "venue_ts": event.ts, "update_id": event.update_id,
                     "bids": _levels(event.bids), "asks": _levels(event.asks), "market": event.market}]
        case BookSnapshot():
            return [{"type": "snapshot", "ts": recv_ts, "venue_ts": event.ts, "update_id": event.update_id,
                     "bids": _levels(event.bids), "asks": _levels(event.asks), "market": event.market}]
        case Trade():
            return [{"type": "trade", "ts": recv_ts, "venue_ts": event.ts, "trade_id": str(event.trade_id),
                     "price": str(event.price), "amount": str(event.amount), "side": str(event.aggressor),
                     "market": event.market}]
        case FundingInfoUpdated(info=info):
            lines: list[dict[str, Any]] = [{"type": "mark", "ts": recv_ts, "venue_ts": event.ts,
                                             "mark_price": str(info.mark_price), "index_price": str(info.index_price),
                                             "market": info.market}]
            funding = {"rate": str(info.rate), "next_funding_ts": info.next_funding_ts,
                       "interval_s": info.interval_s}
            if funding != last_funding:
                lines.append({"type": "funding", "ts": recv_ts, "venue_ts": event.ts, **funding,
                              "market": info.market})
            return lines
        case BookResyncRequired():
            return [{"type": "resync", "ts": recv_ts, "reason": event.reason, "market": event.market}]
    return []


@dataclass
class RecordingStats:
    records: int = 0
    snapshots: int = 0
    deltas: int = 0
    trades: int = 0
    resyncs: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    by_type: dict[str, int] = field(default_factory=dict)


class RecordingWriter:
    """Appends a feed's events to a gzip recording (module docstring). Not thread-safe: one loop."""

    def __init__(self, path: Path, connector_id: str, market: str, rules: TradingRules, started_ts: float) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # gzip over a plain file: `flush(zlib.Z_SYNC_FLUSH)` makes what was written readable.
        self._raw: IO[bytes] = open(self.path, "wb")  # noqa: SIM115 - closed by close()
        self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, compresslevel=6, mtime=0)
        self.stats = RecordingStats()
        self._last_funding: dict[str, dict[str, Any]] = {}
        self._last_ts = started_ts
        self._last_flush = started_ts
        self._closed = False
        self._bytes_at_close = 0
        self._write(header_line(connector_id, market, rules, started_ts))

    def _write(self, obj: dict[str, Any]) -> None:
        self._gz.write(json.dumps(obj, separators=(",", ":"), default=_json_default).encode() + b"\n")

    def add(self, event: Event, recv_ts: float) -> None:
        """Write `event`, received at `recv_ts` (kept non-decreasing: replay times never go back)."""
        if isinstance(event, BookResyncRequired) and not self.stats.snapshots:
            return  # the feed starting: the book is unknown until the first snapshot anyway
        ts = recv_ts if recv_ts > self._last_ts else self._last_ts
        self._last_ts = ts
        market = event.info.market if isinstance(event, FundingInfoUpdated) else getattr(event, "market", "")
        lines = event_lines(event, ts, self._last_funding.get(market))
        stats = self.stats
        for line in lines:
            kind = line["type"]
            if kind == "funding":
                self._last_funding[market] = {k: line[k] for k in ("rate", "next_funding_ts", "interval_s")}
            self._write(line)
            stats.records += 1
            stats.by_type[kind] = stats.by_type.get(kind, 0) + 1
            if stats.first_ts is None:
                stats.first_ts = ts
            stats.last_ts = ts
        stats.snapshots, stats.deltas = stats.by_type.get("snapshot", 0), stats.by_type.get("delta", 0)
        stats.trades, stats.resyncs = stats.by_type.get("trade", 0), stats.by_type.get("resync", 0)
        if ts - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()

    def flush(self) -> None:
        self._gz.flush(zlib.Z_SYNC_FLUSH)
        self._raw.flush()
        self._last_flush = self._last_ts

    @property
    def bytes_written(self) -> int:
        return self._bytes_at_close if self._closed else self._raw.tell()

    def close(self, reason: str) -> None:
        """Write the `end` line and the gzip trailer: the file is complete."""
        if self._closed:
            return
        self._closed = True
        stats = self.stats
        self._write({"type": "end", "ts": self._last_ts, "reason": reason, "records": stats.records,
                     "resyncs": stats.resyncs})
        self._gz.close()
        self._bytes_at_close = self._raw.tell()
        self._raw.close()


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
