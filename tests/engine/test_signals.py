"""Ctrl-C and SIGTERM stop `pmm start` cleanly: exit 0, every own order cancelled at the venue."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from helpers import REPO, db_url, write_config
from pmm.store import queries
from pmm.store.db import open_engine


def _wait_for(lines: queue.Queue[str], needle: str, count: int, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    hits = 0
    while hits < count:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(f"did not see {count}x {needle!r} in time; output so far:\n" + "".join(seen))
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        seen.append(line)
        hits += needle in line
    return seen


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_cancels_every_own_order_and_exits_0(tmp_path, sig):
    # Quotes stay resting (no refresh for a minute), so there is something to cancel.
    cfg = write_config(tmp_path, order_refresh_time=60)
    url = db_url(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "start", "-c", str(cfg), "--db", url, "--plain"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    try:
        _wait_for(lines, "placing ", 2, timeout=30)
        time.sleep(0.5)  # let the venue accept them
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    db = open_engine(url)
    run = queries.latest_run(db)
    assert str(run.status) == "stopped"
    assert signal.Signals(sig).name in (run.exit_reason or "")
    assert queries.open_orders(db, run.run_id) == []
    state = queries.sim_account(db, "sim_perpetual").data()
    assert state["orders"] == [], "an own order was left resting at the simulated venue"
