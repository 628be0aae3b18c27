"""What a venue server derives from the trades it prints: a rolling window (the 24 h ticker's open,
high, low, volume, turnover, count) and candles (klines) of any length, kept incrementally.

Candles are built from one-minute candles kept for `keep_minutes` (a week by default); longer
intervals are merged from them, so a day candle is exact while its minutes are kept and a month
candle covers what is kept. An interval with no trade is a flat candle at the previous close with
zero volume (venues list every interval since the first trade, not only traded ones). Weeks start
on Monday 00:00 UTC, months on the 1st.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal

ZERO = Decimal(0)
_MINUTE_MS = 60_000
_MONDAY_MS = 4 * 86_400_000  # 1970-01-01 was a Thursday; 1970-01-05 a Monday
NO_TRADE_ID = -1


class TradeWindow:
    """Trades of the last `seconds`: first price, high, low, volume and turnover, kept incrementally."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.trades: deque[tuple[float, Decimal, Decimal, int]] = deque()  # (ts, price, qty, trade id)
        self.volume = ZERO
        self.turnover = ZERO
        self._high: Decimal | None = None
        self._low: Decimal | None = None

    def add(self, ts: float, price: Decimal, qty: Decimal, trade_id: int = NO_TRADE_ID) -> None:
        self.prune(ts)
        self.trades.append((ts, price, qty, trade_id))
        self.volume += qty
        self.turnover += price * qty
        self._high = price if self._high is None or price > self._high else self._high
        self._low = price if self._low is None or price < self._low else self._low

    def prune(self, now: float) -> None:
        stale = False
        while self.trades and self.trades[0][0] <= now - self.seconds:
            _, price, qty, _ = self.trades.popleft()
            self.volume -= qty
            self.turnover -= price * qty
            stale = stale or price in (self._high, self._low)
        if stale:
            prices = [trade[1] for trade in self.trades]
            self._high, self._low = (max(prices), min(prices)) if prices else (None, None)

    @property
    def count(self) -> int:
        return len(self.trades)

    def first_price(self, default: Decimal) -> Decimal:
        return self.trades[0][1] if self.trades else default

    def high(self, default: Decimal) -> Decimal:
        return self._high if self._high is not None else default

    def low(self, default: Decimal) -> Decimal:
        return self._low if self._low is not None else default

    def first_id(self) -> int:
        return self.trades[0][3] if self.trades else NO_TRADE_ID

    def last_id(self) -> int:
        return self.trades[-1][3] if self.trades else NO_TRADE_ID


@dataclass(frozen=True, slots=True)
class Interval:
    """A candle length: whole minutes, or whole calendar months (`months`)."""

    minutes: int = 0
    months: int = 0

    def start_of(self, when_ms: int) -> int:
        if self.months:
            day = datetime.fromtimestamp(when_ms / 1000, UTC)
            index = (day.year * 12 + day.month - 1) // self.months * self.months
            return _month_start(index)
        length = self.minutes * _MINUTE_MS
        anchor = _MONDAY_MS if self.minutes % (7 * 1440) == 0 else 0
        return (when_ms - anchor) // length * length + anchor

    def after(self, start_ms: int) -> int:
        """The start of the interval after the one starting at `start_ms`."""
        if self.months:
            day = datetime.fromtimestamp(start_ms / 1000, UTC)
            return _month_start(day.year * 12 + day.month - 1 + self.months)
        return start_ms + self.minutes * _MINUTE_MS


