"""What `status` says (issue 9 §4): the reason a guard gives is worded as of now, not as of the
last evaluation; "Not quoting:" is not doubled; a crashed run does not say "Quoting."."""

from __future__ import annotations

import asyncio
import json
import queue
import re
import signal
import subprocess
import sys
import threading

from rich.console import Console
from typer.testing import CliRunner

from helpers import REPO, db_url, write_config
from pmm.cli import app
from pmm.config import load_config
from pmm.connectors.sim_perpetual.build import build
from pmm.core.events import ConnectionChanged
from pmm.engine.engine import Engine, EngineOptions
from pmm.engine.recorder import NullRecorder
from pmm.engine.risk import RiskLimits
from pmm.strategy import PerpetualMarketMaking
from pmm.ui.status_view import render_status


class _SilentAfter:
    """Forwards market data until `cut_at`, then the market stream goes down and nothing arrives."""

    def __init__(self, inner, clock, cut_at: float) -> None:
        self._inner, self._clock, self._cut_at = inner, clock, cut_at
        self.connector_id = inner.connector_id
        self.down_at: float | None = None

    def trading_rules(self, market):
        return self._inner.trading_rules(market)

    async def stop(self) -> None:
        await self._inner.stop()

    async def start(self, markets, emit) -> None:
        def filtered(event) -> None:
            now = self._clock.now()
            if now < self._cut_at:
                emit(event)
            elif self.down_at is None:
                self.down_at = now
                emit(ConnectionChanged(self.connector_id, "market", False, "socket closed", now, now))

        await self._inner.start(markets, filtered)


def _render(payload) -> str:
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(render_status(payload))
    return console.export_text()


def test_a_connection_down_for_20_s_says_so_and_not_quoting_is_said_once(tmp_path):
    cfg = load_config(write_config(tmp_path, order_refresh_time=1000))
    bundle = build(cfg, fast=True)
    cut = bundle.clock.now() + 60
    bundle.feed = _SilentAfter(bundle.feed, bundle.clock, cut)
    params = cfg.to_strategy_params()
    engine = Engine(bundle=bundle, strategy=PerpetualMarketMaking(params, bundle.feed.trading_rules(params.market)),
                    params=params, recorder=NullRecorder(), run_id="status00",
                    options=EngineOptions(duration_s=600, status_interval_s=600),
                    risk=RiskLimits(stale_data_s=0, disconnect_cancel_s=0))
    feed, payloads = bundle.feed, []

    async def main():
        task = asyncio.create_task(engine.run())
        while feed.down_at is None or engine.clock.now() < feed.down_at + 20:
            await asyncio.sleep(0)
        payloads.append((engine.status(), engine.clock.now() - feed.down_at))
        engine.request_stop("test over")
        await task

    asyncio.run(main())
    status, elapsed = payloads[0]
    assert status["quoting"] is False
    down_for = int(re.search(r"market connection down for (\d+) s", status["reason"]).group(1))
    assert elapsed >= 20 and abs(down_for - elapsed) <= 1, (status["reason"], elapsed)
    text = _render(status)
    assert f"Not quoting: sim_perpetual market connection down for {down_for} s" in text, text
    assert text.lower().count("not quoting") == 1, text


def test_a_crashed_run_does_not_say_quoting(tmp_path):
    cfg = write_config(tmp_path, order_refresh_time=60)
    url = db_url(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "start", "-c", str(cfg), "--db", url, "--plain"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    runner = CliRunner()
    try:
        seen = ""
        while "placing " not in seen:
            seen += lines.get(timeout=60)
        for _ in range(300):  # until a status snapshot of the quoting bot is in the store
            data = json.loads(runner.invoke(app, ["status", "--json", "--db", url]).stdout)
            if data["status"].get("quoting"):
                break
            threading.Event().wait(0.1)
        assert data["status"]["quoting"] and data["run"]["state"] == "running"
    finally:
        proc.send_signal(signal.SIGKILL)  # a crash: no clean stop is recorded
        proc.wait(timeout=30)
    data = json.loads(runner.invoke(app, ["status", "--json", "--db", url]).stdout)
    assert data["run"]["state"] == "crashed" and data["status"]["quoting"] is False
    out = runner.invoke(app, ["status", "--db", url]).output
    assert "CRASHED" in out and "Quoting." not in out and "Not quoting: crashed" in out, out


def test_not_quoting_is_said_once_whatever_the_reason_starts_with():
    for reason in ("not quoting: user connection down for 3 s", "not quoting", "Not quoting: stale"):
        text = _render({"quoting": False, "reason": reason})
        assert text.lower().count("not quoting") == 1, text
    assert "Not quoting: user connection down for 3 s" in _render(
        {"quoting": False, "reason": "not quoting: user connection down for 3 s"})
