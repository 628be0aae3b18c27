"""The standard L2 workload: `benchmarks/gen_l2.py`, generated once and cached.

The generated `.npz` is cached under `$PMM_BENCH_CACHE` (default: `$XDG_CACHE_HOME/pmm-bench`,
else `~/.cache/pmm-bench`), keyed by the message count and the seed, so the second run does not
regenerate it.

Messages are turned into pmm events here (`BookSnapshot`, `BookDelta` with Decimal levels built
from strings, as a feed parser builds them), outside every timed region.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks import gen_l2

DEFAULT_N = 200_000
DEFAULT_SEED = 20261121
MARKET = "BTC-USDT"


def cache_dir() -> Path:
    raw = os.environ.get("PMM_BENCH_CACHE")
    if raw:
        path = Path(raw)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "pmm-bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Stream:
    """The generator's arrays as plain Python lists (indexing numpy scalars is slow)."""

    n: int
    seed: int
    snap_bids: list[tuple[int, int]]  # (tick, lots), best first
    snap_asks: list[tuple[int, int]]
    msg_off: list[int]
    msg_nbid: list[int]
    upd_tick: list[int]
    upd_lots: list[int]
    trades: list[tuple[int, int, int, int]]  # (msg, tick, lots, side)
    final_hash: str

    @property
    def n_updates(self) -> int:
        return len(self.upd_tick)


def load_stream(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> Stream:
    import numpy as np

    path = cache_dir() / f"l2_{n}_{seed}.npz"
    if not path.exists():
        data = gen_l2.generate(n, seed=seed)
        tmp = path.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, **data)
        tmp.replace(path)
    with np.load(path) as z:
        d = {k: z[k] for k in z.files}
    return Stream(
        n=n,
        seed=seed,
        snap_bids=list(zip(d["snap_bid_tick"].tolist(), d["snap_bid_lots"].tolist())),
        snap_asks=list(zip(d["snap_ask_tick"].tolist(), d["snap_ask_lots"].tolist())),
        msg_off=d["msg_off"].tolist(),
        msg_nbid=d["msg_nbid"].tolist(),
        upd_tick=d["upd_tick"].tolist(),
        upd_lots=d["upd_lots"].tolist(),
        trades=list(zip(d["trade_msg"].tolist(), d["trade_tick"].tolist(), d["trade_lots"].tolist(),
                        d["trade_side"].tolist())),
        final_hash=str(d["final_hash"]),
    )


# --- text and Decimal forms ---------------------------------------------------------------------


def price_text(tick: int) -> str:
    """Tick (0.1 USDT) -> "60000.1"."""
    return f"{tick // 10}.{tick % 10}"


def size_text(lots: int) -> str:
    """Lots (0.001 BTC) -> "0.250"; a deletion is "0.000", as Binance sends it."""
    return f"{lots // 1000}.{lots % 1000:03d}"


def book_hash(bids: Iterable[tuple[Any, Any]], asks: Iterable[tuple[Any, Any]]) -> str:
    """The generator's `book_hash`, as its docstring defines it, for Decimal (or float) levels.

    sha256 over each side's levels as b"<round(price*10)>:<round(qty*1000)>;" sorted by
    (price, qty) in those integer units, each side followed by b"|"; bids first.
    """
    h = hashlib.sha256()
    for side in (bids, asks):
        for p, q in sorted((round(float(p) * 10), round(float(q) * 1000)) for p, q in side):
            h.update(b"%d:%d;" % (p, q))
        h.update(b"|")
    return h.hexdigest()


def snapshot_event(stream: Stream) -> Any:
    from pmm.core.events import BookSnapshot

    bids = tuple((Decimal(price_text(t)), Decimal(size_text(q))) for t, q in stream.snap_bids)
    asks = tuple((Decimal(price_text(t)), Decimal(size_text(q))) for t, q in stream.snap_asks)
    return BookSnapshot(MARKET, bids, asks, update_id=0, ts=0.0, recv_ts=0.0)


def delta_chunks(stream: Stream, chunk: int = 20_000) -> Iterator[tuple[list[Any], dict[int, Decimal]]]:
    """(deltas, {message index: last trade price before it}) per chunk of `chunk` messages.

    Every call builds fresh Decimal objects (their hashes are not cached yet), as parsing a feed
    would, so two books fed from two calls do not share warmed-up objects.
    """
    from pmm.core.events import BookDelta

    off, nbid, ticks, lots = stream.msg_off, stream.msg_nbid, stream.upd_tick, stream.upd_lots
    trade_at: dict[int, Decimal] = {}
    for msg, tick, _lots, _side in stream.trades:
        trade_at[msg] = Decimal(price_text(tick))  # the last trade before a message wins
    D = Decimal
    for start in range(0, stream.n, chunk):
        out = []
        for i in range(start, min(start + chunk, stream.n)):
            a, b = off[i], off[i + 1]
            m = a + nbid[i]
            bids = tuple((D(price_text(ticks[j])), D(size_text(lots[j]))) for j in range(a, m))
            asks = tuple((D(price_text(ticks[j])), D(size_text(lots[j]))) for j in range(m, b))
            out.append(BookDelta(MARKET, bids, asks, update_id=i + 1, ts=i * 0.25, recv_ts=i * 0.25))
        trades = {i: D(str(p)) for i, p in trade_at.items() if start <= i < start + chunk}
        yield out, trades
