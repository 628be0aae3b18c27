"""The standard L2 workload: a deterministic stream of depth-diff messages for a BTC-USDT perpetual.

    python -m benchmarks.gen_l2 -n 200000 --seed 20261121 -o l2_btcusdt.npz

Prices are whole ticks (1 tick = 0.1 USDT) and sizes whole lots (1 lot = 0.001 BTC). `generate`
returns numpy arrays (the keys of the `.npz` it writes):

    snap_bid_tick, snap_bid_lots, snap_ask_tick, snap_ask_lots
                     the starting book, `levels` levels per side, best level first
    msg_off (N+1,)   the level updates of message i are upd_*[msg_off[i]:msg_off[i + 1]]
    msg_nbid (N,)    of those, the first msg_nbid[i] are bids and the rest asks
    upd_tick, upd_lots
                     one level's new size; 0 lots removes the level
    trade_msg, trade_tick, trade_lots, trade_side
                     trade j happened just before message trade_msg[j], which carries the level
                     change it caused; side +1: the buyer took the ask, -1: the seller hit the bid
    final_hash       `book_hash` of the book after the last message
    seed, final_levels (bids, asks), final_best (best bid tick, best ask tick)

How the market moves, per message, in this order (each random choice is drawn in this order, so a
seed gives the same stream on every machine and numpy version with the same PCG64 output):

1. the mid moves: 1-3 ticks in a quarter of the messages, a jump of 4-8 in 0.5%, up or down
   with even odds;
2. the levels the move left on the wrong side of the mid are removed (the book never crosses);
3. in a fifth of the messages a trade takes some or all of the best level on one side;
4. 1-20 updates: most at a geometric distance from the touch (about 7 ticks on average), one in
   ten anywhere in the top `levels`; 8% of them remove the nearest level at or past the distance
   (about 15% removals overall, counting steps 2, 3 and 5), the rest set a new size (a
   log-normal size, median 0.25 BTC, or near the touch a resize of the level's current size);
5. past `levels` + 200 levels, the farthest level of the side is removed.

Within a message the bids come first, then the asks, each level at most once.
"""

from __future__ import annotations

import argparse
import hashlib
import math
from collections.abc import Iterable
from typing import Any

TICKS_PER_QUOTE_UNIT = 10  # 0.1 USDT ticks
LOTS_PER_BASE_UNIT = 1000  # 0.001 BTC lots
DRAW_BLOCK = 1 << 16  # random numbers are drawn from numpy in blocks of this many

MOVE_BELOW = 0.25  # a roll below this moves the mid 1-3 ticks
JUMP_BELOW = 0.255  # a roll from MOVE_BELOW to this jumps 4-8 ticks
TRADE_ODDS = 0.2
TAKE_ALL_ODDS = 0.3  # a trade takes the whole level
BURST_ODDS = 0.03  # a message of 20 updates
UPDATE_COUNT_P = 0.18  # geometric number of updates otherwise
NEAR_ODDS = 0.9  # an update near the touch rather than anywhere
NEAR_DISTANCE_P = 0.12  # geometric distance from the touch, in ticks
REMOVE_ODDS = 0.08
MEDIAN_LOTS = 250
SIZE_SIGMA = 1.1
SEARCH_LEVELS = 64  # how far a trade or a removal looks for a live level
EXTRA_LEVELS = 200  # depth allowed beyond `levels` before the far end is trimmed
CROSS_CHECK_EVERY = 10_000


def book_hash(bids: Iterable[tuple[float, float]], asks: Iterable[tuple[float, float]]) -> str:
    """sha256 of a book, independent of level order.

    Each side's levels as b"<round(price * 10)>:<round(size * 1000)>;" sorted by those integers,
    each side followed by b"|", bids first.
    """
    digest = hashlib.sha256()
    for side in (bids, asks):
        units = sorted((round(price * TICKS_PER_QUOTE_UNIT), round(size * LOTS_PER_BASE_UNIT))
                       for price, size in side)
        for tick, lots in units:
            digest.update(b"%d:%d;" % (tick, lots))
        digest.update(b"|")
    return digest.hexdigest()


class _Draws:
    """Uniform and standard-normal numbers from one seeded PCG64 generator, each kind taken from its
    own block of `DRAW_BLOCK` numbers; a block is drawn when the previous one of its kind runs out."""

    def __init__(self, seed: int) -> None:
        import numpy as np

        self._rng = np.random.default_rng(seed)
        self._uniform: list[float] = []
        self._normal: list[float] = []
        self._next_uniform = self._next_normal = 0

    def uniform(self) -> float:
        if self._next_uniform == len(self._uniform):
            self._uniform = self._rng.random(DRAW_BLOCK).tolist()
            self._next_uniform = 0
        self._next_uniform += 1
        return self._uniform[self._next_uniform - 1]

    def normal(self) -> float:
        if self._next_normal == len(self._normal):
            self._normal = self._rng.standard_normal(DRAW_BLOCK).tolist()
            self._next_normal = 0
        self._next_normal += 1
        return self._normal[self._next_normal - 1]

    def failures(self, p: float) -> int:
        """Failures before the first success of a p-coin (geometric, mean (1 - p) / p)."""
        return int(math.log(1.0 - self.uniform()) / math.log(1.0 - p))

    def size_lots(self) -> int:
        """A level's size: log-normal around `MEDIAN_LOTS`, at least one lot."""
        return max(1, int(math.exp(math.log(MEDIAN_LOTS) + SIZE_SIGMA * self.normal())))


