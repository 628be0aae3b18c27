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
