"""The README's walk-through, in its order, on one store: a real-time start, a simulated day with
--fast (which leaves the simulated account's clock ahead of the wall clock), status, balance,
history, then a real-time bot that must quote at once and `pmm stop` from another terminal."""

from __future__ import annotations

import os
import queue
import shlex
import subprocess
import sys
import threading
import time

from helpers import REPO
from pmm.core.clock import LiveClock
from pmm.core.model import OrderStatus
from pmm.store import queries
from pmm.store.db import open_engine
from test_readme import COMMANDS

ACCEPTED = {OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED}


def _pmm(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pmm.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_the_readme_walk_through_in_its_order(tmp_path):
    url = f"sqlite:///{tmp_path / 'walk.sqlite'}"
    env = dict(os.environ, PMM_DB=url)
    # `pmm --version` reads nothing and writes nothing, `record` and `backtest` touch no store: not steps
    # of the walk-through.
    steps = [args for c in COMMANDS if (args := shlex.split(c)[1:]) != ["--version"]
             and args[0] not in ("record", "backtest")]
    assert [s[0] for s in steps] == ["start", "start", "start", "status", "balance", "history", "stop"]
    for args in steps[:-1]:
        if args[0] == "start":
            # As tests/test_readme.py: the simulated day is shortened, the real-time run too.
            if "--duration" in args:
                args[args.index("--duration") + 1] = "3600"
            else:
                args += ["--duration", "2"]
            args += ["--plain"]
        done = _pmm(args, env)
        assert done.returncode == 0, done.stdout + done.stderr
    db = open_engine(url)
    simulated_now = queries.sim_account(db, "sim_perpetual").data()["now"]
    assert simulated_now > LiveClock().now() + 1800, "the --fast runs leave the simulated account ahead"

    earlier = {r.run_id for r in queries.list_runs(db)}
    # "Stops the running bot of this store from another terminal": a real-time bot first.
    bot = subprocess.Popen([sys.executable, "-m", "pmm.cli", "start", "-c", "configs/quickstart.yml", "--plain"],
                           cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in bot.stdout], daemon=True).start()
    try:
        seen = ""
        while "placing " not in seen:
            seen += lines.get(timeout=60)
        run = next(r for r in queries.list_runs(db) if r.run_id not in earlier)
        # At once: the venue accepts its orders (they are not left waiting for the wall clock to
        # catch up with the simulated account, then settled as "not open at the venue").
        deadline = time.monotonic() + 60
        accepted = []
        while not accepted and time.monotonic() < deadline:
            accepted = [e for e in queries.order_events(db, run_id=run.run_id) if e.status in ACCEPTED]
            time.sleep(0.2)
        assert accepted, f"no order of the real-time run was accepted by the simulated venue:\n{seen}"
        assert accepted[0].ts - run.started_ts < 10, "quoted at once, on the simulated account's time"
        stopped = _pmm(steps[-1], env)
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        assert f"Run {run.run_id[:8]} stopped" in stopped.stdout
        assert bot.wait(60) == 0
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
    output = seen + "".join(lines.queue)
    assert "not open at the venue" not in output, output
    assert "ahead of the wall clock (a --fast run)" in output
