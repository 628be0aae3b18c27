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

Stale tables. A store written before this table existed, or by an older pmm, holds fills the table
does not count. `is_fresh` compares count(*) and max(id) of `fills` with the table's totals;
`rebuild` recomputes the table from the fills: it folds them without blocking writers, then, in one
short write transaction, adds the fills written meanwhile and replaces the table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal, Rounded, localcontext
from typing import Any, Final

from sqlalchemy import Select, bindparam, delete, func, select, tuple_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from pmm.core.model import ZERO, Side
from pmm.store.performance import FillTotals
from pmm.store.records import FillRecord
from pmm.store.schema import Fill, FillTotalsRow

DAY_S: Final = 86400
_BUY: Final = Side.BUY.value
_KEY_COLUMNS: Final = ("venue", "market", "run_id", "fee_asset", "day")
_T = FillTotalsRow.__table__
_F = Fill.__table__

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


class _Bucket:
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

    def merge(self, other: _Bucket) -> None:
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
    def of_row(cls, row: Any) -> _Bucket:
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


def _row(key: Key, bucket: _Bucket) -> dict[str, Any]:
    return dict(zip(_KEY_COLUMNS, key, strict=True)) | bucket.values()


# --- the writer's side --------------------------------------------------------------------------


class TotalsWriter:
    """The statements that add inserted fills to `fill_totals`, inside the writer's transaction.

    `returning`: the columns the fill INSERT returns for the rows it inserted. On SQLite the text
    stored is the record's Decimal exactly (`types.decimal_to_text`), so the values come from the
    records; PostgreSQL's NUMERIC normalizes some (no negative zero, no positive exponent), so
    there the stored values are returned and used.
    """

    def __init__(self, insert: Callable[[Any], Any], dialect_name: str) -> None:
        c = _F.c
        self.from_records = dialect_name == "sqlite"
        key = [c.id, c.venue, c.market, c.trade_id]
        values = [c.run_id, c.side, c.price, c.amount, c.fee, c.fee_asset, c.realized_pnl, c.ts]
        self.returning = key if self.from_records else key + values
        t = _T.c
        # Rows are created empty first (a concurrent writer on PostgreSQL then waits on the row
        # lock of SELECT ... FOR UPDATE instead of inserting its own), read, added to and updated.
        self._create = insert(_T).on_conflict_do_nothing(index_elements=list(_KEY_COLUMNS))
        read = select(_T).where(tuple_(*(t[k] for k in _KEY_COLUMNS)).in_(bindparam("keys", expanding=True)))
        self._read = read.with_for_update() if dialect_name == "postgresql" else read
        self._update = (
            update(_T)
            .where(*(t[k] == bindparam(f"k_{k}") for k in _KEY_COLUMNS))
            .values({name: bindparam(f"v_{name}") for name in _Bucket().values()})
        )

    def add(self, conn: Connection, records: Sequence[FillRecord], inserted: Sequence[Any]) -> None:
        """Add the fills of `inserted` (rows the INSERT of `records` returned) to their rows."""
        if not inserted:
            return
        buckets: dict[Key, _Bucket] = {}
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
                    (fill_id, venue, market, run, side == _BUY, price, amount, fee, fee_asset, realized, ts)
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
                    bucket = buckets[key] = _Bucket()
                bucket.add(buy, price, amount, fee, realized, ts, fill_id)
            conn.execute(self._create, [_row(key, _Bucket()) for key in buckets])
            totals: list[tuple[Key, _Bucket]] = []
            for stored in conn.execute(self._read, {"keys": list(buckets)}):
                key: Key = tuple(getattr(stored, k) for k in _KEY_COLUMNS)  # type: ignore[assignment]
                total = _Bucket.of_row(stored)
                total.merge(buckets[key])
                totals.append((key, total))
            rounded = bool(ctx.flags[Rounded])
        params = []
        for key, total in totals:
            total.rounded = total.rounded or rounded
            params.append({f"k_{k}": v for k, v in zip(_KEY_COLUMNS, key, strict=True)}
                          | {f"v_{k}": v for k, v in total.values().items()})
        conn.execute(self._update, params)


