"""Benchmark 8: `pmm backtest` throughput, and the order book fed from the wire's strings.

8a. The replay file of benchmark 4 (the L2 stream: one snapshot, each trade before the delta that
carries its level change, 250 ms apart), backtested with the quickstart strategy: `run_backtest`
in this process (what `pmm backtest` runs), the same strategy and engine code as benchmark 4's
`pmm start --fast`, without the store and the per-record log work. Throughput = records / the run's
CPU time (the process's: this machine is shared, and wall time moves with the other jobs; the wall
time is in `extra`); imports and the report are excluded. Baseline in the same run: reading the file
and `json.loads` of every line, in CPU time too.

8b. The stream's messages as the wire's strings ("60000.1", "0.250"), parsed and applied per
message, then best bid, best ask and mid read: pmm's `OrderBook` fed `BookDelta`s of
`Decimal(text)` levels, against a `sortedcontainers.SortedDict` book keyed by `float(text)` (the
obvious fast Python book). Checks: both books end on the generator's hash.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.bench_replay import json_floor, replay_file
from benchmarks.common import REPO, Figure, Section
from benchmarks.workload import Stream, book_hash, load_stream, price_text, size_text


def _backtest(path: Path) -> tuple[Any, float]:
    """The result and the CPU seconds of the run (this machine is shared: wall time moves with the load)."""
    from pmm.backtest.run import BacktestOptions, run_backtest
    from pmm.config import load_config

    config = load_config(REPO / "configs" / "quickstart.yml")
    c0 = time.process_time()
    result = asyncio.run(run_backtest(config, BacktestOptions(data=(path,), queue="risk_averse")))
    return result, time.process_time() - c0


def _json_floor_cpu(path: Path) -> float:
    c0 = time.process_time()
    json_floor(path)
    return time.process_time() - c0


def run_backtest_throughput(stream: Stream | None = None, *, n: int | None = None,
                            workdir: Path | None = None) -> Section:
    section = Section(8, "backtest throughput")
    t_start = time.perf_counter()
    if stream is None:
        stream = load_stream() if n is None else load_stream(n)
    path, records = replay_file(stream, workdir)
    floor = _json_floor_cpu(path)
    result, cpu = _backtest(path)
    floor = min(floor, _json_floor_cpu(path))
    section.checks["replayed_to_the_end"] = result.reason == "the simulated market has no more events"
    section.checks["records"] = result.records
    section.checks["all_records"] = result.records == records
    section.checks["quoted"] = result.orders_placed > 0
    section.figures.append(Figure(
        key="backtest.records_per_s", label="pmm backtest: records/s (quickstart, risk_averse queue)",
        value=records / cpu, unit="ev/s", baseline_label="json.loads of the file", baseline=records / floor,
        better="higher", goal=100_000.0,
        extra={"records": records, "cpu_s": cpu, "wall_s": result.wall_s, "fills": len(result.recorder.fills),
               "orders_placed": result.orders_placed, "json_floor_s": floor},
    ))
    section.seconds = time.perf_counter() - t_start
    if not (section.checks["replayed_to_the_end"] and section.checks["all_records"]):
        section.status = "failed"
        section.note = f"stopped: {result.reason}; {result.records} of {records} records"
    return section


def _wire_messages(stream: Stream) -> list[tuple[list[tuple[str, str]], list[tuple[str, str]]]]:
    off, nbid, ticks, lots = stream.msg_off, stream.msg_nbid, stream.upd_tick, stream.upd_lots
    out = []
    for i in range(stream.n):
        a, b = off[i], off[i + 1]
        m = a + nbid[i]
        out.append(([(price_text(ticks[j]), size_text(lots[j])) for j in range(a, m)],
                    [(price_text(ticks[j]), size_text(lots[j])) for j in range(m, b)]))
    return out


def _pmm_book(stream: Stream, messages: list) -> tuple[float, str]:
    from pmm.core.book import OrderBook
    from pmm.core.events import BookDelta, BookSnapshot

    book = OrderBook("BTC-USDT")
    book.apply_snapshot(BookSnapshot(
        "BTC-USDT", tuple((Decimal(price_text(t)), Decimal(size_text(q))) for t, q in stream.snap_bids),
        tuple((Decimal(price_text(t)), Decimal(size_text(q))) for t, q in stream.snap_asks), 0, 0.0, 0.0))
    t0 = time.thread_time()
    for n, (bids, asks) in enumerate(messages):
        book.apply_delta(BookDelta("BTC-USDT", tuple((Decimal(p), Decimal(q)) for p, q in bids),
                                   tuple((Decimal(p), Decimal(q)) for p, q in asks), n, 0.0, 0.0))
        book.best_bid, book.best_ask, book.mid  # noqa: B018 - the reads are what is timed
    seconds = time.thread_time() - t0
    from pmm.core.model import Side

    return seconds, book_hash(book.levels(Side.BUY), book.levels(Side.SELL))


def _float_book(stream: Stream, messages: list) -> tuple[float, str]:
    from sortedcontainers import SortedDict

    bids_book, asks_book = SortedDict(), SortedDict()
    for t, q in stream.snap_bids:
        bids_book[-float(price_text(t))] = float(size_text(q))
    for t, q in stream.snap_asks:
        asks_book[float(price_text(t))] = float(size_text(q))
    t0 = time.thread_time()
    for bids, asks in messages:
        for p, q in bids:
            size = float(q)
            if size > 0:
                bids_book[-float(p)] = size
            else:
                bids_book.pop(-float(p), None)
        for p, q in asks:
            size = float(q)
            if size > 0:
                asks_book[float(p)] = size
            else:
                asks_book.pop(float(p), None)
        best_bid = -bids_book.peekitem(0)[0] if bids_book else None
        best_ask = asks_book.peekitem(0)[0] if asks_book else None
        _mid = (best_bid + best_ask) / 2 if best_bid is not None and best_ask is not None else None
    seconds = time.thread_time() - t0
    return seconds, book_hash([(-p, q) for p, q in bids_book.items()], list(asks_book.items()))


def run_book_from_strings(stream: Stream | None = None, *, n: int | None = None) -> Section:
    section = Section(8, "order book from the wire's strings")
    t_start = time.perf_counter()
    if stream is None:
        stream = load_stream() if n is None else load_stream(n)
    messages = _wire_messages(stream)
    pmm_s, pmm_hash = min(_pmm_book(stream, messages) for _ in range(3))
    float_s, float_hash = min(_float_book(stream, messages) for _ in range(3))
    section.checks["pmm_hash_match"] = pmm_hash == stream.final_hash
    section.checks["float_hash_match"] = float_hash == stream.final_hash
    section.figures.append(Figure(
        key="book.strings_msgs_per_s", label="order book from strings: msgs/s (Decimal(str), apply, 3 reads)",
        value=stream.n / pmm_s, unit="msg/s", baseline_label="SortedDict fed float(str)",
        baseline=stream.n / float_s, better="higher",
        extra={"messages": stream.n, "pmm_s": pmm_s, "sorted_float_s": float_s},
    ))
    section.seconds = time.perf_counter() - t_start
    if not (section.checks["pmm_hash_match"] and section.checks["float_hash_match"]):
        section.status = "failed"
        section.note = "a book did not end on the generator's hash"
    return section
