"""The venues' cancel-all countdowns (Binance's countdownCancelAll, OKX's cancel-all-after): armed
by the bot, they cancel our orders when the bot dies."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time

from helpers import REPO, db_url, write_config
from venue_servers import credentials_env, running_server


def test_orders_are_cancelled_by_the_venue_after_the_bot_is_killed(tmp_path):
    with running_server("binance_perpetual") as server:
        cfg = write_config(tmp_path, derivative="binance_perpetual", order_refresh_time=60,
                           risk="{dead_man_switch_s: 3}",
                           connector=f"{{rest_url: '{server.rest_url}', ws_url: '{server.ws_url}'}}")
        env = dict(os.environ, **credentials_env("binance_perpetual"))
        proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "start", "-c", str(cfg), "--plain",
                                 "--db", db_url(tmp_path)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
        try:
            seen = ""
            deadline = time.monotonic() + 30
            while seen.count("placing ") < 2 and time.monotonic() < deadline:
                seen += lines.get(timeout=30)
            time.sleep(1.0)
            assert server.call(lambda: server.exchange.open_orders()), "the bot's quotes should be resting"
            assert server.call(lambda: server.server.countdown.armed()), "the countdown must be armed"
            proc.send_signal(signal.SIGKILL)  # no chance to cancel anything itself
            proc.wait(timeout=10)
            deadline = time.monotonic() + 10
            while server.call(lambda: server.exchange.open_orders()) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert server.call(lambda: server.exchange.open_orders()) == []
            assert server.call(lambda: list(server.server.countdown.fired)) == ["BTCUSDT"]
        finally:
            if proc.poll() is None:
                proc.kill()


def test_okx_cancel_all_after_cancels_our_orders_after_the_bot_is_killed(tmp_path):
    venue = "okx_perpetual"
    with running_server(venue) as server:
        cfg = write_config(tmp_path, derivative=venue, order_refresh_time=60, risk="{dead_man_switch_s: 3}",
                           connector=f"{{rest_url: '{server.rest_url}', ws_url: '{server.ws_url}'}}")
        env = dict(os.environ, **credentials_env(venue))
        proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "start", "-c", str(cfg), "--plain",
                                 "--db", db_url(tmp_path)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
        try:
            seen = ""
            deadline = time.monotonic() + 30
            while seen.count("placing ") < 2 and time.monotonic() < deadline:
                seen += lines.get(timeout=30)
            time.sleep(1.0)
            assert server.call(lambda: server.exchange.open_orders()), "the bot's quotes should be resting"
            armed = server.call(lambda: server.server.dead_man.deadline)
            # OKX's shortest cancel-all-after is 10 s: the bot's 3 s is raised to it.
            assert armed is not None and armed - time.time() > 5, "cancel-all-after must be armed (10 s)"
            proc.send_signal(signal.SIGKILL)  # no chance to cancel anything itself
            proc.wait(timeout=10)
            deadline = time.monotonic() + 20
            while server.call(lambda: server.exchange.open_orders()) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert server.call(lambda: server.exchange.open_orders()) == []
            assert server.call(lambda: server.server.dead_man.fired) == 1
        finally:
            if proc.poll() is None:
                proc.kill()
