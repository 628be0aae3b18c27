"""Benchmark 1: the order book on the standard L2 workload.

Every message of the stream is applied to the book and, after each one, the harness reads best
bid, best ask, mid and the VWAP to fill 1.0 BTC on each side (trades set `last_trade_price`
before the message that carries their level change), timed in thread CPU time. The same loop drives pmm's `OrderBook` and
the baseline `SortedDictBook`, chunk by chunk, alternating which goes first; each book gets its
own freshly parsed Decimal objects. Only the loop is timed; building the events is not.

Correctness: both final books must hash to the generator's hash, and on the first chunk every read
of pmm's book must equal the baseline's.
"""

from __future__ import annotations

import gc
import time
from decimal import Decimal
from typing import Any

from benchmarks.baseline_book import SortedDictBook
from benchmarks.common import Figure, Section
from benchmarks.workload import MARKET, Stream, book_hash, delta_chunks, load_stream, snapshot_event

ONE = Decimal(1)


def drive(book: Any, deltas: list[Any], trades: dict[int, Decimal], first: int) -> tuple[float, float]:
    """Apply `deltas` (messages first, first+1, ...) and read the top and VWAPs after each.

    Returns (CPU seconds of this thread, wall seconds). The figure uses CPU time: on a shared
    machine other processes stretch the wall time of whichever book happens to run then.
    """
    from pmm.core.model import Side

    buy, sell, one = Side.BUY, Side.SELL, ONE
    trade_prices = [trades.get(first + k) for k in range(len(deltas))]
    apply = book.apply_delta
    vwap = book.vwap_for_volume
    gc_was = gc.isenabled()
    gc.disable()
    c0, t0 = time.thread_time(), time.perf_counter()
    for delta, trade_price in zip(deltas, trade_prices):
        if trade_price is not None:
            book.last_trade_price = trade_price
        apply(delta)
        book.best_bid
        book.best_ask
        book.mid
        vwap(buy, one)
        vwap(sell, one)
    wall = time.perf_counter() - t0
    cpu = time.thread_time() - c0
    if gc_was:
        gc.enable()
    return cpu, wall


def reads(book: Any, deltas: list[Any]) -> list[tuple[Any, ...]]:
    """The same reads as `drive`, recorded (for the correctness check, untimed)."""
    from pmm.core.model import Side

    out = []
    for delta in deltas:
        book.apply_delta(delta)
        out.append((book.best_bid, book.best_ask, book.mid,
                    book.vwap_for_volume(Side.BUY, ONE), book.vwap_for_volume(Side.SELL, ONE)))
    return out


def final_hash(book: Any) -> str:
    from pmm.core.model import Side

    return book_hash(book.levels(Side.BUY), book.levels(Side.SELL))


def run(stream: Stream | None = None, *, n: int | None = None, check_reads: int = 20_000,
        chunk: int = 20_000) -> Section:
    from pmm.core.book import OrderBook

    section = Section(1, "order book")
    t_start = time.perf_counter()
    if stream is None:
        stream = load_stream() if n is None else load_stream(n)

    # correctness first: every read on the first `check_reads` messages equals the baseline's
    pmm_book, base_book = OrderBook(MARKET), SortedDictBook(MARKET)
    pmm_book.apply_snapshot(snapshot_event(stream))
    base_book.apply_snapshot(snapshot_event(stream))
    mismatch = None
    checked = 0
    for (mine, _), (theirs, _) in zip(delta_chunks(stream, check_reads), delta_chunks(stream, check_reads)):
        got, want = reads(pmm_book, mine), reads(base_book, theirs)
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                mismatch = {"message": checked + i, "pmm": [str(x) for x in g], "baseline": [str(x) for x in w]}
                break
        checked += len(got)
        break
    section.checks["reads_equal_baseline"] = mismatch is None
    section.checks["reads_checked_messages"] = checked
    if mismatch is not None:
        section.checks["first_mismatch"] = mismatch

    # timing
    books = {"pmm": OrderBook(MARKET), "baseline": SortedDictBook(MARKET)}
    times = {"pmm": 0.0, "baseline": 0.0}
    walls = {"pmm": 0.0, "baseline": 0.0}
    snap_times = {}
    for name, book in books.items():
        snap = snapshot_event(stream)
        t0 = time.perf_counter()
        book.apply_snapshot(snap)
        snap_times[name] = time.perf_counter() - t0
    feeds = {name: delta_chunks(stream, chunk) for name in books}
    for k, ((pmm_deltas, pmm_trades), (base_deltas, base_trades)) in enumerate(zip(feeds["pmm"], feeds["baseline"])):
        first = k * chunk
        order = [("pmm", pmm_deltas, pmm_trades), ("baseline", base_deltas, base_trades)]
        if k % 2:
            order.reverse()
        for name, deltas, trades in order:
            cpu, wall = drive(books[name], deltas, trades, first)
            times[name] += cpu
            walls[name] += wall
        del pmm_deltas, base_deltas, order
        gc.collect()

    hashes = {name: final_hash(book) for name, book in books.items()}
    section.checks["expected_hash"] = stream.final_hash
    section.checks["pmm_hash"] = hashes["pmm"]
    section.checks["baseline_hash"] = hashes["baseline"]
    section.checks["hash_match"] = hashes["pmm"] == stream.final_hash and hashes["baseline"] == stream.final_hash
    n_msgs = stream.n
    section.figures.append(Figure(
        key="book.msgs_per_s", label="order book: messages/s (apply + 5 reads)",
        value=n_msgs / times["pmm"], unit="msg/s", baseline_label="SortedDict book",
        baseline=n_msgs / times["baseline"], better="higher", goal=None,
        extra={"pmm_us_per_msg": times["pmm"] / n_msgs * 1e6,
               "baseline_us_per_msg": times["baseline"] / n_msgs * 1e6,
               "clock": "thread CPU time",
               "wall_ratio": (walls["baseline"] / walls["pmm"]) if walls["pmm"] else None,
               "messages": n_msgs, "level_updates": stream.n_updates,
               "snapshot_ms": {k: v * 1e3 for k, v in snap_times.items()},
               "goal_ratio": 2.0},
    ))
    section.seconds = time.perf_counter() - t_start
    if not section.checks["hash_match"] or mismatch is not None:
        section.status = "failed"
        section.note = "final book hash or reads differ: see checks"
    return section
