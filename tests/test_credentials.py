"""The key store: encrypted at rest, owner-only, wrong password is a clear error, secrets never shown."""

from __future__ import annotations

import stat

import pytest
from typer.testing import CliRunner

from pmm import credentials
from pmm.cli import app
from pmm.connectors import registry
from pmm.connectors.common.venue_spec import Capabilities, VenueSpec
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
    result = CliRunner().invoke(app, ["connect", "binance_perpetual"],
                                input=f"{KEY}\n{SECRET}\nlong enough\nlong enough\n")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert KEY[:12] not in result.output  # the key is not echoed as it is typed either
    assert credentials.load("binance_perpetual", "long enough", env).api_secret == SECRET


def test_pmm_connect_asks_again_for_a_short_or_mistyped_password(env, monkeypatch):
    monkeypatch.setenv("PMM_KEYS_DIR", env["PMM_KEYS_DIR"])
    typed = f"{KEY}\n{SECRET}\n1234567\nlong enough\nlong enuogh\nlong enough\nlong enough\n"
    result = CliRunner().invoke(app, ["connect", "binance_perpetual"], input=typed)
    assert result.exit_code == 0, result.output
    assert "at least 8 characters (it had 7)" in result.output and "differ" in result.output
    assert credentials.load("binance_perpetual", "long enough", env).api_key == KEY
    refused = CliRunner().invoke(app, ["connect", "bybit_perpetual"], input=f"{KEY}\n{SECRET}\n" + "pw\n" * 3)
    assert refused.exit_code == 2 and "No key was stored" in refused.output
    assert not credentials.has_stored("bybit_perpetual", env)


def test_pmm_connect_names_an_unknown_connector(env, monkeypatch):
    monkeypatch.setenv("PMM_KEYS_DIR", env["PMM_KEYS_DIR"])
    result = CliRunner().invoke(app, ["connect", "foo"])
    assert result.exit_code == 2
    assert "Unknown connector `foo`" in result.output and "binance_perpetual" in result.output


def test_pmm_connect_refuses_connectors_without_keys(env, monkeypatch):
    monkeypatch.setenv("PMM_KEYS_DIR", env["PMM_KEYS_DIR"])
    result = CliRunner().invoke(app, ["connect", "sim_perpetual"])
    assert result.exit_code == 2
    assert "takes no API keys" in result.output and "binance_perpetual" in result.output


# --- keys with a passphrase (or memo): stored encrypted with the key, never shown ------------------

PASSPHRASE = "pass-Phr4se-9d1c"
PASSPHRASE_VENUE = VenueSpec(venue="stand_in_perpetual", display_name="a venue whose keys have a passphrase",
                             builder="unused:unused", no_testnet_reason="a stand-in",
                             capabilities=Capabilities(passphrase_name="passphrase"))


def test_a_passphrase_is_stored_encrypted_and_comes_back(env):
    path = credentials.save("stand_in_perpetual", Credentials(KEY, SECRET, PASSPHRASE), "pw", env)
    assert PASSPHRASE not in path.read_text()
    loaded = credentials.resolve("stand_in_perpetual", environ=dict(env, PMM_PASSWORD="pw"),
                                 passphrase_name="passphrase")
    assert loaded == Credentials(KEY, SECRET, PASSPHRASE)
    for text in (repr(loaded), str(loaded), f"{loaded!r}"):
        assert PASSPHRASE not in text and SECRET not in text


def test_a_stored_key_without_the_passphrase_its_venue_needs_says_what_to_do(env):
    credentials.save("stand_in_perpetual", Credentials(KEY, SECRET), "pw", env)
    with pytest.raises(AuthError, match="no passphrase.*pmm connect stand_in_perpetual"):
        credentials.resolve("stand_in_perpetual", environ=dict(env, PMM_PASSWORD="pw"), passphrase_name="passphrase")


def test_passphrase_from_the_environment(env):
    both = dict(env, PMM_STAND_IN_PERPETUAL_API_KEY="k", PMM_STAND_IN_PERPETUAL_API_SECRET="s")
    with pytest.raises(AuthError, match="PMM_STAND_IN_PERPETUAL_API_PASSPHRASE is not set"):
        credentials.resolve("stand_in_perpetual", environ=both, passphrase_name="passphrase")
    three = dict(both, PMM_STAND_IN_PERPETUAL_API_PASSPHRASE="p")
    assert credentials.resolve("stand_in_perpetual", environ=three, passphrase_name="passphrase") == \
        Credentials("k", "s", "p")
    assert credentials.resolve("stand_in_perpetual", environ=three) == Credentials("k", "s")


def test_pmm_connect_asks_for_the_passphrase_when_the_venue_needs_one(env, monkeypatch):
    monkeypatch.setenv("PMM_KEYS_DIR", env["PMM_KEYS_DIR"])
    real_spec_of = registry.spec_of
    monkeypatch.setattr(registry, "spec_of",
                        lambda cid: PASSPHRASE_VENUE if cid == "stand_in_perpetual" else real_spec_of(cid))
    result = CliRunner().invoke(app, ["connect", "stand_in_perpetual"],
                                input=f"{KEY}\n{SECRET}\n{PASSPHRASE}\nlong enough\nlong enough\n")
    assert result.exit_code == 0, result.output
    assert "stand_in_perpetual API passphrase" in result.output and PASSPHRASE not in result.output
    assert "PMM_STAND_IN_PERPETUAL_API_PASSPHRASE" in result.output
    assert credentials.load("stand_in_perpetual", "long enough", env).passphrase == PASSPHRASE


def test_pmm_connect_asks_no_passphrase_for_keys_without_one(env, monkeypatch):
    monkeypatch.setenv("PMM_KEYS_DIR", env["PMM_KEYS_DIR"])
    connector = next(c for c in registry.keyed_connectors()
                     if not registry.spec_of(c).capabilities.needs_passphrase)  # type: ignore[union-attr]
    result = CliRunner().invoke(app, ["connect", connector], input=f"{KEY}\n{SECRET}\nlong enough\nlong enough\n")
    assert result.exit_code == 0, result.output
    assert "passphrase" not in result.output.lower()
    assert credentials.load(connector, "long enough", env).passphrase is None


def test_pmm_connect_refuses_a_planned_connector(env, monkeypatch):
    from pmm.connectors.common.venue_spec import PlannedVenue

    monkeypatch.setenv("PMM_KEYS_DIR", env["PMM_KEYS_DIR"])
    monkeypatch.setattr(registry, "PLANNED", (PlannedVenue("example_perpetual", "Example"),))
    result = CliRunner().invoke(app, ["connect", "example_perpetual"])
    assert result.exit_code == 2
    assert "not built yet" in result.output


def test_client_credentials_hold_the_passphrase_masked():
    from pmm.connectors.common.credentials import HmacCredentials
    from pmm.core.clock import LiveClock

    held = HmacCredentials(KEY, SECRET, LiveClock(), 5000, passphrase=PASSPHRASE)
    assert held.passphrase == PASSPHRASE
    assert PASSPHRASE not in repr(held) and PASSPHRASE not in repr(vars(held))
    assert HmacCredentials(KEY, SECRET, LiveClock(), 5000).passphrase is None
