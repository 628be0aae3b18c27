"""Bybit's dead-man switch, Disconnection Protection (DCP), with the bot as a process against the
Bybit-dialect venue: armed by the bot, it cancels the bot's orders once the bot is killed; a private
connection that is cut and comes back within the window keeps DCP quiet; an account without DCP
gets one warning and the bot goes on with its own disconnect safety."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from helpers import REPO, db_url, write_config
from venue_servers import ServerThread, credentials_env, running_server

from pmm.connectors.bybit_perpetual.server.orders import view

DERIVATIVES = "DERIVATIVES"
NOT_AVAILABLE = "Disconnection Protection (DCP) is not available to this account"


class Bot:
    """`pmm start` on the Bybit venue, its output read line by line in the background."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.output = ""
        self._lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        stdout = proc.stdout
        threading.Thread(target=lambda: [self._lines.put(line) for line in stdout], daemon=True).start()

    def read_until(self, predicate: Callable[[str], bool], timeout: float = 60.0) -> str:
        """Read output until `predicate(all output so far)` holds."""
        deadline = time.monotonic() + timeout
        while not predicate(self.output):
            left = deadline - time.monotonic()
            assert left > 0 and self.proc.poll() is None, f"not seen; bot output:\n{self.output[-3000:]}"
            try:
                self.output += self._lines.get(timeout=min(left, 1.0))
            except queue.Empty:
                pass
        return self.output


@contextmanager
def bot(tmp_path: Path, server: ServerThread, window_s: float, refresh_s: float = 60) -> Iterator[Bot]:
    cfg = write_config(tmp_path, derivative="bybit_perpetual", order_refresh_time=refresh_s,
                       risk=f"{{dead_man_switch_s: {window_s}}}",
                       connector=f"{{rest_url: '{server.rest_url}', ws_url: '{server.ws_url}'}}")
    env = dict(os.environ, **credentials_env("bybit_perpetual"))
    proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "start", "-c", str(cfg), "--plain",
                             "--db", db_url(tmp_path)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        yield Bot(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def wait_for(server: ServerThread, predicate: Callable[[Any], Any], timeout: float = 30.0) -> None:
    """Wait until `predicate(the server)` holds, evaluated on the server's loop."""
    deadline = time.monotonic() + timeout
    while not server.call(lambda: predicate(server.server)):
        assert time.monotonic() < deadline, "the venue never reached the expected state"
        time.sleep(0.1)


def history(server: ServerThread) -> list[str]:
    return server.call(lambda: [what for what, _, _ in server.server.dcp.history])


def dcp_cancels(server: ServerThread) -> list[str]:
    return server.call(lambda: [r.client_id for r in server.server.desk.by_id.values()
                                if view(r, server.server.symbols)["cancelType"] == "CancelByDCP"])


def quoting(b: Bot, server: ServerThread) -> None:
    """The bot places its quotes and they rest on the venue, with DCP armed and guarded."""
    b.read_until(lambda out: out.count("placing ") >= 2)
    wait_for(server, lambda s: s.exchange.open_orders())


def test_orders_are_cancelled_by_bybit_dcp_after_the_bot_is_killed(tmp_path):
    with running_server("bybit_perpetual") as server, bot(tmp_path, server, 3) as b:
        quoting(b, server)
        wait_for(server, lambda s: s.dcp.windows == {DERIVATIVES: 3} and s.dcp.guarded() == 1)
        b.proc.send_signal(signal.SIGKILL)  # no chance to cancel anything itself
        b.proc.wait(timeout=10)
        wait_for(server, lambda s: not s.exchange.open_orders(), timeout=60)
        assert server.call(lambda: list(server.server.dcp.fired)) == [DERIVATIVES]
        assert history(server) == ["started", "fired"]
        assert dcp_cancels(server), "the bot's quotes end with cancelType CancelByDCP"


def test_a_private_connection_back_within_the_window_keeps_dcp_quiet(tmp_path):
    # A generous window: the reconnection must come back well within it even on a loaded machine.
    with running_server("bybit_perpetual") as server, bot(tmp_path, server, 60) as b:
        quoting(b, server)
        wait_for(server, lambda s: s.dcp.windows == {DERIVATIVES: 60} and s.dcp.guarded() == 1)
        assert server.call(lambda: server.server.faults.drop_sockets("private")) == 1
        wait_for(server, lambda s: [what for what, _, _ in s.dcp.history] == ["started", "resumed"], timeout=60)
        b.read_until(lambda out: "account reconnected" in out)
        wait_for(server, lambda s: s.dcp.guarded() == 1)
        assert server.call(lambda: (dict(server.server.dcp.deadlines), list(server.server.dcp.fired))) == ({}, [])
        # (The bot pulled its quotes itself while the stream was down: cancelled by the user, not by DCP.)
        assert dcp_cancels(server) == []
        assert b.proc.poll() is None


def test_an_account_without_dcp_warns_once_and_keeps_its_own_disconnect_safety(tmp_path):
    with running_server("bybit_perpetual") as server:
        server.call(lambda: setattr(server.server.dcp, "enabled", False))
        with bot(tmp_path, server, 3, refresh_s=5) as b:
            out = b.read_until(lambda out: NOT_AVAILABLE in out)
            assert "retCode 10005" in out and "enabled for the account by Bybit" in out
            quoting(b, server)
            assert server.call(lambda: (dict(server.server.dcp.windows), server.server.dcp.guarded())) == ({}, 0)
            # Its own disconnect safety: the private stream goes, the bot pulls its quotes and stops
            # quoting until the stream is back, then quotes again (after order_refresh_time, 5 s).
            assert server.call(lambda: server.server.faults.drop_sockets("private")) == 1
            b.read_until(lambda out: "account disconnected" in out and "account reconnected" in out)
            assert "account connection down" in b.output  # the reason its quotes were pulled
            placed = b.output.count("placing ")
            b.read_until(lambda out: out.count("placing ") >= placed + 2)
            # Meanwhile the engine re-armed every second: the gateway did not ask again, one warning only.
            assert b.output.count(NOT_AVAILABLE) == 1 and b.proc.poll() is None
