"""The key store: encrypted at rest, owner-only, wrong password is a clear error, secrets never shown."""

from __future__ import annotations

import stat

import pytest
from typer.testing import CliRunner

from pmm import credentials
from pmm.cli import app
from pmm.credentials import Credentials
from pmm.errors import AuthError

SECRET = "s3cr3t-NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


@pytest.fixture
def env(tmp_path):
    return {"PMM_KEYS_DIR": str(tmp_path / "keys")}


def test_round_trip_and_file_is_encrypted_and_owner_only(env, tmp_path):
    path = credentials.save("binance_perpetual", Credentials(KEY, SECRET), "correct horse", env)
    raw = path.read_text()
    assert SECRET not in raw and KEY not in raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert credentials.load("binance_perpetual", "correct horse", env) == Credentials(KEY, SECRET)


def test_wrong_password_is_a_clear_auth_error(env):
    credentials.save("binance_perpetual", Credentials(KEY, SECRET), "correct horse", env)
    with pytest.raises(AuthError, match="Wrong password"):
        credentials.load("binance_perpetual", "battery staple", env)


def test_a_store_for_one_connector_cannot_be_read_as_another(env, tmp_path):
    path = credentials.save("binance_perpetual", Credentials(KEY, SECRET), "pw", env)
    path.rename(path.with_name("bybit_perpetual.json"))
    with pytest.raises(AuthError):
        credentials.load("bybit_perpetual", "pw", env)


def test_environment_wins_and_half_set_env_is_an_error(env):
    both = dict(env, PMM_BINANCE_PERPETUAL_API_KEY="k", PMM_BINANCE_PERPETUAL_API_SECRET="s")
    assert credentials.resolve("binance_perpetual", environ=both) == Credentials("k", "s")
    with pytest.raises(AuthError, match="PMM_BINANCE_PERPETUAL_API_SECRET is not set"):
        credentials.resolve("binance_perpetual", environ=dict(env, PMM_BINANCE_PERPETUAL_API_KEY="k"))


def test_missing_keys_say_what_to_do(env):
    with pytest.raises(AuthError, match="pmm connect binance_perpetual"):
        credentials.resolve("binance_perpetual", environ=env)


def test_resolve_from_store_with_password_from_env_or_prompt(env):
    credentials.save("binance_perpetual", Credentials(KEY, SECRET), "pw", env)
    assert credentials.resolve("binance_perpetual", environ=dict(env, PMM_PASSWORD="pw")).api_secret == SECRET
    asked = []
    got = credentials.resolve("binance_perpetual", environ=env, ask_password=lambda q: asked.append(q) or "pw")
    assert got.api_key == KEY and asked
    with pytest.raises(AuthError, match="PMM_PASSWORD"):
        credentials.resolve("binance_perpetual", environ=env)


def test_secret_never_in_repr_or_str():
    creds = Credentials(KEY, SECRET)
    for text in (repr(creds), str(creds), f"{creds}", repr([creds])):
        assert SECRET not in text and KEY not in text


def test_pmm_connect_stores_encrypted_keys(env, monkeypatch):
    monkeypatch.setenv("PMM_KEYS_DIR", env["PMM_KEYS_DIR"])
    result = CliRunner().invoke(app, ["connect", "binance_perpetual"], input=f"{KEY}\n{SECRET}\npw\npw\n")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert credentials.load("binance_perpetual", "pw", env).api_secret == SECRET


def test_pmm_connect_refuses_connectors_without_keys(env, monkeypatch):
    monkeypatch.setenv("PMM_KEYS_DIR", env["PMM_KEYS_DIR"])
    result = CliRunner().invoke(app, ["connect", "sim_perpetual"])
    assert result.exit_code == 2
    assert "takes no API keys" in result.output


PHRASE = "okx-Passphrase-9"


def test_pmm_connect_with_passphrase_stores_it_encrypted_with_the_key(env, monkeypatch):
    monkeypatch.setenv("PMM_KEYS_DIR", env["PMM_KEYS_DIR"])
    result = CliRunner().invoke(app, ["connect", "okx_perpetual", "--passphrase"],
                                input=f"{KEY}\n{SECRET}\n{PHRASE}\npw\npw\n")
    assert result.exit_code == 0, result.output
    assert PHRASE not in result.output
    assert PHRASE not in credentials._path("okx_perpetual", env).read_text()
    stored = credentials.resolve("okx_perpetual", environ=dict(env, PMM_PASSWORD="pw"))
    assert (stored.api_key, stored.passphrase) == (KEY, PHRASE)
    assert PHRASE not in repr(stored)


def test_a_passphrase_from_the_environment_goes_with_environment_or_stored_keys(env):
    phrase_var = credentials.passphrase_env_name("okx_perpetual")
    keys = dict(env, PMM_OKX_PERPETUAL_API_KEY=KEY, PMM_OKX_PERPETUAL_API_SECRET=SECRET, **{phrase_var: PHRASE})
    assert credentials.resolve("okx_perpetual", environ=keys).passphrase == PHRASE
    credentials.save("okx_perpetual", Credentials(KEY, SECRET), "pw", env)
    assert credentials.resolve("okx_perpetual", environ=dict(env, PMM_PASSWORD="pw")).passphrase is None
    assert credentials.resolve("okx_perpetual", environ=dict(env, PMM_PASSWORD="pw", **{phrase_var: PHRASE})
                               ).passphrase == PHRASE
