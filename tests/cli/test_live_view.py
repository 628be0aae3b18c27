"""On a terminal `pmm start` draws the live view; Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time

from helpers import REPO, db_url, write_config


def _read_until(fd: int, needles: tuple[str, ...], timeout: float) -> str:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            text = out.decode("utf-8", "replace")
            if all(n in text for n in needles):
                return text
    return out.decode("utf-8", "replace")


def test_live_view_on_a_terminal_then_ctrl_c(tmp_path):
    cfg = write_config(tmp_path, order_refresh_time=60)
    pid, fd = pty.fork()
    if pid == 0:  # child: the bot on a pseudo-terminal
        os.chdir(REPO)
        os.environ["COLUMNS"], os.environ["LINES"] = "160", "60"
        os.execv(sys.executable, [sys.executable, "-m", "pmm.cli", "start", "-c", str(cfg),
                                  "--db", db_url(tmp_path)])
    try:
        screen = _read_until(fd, ("Markets", "Orders", "quote", "Funding", "Session", "Ctrl-C to stop"), 30)
        for section in ("Markets", "Orders", "Funding", "Session", "Ctrl-C to stop"):
            assert section in screen, f"{section!r} missing from the live view:\n{screen[-3000:]}"
        os.kill(pid, signal.SIGINT)
        tail = _read_until(fd, ("stopped: received SIGINT",), 30)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, tail[-2000:]
        assert "stopped: received SIGINT" in tail
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(fd)


# --- the live view in a small terminal, and the progress of a --fast run ---------------------------

from io import StringIO  # noqa: E402
from types import SimpleNamespace  # noqa: E402

from rich.console import Console  # noqa: E402

from pmm.ui.format import fmt_duration  # noqa: E402
from pmm.ui.live import LiveRun  # noqa: E402
from pmm.ui.live_layout import DROP_ORDER  # noqa: E402

T0 = 1_767_225_600.0  # 2026-01-01 00:00:00 UTC


def _payload() -> dict:
    """A busy Hedge-mode bot: six orders (ages past a day), two positions, funding, a wallet."""
    orders = []
    for i, (side, purpose, price, status) in enumerate([
            ("sell", "quote", "101234.5", "open"), ("sell", "take_profit", "100987.25", "partially_filled"),
            ("sell", "quote", "100876.5", "pending_cancel"), ("buy", "quote", "100123.5", "open"),
            ("buy", "stop_loss", "99876.75", "pending_new"), ("buy", "quote", "99765.5", "open")]):
        orders.append({"client_id": f"pmm-034c671f-{i}", "level": i % 3 + 1, "side": side, "purpose": purpose,
                       "price": price, "spread_pct": f"{0.1 * (i + 1):.3f}", "amount": "0.125", "filled": "0.025",
                       "age_s": 93784.2 + i * 3617, "status": status})
    positions = [
        {"market": "BTC-USDT", "side": "long", "amount": "0.375", "entry_price": "100345.65", "leverage": 20,
         "margin_mode": "isolated", "unrealized_pnl": "-123.4567", "liquidation_price": "95123.45",
         "mark_price": "100012.35"},
        {"market": "BTC-USDT", "side": "short", "amount": "0.125", "entry_price": "100912.85", "leverage": 20,
         "margin_mode": "isolated", "unrealized_pnl": "112.5625", "liquidation_price": "105987.55",
         "mark_price": "100012.35"},
    ]
    return {
        "run_id": "034c671f" * 4, "state": "running", "ts": T0 + 3600, "connector": "binance_perpetual",
        "market": "BTC-USDT", "quoting": True, "reason": "",
        "markets": [{"connector": "binance_perpetual", "market": "BTC-USDT", "best_bid": "100012.3",
                     "best_ask": "100012.4", "ref_price": "100012.35", "ref_price_type": "mid_price",
                     "book_ready": True}],
        "assets": [{"asset": "USDT", "total": "10006.9062", "available": "9936.4626", "margin_in_use": "67.7156"}],
        "orders": orders, "positions": positions,
        "funding": {"market": "BTC-USDT", "rate": "0.0000858", "rate_pct": "0.00858", "mark_price": "100012.35",
                    "index_price": "100001.8365", "next_funding_ts": T0 + 7 * 3600 + 1234,
                    "countdown_s": 3600.0, "estimated_payment": "-2.1445"},
        "session": {"fills": 45, "realized_pnl": "13.42", "fees": "6.4224", "funding": "-0.0914",
                    "unrealized_pnl": "-10.8942", "net_pnl": "-3.9880", "volume_quote": "30119.33"},
    }


class _Clock:
    def __init__(self, now: float) -> None:
        self.t = now

    def now(self) -> float:
        return self.t


def _engine(payload: dict, *, virtual: bool = False, duration_s: float | None = None) -> SimpleNamespace:
    return SimpleNamespace(state="running", connector_id=payload["connector"], market=payload["market"],
                           clock=_Clock(payload["ts"]), status=lambda: payload,
                           bundle=SimpleNamespace(pacer=SimpleNamespace(virtual=virtual)),
                           options=SimpleNamespace(duration_s=duration_s))


def _screen(run: LiveRun, width: int = 80, height: int = 24) -> list[str]:
    console = Console(width=width, height=height, file=StringIO(), color_system=None, record=True)
    console.print(run.frame(width, height))
    return console.export_text().rstrip("\n").split("\n")


def _live_run(payload: dict, log_lines: int = 30, **engine_kw) -> LiveRun:
    run = LiveRun(interactive=True)
    for i in range(log_lines):
        run.outputs.terminal.lines.append(f"2026-01-01 00:00:{i:02d} INFO    pmm.orders: log line number {i}")
    run._engine = _engine(payload, **engine_kw)
    run._sim_start, run._wall_start = payload["ts"] - 3600, time.monotonic() - 2.0
    return run


def test_the_live_view_fits_80x24_without_cutting_a_price_or_an_age():
    payload = _payload()
    lines = _screen(_live_run(payload))
    assert len(lines) <= 24 and max(len(line) for line in lines) <= 80, "\n".join(lines)
    body = "\n".join(line for line in lines if not line.startswith(("│", "╭", "╰")))  # all but the log panel
    assert "…" not in body and "..." not in body, body
    words = set(body.split())
    for o in payload["orders"]:
        assert o["price"] in words and o["amount"] in words, (o, body)
        assert fmt_duration(o["age_s"]).split()[-1] in words and fmt_duration(o["age_s"]).split()[0] in words
    for p in payload["positions"]:
        for key in ("amount", "entry_price", "unrealized_pnl", "liquidation_price", "mark_price"):
            assert p[key] in words, (key, body)
    assert "Positions" in body and "Session:" in body and "Ctrl-C to stop" in body


def test_sections_go_in_the_stated_order_as_the_terminal_shrinks():
    payload = _payload()
    run = _live_run(payload, log_lines=12)
    gone: list[str] = []
    markers = {"log": "╭─ log", "assets": "Assets", "funding": "Funding", "markets": "Markets",
               "orders": "pmm-never"}
    for height in range(60, 8, -1):
        screen = "\n".join(_screen(run, 80, height))
        for name, marker in markers.items():
            if name not in gone and name != "orders" and marker not in screen:
                gone.append(name)
        if "orders" not in gone and "more orders" in screen:
            gone.append("orders")
        assert "Positions" in screen and "Session:" in screen and "Ctrl-C to stop" in screen
        if len(screen.split("\n")) > height:  # only once nothing optional is left
            assert gone == list(DROP_ORDER), (height, gone)
    assert gone == list(DROP_ORDER)


def test_a_fast_run_shows_simulated_time_done_and_eta():
    payload = _payload()
    run = _live_run(payload, virtual=True, duration_s=7200.0)
    run._sim_start = payload["ts"] - 3600  # half of --duration done
    screen = "\n".join(_screen(run))
    assert "Simulated 01:00:00 of 02:00:00 (50%)" in screen and "ETA" in screen, screen
    assert "real time" in screen
    real_time = _live_run(payload)  # a real-time run has no progress line
    assert "Simulated" not in "\n".join(_screen(real_time))


def test_a_fast_run_on_a_terminal_shows_progress(tmp_path):
    cfg = write_config(tmp_path)
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(REPO)
        os.environ["COLUMNS"], os.environ["LINES"] = "80", "24"
        os.execv(sys.executable, [sys.executable, "-m", "pmm.cli", "start", "-c", str(cfg), "--fast",
                                  "--duration", "40000", "--db", db_url(tmp_path)])
    try:
        screen = _read_until(fd, ("Simulated", "ETA", "stopped:"), 120)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, screen[-2000:]
        assert "Simulated" in screen and "of 11:06:40" in screen and "ETA" in screen, screen[-3000:]
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.close(fd)


def test_plain_output_has_no_progress_line(tmp_path):
    import subprocess

    cfg = write_config(tmp_path)
    done = subprocess.run([sys.executable, "-m", "pmm.cli", "start", "-c", str(cfg), "--fast", "--duration", "3600",
                           "--plain", "--db", db_url(tmp_path)], cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Simulated" not in done.stdout and "ETA" not in done.stdout and "placing" in done.stdout
