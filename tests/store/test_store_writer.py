"""StoreWriter: idempotent inserts, upserts with history, flush, errors surfaced, lifecycle."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from pmm.core.events import FundingPaymentReceived, OrderFilled, PositionUpdated
from pmm.core.model import (
    ClientOrderId,
    ExchangeOrderId,
    Liquidity,
    MarginMode,
    OrderPurpose,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
    TradeId,
)
from pmm.store import queries
from pmm.store.db import open_engine
from pmm.store.records import (
    FillRecord,
    FundingRecord,
    Heartbeat,
    OrderChanged,
    PositionSnapshot,
    RunEnded,
    RunStarted,
    RunStatus,
    SimAccountSnapshot,
    StatusSnapshot,
)
from pmm.store.schema import Fill, FundingPayment, OrderEvent, PositionSnapshotRow
from pmm.store.writer import StoreWriteError, StoreWriter

D = Decimal


def count(db_url: str, model: type) -> int:
    engine = open_engine(db_url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(model)).scalar_one())
    finally:
        engine.dispose()


def test_the_same_fill_twice_is_one_row(writer, db_url, make_fill) -> None:  # type: ignore[no-untyped-def]
    writer.submit(make_fill("t1"))
    writer.submit(make_fill("t1"))
    writer.flush()
    writer.submit(make_fill("t1"))  # again in a later transaction (e.g. a backfill after restart)
    writer.flush()
    assert count(db_url, Fill) == 1
    assert writer.written_fills == 3


def test_same_trade_id_on_another_market_or_venue_is_kept(writer, db_url, make_fill) -> None:  # type: ignore[no-untyped-def]
    # Binance numbers trades per symbol: trade 7 on BTC and trade 7 on ETH are two fills.
    writer.submit(make_fill("7", market="BTC-USDT"))
    writer.submit(make_fill("7", market="ETH-USDT"))
    writer.submit(make_fill("7", venue="binance_perpetual"))
    writer.flush()
    assert count(db_url, Fill) == 3


def test_the_same_funding_twice_is_one_row(writer, db_url, make_funding) -> None:  # type: ignore[no-untyped-def]
    writer.submit(make_funding(1000))
    writer.submit(make_funding(1000))
    writer.submit(make_funding(1000, market="ETH-USDT"))  # same time, other pair: its own row
    writer.flush()
    writer.submit(make_funding(1000))
    writer.flush()
    assert count(db_url, FundingPayment) == 2


def test_records_from_events_round_trip(writer, db_url) -> None:  # type: ignore[no-untyped-def]
    filled = OrderFilled(
        client_id=ClientOrderId("pmm-1"), exchange_id=ExchangeOrderId("9"), trade_id=TradeId("77"),
        market="BTC-USDT", side=Side.SELL, order_type=OrderType.LIMIT, price=D("65000.10"),
        amount=D("0.00000001"), remaining=D("0"), fee=D("-0.0000001"), fee_asset="USDT",
        liquidity=Liquidity.MAKER, position_side=PositionSide.SHORT, realized_pnl=D("1.5"), ts=10.5, recv_ts=10.6,
    )  # fmt: skip
    paid = FundingPaymentReceived(
        market="BTC-USDT", funding_time_ms=1_767_254_400_000, rate=D("0.0001"), amount=D("-0.065"),
        asset="USDT", position_amount=D("-0.01"), mark_price=D("65000"), ts=1_767_254_400.0, recv_ts=1.0,
    )  # fmt: skip
    writer.submit(FillRecord.from_event("sim_perpetual", "run1", filled))
    writer.submit(FundingRecord.from_event("sim_perpetual", "run1", paid))
    writer.flush()
    engine = open_engine(db_url)
    [fill] = queries.fills(engine)
    assert fill == FillRecord.from_event("sim_perpetual", "run1", filled)
    assert fill.amount.as_tuple() == D("0.00000001").as_tuple()
    [funding] = queries.funding_payments(engine)
    assert funding == FundingRecord.from_event("sim_perpetual", "run1", paid)
    assert funding.ts == 1_767_254_400.0


def test_order_upsert_keeps_latest_state_and_full_history(writer, db_url) -> None:  # type: ignore[no-untyped-def]
    req = OrderRequest(
        client_id=ClientOrderId("pmm-b-1"), market="BTC-USDT", side=Side.BUY, order_type=OrderType.LIMIT_MAKER,
        amount=D("0.010"), price=D("64999.9"), purpose=OrderPurpose.QUOTE, level=2,
    )  # fmt: skip
    o = OrderChanged.from_request("sim_perpetual", "run1", req, ts=1.0)
    writer.submit(o)
    o = o.changed(OrderStatus.OPEN, 2.0, exchange_id=ExchangeOrderId("e1"))
    writer.submit(o)
    writer.flush()  # history spans transactions too
    o = o.changed(OrderStatus.PARTIALLY_FILLED, 3.0, filled=D("0.004"))
    writer.submit(o)
    o = o.changed(OrderStatus.CANCELLED, 4.0, reason="refresh")
    writer.submit(o)
    writer.flush()

    engine = open_engine(db_url)
    row = queries.get_order(engine, "pmm-b-1")
    assert row == o
    assert row is not None and row.created_ts == 1.0 and row.updated_ts == 4.0
    assert row.exchange_id == "e1" and row.filled == D("0.004") and row.level == 2
    history = queries.order_events(engine, client_id="pmm-b-1")
    assert [(e.ts, e.status, e.filled, e.reason) for e in history] == [
        (1.0, OrderStatus.PENDING_NEW, D("0"), None),
        (2.0, OrderStatus.OPEN, D("0"), None),
        (3.0, OrderStatus.PARTIALLY_FILLED, D("0.004"), None),
        (4.0, OrderStatus.CANCELLED, D("0.004"), "refresh"),
    ]
    assert count(db_url, OrderEvent) == 4
    assert queries.open_orders(engine, "run1") == []


def test_open_orders_lists_live_ones(writer, db_url) -> None:  # type: ignore[no-untyped-def]
    def order(cid: str, status: OrderStatus) -> OrderChanged:
        req = OrderRequest(ClientOrderId(cid), "BTC-USDT", Side.SELL, OrderType.LIMIT, D("1"), D("70000"))
        return OrderChanged.from_request("sim_perpetual", "run1", req, 1.0).changed(status, 2.0)

    for cid, status in [("a", OrderStatus.OPEN), ("b", OrderStatus.FILLED), ("c", OrderStatus.UNKNOWN),
                        ("d", OrderStatus.REJECTED), ("e", OrderStatus.PARTIALLY_FILLED)]:  # fmt: skip
        writer.submit(order(cid, status))
    writer.flush()
    assert [o.client_id for o in queries.open_orders(open_engine(db_url), "run1")] == ["a", "c", "e"]


def test_run_lifecycle_and_status(writer, db_url) -> None:  # type: ignore[no-untyped-def]
    writer.submit(RunStarted("run1", 100.0, 4242, "sim_perpetual", "BTC-USDT", "configs/q.yml", "leverage: 5\n"))
    writer.submit(Heartbeat("run1", 101.0))
    writer.submit(Heartbeat("run1", 102.0))
    writer.submit(StatusSnapshot.build("run1", 101.0, {"quoting": False, "why": "book resync", "mid": D("65000.1")}))
    writer.submit(StatusSnapshot.build("run1", 102.0, {"quoting": True, "mid": D("65000.2")}))
    writer.flush()
    engine = open_engine(db_url)
    run = queries.latest_run(engine)
    assert run is not None and run.status is RunStatus.RUNNING and run.heartbeat_ts == 102.0 and run.pid == 4242
    status = queries.latest_status(engine, "run1")
    assert status is not None and status.ts == 102.0 and status.data() == {"quoting": True, "mid": "65000.2"}

    writer.submit(RunStarted("run2", 200.0, 4243, "sim_perpetual", "ETH-USDT", "configs/e.yml", ""))
    writer.submit(RunEnded("run1", 150.0, RunStatus.STOPPED, "user"))
    writer.flush()
    assert [r.run_id for r in queries.list_runs(engine)] == ["run2", "run1"]
    run1 = queries.get_run(engine, "run1")
    assert run1 is not None and run1.status is RunStatus.STOPPED and run1.ended_ts == 150.0
    assert run1.exit_reason == "user" and run1.config_text == "leverage: 5\n"
    assert queries.get_run(engine, "nope") is None


def test_sim_account_is_latest_only(writer, db_url) -> None:  # type: ignore[no-untyped-def]
    writer.submit(SimAccountSnapshot.build("sim_perpetual", 5.0, {"balances": {"USDT": D("10000")}}))
    writer.flush()
    writer.submit(SimAccountSnapshot.build("sim_perpetual", 1.0, {"balances": {"USDT": D("9990.5")}}))
    writer.flush()
    acct = queries.sim_account(open_engine(db_url), "sim_perpetual")
    # The last one written wins even with an earlier ts (a new --fast run restarts virtual time).
    assert acct is not None and acct.data() == {"balances": {"USDT": "9990.5"}} and acct.ts == 1.0


def test_position_snapshots_last_per_side(writer, db_url) -> None:  # type: ignore[no-untyped-def]
    long = Position("BTC-USDT", PositionSide.LONG, D("0.02"), D("64000"), 5, MarginMode.CROSS,
                    unrealized_pnl=D("20"), mark_price=D("65000"))  # fmt: skip
    writer.submit(PositionSnapshot.from_position("sim_perpetual", "run1", long, 1.0))
    writer.submit(PositionSnapshot.from_event(
        "sim_perpetual", "run1", PositionUpdated("BTC-USDT", PositionSide.LONG, None, 2.0, 2.0)))
    writer.submit(PositionSnapshot.from_position("sim_perpetual", "run1", long, 2.5))  # reopened
    writer.submit(PositionSnapshot.from_position("sim_perpetual", "run2", long, 3.0))
    writer.flush()
    engine = open_engine(db_url)
    assert count(db_url, PositionSnapshotRow) == 4
    [last] = queries.last_position_snapshots(engine, "run1")
    assert last.ts == 2.5 and last.amount == D("0.02")
    flat = PositionSnapshot.flat("sim_perpetual", "run1", "BTC-USDT", PositionSide.LONG, 2.0)
    assert PositionSnapshot.from_event(
        "sim_perpetual", "run1", PositionUpdated("BTC-USDT", PositionSide.LONG, None, 2.0, 2.0)) == flat
    [last2] = queries.last_position_snapshots(engine, "run2")
    assert last2.ts == 3.0 and last2.margin_mode is MarginMode.CROSS and last2.leverage == 5


def test_bad_record_is_reported_and_does_not_sink_its_batch(writer, db_url, make_fill) -> None:  # type: ignore[no-untyped-def]
    writer.submit(make_fill("good1"))
    writer.submit(make_fill("bad", price="NaN"))  # a bug upstream: must not take good1/good2 with it
    writer.submit(make_fill("good2"))
    with pytest.raises(StoreWriteError, match="1 record"):
        writer.flush()
    assert writer.failed == 1 and isinstance(writer.error, Exception)
    assert count(db_url, Fill) == 2
    writer.flush()  # a failure is reported once


def test_submit_after_close_raises(db_url, make_fill) -> None:  # type: ignore[no-untyped-def]
    w = StoreWriter(db_url)
    w.submit(make_fill("t1"))
    w.close()
    w.close()  # idempotent
    assert count(db_url, Fill) == 1
    with pytest.raises(StoreWriteError, match="closed"):
        w.submit(make_fill("t2"))


def test_bad_url_raises_at_construction(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(StoreWriteError, match="Cannot open"):
        StoreWriter("nosuchdialect://x")


def test_sqlite_is_in_wal_mode(writer, db_url) -> None:  # type: ignore[no-untyped-def]
    engine = open_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar_one() == 1  # NORMAL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar_one() >= 1000


def _fast_busy_engine(url):  # type: ignore[no-untyped-def]
    """open_engine, but a locked database fails after 20 ms instead of 10 s."""
    from sqlalchemy import event

    engine = open_engine(url)
    event.listen(engine, "connect", lambda dbapi_conn, _rec: dbapi_conn.execute("PRAGMA busy_timeout=20"))
    engine.dispose()  # drop the pooled connection made before the listener existed
    return engine


def _lock(db_url: str):  # type: ignore[no-untyped-def]
    import sqlite3

    conn = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False)
    conn.execute("BEGIN EXCLUSIVE")
    return conn


def test_locked_database_is_retried(db_url, make_fill) -> None:  # type: ignore[no-untyped-def]
    import threading

    errors: list[BaseException] = []
    w = StoreWriter(db_url, engine_factory=_fast_busy_engine, on_error=errors.append)
    lock = _lock(db_url)
    threading.Timer(0.2, lock.rollback).start()  # another process holds the lock for a moment
    w.submit(make_fill("t1"))
    w.flush()
    w.close()
    assert count(db_url, Fill) == 1 and w.failed == 0 and errors == []


def test_database_locked_for_good_fails_loudly(db_url, make_fill, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pmm.store.writer as writer_module

    monkeypatch.setattr(writer_module, "_RETRY_DELAYS_S", (0.01, 0.01))
    errors: list[BaseException] = []
    w = StoreWriter(db_url, engine_factory=_fast_busy_engine, on_error=errors.append)
    lock = _lock(db_url)
    w.submit(make_fill("t1"))
    w.submit(make_fill("t2"))
    with pytest.raises(StoreWriteError, match="2 record"):
        w.flush()
    assert w.failed == 2 and len(errors) == 1 and "locked" in str(w.error)
    lock.rollback()
    w.submit(make_fill("t3"))  # the writer carries on once the database is back
    w.flush()
    w.close()
    assert count(db_url, Fill) == 1


def test_statements_build_for_postgresql() -> None:
    from sqlalchemy.dialects import postgresql

    from pmm.store.statements import Statements

    stmts = Statements("postgresql")
    sql = str(stmts.fill.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert "ON CONFLICT (venue, market, trade_id) DO NOTHING" in sql
    sql = str(stmts.order_upsert.compile(dialect=postgresql.dialect()))  # type: ignore[no-untyped-call]
    assert "ON CONFLICT (client_id) DO UPDATE" in sql and "created_ts = excluded.created_ts" not in sql


def test_unsupported_backend_is_a_config_error() -> None:
    from pmm.errors import ConfigError
    from pmm.store.statements import Statements

    with pytest.raises(ConfigError, match="sqlite"):
        Statements("mysql")


def test_on_error_is_called_for_a_bad_record(db_url, make_fill) -> None:  # type: ignore[no-untyped-def]
    errors: list[BaseException] = []
    w = StoreWriter(db_url, on_error=errors.append)
    w.submit(make_fill("bad", fee="Infinity"))
    with pytest.raises(StoreWriteError):
        w.close()
    assert len(errors) == 1 and "non-finite" in str(errors[0])


def test_max_queued_makes_submit_wait_for_the_writer(db_url, make_fill) -> None:  # type: ignore[no-untyped-def]
    import threading
    import time

    w = StoreWriter(db_url, max_queued=3)
    lock = _lock(db_url)  # the writer waits on its first batch (busy timeout) while this holds
    submitted: list[int] = []

    def submit_all() -> None:
        for i in range(10):
            w.submit(make_fill(f"t{i}"))
            submitted.append(i)

    feeder = threading.Thread(target=submit_all)
    feeder.start()
    time.sleep(0.5)
    assert len(submitted) < 10 and w._queue.qsize() <= 3, submitted  # the feeder waits for the writer
    lock.rollback()
    feeder.join(timeout=10)
    assert submitted == list(range(10))
    w.flush()
    w.close()
    assert count(db_url, Fill) == 10


def test_queue_is_unbounded_by_default(db_url, make_fill) -> None:  # type: ignore[no-untyped-def]
    w = StoreWriter(db_url)
    lock = _lock(db_url)
    for i in range(50):
        w.submit(make_fill(f"t{i}"))  # never waits
    lock.rollback()
    w.flush()
    w.close()
    assert count(db_url, Fill) == 50
