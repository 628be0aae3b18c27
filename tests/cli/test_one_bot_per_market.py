"""`pmm start` / `status` / `stop` and the store's bots: one bot per account and market, a crashed
bot never blocks a start, and `pmm stop` goes through the store instead of signalling a stored pid."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from helpers import REPO, db_url, write_config
from pmm.cli import app
from pmm.core.clock import LiveClock
from pmm.store import bots, queries
from pmm.store.db import open_engine
from pmm.store.liveness import ProcessIdentity
from pmm.store.records import RunEnded, RunStarted, RunStatus
from pmm.store.writer import StoreWriter


class Bot:
    """`pmm start` in a subprocess, its output lines on a queue."""

    def __init__(self, config, url: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "start", "-c", str(config), "--db", url,
                                      "--plain"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(line) for line in self.proc.stdout], daemon=True).start()

    def wait_for(self, needle: str, timeout: float = 60) -> None:
        seen = ""
        while needle not in seen:
            seen += self.lines.get(timeout=timeout)


@pytest.fixture
def bot(tmp_path) -> Iterator[tuple[Bot, str]]:
    url = db_url(tmp_path)
    running = Bot(write_config(tmp_path, order_refresh_time=60), url)
    try:
        running.wait_for("placing ")
        yield running, url
    finally:
        if running.proc.poll() is None:
            running.proc.kill()
        running.proc.wait(30)


def _invoke(*args: str) -> object:
    return CliRunner().invoke(app, list(args))


def test_a_second_start_for_the_same_account_and_market_is_refused_naming_the_running_bot(bot, tmp_path):
    running, url = bot
    first = queries.latest_run(open_engine(url))
    # (--duration: if it were not refused, it would not run for ever inside the test.)
    second = _invoke("start", "-c", str(write_config(tmp_path)), "--db", url, "--plain", "--duration", "5")
    assert second.exit_code == 2, second.output
    assert f"run {first.run_id[:8]} on BTC-USDT (pid {running.proc.pid} on " in second.output
    assert f"pmm stop --run {first.run_id[:8]}" in second.output
    # The first bot is untouched, and status and stop still find it.
    assert [r.run_id for r in queries.list_runs(open_engine(url))] == [first.run_id]
    status = json.loads(_invoke("status", "--json", "--db", url).output)
    assert status["run"]["run_id"] == first.run_id and status["run"]["state"] == "running"
    stopped = _invoke("stop", "--db", url, "--timeout", "60")
    assert stopped.exit_code == 0 and f"Run {first.run_id[:8]} stopped: asked by `pmm stop`." in stopped.output
    assert running.proc.wait(30) == 0


def test_a_crashed_bot_does_not_block_the_next_start(bot, tmp_path):
    running, url = bot
    crashed = queries.latest_run(open_engine(url)).run_id
    running.proc.send_signal(signal.SIGKILL)
    running.proc.wait(30)
    after = _invoke("start", "-c", str(write_config(tmp_path)), "--db", url, "--plain", "--duration", "2")
    assert after.exit_code == 0, after.output
    runs = {r.run_id: r for r in queries.list_runs(open_engine(url))}
    assert runs[crashed].status is RunStatus.CRASHED
    assert _invoke("status", "--db", url).output.startswith(f"Run {queries.latest_run(open_engine(url)).run_id[:8]}")


@pytest.fixture
def stranger() -> Iterator[subprocess.Popen]:
    """Some other program, whose pid a store may hold."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


def test_stop_never_signals_a_pid_the_store_recorded(tmp_path, stranger):
    # A run recorded as running (an older pmm, or a bot that died) whose pid now belongs to another
    # program: nothing holds its lease, so nothing is running and nothing is signalled.
    url = db_url(tmp_path)
    with StoreWriter(url) as writer:
        writer.submit(RunStarted("0ldrun00" * 4, 1.0, stranger.pid, "sim_perpetual", "BTC-USDT", "q.yml", ""))
    result = _invoke("stop", "--db", url, "--timeout", "2")
    assert "No running bot" in result.output and "is crashed" in result.output
    assert stranger.poll() is None, "pmm stop signalled a process by its stored pid"


