"""Market sources: what the public market does, step by step, in virtual time.

A source yields market items (book snapshots/deltas, trades, mark/rate updates) at the times it
chooses; the exchange asks `next_time()`, then `step()` for the items due at that time. Sources are
deterministic: all randomness comes from the `random.Random` they are given.

- `SyntheticSource`: a seeded Gaussian random walk of the mid (log-normal steps, `volatility` per
  sqrt(hour) scaled to `book_interval_s`, plus an optional drift), an L2 book redrawn around it
  every step, Poisson market trades at or a little through the touch (or, with
  `trade_reach_ticks`, reaching an exponentially distributed distance from the mid, so that the
  rate of trades reaching d ticks is A*exp(-k*d)), an Ornstein-Uhlenbeck funding rate (reverting
  to its mean, or with `funding_follows_premium` to the mark's premium over the index).
- `StaticSource`: one fixed book, mark and rate at start; nothing else ever happens.
- `ReplaySource` (replay.py): a JSON-lines recording.

Hot path: the synthetic mid walks as a float and the book is built in integer ticks/lots, converted
to exact Decimals on the tick/step grid through small caches (DESIGN.md §3 allows this).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from random import Random
from typing import Protocol

from pmm.core.events import BookDelta, BookSnapshot, Level, Trade
from pmm.core.model import Side, TradeId
from pmm.errors import ConfigError
from pmm.sim.num import round8
from pmm.sim.settings import SimMarketSettings, StaticMarket, SyntheticMarket

_TWO = Decimal(2)
_ONE = Decimal(1)
_AT_TOUCH_PROBABILITY = 0.7  # the rest of the synthetic trades go 1..level_spacing ticks through
# Decimal caches are cleared past this many entries. The book spans a few hundred ticks, but the
# random walk keeps visiting new ones (about 27 k a simulated day on the quickstart): a small
# limit keeps the caches under 1 MB, and refilling after a clear costs a few hundred conversions.
_CACHE_LIMIT = 4096


@dataclass(frozen=True, slots=True)
class MarkUpdate:
    """New mark/index price and/or funding rate from a source; None = unchanged."""

    market: str
    mark_price: Decimal | None
    index_price: Decimal | None
    rate: Decimal | None


MarketItem = BookSnapshot | BookDelta | Trade | MarkUpdate


class MarketSource(Protocol):
    def start(self, t0: float) -> None:
        """Begin the schedule at virtual time `t0` (the exchange's first `advance_to`)."""
        ...

    def next_time(self) -> float | None:
        """When the next items are due; None when the source is exhausted."""
        ...

    def step(self) -> list[MarketItem]:
        """The items due at `next_time()`, which then moves on."""
        ...

    def delay(self, seconds: float) -> None:
        """Push the whole remaining schedule `seconds` later (the venue stood still meanwhile)."""
        ...

    def export_state(self) -> dict: ...

    def restore_state(self, data: dict) -> None: ...

    def close(self) -> None: ...


_MARK_INTERVAL_S = 1.0


class StaticSource:
    """An explicit book that never moves: one snapshot at start, then the same mark and rate every
    second, as a venue's mark-price stream keeps ticking while its book stands still (so the
    bot's stale-data guard sees a live market)."""

    def __init__(self, market: str, config: StaticMarket) -> None:
        self._market = market
        self._config = config
        bids = sorted(((p, s) for p, s in config.bids if s > 0), reverse=True)
        asks = sorted((p, s) for p, s in config.asks if s > 0)
        self._bids, self._asks = tuple(bids), tuple(asks)
        if config.mark_price is not None:
            self._mark = config.mark_price
        elif bids and asks:
            self._mark = (bids[0][0] + asks[0][0]) / _TWO
        else:
            raise ConfigError(f"Static market {market}: give a `mark_price` or both bids and asks.")
        self._due: float | None = None
        self._done = False

    def start(self, t0: float) -> None:
        if not self._done:
            self._due = t0

    def next_time(self) -> float | None:
        return self._due

    def step(self) -> list[MarketItem]:
        t = self._due
        assert t is not None
        self._due = t + _MARK_INTERVAL_S
        mark = MarkUpdate(self._market, self._mark, self._mark, self._config.funding_rate)
        if self._done:
            return [mark]
        self._done = True
        return [BookSnapshot(self._market, self._bids, self._asks, update_id=1, ts=t, recv_ts=t), mark]

    def delay(self, seconds: float) -> None:
        if self._due is not None:
            self._due += seconds

    def export_state(self) -> dict:
        return {"due": self._due, "done": self._done}

    def restore_state(self, data: dict) -> None:
        self._due, self._done = data["due"], data["done"]

    def close(self) -> None:
        pass


class SyntheticSource:
    """Seeded random-walk market: book every `book_interval_s`, Poisson trades, OU funding rate."""

    def __init__(
        self, market: SimMarketSettings, config: SyntheticMarket, rng: Random, funding_interval_s: float
    ) -> None:
        if config.book_interval_s <= 0:
            raise ConfigError(f"Synthetic market {market.market}: `book_interval_s` must be > 0.")
        if config.depth_levels < 1 or config.level_spacing_ticks < 1 or config.half_spread_ticks < 0:
            raise ConfigError(
                f"Synthetic market {market.market}: need depth_levels >= 1, level_spacing_ticks >= 1"
                " and half_spread_ticks >= 0."
            )
        self._market = market.market
        self._rng = rng
        self._tick = market.tick_size
        self._step_size = market.step_size
        self._interval = config.book_interval_s
        self._sigma = float(config.volatility) * math.sqrt(config.book_interval_s / 3600.0)
        self._depth = config.depth_levels
        self._spacing = config.level_spacing_ticks
        self._half = config.half_spread_ticks
        self._level_lots = max(1.0, float(config.level_size / market.step_size))
        self._trade_lots = max(1.0, float(config.trade_size / market.step_size))
        self._trade_rate_per_s = config.trade_rate_per_min / 60.0
        self._rate_mean = float(config.funding_rate_mean)
        # Exact OU discretisation: reverts over one funding interval, stationary std = volatility.
        self._rate_keep = math.exp(-config.book_interval_s / funding_interval_s)
        self._rate_noise = float(config.funding_rate_volatility) * math.sqrt(1.0 - self._rate_keep**2)
        self._premium = float(config.mark_premium)
        self._reach_mean = float(config.trade_reach_ticks)
        self._drift = float(config.drift) * config.book_interval_s / 3600.0  # log-mid per book step
        self._follow_premium = config.funding_follows_premium
        # The deepest bid must stay at least one tick above zero.
        self._min_mid_ticks = self._half + (self._depth - 1) * self._spacing + 1
        self._tick_float = float(market.tick_size)
        self._prices: dict[int, Decimal] = {}
        self._sizes: dict[int, Decimal] = {}
        # Every book level size (1 .. 1.5 x level_size, in lots) is precomputed.
        self._level_sizes = [market.step_size * n for n in range(int(self._level_lots * 1.5) + 2)]
        # --- state (exported) ---
        self._mid = float(config.start_price)
        self._rate = self._rate_mean
        self._bid_ticks = self._ask_ticks = 0
        self._t0: float | None = None
        self._book_steps = 0  # book i is due at t0 + i * interval (no float drift)
        self._next_trade: float | None = None
        self._update_id = 0
        self._trade_count = 0

    def start(self, t0: float) -> None:
        if self._t0 is not None:
            return
        self._t0 = t0
        if self._trade_rate_per_s > 0:
            self._next_trade = t0 + self._rng.expovariate(self._trade_rate_per_s)

    def _next_book(self) -> float:
        assert self._t0 is not None
        return self._t0 + self._book_steps * self._interval

    def next_time(self) -> float | None:
        if self._t0 is None:
            return None
        book = self._next_book()
        trade = self._next_trade
        return trade if trade is not None and trade < book else book

    def step(self) -> list[MarketItem]:
        book = self._next_book()
        trade = self._next_trade
        if trade is not None and trade < book:
            return [self._trade(trade)]
        return self._redraw(book)

    # --- decimals on the grid -----------------------------------------------------------------

    def _price(self, ticks: int) -> Decimal:
        price = self._prices.get(ticks)
        if price is None:
            if len(self._prices) > _CACHE_LIMIT:
                self._prices.clear()
            price = self._prices[ticks] = self._tick * ticks
        return price

    def _size(self, lots: int) -> Decimal:
        if lots < len(self._level_sizes):
            return self._level_sizes[lots]
        size = self._sizes.get(lots)
        if size is None:
            if len(self._sizes) > _CACHE_LIMIT:
                self._sizes.clear()
            size = self._sizes[lots] = self._step_size * lots
        return size

    def _side(self, best: int, step: int) -> tuple[Level, ...]:
        """`depth` levels from `best` every `step` ticks, sizes drawn uniformly in [0.5, 1.5) x level_size."""
        prices = self._prices
        ticks = range(best, best + step * self._depth, step)
        try:
            level_prices = [prices[k] for k in ticks]
        except KeyError:
            level_prices = [self._price(k) for k in ticks]
        lots, rnd, sizes = self._level_lots, self._rng.random, self._level_sizes
        return tuple(zip(level_prices, [sizes[int(lots * (0.5 + rnd())) or 1] for _ in ticks], strict=True))

    # --- steps --------------------------------------------------------------------------------

    def _redraw(self, t: float) -> list[MarketItem]:
        rng = self._rng
        self._book_steps += 1
        if self._book_steps > 1:  # the first book is drawn at the start price
            self._mid *= math.exp(self._drift + self._sigma * rng.gauss(0.0, 1.0))
        mid_ticks = max(self._min_mid_ticks, round(self._mid / self._tick_float))
        bid = mid_ticks - self._half
        ask = mid_ticks + self._half if self._half else mid_ticks + 1
        self._bid_ticks, self._ask_ticks = bid, ask
        bids = self._side(bid, -self._spacing)
        asks = self._side(ask, self._spacing)
        self._update_id += 1
        snapshot = BookSnapshot(self._market, bids, asks, self._update_id, t, t)
        # Mark = mid; index sits below it by a premium drawn around `mark_premium`.
        mark = (bids[0][0] + asks[0][0]) / _TWO
        premium = self._premium * (1.0 + 0.5 * rng.gauss(0.0, 1.0))
        index = round8(mark * (_ONE - Decimal(round(premium * 1e8)).scaleb(-8)))
        noise = self._rate_noise * rng.gauss(0.0, 1.0)
        target = premium if self._follow_premium else self._rate_mean
        self._rate = target + (self._rate - target) * self._rate_keep + noise
        rate = Decimal(round(self._rate * 1e8)).scaleb(-8)
        return [snapshot, MarkUpdate(self._market, mark, index, rate)]

    def _trade(self, t: float) -> Trade:
        rng = self._rng
        aggressor = Side.BUY if rng.random() < 0.5 else Side.SELL
        lots = max(1, round(rng.expovariate(1.0 / self._trade_lots)))
        if self._reach_mean > 0:
            # floor: P(reach >= d) = exp(-d / mean) exactly at whole ticks; never inside the touch
            mid = (self._ask_ticks + self._bid_ticks) // 2
            reach = math.floor(rng.expovariate(1.0 / self._reach_mean))
            ticks = max(self._ask_ticks, mid + reach) if aggressor is Side.BUY else min(self._bid_ticks, mid - reach)
        else:
            through = 0 if rng.random() < _AT_TOUCH_PROBABILITY else rng.randint(1, self._spacing)
            ticks = self._ask_ticks + through if aggressor is Side.BUY else self._bid_ticks - through
        self._trade_count += 1
        self._next_trade = t + rng.expovariate(self._trade_rate_per_s)
        return Trade(
            self._market, TradeId(f"{self._market}-{self._trade_count}"), self._price(ticks), self._size(lots),
            aggressor, t, t,
        )

    def delay(self, seconds: float) -> None:
        if self._t0 is not None:
            self._t0 += seconds
        if self._next_trade is not None:
            self._next_trade += seconds

    # --- persistence --------------------------------------------------------------------------

    def export_state(self) -> dict:
        version, internal, gauss_next = self._rng.getstate()
        return {
            "rng": [version, list(internal), gauss_next],
            "mid": self._mid,
            "rate": self._rate,
            "bid_ticks": self._bid_ticks,
            "ask_ticks": self._ask_ticks,
            "t0": self._t0,
            "book_steps": self._book_steps,
            "next_trade": self._next_trade,
            "update_id": self._update_id,
            "trade_count": self._trade_count,
        }

    def restore_state(self, data: dict) -> None:
        version, internal, gauss_next = data["rng"]
        self._rng.setstate((version, tuple(internal), gauss_next))
        self._mid, self._rate = data["mid"], data["rate"]
        self._bid_ticks, self._ask_ticks = data["bid_ticks"], data["ask_ticks"]
        self._t0, self._book_steps = data["t0"], data["book_steps"]
        self._next_trade = data["next_trade"]
        self._update_id, self._trade_count = data["update_id"], data["trade_count"]

    def close(self) -> None:
        pass
