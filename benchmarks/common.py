"""What every benchmark returns: figures, each beside a baseline measured in the same run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


@dataclass
class Figure:
    """One measured number. `ratio` is value / baseline; `better` says which way is good."""

    key: str  # stable id in the JSON, e.g. "book.msgs_per_s"
    label: str
    value: float
    unit: str
    baseline_label: str
    baseline: float
    better: str  # "higher" or "lower"
    goal: float | None = None  # in `unit`; None if the issue sets none
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        return self.value / self.baseline if self.baseline else float("nan")

    @property
    def goal_met(self) -> bool | None:
        if self.goal is None:
            return None
        return self.value >= self.goal if self.better == "higher" else self.value <= self.goal

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"ratio": self.ratio, "goal_met": self.goal_met}


@dataclass
class Section:
    """One numbered benchmark of the issue: its figures, or why it did not run."""

    number: int
    name: str
    figures: list[Figure] = field(default_factory=list)
    status: str = "ok"  # "ok", "not built", "failed"
    note: str = ""
    checks: dict[str, Any] = field(default_factory=dict)  # correctness checks (hash match, ...)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "name": self.name,
            "status": self.status,
            "note": self.note,
            "checks": self.checks,
            "seconds": round(self.seconds, 3),
            "figures": [f.to_json() for f in self.figures],
        }


def pmm_command() -> list[str]:
    """How to run the `pmm` entry point of this environment (its console script if installed)."""
    script = VENV_BIN / "pmm"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from pmm.cli import main; main()"]


def child_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONSTARTUP", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    env["COLUMNS"] = "120"
    env.update(extra)
    return env


def wait_rusage(proc: subprocess.Popen[Any]) -> tuple[int, float]:
    """Wait for `proc`; (exit status, ru_maxrss in MB: includes the parent's pages before exec)."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss / 1024.0


def wall(cmd: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS MB) of one run of `cmd`; raises if it fails."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env or child_env(), cwd=cwd)
    code, rss = wait_rusage(proc)
    elapsed = time.perf_counter() - t0
    if code != 0:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        raise RuntimeError(f"{' '.join(cmd)} exited {code}: {err[-2000:]}")
    if proc.stderr:
        proc.stderr.close()
    return elapsed, rss


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


@dataclass
class BotRun:
    """One `pmm start` in a child process, its output lines time-stamped by the parent."""

    cmd: list[str]
    started: float = 0.0  # perf_counter at spawn
    lines: list[tuple[float, str]] = field(default_factory=list)
    exited: float = 0.0
    code: int = 0
    peak_rss_mb: float = 0.0  # the last VmHWM read while it ran (sample_rss_every), else wait4's
    rss_samples: list[tuple[float, float]] = field(default_factory=list)  # (time, VmRSS MB)

    def first(self, needle: str) -> float | None:
        """Seconds from spawn to the first output line containing `needle`."""
        for t, line in self.lines:
            if needle in line:
                return t - self.started
        return None

    @property
    def wall(self) -> float:
        return self.exited - self.started

    def tail(self, n: int = 20) -> str:
        return "\n".join(line for _, line in self.lines[-n:])


def vm_rss_mb(pid: int, field: str = "VmRSS") -> float | None:
    """`field` (VmRSS: resident now, VmHWM: peak resident) of `pid` from /proc (Linux), in MB."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


def idle_python_peak_mb(seconds: float = 0.5) -> float:
    """Peak RSS (VmHWM) of a bare interpreter that stays alive long enough to be read."""
    proc = subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"], env=child_env())
    peak = 0.0
    while proc.poll() is None:
        peak = max(peak, vm_rss_mb(proc.pid, "VmHWM") or 0.0)
        time.sleep(0.02)
    return peak


def run_bot(args: list[str], *, cwd: Path | None = None, sample_rss_every: float | None = None,
            stop_when: str | None = None, stop_delay: float = 0.0, timeout: float = 1800.0) -> BotRun:
    """Run `pmm <args>`, time-stamp each output line, optionally sample VmRSS, and wait for exit.

    `stop_when`: send SIGINT (the bot's clean stop) `stop_delay` seconds after the first line
    containing it.
    """
    import signal
    import threading

    run = BotRun(cmd=pmm_command() + args)
    run.started = time.perf_counter()
    proc = subprocess.Popen(run.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=child_env(),
                            cwd=cwd, text=True, bufsize=1)
    done = threading.Event()

    hwm = [0.0]

    def sample() -> None:
        while not done.wait(sample_rss_every):
            rss = vm_rss_mb(proc.pid)
            if rss is not None:
                run.rss_samples.append((time.perf_counter(), rss))
                hwm[0] = max(hwm[0], vm_rss_mb(proc.pid, "VmHWM") or 0.0)

    sampler = None
    if sample_rss_every:
        rss = vm_rss_mb(proc.pid)
        if rss is not None:
            run.rss_samples.append((time.perf_counter(), rss))
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
    killer = threading.Timer(timeout, proc.kill)
    killer.start()
    stopper: threading.Timer | None = None
    assert proc.stdout is not None
    for line in proc.stdout:
        run.lines.append((time.perf_counter(), line.rstrip("\n")))
        if stop_when and stopper is None and stop_when in line:
            stopper = threading.Timer(stop_delay, proc.send_signal, (signal.SIGINT,))
            stopper.start()
    run.code, run.peak_rss_mb = wait_rusage(proc)
    run.exited = time.perf_counter()
    killer.cancel()
    sent = stopper is not None
    if stopper is not None:
        stopper.cancel()
    done.set()
    if sampler is not None:
        sampler.join()
        # wait4's ru_maxrss of a child counts its parent's pages before exec: use VmHWM
        run.peak_rss_mb = hwm[0]
    if run.code != 0 and not (sent and run.code in (0, 130)):
        raise RuntimeError(f"{' '.join(run.cmd)} exited {run.code}:\n{run.tail()}")
    return run


def stopped_line(run: BotRun) -> dict[str, Any]:
    """Parse 'stopped: <reason>. Run <id>: N events, M fills.' from the bot's last lines."""
    import re

    for _, line in reversed(run.lines):
        m = re.search(r"stopped: (.*)\. Run (\w+): (\d+) events, (\d+) fills", line)
        if m:
            return {"reason": m.group(1), "run": m.group(2), "events": int(m.group(3)), "fills": int(m.group(4))}
    raise RuntimeError(f"no 'stopped:' line in the output of {' '.join(run.cmd)}:\n{run.tail()}")


def config_from_quickstart(path: Path, **changes: Any) -> Path:
    """Write configs/quickstart.yml with `changes` applied (dotted keys allowed) to `path`."""
    import yaml

    data = yaml.safe_load((REPO / "configs" / "quickstart.yml").read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = data
        *parents, last = dotted.split(".")
        for key in parents:
            node = node[key]
        node[last] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