def test_stop_reaches_a_bot_on_another_host_through_the_store(tmp_path, stranger):
    url = db_url(tmp_path)
    run_id = "remote00" * 4
    with StoreWriter(url) as writer:
        writer.submit(RunStarted(run_id, 1.0, stranger.pid, "binance_perpetual", "ETH-USDT", "e.yml", ""))
    # The bot on the other host: its pid here is another program's. It learns of the stop request
    # through the store (its keeper), records its stop and gives the lease back.
    wall = LiveClock()
    other_host = ProcessIdentity(host="other-host", boot_id="b00t", pid=stranger.pid, start="1")
    db = open_engine(url)
    lease = bots.BotLease("binance_perpetual", "acct", "ETH-USDT", run_id, "ETH-USDT", other_host, wall.now(),
                          wall.now())
    assert bots.claim(db, lease, here=other_host, now=wall.now()) is None
    keeper = bots.LeaseKeeper(open_engine(url), run_id, wall, poll_s=0.05)

    def remote_bot_stops(flatten: bool) -> None:
        with StoreWriter(url) as writer:
            writer.submit(RunEnded(run_id, 2.0, RunStatus.STOPPED, "asked by `pmm stop --flatten`" if flatten else "?"))
        threading.Thread(target=keeper.close, daemon=True).start()

    keeper.start(remote_bot_stops)
    status = json.loads(_invoke("status", "--json", "--db", url).output)
    assert status["run"]["state"] == "running"
    result = _invoke("stop", "--flatten", "--db", url, "--timeout", "60")
    assert result.exit_code == 0, result.output
    assert f"Run {run_id[:8]} stopped: asked by `pmm stop --flatten`." in result.output
    assert stranger.poll() is None, "pmm stop signalled a pid of another host"


def test_several_running_bots_need_a_run_id_to_stop(tmp_path):
    url = db_url(tmp_path)
    db = open_engine(url)
    here = ProcessIdentity(host="other-host", boot_id="b00t", pid=os.getpid(), start="1")
    now = LiveClock().now()
    for run_id, market in (("aaaa1111" * 4, "BTC-USDT"), ("bbbb2222" * 4, "ETH-USDT")):
        with StoreWriter(url) as writer:
            writer.submit(RunStarted(run_id, 1.0, 1, "binance_perpetual", market, "c.yml", ""))
        bots.claim(db, bots.BotLease("binance_perpetual", "acct", market, run_id, market, here, now, now),
                   here=here, now=now)
    result = _invoke("stop", "--db", url, "--timeout", "1")
    assert result.exit_code == 2
    assert "2 bots are running" in result.output and "aaaa1111 (binance_perpetual BTC-USDT)" in result.output
    assert "--run RUN_ID" in result.output
    unknown = _invoke("stop", "--db", url, "--run", "cccc", "--timeout", "1")
    assert unknown.exit_code == 2 and "starting with `cccc`" in unknown.output
    # With --run it asks that one only (nobody answers here: the request stays in the store).
    timed_out = _invoke("stop", "--db", url, "--run", "bbbb", "--timeout", "1")
    assert "did not stop within 1 s" in timed_out.output
    assert {b.run_id[:4]: b.stop_request for b in bots.leases(db)} == {"aaaa": None, "bbbb": bots.STOP}


def test_status_and_stop_read_a_read_only_store_from_before_the_bot_leases(tmp_path):
    from sqlalchemy import text

    url = db_url(tmp_path, "old.sqlite")
    with StoreWriter(url) as writer:
        writer.submit(RunStarted("0ldrun00" * 4, 1.0, 1, "sim_perpetual", "BTC-USDT", "q.yml", ""))
        writer.submit(RunEnded("0ldrun00" * 4, 2.0, RunStatus.STOPPED, "received SIGTERM"))
    db = open_engine(url)
    with db.begin() as conn:
        conn.execute(text("DROP TABLE bot_leases"))  # what a store written by an older pmm lacks
    db.dispose()
    read_only = f"sqlite:///file:{tmp_path / 'old.sqlite'}?mode=ro&uri=true"
    status = _invoke("status", "--json", "--db", read_only)
    assert status.exit_code == 0, status.output
    assert json.loads(status.output)["run"]["state"] == "stopped"
    stop = _invoke("stop", "--db", read_only)
    assert "No running bot" in stop.output and "is stopped" in stop.output
