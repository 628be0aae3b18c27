"""Secrets (issue 6): the API secret, and the API key in full, never appear in the bot's output,
its logs (the output of `--plain`), its tracebacks or anywhere in its SQLite store.

For Binance, Bybit and OKX (at once, each on its own thread), with a distinctive key and secret (and
OKX's passphrase) that only the venue server and the encrypted key store know:
- a run that trades (keys from the key store, password from PMM_PASSWORD), stopped with SIGTERM,
  then `pmm status`, `pmm history` and `pmm balance` (which asks the venue's API with the keys);
- a run whose secret the venue refuses (exit 3, "what to do") and one whose key it refuses;
- a run with the wrong key-store password (exit 3, a clear message);
then every output line and every byte of the store (each table and column, and the raw database
and WAL files) is searched for the secret, the key, and any 12 characters of either. The key
store file is readable by its owner only and holds neither in clear. In-process: the repr of every
object of a built connector and a traceback raised while signing show no secret either.
"""

from __future__ import annotations

import base64
import functools
import os
import secrets
import signal
import sqlite3
import stat
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from campaign_kit import campaign_config, run_in_parallel
from helpers import REPO
from venue_servers import ServerThread, busy_market

from pmm import credentials
from pmm.connectors import registry

VENUES = ["binance_perpetual", "bybit_perpetual", "okx_perpetual"]
PASSPHRASE_VENUES = {s.venue for s in registry.VENUES if s.capabilities.needs_passphrase}  # keys with one
LOCAL_CONFIGS = {"binance_perpetual": "binance_local.yml", "bybit_perpetual": "bybit_local.yml",
                 "okx_perpetual": "okx_local.yml"}
PASSWORD = "correct horse battery staple"


def distinctive(prefix: str) -> str:
    return prefix + secrets.token_hex(24)


@dataclass
class Outcome:
    venue: str
    key: str
    secret: str
    wrong_secret: str
    wrong_key: str
    db_files: list[Path]
    keys_dir: Path
    outputs: dict[str, tuple[int, str]] = field(default_factory=dict)  # name -> (exit code, stdout+stderr)
    passphrase: str | None = None


