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
    """Wait for `proc` and return (exit status, its own peak RSS in MB) from wait4."""
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