class _Market:
    """The generator's own book (tick -> lots per side) and the messages it produced."""

    def __init__(self, draws: _Draws, levels: int, mid_tick: int) -> None:
        self.draws = draws
        self.levels = levels
        self.best_bid_ref = mid_tick  # the bids are at or below it, the asks above it
        self.bids = {tick: draws.size_lots() for tick in range(mid_tick, mid_tick - levels, -1)}
        self.asks = {tick: draws.size_lots() for tick in range(mid_tick + 1, mid_tick + 1 + levels)}
        self.msg_off = [0]
        self.msg_nbid: list[int] = []
        self.upd_tick: list[int] = []
        self.upd_lots: list[int] = []
        self.trades: list[tuple[int, int, int, int]] = []

    def next_message(self, index: int) -> None:
        # tick -> new lots for this message, one entry per level, in the order they were decided
        bid_updates: dict[int, int] = {}
        ask_updates: dict[int, int] = {}
        previous = self.best_bid_ref
        self.best_bid_ref += self._mid_move()
        self._remove_crossed(previous, bid_updates, ask_updates)
        self._maybe_trade(index, bid_updates, ask_updates)
        self._random_updates(bid_updates, ask_updates)
        self._trim(bid_updates, ask_updates)
        self._apply(bid_updates, ask_updates)
        if index % CROSS_CHECK_EVERY == 0 and max(self.bids) >= min(self.asks):
            raise AssertionError(f"the book crossed or emptied at message {index}")

    def _mid_move(self) -> int:
        draws = self.draws
        roll = draws.uniform()
        if roll < MOVE_BELOW:
            ticks = 1 + int(draws.uniform() * 3)
        elif roll < JUMP_BELOW:
            ticks = 4 + int(draws.uniform() * 5)
        else:
            return 0
        return -ticks if draws.uniform() < 0.5 else ticks

    def _remove_crossed(self, previous: int, bid_updates: dict[int, int], ask_updates: dict[int, int]) -> None:
        ref = self.best_bid_ref
        for tick in range(previous + 1, ref + 1):  # the mid went up: asks at or below it go
            if tick in self.asks:
                ask_updates[tick] = 0
        for tick in range(ref + 1, previous + 1):  # the mid went down: bids above it go
            if tick in self.bids:
                bid_updates[tick] = 0

    @staticmethod
    def _live(book: dict[int, int], updates: dict[int, int], tick: int) -> bool:
        """A level that exists and that this message has not removed."""
        return tick in book and updates.get(tick, 1) != 0

    def _maybe_trade(self, index: int, bid_updates: dict[int, int], ask_updates: dict[int, int]) -> None:
        draws = self.draws
        if draws.uniform() >= TRADE_ODDS:
            return
        side = 1 if draws.uniform() < 0.5 else -1
        if side == 1:
            book, updates, tick, away = self.asks, ask_updates, self.best_bid_ref + 1, 1
        else:
            book, updates, tick, away = self.bids, bid_updates, self.best_bid_ref, -1
        for _ in range(SEARCH_LEVELS):
            if self._live(book, updates, tick):
                resting = updates.get(tick) or book[tick]
                if draws.uniform() < TAKE_ALL_ODDS:
                    taken = resting
                else:
                    taken = max(1, int(resting * draws.uniform() * draws.uniform()))
                self.trades.append((index, tick, taken, side))
                updates[tick] = resting - taken
                return
            tick += away

    def _random_updates(self, bid_updates: dict[int, int], ask_updates: dict[int, int]) -> None:
        draws = self.draws
        if draws.uniform() < BURST_ODDS:
            count = 20
        else:
            count = min(20, 1 + draws.failures(UPDATE_COUNT_P))
        count = max(1, count - len(bid_updates) - len(ask_updates))
        for _ in range(count):
            is_bid = draws.uniform() < 0.5
            book, updates = (self.bids, bid_updates) if is_bid else (self.asks, ask_updates)
            if draws.uniform() < NEAR_ODDS:
                distance = draws.failures(NEAR_DISTANCE_P)
            else:
                distance = int(draws.uniform() * self.levels)
            tick = self.best_bid_ref - distance if is_bid else self.best_bid_ref + 1 + distance
            if draws.uniform() < REMOVE_ODDS:
                away = -1 if is_bid else 1
                for _ in range(SEARCH_LEVELS):
                    if self._live(book, updates, tick):
                        updates[tick] = 0
                        break
                    tick += away
            elif distance > 3 or draws.uniform() < 0.5:
                updates[tick] = draws.size_lots()
            else:  # near the touch: resize what is there
                current = updates.get(tick) or book.get(tick) or MEDIAN_LOTS
                updates[tick] = max(1, int(current * (0.5 + draws.uniform())))

    def _trim(self, bid_updates: dict[int, int], ask_updates: dict[int, int]) -> None:
        if len(self.bids) > self.levels + EXTRA_LEVELS:
            bid_updates[min(self.bids)] = 0
        if len(self.asks) > self.levels + EXTRA_LEVELS:
            ask_updates[max(self.asks)] = 0

    def _apply(self, bid_updates: dict[int, int], ask_updates: dict[int, int]) -> None:
        for book, updates, is_bid in ((self.bids, bid_updates, True), (self.asks, ask_updates, False)):
            for tick, lots in updates.items():
                if lots:
                    on_its_side = tick <= self.best_bid_ref if is_bid else tick > self.best_bid_ref
                    assert on_its_side, f"level {tick} would cross the book"
                    book[tick] = lots
                else:
                    book.pop(tick, None)
                self.upd_tick.append(tick)
                self.upd_lots.append(lots)
        self.msg_nbid.append(len(bid_updates))
        self.msg_off.append(len(self.upd_tick))

    def final_hash(self) -> str:
        return book_hash([(t / TICKS_PER_QUOTE_UNIT, q / LOTS_PER_BASE_UNIT) for t, q in self.bids.items()],
                         [(t / TICKS_PER_QUOTE_UNIT, q / LOTS_PER_BASE_UNIT) for t, q in self.asks.items()])


