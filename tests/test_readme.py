"""Every `pmm` command shown in the README runs and exits 0 (a `start` without --duration gets one)."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys

import pytest

from helpers import REPO

README = (REPO / "README.md").read_text()


def _commands() -> list[str]:
    found: list[str] = []
    for block in re.findall(r"```(?:bash|console)\n(.*?)```", README, flags=re.S):
        for line in block.splitlines():
            line = line.strip().removeprefix("$ ")
            line = line.replace(".venv/bin/", "")
            for part in line.split("&&"):
                part = part.strip()
                if part.startswith("pmm ") and part not in found:
                    found.append(part)
    return found


COMMANDS = _commands()


def test_the_readme_shows_every_command():
    names = {shlex.split(c)[1] for c in COMMANDS}
    assert {"start", "status", "balance", "history"} <= names


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command_runs(command, workdir):
    args = shlex.split(command)
    if args[1] == "start":
        # The README's long runs are shortened; the quickstart itself runs as written otherwise.
        if "--duration" in args:
            args[args.index("--duration") + 1] = "3600"
        else:
            args += ["--duration", "2"]
        args += ["--plain"]
    env = dict(os.environ, PMM_DB=f"sqlite:///{workdir / 'readme.sqlite'}")
    done = subprocess.run([sys.executable, "-m", "pmm.cli", *args[1:]], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120)
    if args[1] == "stop":
        # Nothing is running here (tests/engine/test_risk.py stops a live bot): said so, exit 0.
        assert done.returncode == 0 and "No running bot" in done.stdout, done.stdout + done.stderr
        return
    assert done.returncode == 0, done.stdout + done.stderr