def _pmm(args: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-m", "pmm.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    return done.returncode, done.stdout + done.stderr


def _trading_run(config: Path, url: str, env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "start", "-c", str(config), "--db", url, "--plain"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    try:
        for line in proc.stdout:  # until the first fill (or 30 s), then a clean stop
            lines.append(line)
            if "filled " in line or time.monotonic() > deadline:
                break
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
        lines.append(rest)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, "".join(lines)


def secrets_run(venue: str, tmp_path: Path) -> Outcome:
    key, secret = distinctive("pmmKey"), distinctive("pmmSecret")
    outcome = Outcome(venue, key, secret, wrong_secret=distinctive("pmmWrongSecret"), wrong_key=distinctive("pmmWrongKey"),
                      db_files=[], keys_dir=tmp_path / "keys",
                      passphrase=distinctive("pmmPhrase") if venue in PASSPHRASE_VENUES else None)
    url = f"sqlite:///{tmp_path / 'pmm.sqlite'}"
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("PMM_")}
    base_env.update(PMM_KEYS_DIR=str(outcome.keys_dir), PYTHONUNBUFFERED="1")
    credentials.save(venue, credentials.Credentials(key, secret, outcome.passphrase), PASSWORD, environ=base_env)
    server = ServerThread(venue, busy_market(), api_key=key, api_secret=secret,
                          passphrase=outcome.passphrase).start()
    try:
        config = campaign_config(tmp_path, venue, server)
        stored = {**base_env, "PMM_PASSWORD": PASSWORD}
        outcome.outputs["trading run"] = _trading_run(config, url, stored)
        outcome.outputs["status"] = _pmm(["status", "--funding-rate", "--db", url], stored)
        outcome.outputs["history"] = _pmm(["history", "--db", url], stored)
        outcome.outputs["balance"] = _pmm(["balance", "--derivative", venue, "-c", str(config), "--db", url], stored)
        key_var, secret_var = credentials.env_names(venue)
        if outcome.passphrase:
            base_env[credentials.passphrase_env_name(venue)] = outcome.passphrase
        refused_secret = {**base_env, key_var: key, secret_var: outcome.wrong_secret}
        outcome.outputs["refused secret"] = _pmm(["start", "-c", str(config), "--db", url, "--plain"], refused_secret)
        refused_key = {**base_env, key_var: outcome.wrong_key, secret_var: secret}
        outcome.outputs["refused key"] = _pmm(["start", "-c", str(config), "--db", url, "--plain"], refused_key)
        wrong_password = {**base_env, "PMM_PASSWORD": "not the password"}
        outcome.outputs["wrong password"] = _pmm(["start", "-c", str(config), "--db", url, "--plain"], wrong_password)
    finally:
        server.stop()
    outcome.db_files = sorted(tmp_path.glob("pmm.sqlite*"))
    return outcome


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    jobs = {venue: functools.partial(secrets_run, venue, tmp_path_factory.mktemp(f"secrets-{venue}"))
            for venue in VENUES}
    return run_in_parallel(jobs, deadline_s=150)  # type: ignore[arg-type]


def needles(*values: str) -> list[str]:
    """Each value, its base64, and every 12-character piece of it."""
    out: list[str] = []
    for value in values:
        out += [value, base64.b64encode(value.encode()).decode()]
        out += [value[i:i + 12] for i in range(len(value) - 11)]
    return out


def leaks(text: str, outcome: Outcome) -> list[str]:
    found = [n for n in needles(outcome.secret, outcome.wrong_secret, *filter(None, [outcome.passphrase]))
             if n in text]
    found += [n for n in (outcome.key, outcome.wrong_key) if n in text]
    found += [n for n in needles(outcome.key, outcome.wrong_key) if len(n) == 12 and n in text]
    return found


@pytest.mark.parametrize("venue", VENUES)
def test_the_runs_did_what_they_should(outcomes, venue):
    out = outcomes[venue].outputs
    code, text = out["trading run"]
    assert code == 0 and "filled " in text, text[-3000:]
    for name in ("status", "history", "balance"):
        assert out[name][0] == 0, f"{name}: {out[name][1][-2000:]}"
    for name in ("refused secret", "refused key", "wrong password"):
        code, text = out[name]
        assert code == 3, f"{name}: exit {code}\n{text[-2000:]}"
        assert "error:" in text and "Traceback" not in text, text[-2000:]
    assert "Wrong password for the stored" in out["wrong password"][1]


@pytest.mark.parametrize("venue", VENUES)
def test_no_secret_in_any_output(outcomes, venue):
    outcome = outcomes[venue]
    for name, (_, text) in outcome.outputs.items():
        assert not leaks(text, outcome), f"{name} shows {leaks(text, outcome)}"


@pytest.mark.parametrize("venue", VENUES)
def test_no_secret_anywhere_in_the_store(outcomes, venue):
    outcome = outcomes[venue]
    db = sqlite3.connect(outcome.db_files[0])
    try:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        assert {"runs", "orders", "fills"} <= set(tables)
        rows = 0
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                rows += 1
                for value in row:
                    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                    assert not leaks(text, outcome), f"{table} holds {leaks(text, outcome)}"
        assert rows > 0
    finally:
        db.close()
    for path in outcome.db_files:  # every byte, free pages and the WAL included
        raw = path.read_bytes().decode("latin-1")
        assert not leaks(raw, outcome), f"{path.name} holds {leaks(raw, outcome)}"


@pytest.mark.parametrize("venue", VENUES)
def test_the_key_store_is_owner_only_and_encrypted(outcomes, venue):
    outcome = outcomes[venue]
    path = outcome.keys_dir / f"{venue}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(outcome.keys_dir.stat().st_mode) == 0o700
    text = path.read_text()
    assert outcome.secret not in text and outcome.key not in text
    assert not leaks(text, outcome)


@pytest.mark.parametrize("venue", VENUES)
def test_no_secret_in_reprs_or_tracebacks(venue, monkeypatch):
    from pmm.config import load_config
    from pmm.connectors.registry import build_connector

    key, secret = distinctive("pmmKey"), distinctive("pmmSecret")
    outcome = Outcome(venue, key, secret, wrong_secret=secret, wrong_key=key, db_files=[], keys_dir=Path())
    key_var, secret_var = credentials.env_names(venue)
    monkeypatch.setenv(key_var, key)
    monkeypatch.setenv(secret_var, secret)
    if venue in PASSPHRASE_VENUES:
        monkeypatch.setenv(credentials.passphrase_env_name(venue), "pmm-sim-passphrase")
    config = load_config(REPO / "configs" / LOCAL_CONFIGS[venue])
    bundle = build_connector(config.derivative, config, fast=False)
    seen: set[int] = set()
    holders = {"_Secret": secret.encode(), "_ApiKey": key}

    def attributes(obj: Any) -> list[tuple[str, Any]]:
        names = list(getattr(obj, "__dict__", {}))
        for cls in type(obj).__mro__:
            slots = getattr(cls, "__slots__", ())
            names += [slots] if isinstance(slots, str) else list(slots)
        return [(name, getattr(obj, name)) for name in dict.fromkeys(names) if hasattr(obj, name)]

    def walk(obj: Any, where: str, depth: int = 0) -> None:
        if isinstance(obj, (str, bytes)):
            text = obj.decode("latin-1") if isinstance(obj, bytes) else obj
            assert not leaks(text, outcome), f"{where} holds the secret or the key in clear"
            return
        if id(obj) in seen or depth > 8 or obj is None or isinstance(obj, (int, float, type)):
            return
        seen.add(id(obj))
        assert not leaks(repr(obj) + str(obj), outcome), f"{where} ({type(obj).__name__}) shows a secret"
        if type(obj).__name__ in holders:
            return  # the one place each lives, masked when printed
        if isinstance(obj, (list, tuple, set, frozenset)):
            for i, item in enumerate(obj):
                walk(item, f"{where}[{i}]", depth + 1)
        elif isinstance(obj, dict):
            for k, item in obj.items():
                walk(k, f"{where} key", depth + 1)
                walk(item, f"{where}[{k!r}]", depth + 1)
        elif type(obj).__module__.startswith("pmm"):
            for name, item in attributes(obj):
                walk(item, f"{where}.{name}", depth + 1)

    walk(bundle, "bundle")
    rest = bundle.gateway._rest
    import hmac

    def broken_hmac(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the HMAC failed")

    try:  # a failure inside signing, where the secret is in use: the traceback shows no secret
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(hmac, "new", broken_hmac)
            if venue.startswith("binance"):
                rest.auth.signed_query([("symbol", "BTCUSDT")])
            elif venue.startswith("okx"):
                rest.auth.headers("GET", "/api/v5/account/balance")
            else:
                rest.auth.headers("category=linear")
    except RuntimeError:
        text = traceback.format_exc()
        assert "the HMAC failed" in text and "digest" in text
        assert not leaks(text, outcome), text
    else:
        pytest.fail("signing did not go through the HMAC")