def generate(n_msgs: int = 200_000, levels: int = 1000, seed: int = 20261121, mid0: float = 60000.0) -> dict[str, Any]:
    """The stream of `n_msgs` messages as numpy arrays (see the module docstring)."""
    import numpy as np

    market = _Market(_Draws(seed), levels, round(mid0 * TICKS_PER_QUOTE_UNIT))
    snapshot = {
        "snap_bid_tick": np.array(list(market.bids), dtype=np.int64),
        "snap_bid_lots": np.array(list(market.bids.values()), dtype=np.int64),
        "snap_ask_tick": np.array(list(market.asks), dtype=np.int64),
        "snap_ask_lots": np.array(list(market.asks.values()), dtype=np.int64),
    }
    for index in range(n_msgs):
        market.next_message(index)
    trades = np.array(market.trades, dtype=np.int64).reshape(-1, 4)
    return {
        **snapshot,
        "msg_off": np.array(market.msg_off, dtype=np.int64),
        "msg_nbid": np.array(market.msg_nbid, dtype=np.int32),
        "upd_tick": np.array(market.upd_tick, dtype=np.int64),
        "upd_lots": np.array(market.upd_lots, dtype=np.int64),
        "trade_msg": trades[:, 0].astype(np.int32),
        "trade_tick": trades[:, 1],
        "trade_lots": trades[:, 2],
        "trade_side": trades[:, 3].astype(np.int8),
        "final_hash": np.array(market.final_hash()),
        "seed": np.array(seed),
        "final_levels": np.array([len(market.bids), len(market.asks)]),
        "final_best": np.array([max(market.bids), min(market.asks)]),
    }


gen = generate  # the name the workload loader calls


def main(argv: list[str] | None = None) -> None:
    import numpy as np

    parser = argparse.ArgumentParser(description="Write the standard L2 depth-diff workload to an .npz file.")
    parser.add_argument("-n", type=int, default=200_000, help="number of diff messages")
    parser.add_argument("--seed", type=int, default=20261121)
    parser.add_argument("-o", default="l2_btcusdt.npz", help="output file")
    args = parser.parse_args(argv)
    data = generate(args.n, seed=args.seed)
    np.savez_compressed(args.o, **data)
    updates = len(data["upd_tick"])
    removals = int((data["upd_lots"] == 0).sum())
    per_message = np.diff(data["msg_off"])
    best_bid, best_ask = data["final_best"].tolist()
    print(f"{args.o}: {args.n} messages, {updates} level updates ({updates / args.n:.2f} per message, "
          f"{per_message.min()} to {per_message.max()}), {removals / updates:.1%} removals, "
          f"{len(data['trade_msg'])} trades; final best bid/ask {best_bid / 10:.1f}/{best_ask / 10:.1f}, "
          f"levels {data['final_levels'].tolist()}, hash {str(data['final_hash'])[:16]}")


if __name__ == "__main__":
    main()
