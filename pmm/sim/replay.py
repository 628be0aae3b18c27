"""Replay of a recorded market from a JSON-lines file (format: docs/replay_format.md).

The file is streamed: a few hundred records are parsed ahead of time (the next one says when the
next item is due) and nothing else is held in memory. A malformed line raises `ConfigError` naming
the file and the line number. Records' times are mapped to virtual time as
`t0 + (ts - first_ts) / speed`, where `t0` is the exchange's start (its first `advance_to`).
"""

from __future__ import annotations

import json
import zlib
from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import IO

from pmm.core.events import BookDelta, BookSnapshot, Trade
from pmm.core.model import TradeId
from pmm.errors import ConfigError
from pmm.sim.generators import MarketItem, MarkUpdate
from pmm.sim.replay_records import BadRecord, DecimalTexts, ReplayRecord, parse_record
from pmm.sim.settings import ReplayMarket

_DECODER = json.JSONDecoder(parse_float=Decimal)  # one decoder: `json.loads(..., parse_float=)` builds one per call
_SCAN = _DECODER.scan_once
_READ_BUFFER = 1 << 20
_READ_AHEAD = 256  # records parsed in one go (see ReplayReader)
_GZIP_MAGIC = b"\x1f\x8b"


def open_replay(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed if it is gzip (a `pmm record` recording), else as they are."""
    # A large buffer: each refill is a system call that also hands the GIL to other threads.
    raw = open(path, "rb", buffering=_READ_BUFFER)  # noqa: SIM115 - the caller closes it
    if raw.peek(2)[:2] != _GZIP_MAGIC:
        return raw
    return _GzipLines(raw)  # type: ignore[return-value]


class _GzipLines:
    """`readline` over a gzip file that gives every whole line before a cut-off end.

    `gzip.GzipFile` raises at a truncated end and drops what it decompressed in that read (up to a
    buffer's worth of lines); a recording whose recorder was killed is whole up to its last
    flush. A cut-off end raises EOFError once every line before it was returned.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._lines: deque[bytes] = deque()
        self._partial = b""
        self._eof = False

    def _fill(self) -> None:
        while not self._lines and not self._eof:
            chunk = self._raw.read(_READ_BUFFER)
            if not chunk:
                self._eof = True
                if not self._inflate.eof:
                    self._lines.append(b"")  # a cut-off end (see readline); its partial line is lost
                elif self._partial:
                    self._lines.append(self._partial)  # a last line without its newline
                self._partial = b""
                return
            data = b""
            while chunk:
                if self._inflate.eof:  # the next gzip member (files may be concatenated)
                    self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                data += self._inflate.decompress(chunk)
                chunk = self._inflate.unused_data if self._inflate.eof else b""
            parts = (self._partial + data).split(b"\n")
            self._partial = parts.pop()
            self._lines.extend(part + b"\n" for part in parts)

    def readline(self) -> bytes:
        self._fill()
        if not self._lines:
            return b""
        line = self._lines.popleft()
        if not line:
            raise EOFError("compressed file ended before the end-of-stream marker")
        return line

    def seek(self, offset: int) -> None:
        """Skip `offset` decompressed bytes from the start (resuming a saved replay)."""
        self._raw.seek(0)
        self.__init__(self._raw)  # type: ignore[misc]
        skipped = 0
        while skipped < offset:
            line = self.readline()
            if not line:
                return
            skipped += len(line)

    def close(self) -> None:
        self._raw.close()


def _decode(text: str) -> object:
    """`text` (stripped, not empty) as JSON; anything but one whole value is left to the decoder,
    whose errors say what is wrong (`json.loads` explains a BOM)."""
    if text[0] != "\ufeff":
        try:
            obj, end = _SCAN(text, 0)  # what `decode` does, without its whitespace skipping
            if end == len(text):
                return obj
        except StopIteration:
            pass
        return _DECODER.decode(text)
    return json.loads(text)


class ReplayReader:
    """Reads the records of one market from the file, checking each line.

    Lines are parsed `_READ_AHEAD` records at a time: the same parsing code many times in a row
    runs about twice as fast as one line between two simulation steps (caches stay warm). What a
    caller sees does not change: `offset` and `line_no` are those of the last record returned, and
    a bad line's error is raised when the reader reaches that line, after every record before it.
    """

    def __init__(self, path: Path, market: str, offset: int = 0, line_no: int = 0, last_ts: float | None = None):
        self.path = Path(path)
        self.market = market
        try:
            self._file: IO[bytes] = open_replay(self.path)
        except OSError as exc:
            raise ConfigError(f"Cannot open replay file `{self.path}`: {exc.strerror}. "
                              "Check `sim` replay `path`.") from None
        self._file.seek(offset)
        self.offset = offset  # byte offset of the first line after the last record returned
        self.line_no = line_no  # number of lines consumed by the records returned so far
        self.last_ts = last_ts  # time of the last record parsed
        self._texts = DecimalTexts()
        self._ahead: deque[tuple[ReplayRecord, int, int]] = deque()  # (record, offset and line_no after it)
        self._parsed_offset, self._parsed_line_no = offset, line_no
        self._bad_line: tuple[ConfigError, int, int] | None = None  # reached once `_ahead` is empty

    def read(self) -> ReplayRecord | None:
        """The next record of this market, or None at the end of the file."""
        ahead = self._ahead
        if not ahead:
            bad = self._bad_line
            if bad is not None:  # every record before the bad line was returned
                self._bad_line = None
                error, self.offset, self.line_no = bad
                raise error
            self._read_ahead()
            if not ahead:
                return self.read() if self._bad_line is not None else None
        record, self.offset, self.line_no = ahead.popleft()
        return record

    def _read_ahead(self) -> None:
        """Parse up to `_READ_AHEAD` records of this market; stop early at a bad line or the end."""
        ahead, readline, texts, market_wanted = self._ahead, self._file.readline, self._texts, self.market
        offset, line_no, last_ts = self._parsed_offset, self._parsed_line_no, self.last_ts
        try:
            while len(ahead) < _READ_AHEAD:
                try:
                    raw = readline()
                except (EOFError, zlib.error) as exc:
                    # A compressed recording cut off (its recorder killed) or damaged after this line.
                    error = ConfigError(f"Replay file `{self.path}` after line {line_no}: the compressed data "
                                        f"is cut off or damaged ({exc}); the records before it are whole. "
                                        "See docs/replay_format.md.")
                    self._bad_line = (error, offset, line_no)
                    return
                if not raw:
                    return
                offset += len(raw)
                line_no += 1
                text = raw.decode("utf-8", errors="replace").strip()
                if not text or text[0] == "#":
                    continue
                try:
                    record, market = parse_record(_decode(text), texts)
                    if record is None:  # a recording's header or end line
                        continue
                    if last_ts is not None and record.ts < last_ts:
                        raise BadRecord(f"time goes backwards ({record.ts} after {last_ts}); sort the file by time")
                except (ValueError, RecursionError) as exc:  # JSONDecodeError and BadRecord are ValueErrors
                    problem = str(exc) if isinstance(exc, BadRecord) else f"not valid JSON ({exc})"
                    error = ConfigError(f"Replay file `{self.path}` line {line_no}: {problem}. "
                                        "See docs/replay_format.md.")
                    self._bad_line = (error, offset, line_no)
                    return
                last_ts = record.ts
                if market is None or market == market_wanted:
                    ahead.append((record, offset, line_no))
        finally:
            self._parsed_offset, self._parsed_line_no, self.last_ts = offset, line_no, last_ts

    def raw_position(self) -> int:
        """Bytes of the file (compressed, for a gzip recording) read so far: progress of a long read."""
        raw = getattr(self._file, "_raw", self._file)
        return int(raw.tell())

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
        self._resyncing = False  # after a `resync` line, until the next snapshot

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
        item = self._item(record, t)
        return [] if item is None else [item]

    def _item(self, record: ReplayRecord, t: float) -> MarketItem | None:
        market = self._market
        if record.type == "snapshot":
            self._update_id += 1
            self._resyncing = False
            return BookSnapshot(market, record.bids, record.asks, self._update_id, t, t)
        if record.type == "resync":
            # The recorded book was not trustworthy from here: empty it (nothing fills against it,
            # the bot sees no book) and drop deltas and trades until the next snapshot.
            self._resyncing = True
            self._update_id += 1
            return BookSnapshot(market, (), (), self._update_id, t, t)
        if self._resyncing and record.type in ("delta", "trade"):
            return None
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
            "resyncing": self._resyncing,
        }

    def restore_state(self, data: dict) -> None:
        self._reader.close()
        self._t0, self._file_t0 = data["t0"], data["file_t0"]
        self._update_id, self._trade_count = data["update_id"], data["trade_count"]
        self._resyncing = bool(data.get("resyncing", False))
        self._reader = ReplayReader(self._config.path, self._market, data["offset"], data["line_no"])
        self._pending = None if data["exhausted"] else self._reader.read()
        self._pending_offset, self._pending_line = data["offset"], data["line_no"]

    def close(self) -> None:
        self._reader.close()
