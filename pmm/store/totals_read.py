"""Reading `fill_totals` for `pmm history`, folding the fills themselves, rebuilding a stale table.

The table and how the store writer keeps it: `pmm.store.totals`.

Stale tables. A store written before this table existed, or by an older pmm, holds fills the table
does not count. `is_fresh` compares count(*) and max(id) of `fills` with the table's totals;
`rebuild` recomputes the table from the fills: it folds them without blocking writers, then, in one
short write transaction, adds the fills written meanwhile and replaces the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal, Rounded, localcontext
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from pmm.core.model import ZERO
from pmm.store.performance import FillTotals
from pmm.store.totals import BUY, DAY_S, FILLS, TOTALS, Bucket, Key, Progress, bucket_row, day_of, first_whole_day


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
    if not conn.dialect.has_table(conn, TOTALS.name):
        return False  # a read-only store from before the table existed
    n_fills = conn.execute(select(func.count()).select_from(FILLS)).scalar_one()
    top_id = conn.execute(select(func.max(FILLS.c.id))).scalar() or 0
    counted, counted_top = conn.execute(select(
        func.coalesce(func.sum(TOTALS.c.buys + TOTALS.c.sells), 0), func.coalesce(func.max(TOTALS.c.last_fill_id), 0),
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
        t = TOTALS.c
        stmt = select(TOTALS)
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
    c = FILLS.c
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
            if side == BUY:
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


def _fold_buckets(conn: Connection, buckets: dict[Key, Bucket], *, after_id: int = 0, upto_id: int | None = None,
                  progress: Progress | None = None, total: int = 0) -> int:
    """Add the fills with after_id < id <= upto_id to `buckets`; returns how many there were."""
    c = FILLS.c
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
                    bucket = buckets[key] = Bucket()
                bucket.add(
                    side == BUY,
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
        buckets: dict[Key, Bucket] = {}
        with read_snapshot(engine) as conn:
            n_fills = conn.execute(select(func.count()).select_from(FILLS)).scalar_one()
            top_id = conn.execute(select(func.max(FILLS.c.id))).scalar() or 0
            if progress is not None:
                progress(0, n_fills)
            _fold_buckets(conn, buckets, upto_id=top_id, progress=progress, total=n_fills)
        try:
            with engine.begin() as conn:
                if not conn.dialect.has_table(conn, TOTALS.name):
                    TOTALS.create(conn)  # opened read-only before: fails here if it still is
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"LOCK TABLE {TOTALS.name} IN EXCLUSIVE MODE")
                # On SQLite the first write takes the database's write lock: from here on no fill
                # is written by anyone until this transaction ends.
                conn.execute(delete(TOTALS))
                still = conn.execute(select(func.count()).select_from(FILLS).where(FILLS.c.id <= top_id)).scalar_one()
                if still != n_fills:
                    raise _FillsChanged
                added = _fold_buckets(conn, buckets, after_id=top_id)
                if buckets:
                    conn.execute(TOTALS.insert(), [bucket_row(key, bucket) for key, bucket in buckets.items()])
        except _FillsChanged:
            continue
        return n_fills + added
    raise RebuildFailed(f"the fills kept changing while they were counted ({attempts} attempts)")
