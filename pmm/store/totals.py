"""The fills added up for `pmm history`: kept as they are written, or folded from the rows.

`fill_totals` holds one row per (venue, market, run_id, fee_asset, UTC day): buy and sell counts,
base and quote volumes, realized PnL, fees, first and last fill time, the newest `fills.id` it
counts. The store writer adds the fills an INSERT actually inserted (`RETURNING`: a duplicate
trade is ignored by the database and not counted) in the same transaction as the insert, so a
kill -9 cannot leave the table disagreeing with `fills`. `pmm history` then reads a few rows
instead of every fill; with `--days` it reads the whole days of the window and folds only the
fills of its first, partial day.

Exact, digit for digit. The report's totals are Decimal sums (and amount x price products) in the
default 28-digit context. When no operation rounds, a sum's value and exponent do not depend on
how its terms are grouped or ordered, so adding up per-day rows gives what folding every fill in
time order gives. An operation that rounds (the `Rounded` signal) marks its rows `rounded`, and a
read that would round gives up: `pmm history` then folds the fills, as it did before this table.

Reading the table, folding the fills and rebuilding a stale table: `pmm.store.totals_read`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal, Rounded, localcontext
from typing import Any, Final

from sqlalchemy import bindparam, select, tuple_, update
from sqlalchemy.engine import Connection

from pmm.core.model import ZERO, Side
from pmm.store.records import FillRecord
from pmm.store.schema import Fill, FillTotalsRow

DAY_S: Final = 86400
BUY: Final = Side.BUY.value
KEY_COLUMNS: Final = ("venue", "market", "run_id", "fee_asset", "day")
TOTALS = FillTotalsRow.__table__
FILLS = Fill.__table__

Key = tuple[str, str, str, str, int]  # venue, market, run_id, fee_asset, day
Progress = Callable[[int, int], None]  # (fills counted so far, fills to count)


def day_of(ts: float) -> int:
    """The UTC day of `ts`: the integer d with d * 86400 <= ts < (d + 1) * 86400, exactly."""
    day = math.floor(ts / DAY_S)
    # The float division may round across a day boundary; int-float comparisons are exact.
    while day * DAY_S > ts:
        day -= 1
    while (day + 1) * DAY_S <= ts:
        day += 1
    return day


def first_whole_day(since_ts: float) -> int:
    """The first day lying entirely at or after `since_ts`."""
    day = day_of(since_ts)
    return day if day * DAY_S == since_ts else day + 1


class Bucket:
    """The totals of one `fill_totals` row (one fee asset), as they are added up."""

    __slots__ = (
        "b_base",
        "b_quote",
        "buys",
        "fees",
        "first_ts",
        "last_id",
        "last_ts",
        "realized",
        "rounded",
        "s_base",
        "s_quote",
        "sells",
    )

    def __init__(self) -> None:
        self.buys = self.sells = 0
        self.b_base = self.b_quote = self.s_base = self.s_quote = self.realized = self.fees = ZERO
        self.first_ts: float | None = None
        self.last_ts: float | None = None
        self.last_id = 0
        self.rounded = False

    def add(self, buy: bool, price: Decimal, amount: Decimal, fee: Decimal, realized: Decimal, ts: float,
            fill_id: int) -> None:
        # The same operations, from the same ZERO, as FillTotals.add.
        if buy:
            self.buys += 1
            self.b_base += amount
            self.b_quote += amount * price
        else:
            self.sells += 1
            self.s_base += amount
            self.s_quote += amount * price
        self.realized += realized
        self.fees += fee
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts
        self.last_id = max(self.last_id, fill_id)

    def merge(self, other: Bucket) -> None:
        self.buys += other.buys
        self.sells += other.sells
        self.b_base += other.b_base
        self.b_quote += other.b_quote
        self.s_base += other.s_base
        self.s_quote += other.s_quote
        self.realized += other.realized
        self.fees += other.fees
        if other.first_ts is not None and (self.first_ts is None or other.first_ts < self.first_ts):
            self.first_ts = other.first_ts
        if other.last_ts is not None and (self.last_ts is None or other.last_ts > self.last_ts):
            self.last_ts = other.last_ts
        self.last_id = max(self.last_id, other.last_id)
        self.rounded = self.rounded or other.rounded

    @classmethod
    def of_row(cls, row: Any) -> Bucket:
        b = cls()
        b.buys, b.sells = row.buys, row.sells
        b.b_base, b.b_quote, b.s_base, b.s_quote = row.buy_base, row.buy_quote, row.sell_base, row.sell_quote
        b.realized, b.fees = row.realized_pnl, row.fees
        b.first_ts, b.last_ts, b.last_id, b.rounded = row.first_ts, row.last_ts, row.last_fill_id, bool(row.rounded)
        return b

    def values(self) -> dict[str, Any]:
        return {
            "buys": self.buys, "sells": self.sells, "buy_base": self.b_base, "buy_quote": self.b_quote,
            "sell_base": self.s_base, "sell_quote": self.s_quote, "realized_pnl": self.realized,
            "fees": self.fees, "first_ts": self.first_ts, "last_ts": self.last_ts, "last_fill_id": self.last_id,
            "rounded": self.rounded,
        }  # fmt: skip


def bucket_row(key: Key, bucket: Bucket) -> dict[str, Any]:
    return dict(zip(KEY_COLUMNS, key, strict=True)) | bucket.values()


# --- the writer's side --------------------------------------------------------------------------


class TotalsWriter:
    """The statements that add inserted fills to `fill_totals`, inside the writer's transaction.

    `returning`: the columns the fill INSERT returns for the rows it inserted. On SQLite the text
    stored is the record's Decimal exactly (`types.decimal_to_text`), so the values come from the
    records; PostgreSQL's NUMERIC normalizes some (no negative zero, no positive exponent), so
    there the stored values are returned and used.
    """

    def __init__(self, insert: Callable[[Any], Any], dialect_name: str) -> None:
        c = FILLS.c
        self.from_records = dialect_name == "sqlite"
        key = [c.id, c.venue, c.market, c.trade_id]
        values = [c.run_id, c.side, c.price, c.amount, c.fee, c.fee_asset, c.realized_pnl, c.ts]
        self.returning = key if self.from_records else key + values
        t = TOTALS.c
        # Rows are created empty first (a concurrent writer on PostgreSQL then waits on the row
        # lock of SELECT ... FOR UPDATE instead of inserting its own), read, added to and updated.
        self._create = insert(TOTALS).on_conflict_do_nothing(index_elements=list(KEY_COLUMNS))
        read = select(TOTALS).where(tuple_(*(t[k] for k in KEY_COLUMNS)).in_(bindparam("keys", expanding=True)))
        self._read = read.with_for_update() if dialect_name == "postgresql" else read
        self._update = (
            update(TOTALS)
            .where(*(t[k] == bindparam(f"k_{k}") for k in KEY_COLUMNS))
            .values({name: bindparam(f"v_{name}") for name in Bucket().values()})
        )

    def add(self, conn: Connection, records: Sequence[FillRecord], inserted: Sequence[Any]) -> None:
        """Add the fills of `inserted` (rows the INSERT of `records` returned) to their rows."""
        if not inserted:
            return
        buckets: dict[Key, Bucket] = {}
        lo = hi = 0.0
        day = 0
        with localcontext() as ctx:
            ctx.clear_flags()
            if self.from_records:
                by_key: dict[tuple[str, str, str], FillRecord] = {}
                for r in records:
                    by_key.setdefault((r.venue, r.market, r.trade_id), r)  # the first one is inserted
                fills: Any = (
                    (fill_id, f.venue, f.market, f.run_id, f.side is Side.BUY, f.price, f.amount, f.fee, f.fee_asset,
                     f.realized_pnl, f.ts)
                    for fill_id, venue, market, trade_id in inserted
                    for f in (by_key[(venue, market, trade_id)],)
                )  # fmt: skip
            else:
                fills = (
                    (fill_id, venue, market, run, side == BUY, price, amount, fee, fee_asset, realized, ts)
                    for fill_id, venue, market, _trade, run, side, price, amount, fee, fee_asset, realized, ts
                    in inserted
                )  # fmt: skip
            for fill_id, venue, market, run, buy, price, amount, fee, fee_asset, realized, ts in fills:
                if not lo <= ts < hi:
                    day = day_of(ts)
                    lo, hi = day * DAY_S, (day + 1) * DAY_S
                key = (venue, market, run, fee_asset, day)
                bucket = buckets.get(key)
                if bucket is None:
                    bucket = buckets[key] = Bucket()
                bucket.add(buy, price, amount, fee, realized, ts, fill_id)
            conn.execute(self._create, [bucket_row(key, Bucket()) for key in buckets])
            totals: list[tuple[Key, Bucket]] = []
            for stored in conn.execute(self._read, {"keys": list(buckets)}):
                key: Key = tuple(getattr(stored, k) for k in KEY_COLUMNS)  # type: ignore[assignment]
                total = Bucket.of_row(stored)
                total.merge(buckets[key])
                totals.append((key, total))
            rounded = bool(ctx.flags[Rounded])
        params = []
        for key, total in totals:
            total.rounded = total.rounded or rounded
            params.append({f"k_{k}": v for k, v in zip(KEY_COLUMNS, key, strict=True)}
                          | {f"v_{k}": v for k, v in total.values().items()})
        conn.execute(self._update, params)