def _month_start(month_index: int) -> int:
    year, month = divmod(month_index, 12)
    return int(datetime(year, month + 1, 1, tzinfo=UTC).timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class Candle:
    start_ms: int
    end_ms: int  # the start of the next interval
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = ZERO
    turnover: Decimal = ZERO
    count: int = 0
    taker_buy_volume: Decimal = ZERO
    taker_buy_turnover: Decimal = ZERO
    first_id: int = NO_TRADE_ID
    last_id: int = NO_TRADE_ID
    last_trade_ms: int = 0  # 0: no trade in the candle

    def then(self, price: Decimal, qty: Decimal, trade_id: int, taker_buys: bool, ts_ms: int) -> Candle:
        """This candle with one more trade."""
        return replace(
            self, high=max(self.high, price), low=min(self.low, price), close=price, volume=self.volume + qty,
            turnover=self.turnover + price * qty, count=self.count + 1,
            taker_buy_volume=self.taker_buy_volume + (qty if taker_buys else ZERO),
            taker_buy_turnover=self.taker_buy_turnover + (price * qty if taker_buys else ZERO),
            first_id=self.first_id if self.count else trade_id, last_id=trade_id, last_trade_ms=ts_ms)

    def merged(self, later: Candle) -> Candle:
        """This candle followed by `later` (a part of the same interval)."""
        return replace(
            self, high=max(self.high, later.high), low=min(self.low, later.low), close=later.close,
            volume=self.volume + later.volume, turnover=self.turnover + later.turnover,
            count=self.count + later.count, taker_buy_volume=self.taker_buy_volume + later.taker_buy_volume,
            taker_buy_turnover=self.taker_buy_turnover + later.taker_buy_turnover,
            first_id=self.first_id if self.count else later.first_id,
            last_id=later.last_id if later.count else self.last_id,
            last_trade_ms=later.last_trade_ms if later.count else self.last_trade_ms)


def _flat(start_ms: int, end_ms: int, price: Decimal) -> Candle:
    return Candle(start_ms, end_ms, price, price, price, price)


MINUTE = Interval(minutes=1)


class CandleSeries:
    """One-minute candles of the printed trades (the last `keep_minutes`), merged into any interval."""

    def __init__(self, keep_minutes: int = 7 * 1440) -> None:
        self._minutes: deque[Candle] = deque(maxlen=keep_minutes)

    def add(self, ts_ms: int, price: Decimal, qty: Decimal, trade_id: int, taker_buys: bool) -> None:
        start = MINUTE.start_of(ts_ms)
        last = self._minutes[-1] if self._minutes else None
        if last is not None and last.start_ms == start:
            self._minutes[-1] = last.then(price, qty, trade_id, taker_buys, ts_ms)
        else:  # a candle opens at its first trade
            self._minutes.append(_flat(start, MINUTE.after(start), price).then(price, qty, trade_id, taker_buys, ts_ms))

    def candles(self, interval: Interval, now_ms: int, since_ms: int | None = None) -> list[Candle]:
        """Every candle of `interval` from the first kept trade (or the one holding `since_ms`) to the
        one holding `now_ms`, oldest first; intervals without trades are flat at the previous close."""
        first_wanted = interval.start_of(since_ms) if since_ms is not None else None
        minutes: list[Candle] = []
        for minute in reversed(self._minutes):  # newest first: a recent window reads few minutes
            minutes.append(minute)
            if first_wanted is not None and minute.start_ms < first_wanted:
                break  # one minute before the window: its close opens the flat candles after it
        out: list[Candle] = []
        for minute in reversed(minutes):
            start = interval.start_of(minute.start_ms)
            _fill_until(out, interval, start)
            if out and out[-1].start_ms == start:
                out[-1] = out[-1].merged(minute)
            else:
                out.append(replace(minute, start_ms=start, end_ms=interval.after(start)))
        _fill_until(out, interval, interval.after(interval.start_of(now_ms)))
        return out if first_wanted is None else [k for k in out if k.start_ms >= first_wanted]


def _fill_until(out: list[Candle], interval: Interval, start_ms: int) -> None:
    """Flat candles at the last close for the intervals after the last one in `out` that start
    before `start_ms`."""
    while out:
        following = interval.after(out[-1].start_ms)
        if following >= start_ms:
            return
        out.append(_flat(following, interval.after(following), out[-1].close))
