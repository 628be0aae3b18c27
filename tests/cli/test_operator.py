"""What an operator expects of `pmm start`: a version, a log file, --verbose, repeats collapsed."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from helpers import CONFIGS, REPO, db_url, write_config
from pmm.cli import app
from pmm.ui.log_output import default_log_dir


def _pmm(*args: str, cwd: Path = REPO, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pmm.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def _log_path(stderr: str) -> Path:
    found = re.search(r"^log file: (.+)$", stderr, flags=re.M)
    assert found, stderr
    return Path(found.group(1))


def test_version_is_the_package_version():
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    done = _pmm("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"pmm {version}"


def test_the_log_file_sits_beside_the_store_and_holds_what_was_printed(tmp_path):
    store = tmp_path / "store" / "bot.sqlite"
    store.parent.mkdir()
    done = _pmm("start", "-c", str(write_config(tmp_path)), "--fast", "--duration", "1800", "--plain",
                "--db", f"sqlite:///{store}")
    assert done.returncode == 0, done.stderr
    path = _log_path(done.stderr)
    run = re.search(r"Run ([0-9a-f]{8})", done.stdout).group(1)
    assert path.parent == store.parent / "logs" and path.is_file()
    assert re.fullmatch(rf"pmm-\d{{8}}-\d{{6}}-{run}\.log", path.name)
    printed = done.stdout.splitlines()
    assert printed[-1].startswith("stopped:")
    assert path.read_text().splitlines() == printed[:-1]  # the same lines, stamped with the engine clock
    assert any("placing buy" in line for line in printed) and "DEBUG" not in done.stdout


def test_log_file_option_and_verbose(tmp_path):
    log = tmp_path / "mine" / "bot.log"
    done = _pmm("start", "-c", str(write_config(tmp_path)), "--fast", "--duration", "600", "--plain", "--verbose",
                "--log-file", str(log), "--db", db_url(tmp_path))
    assert done.returncode == 0, done.stderr
    assert _log_path(done.stderr) == log
    text = log.read_text()
    assert re.search(r"DEBUG   pmm\.engine: order pmm-[0-9a-f]{8}-1 accepted as \S+, 0\.\d+ s after it was sent",
                     text), text[:3000]
    assert "DEBUG" in done.stdout


def test_a_log_file_that_cannot_be_written_is_a_usage_error(tmp_path):
    done = _pmm("start", "-c", str(write_config(tmp_path)), "--fast", "--duration", "60", "--plain",
                "--log-file", str(tmp_path), "--db", db_url(tmp_path))
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"Cannot write the log file {tmp_path}" in done.stderr and "--log-file" in done.stderr
    assert "(log:" not in done.stderr  # no file exists to point to


def test_without_room_for_the_default_log_file_the_bot_runs_and_says_so(tmp_path):
    (tmp_path / "logs").write_text("a file where the log folder would go")
    done = _pmm("start", "-c", str(write_config(tmp_path)), "--fast", "--duration", "60", "--plain",
                "--db", db_url(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "warning: cannot write the log file" in done.stderr and "--log-file PATH" in done.stderr
    assert "log file:" not in done.stderr and "placing" in done.stdout


def test_default_log_folder_for_each_kind_of_store():
    assert default_log_dir("sqlite:///data/pmm.sqlite") == Path("data/logs")
    assert default_log_dir("sqlite:////srv/pmm/fleet.sqlite") == Path("/srv/pmm/logs")
    assert default_log_dir("postgresql+psycopg://pmm@db.internal/pmm") == Path("data/logs")
    assert default_log_dir("sqlite://") == Path("data/logs")
    assert default_log_dir("not a url") == Path("data/logs")


def test_an_internal_error_points_to_the_log_file_that_holds_its_traceback(tmp_path, monkeypatch):
    import pmm.app

    async def broken_run_bot(*_args, **_kwargs):
        raise RuntimeError("something impossible happened")

    monkeypatch.setattr(pmm.app, "run_bot", broken_run_bot)
    result = CliRunner().invoke(app, ["start", "-c", str(write_config(tmp_path)), "--fast", "--plain",
                                      "--db", db_url(tmp_path, "store.sqlite")])
    assert result.exit_code == 1, result.output
    found = re.search(r"report it with the log (\S+\.log)", result.output)
    assert found, result.output
    log = Path(found.group(1))
    assert log.parent == tmp_path / "logs" and log.is_file()
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError: something impossible happened" in text


def test_repeated_lines_collapse_on_the_quickstart_short_of_margin(tmp_path):
    """The quickstart with too little margin for any quote, 600 simulated seconds: each evaluation
    says both orders are omitted (1,200 lines before); now one line a minute each."""
    text = (CONFIGS / "quickstart.yml").read_text()
    assert "USDT: 10000" in text
    cfg = tmp_path / "poor.yml"
    cfg.write_text(text.replace("USDT: 10000", "USDT: 50"))
    done = _pmm("start", "-c", str(cfg), "--fast", "--duration", "600", "--plain", "--db", db_url(tmp_path))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    omitted = [line for line in lines if "Insufficient balance: BUY" in line]
    assert 5 <= len(omitted) <= 13, "\n".join(lines)
    assert len(lines) < 50
    # Nothing was lost: the first line plus the summaries count every evaluation.
    repeats = [int(m.group(1)) for line in omitted if (m := re.search(r"\(repeated (\d+) times in the last", line))]
    assert len(repeats) == len(omitted) - 1 and 1 + sum(repeats) >= 590
