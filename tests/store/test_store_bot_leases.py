"""The store's bots: one lease per account and market, liveness by process identity or heartbeat."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import replace

import pytest

from pmm.core.clock import VirtualClock
from pmm.store import bots, queries
from pmm.store.db import open_engine
from pmm.store.liveness import STALE_AFTER_S, ProcessIdentity, is_alive, process_start, this_process
from pmm.store.records import RunStarted, RunStatus
from pmm.store.writer import StoreWriter

NOW = 1_800_000_000.0


def _lease(run_id: str, process: ProcessIdentity, *, market: str = "BTC-USDT", account: str = "acct-1",
           scope: str | None = None, alive_ts: float = NOW) -> bots.BotLease:
    return bots.BotLease(connector="binance_perpetual", account=account, scope=scope or market, run_id=run_id,
                         market=market, process=process, started_ts=alive_ts, alive_ts=alive_ts)


@pytest.fixture
def db(db_url):
    engine = open_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    proc.kill()
    proc.wait()


def _exited_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_second_bot_for_the_same_account_and_market_is_refused_while_the_first_lives(db):
    here = this_process()
    first = _lease("run-a", here)
    assert bots.claim(db, first, here=here, now=NOW) is None
    holder = bots.claim(db, _lease("run-b", here), here=here, now=NOW)
    assert holder is not None and holder.run_id == "run-a" and holder.process == here
    # Another market, or another account, of the same connector: fine.
    assert bots.claim(db, _lease("run-c", here, market="ETH-USDT"), here=here, now=NOW) is None
    assert bots.claim(db, _lease("run-d", here, account="acct-2"), here=here, now=NOW) is None
    assert [b.run_id for b in bots.live_bots(db, here=here, now=NOW)] == ["run-a", "run-c", "run-d"]
    bots.release(db, "run-a")
    assert bots.claim(db, _lease("run-b", here), here=here, now=NOW) is None


def test_a_bot_holding_its_whole_account_blocks_every_market(db):
    here = this_process()
    assert bots.claim(db, _lease("sim-a", here, scope=bots.WHOLE_ACCOUNT), here=here, now=NOW) is None
    holder = bots.claim(db, _lease("sim-b", here, market="ETH-USDT", scope=bots.WHOLE_ACCOUNT), here=here, now=NOW)
    assert holder is not None and holder.market == "BTC-USDT"


def test_a_crashed_bot_on_this_host_is_replaced_at_once_and_marked_crashed(db, db_url):
    here = this_process()
    with StoreWriter(db_url) as writer:
        writer.submit(RunStarted("run-dead", NOW, 1, "binance_perpetual", "BTC-USDT", "c.yml", ""))
    dead = replace(here, pid=_exited_pid(), start="1")
    assert bots.claim(db, _lease("run-dead", dead), here=here, now=NOW) is None
    # Its heartbeat is fresh, but its process is gone: no need to wait.
    assert bots.claim(db, _lease("run-new", here), here=here, now=NOW) is None
    run = queries.get_run(db, "run-dead")
    assert run.status is RunStatus.CRASHED and "without a clean stop" in run.exit_reason


def test_a_pid_reused_by_another_program_is_not_the_bot(sleeper):
    here = this_process()
    start = process_start(sleeper.pid)
    assert start  # Linux: the kernel's start time of the process
    alive = replace(here, pid=sleeper.pid, start=start)
    assert is_alive(alive, NOW, here=here, now=NOW)
    # The bot that had this pid started at another time: the process now holding the pid is not it.
    assert not is_alive(replace(alive, start=str(int(start) - 1)), NOW, here=here, now=NOW)


def test_a_zombie_is_not_alive():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while process_start(proc.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)  # exited, but not reaped yet: a zombie
    assert process_start(proc.pid) is None
    proc.wait()


def test_a_bot_on_another_host_is_judged_by_its_heartbeat(db):
    here = this_process()
    remote = ProcessIdentity(host="other-host", boot_id="b00t", pid=here.pid, start=here.start)
    assert bots.claim(db, _lease("run-remote", remote), here=here, now=NOW) is None
    # Its pid here means nothing; its heartbeat is fresh: alive.
    holder = bots.claim(db, _lease("run-b", here), here=here, now=NOW + STALE_AFTER_S - 1)
    assert holder is not None and holder.run_id == "run-remote"
    # No heartbeat for STALE_AFTER_S: it is gone.
    assert bots.claim(db, _lease("run-b", here), here=here, now=NOW + STALE_AFTER_S + 1) is None


def test_the_keeper_beats_and_passes_a_stop_request_on(db, db_url):
    here = this_process()
    assert bots.claim(db, _lease("run-k", here), here=here, now=NOW) is None
    clock = VirtualClock(NOW)
    keeper = bots.LeaseKeeper(open_engine(db_url), "run-k", clock, poll_s=0.02, heartbeat_s=5)
    asked: list[bool] = []
    got_it = threading.Event()
    keeper.start(lambda flatten: (asked.append(flatten), got_it.set()))
    try:
        clock.advance_to(NOW + 6)
        deadline = time.monotonic() + 30
        while bots.leases(db)[0].alive_ts != NOW + 6 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert bots.leases(db)[0].alive_ts == NOW + 6
        assert bots.request_stop(db, "run-k", flatten=True)
        assert got_it.wait(30)
        assert asked == [True]
    finally:
        keeper.close()
    assert bots.leases(db) == []
    assert not bots.request_stop(db, "run-k", flatten=False)


def test_on_a_shared_postgresql_store_a_bot_of_another_host_is_refused_and_stopped_through_the_store(tmp_path):
    pytest.importorskip("psycopg", reason="the PostgreSQL driver (psycopg) is not installed")
    from postgres_server import ENV_URL, postgres_url

    from pmm.store.schema import Base

    with postgres_url() as url:
        if url is None:
            pytest.skip(f"no PostgreSQL server programs on this machine and {ENV_URL} is not set")
        db = open_engine(url, create_tables=False)
        Base.metadata.drop_all(db)
        Base.metadata.create_all(db)
        here = this_process()
        there = ProcessIdentity(host="host-b", boot_id="b00t", pid=here.pid, start="1")
        wall = VirtualClock(NOW)
        # The bot on host B: its pid here means nothing, its heartbeat says it lives.
        assert bots.claim(db, _lease("run-b", there), here=there, now=NOW) is None
        keeper = bots.LeaseKeeper(open_engine(url, create_tables=False), "run-b", wall, poll_s=0.02)
        asked = threading.Event()
        keeper.start(lambda _flatten: asked.set())
        try:
            holder = bots.claim(db, _lease("run-a", here), here=here, now=NOW + 1)
            assert holder is not None and holder.process.host == "host-b"
            assert bots.request_stop(db, "run-b", flatten=False)
            assert asked.wait(30), "the bot of host B did not see the stop request"
        finally:
            keeper.close()
        assert bots.claim(db, _lease("run-a", here), here=here, now=NOW + 2) is None
        db.dispose()
