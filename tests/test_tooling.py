"""CI lints and type-checks the package before the tests: ruff and mypy, pinned and configured in
pyproject.toml, run by `.ci/run` on `pmm/` (which must pass them as it stands)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from helpers import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_ruff_and_mypy_are_pinned_in_the_test_extra_and_configured():
    pinned = {req.split("==")[0]: req for req in PYPROJECT["project"]["optional-dependencies"]["test"] if "==" in req}
    assert {"ruff", "mypy"} <= set(pinned)
    assert PYPROJECT["tool"]["ruff"]["line-length"] == 120
    assert {"E", "F", "W", "B", "UP"} <= set(PYPROJECT["tool"]["ruff"]["lint"]["select"])
    assert PYPROJECT["tool"]["mypy"]["packages"] == ["pmm"]


def test_ci_runs_them_on_pmm_before_the_tests():
    steps = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()
             if line.strip().startswith(".venv/bin/")]
    ruff = steps.index(".venv/bin/ruff check pmm")
    mypy = steps.index(".venv/bin/mypy pmm")
    pytest_step = next(i for i, s in enumerate(steps) if s.startswith(".venv/bin/python -m pytest"))
    assert ruff < pytest_step and mypy < pytest_step


def test_ruff_passes_on_pmm():
    ruff = Path(sys.executable).with_name("ruff")
    if not ruff.exists() and shutil.which("ruff") is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    done = subprocess.run([str(ruff) if ruff.exists() else "ruff", "check", "pmm"], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