# --- reading ------------------------------------------------------------------------------------


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose statements all see the same state of the database."""
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            # pysqlite opens no transaction for a SELECT, so each statement would see the latest
            # commit; one read transaction makes the checks and the rows agree.
            conn.exec_driver_sql("BEGIN")
        elif conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        yield conn


def _counts_every_fill(conn: Connection) -> bool:
    """Whether `fill_totals` counts exactly the stored fills (their number and the newest id)."""
    if not conn.dialect.has_table(conn, _T.name):
        return False  # a read-only store from before the table existed
    n_fills = conn.execute(select(func.count()).select_from(_F)).scalar_one()
    top_id = conn.execute(select(func.max(_F.c.id))).scalar() or 0
    counted, counted_top = conn.execute(select(
        func.coalesce(func.sum(_T.c.buys + _T.c.sells), 0), func.coalesce(func.max(_T.c.last_fill_id), 0),
    )).one()  # fmt: skip
    return bool(n_fills == counted and top_id == counted_top)


def is_fresh(engine: Engine) -> bool:
    """Whether `fill_totals` counts every stored fill; False for a store written before it existed
    (or by an older pmm): `rebuild` it."""
    with read_snapshot(engine) as conn:
        return _counts_every_fill(conn)


GroupTotals = dict[tuple[str, str, str], FillTotals]  # (venue, market, run_id) -> totals
MarketTotals = dict[tuple[str, str, None], FillTotals]  # (venue, market, None) -> totals


def read(engine: Engine, since_ts: float | None = None, market: str | None = None) -> (
        tuple[MarketTotals, GroupTotals] | None):
    """The fills (`since_ts` inclusive, of `market`) added up per market and per run, from
    `fill_totals`; None when the table cannot say it exactly (stale, or a sum rounded): fold.

    With `since_ts`, whole days come from the table and the fills of the first, partial day are
    folded, all in one read transaction.
    """
    with read_snapshot(engine) as conn:
        if not _counts_every_fill(conn):
            return None
        t = _T.c
        stmt = select(_T)
        if market is not None:
            stmt = stmt.where(t.market == market)
        start_day = None
        if since_ts is not None:
            start_day = first_whole_day(since_ts)
            stmt = stmt.where(t.day >= start_day)
        per_run: GroupTotals = {}
        with localcontext() as ctx:
            ctx.clear_flags()
            for row in conn.execute(stmt):
                if row.rounded:
                    return None
                stored = FillTotals()
                stored.buys, stored.sells = row.buys, row.sells
                stored.b_base, stored.b_quote = row.buy_base, row.buy_quote
                stored.s_base, stored.s_quote = row.sell_base, row.sell_quote
                stored.realized, stored.fees = row.realized_pnl, {row.fee_asset: row.fees}
                stored.first_ts, stored.last_ts = row.first_ts, row.last_ts
                key = (row.venue, row.market, row.run_id)
                group = per_run.get(key)
                if group is None:
                    group = per_run[key] = FillTotals()
                group.merge(stored)
            if since_ts is not None and start_day is not None:
                for key, edge in fold(conn, since_ts, start_day * DAY_S, market).items():
                    group = per_run.get(key)
                    if group is None:
                        group = per_run[key] = FillTotals()
                    group.merge(edge)
            by_market = per_market(per_run)
            if ctx.flags[Rounded]:
                return None
    return by_market, per_run


def per_market(per_run: GroupTotals) -> MarketTotals:
    """The runs' totals added up per (venue, market) (exact: the sums are exact decimals)."""
    out: MarketTotals = {}
    for (venue, mkt, _run), totals in sorted(per_run.items(), key=lambda kv: (kv[1].first_ts or 0.0, kv[0])):
        merged = out.get((venue, mkt, None))
        if merged is None:
            merged = out[(venue, mkt, None)] = FillTotals()
        merged.merge(totals)
    return out


# --- folding the rows ---------------------------------------------------------------------------


def _raw_partitions(conn: Connection, stmt: Select[Any], size: int = 10_000) -> Iterator[Sequence[Any]]:
    """The rows of `stmt` streamed as the driver gives them (decimal text on SQLite, Decimal on
    PostgreSQL), without the column types' per-value conversion."""
    compiled = stmt.compile(dialect=conn.dialect)
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[k] for k in compiled.positiontup or ())
    result = conn.exec_driver_sql(str(compiled), params, execution_options={"stream_results": True})
    yield from result.partitions(size)


def _decimals() -> tuple[Callable[[Any], Decimal | None], Callable[[Any], Decimal]]:
    """(cache lookup, convert and cache): each distinct decimal text is converted once (prices,
    sizes and fees repeat)."""
    cache: dict[Any, Decimal] = {}

    def dec(raw: Any) -> Decimal:
        value = raw if isinstance(raw, Decimal) else Decimal(raw)
        if len(cache) < 100_000:
            cache[raw] = value
        return value

    return cache.get, dec


def fold(conn: Connection, since_ts: float | None = None, until_ts: float | None = None,
         market: str | None = None) -> GroupTotals:
    """The fills (`since_ts` inclusive, `until_ts` exclusive, of `market`) folded per (venue, market,
    run_id) in time order, streamed from the rows without building a record per fill."""
    c = _F.c
    stmt = select(c.venue, c.market, c.run_id, c.side, c.price, c.amount, c.fee, c.fee_asset, c.realized_pnl,
                  c.ts).order_by(c.ts, c.id)
    if since_ts is not None:
        stmt = stmt.where(c.ts >= since_ts)
    if until_ts is not None:
        stmt = stmt.where(c.ts < until_ts)
    if market is not None:
        stmt = stmt.where(c.market == market)
    per_run: GroupTotals = {}
    cache_get, dec = _decimals()
    group: FillTotals | None = None
    last_key: tuple[str, str, str] | None = None
    for rows in _raw_partitions(conn, stmt):
        for venue, mkt, run, side, price, amount, fee, fee_asset, realized, ts in rows:
            key = (venue, mkt, run)
            if key != last_key:
                last_key = key
                group = per_run.get(key)
                if group is None:
                    group = per_run[key] = FillTotals()
            assert group is not None
            a = v if (v := cache_get(amount)) is not None else dec(amount)
            pa = a * (v if (v := cache_get(price)) is not None else dec(price))
            if side == _BUY:
                group.buys += 1
                group.b_base += a
                group.b_quote += pa
            else:
                group.sells += 1
                group.s_base += a
                group.s_quote += pa
            group.realized += v if (v := cache_get(realized)) is not None else dec(realized)
            fees = group.fees
            fees[fee_asset] = fees.get(fee_asset, ZERO) + (v if (v := cache_get(fee)) is not None else dec(fee))
            if group.first_ts is None:
                group.first_ts = ts  # rows come in time order
            group.last_ts = ts
    return per_run


def _fold_buckets(conn: Connection, buckets: dict[Key, _Bucket], *, after_id: int = 0, upto_id: int | None = None,
                  progress: Progress | None = None, total: int = 0) -> int:
    """Add the fills with after_id < id <= upto_id to `buckets`; returns how many there were."""
    c = _F.c
    stmt = select(c.id, c.venue, c.market, c.run_id, c.side, c.price, c.amount, c.fee, c.fee_asset,
                  c.realized_pnl, c.ts).where(c.id > after_id).order_by(c.id)
    if upto_id is not None:
        stmt = stmt.where(c.id <= upto_id)
    cache_get, dec = _decimals()
    lo = hi = 0.0
    day = done = 0
    with localcontext() as ctx:
        ctx.clear_flags()
        for rows in _raw_partitions(conn, stmt):
            for fill_id, venue, market, run, side, price, amount, fee, fee_asset, realized, ts in rows:
                if not lo <= ts < hi:
                    day = day_of(ts)
                    lo, hi = day * DAY_S, (day + 1) * DAY_S
                key = (venue, market, run, fee_asset, day)
                bucket = buckets.get(key)
                if bucket is None:
                    bucket = buckets[key] = _Bucket()
                bucket.add(
                    side == _BUY,
                    v if (v := cache_get(price)) is not None else dec(price),
                    v if (v := cache_get(amount)) is not None else dec(amount),
                    v if (v := cache_get(fee)) is not None else dec(fee),
                    v if (v := cache_get(realized)) is not None else dec(realized),
                    ts, fill_id,
                )  # fmt: skip
            done += len(rows)
            if progress is not None:
                progress(done, total)
        if ctx.flags[Rounded]:
            for bucket in buckets.values():
                bucket.rounded = True
    return done


# --- rebuilding a stale table -------------------------------------------------------------------


class RebuildFailed(Exception):
    """`fill_totals` could not be rebuilt (a read-only or busy store); the fills can be folded."""


class _FillsChanged(Exception):
    """Fills counted in the first pass changed before the second: count again."""


def rebuild(engine: Engine, progress: Progress | None = None, *, attempts: int = 3) -> int:
    """Recompute `fill_totals` from `fills`; the number of fills counted.

    The fills are folded in a read transaction (writers go on); then one write transaction adds
    the fills written meanwhile and replaces the table. Raises OperationalError when the store
    cannot be written (read-only, locked for longer than the busy timeout): RebuildFailed.
    """
    try:
        return _rebuild(engine, progress, attempts)
    except OperationalError as exc:
        raise RebuildFailed(str(exc.orig) if exc.orig is not None else str(exc)) from exc


def _rebuild(engine: Engine, progress: Progress | None, attempts: int) -> int:
    for _ in range(attempts):
        buckets: dict[Key, _Bucket] = {}
        with read_snapshot(engine) as conn:
            n_fills = conn.execute(select(func.count()).select_from(_F)).scalar_one()
            top_id = conn.execute(select(func.max(_F.c.id))).scalar() or 0
            if progress is not None:
                progress(0, n_fills)
            _fold_buckets(conn, buckets, upto_id=top_id, progress=progress, total=n_fills)
        try:
            with engine.begin() as conn:
                if not conn.dialect.has_table(conn, _T.name):
                    _T.create(conn)  # opened read-only before: fails here if it still is
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"LOCK TABLE {_T.name} IN EXCLUSIVE MODE")
                # On SQLite the first write takes the database's write lock: from here on no fill
                # is written by anyone until this transaction ends.
                conn.execute(delete(_T))
                still = conn.execute(select(func.count()).select_from(_F).where(_F.c.id <= top_id)).scalar_one()
                if still != n_fills:
                    raise _FillsChanged
                added = _fold_buckets(conn, buckets, after_id=top_id)
                if buckets:
                    conn.execute(_T.insert(), [_row(key, bucket) for key, bucket in buckets.items()])
        except _FillsChanged:
            continue
        return n_fills + added
    raise RebuildFailed(f"the fills kept changing while they were counted ({attempts} attempts)")
