"""Signing: the locally computed vectors of reference §B2 (GET, POST, WS auth), headers as sent,
the WS auth frame with an injected clock, clock offset, secrets never shown, the builder."""

from __future__ import annotations

import logging
import pickle
from types import SimpleNamespace

import pytest
from test_client_bybit_fakes import API_KEY, API_SECRET, StepClock

from pmm.connectors.bybit_perpetual.auth import BybitAuth, rest_sign_payload, ws_sign_payload
from pmm.connectors.bybit_perpetual.build import build
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.connectors.common.credentials import mask_key, sign
from pmm.errors import AuthError, ConfigError

VECTOR_SECRET = "bybit-test-secret"  # reference §B2: locally computed vectors (the docs publish no secret)


def test_get_vector() -> None:
    message = rest_sign_payload(1658384314791, "XXXXXXXXXX", 5000, "category=option&symbol=BTC-29JUL22-25000-C")
    assert message == "1658384314791XXXXXXXXXX5000category=option&symbol=BTC-29JUL22-25000-C"
    assert sign(VECTOR_SECRET, message) == "603cf75a23e0bd0a5226adb8f4f42accf1a7b89145fc1c05d3ec5f6855b26c67"


def test_post_vector() -> None:
    message = rest_sign_payload(1658385579423, "XXXXXXXXXX", 5000, '{"category": "option"}')
    assert sign(VECTOR_SECRET, message) == "0b6c1a0303aa265223e936cc8820dba57780ea6063a9e08473dcb575c5ca3a7c"


def test_ws_auth_vector() -> None:
    assert ws_sign_payload(1662350400000) == "GET/realtime1662350400000"
    assert sign(VECTOR_SECRET, "GET/realtime1662350400000") == \
        "e5afa359fdaabfeeae6a8755687997f43c4696196a957502edf608dcd3c83caa"


def test_headers_reproduce_the_get_vector() -> None:
    auth = BybitAuth("XXXXXXXXXX", VECTOR_SECRET, StepClock(1658384314.791), recv_window_ms=5000)
    headers = auth.headers("category=option&symbol=BTC-29JUL22-25000-C")
    assert headers == {
        "X-BAPI-API-KEY": "XXXXXXXXXX",
        "X-BAPI-TIMESTAMP": "1658384314791",
        "X-BAPI-RECV-WINDOW": "5000",
        "X-BAPI-SIGN": "603cf75a23e0bd0a5226adb8f4f42accf1a7b89145fc1c05d3ec5f6855b26c67",
        "X-BAPI-SIGN-TYPE": "2",
    }


def test_headers_reproduce_the_post_vector() -> None:
    auth = BybitAuth("XXXXXXXXXX", VECTOR_SECRET, StepClock(1658385579.423))
    assert auth.headers('{"category": "option"}')["X-BAPI-SIGN"] == \
        "0b6c1a0303aa265223e936cc8820dba57780ea6063a9e08473dcb575c5ca3a7c"


def test_ws_auth_frame_with_an_injected_clock() -> None:
    clock = StepClock(1662350390.0)  # expires = now + 10 s = the vector's 1662350400000
    auth = BybitAuth("XXXXXXXXXX", VECTOR_SECRET, clock)
    assert auth.ws_auth_message() == {"op": "auth", "args": [
        "XXXXXXXXXX", 1662350400000, "e5afa359fdaabfeeae6a8755687997f43c4696196a957502edf608dcd3c83caa"]}
    auth.time_offset_ms = -1500  # the server's clock is behind: expires follows the server's clock
    assert auth.ws_auth_message()["args"][1] == 1662350398500


def test_time_offset_from_server_time() -> None:
    clock = StepClock(1000.0)
    auth = BybitAuth(API_KEY, API_SECRET, clock)
    # Sent at 1000.0 s, answered at 1000.2 s, server said 1000.1 s + 2.5 s ahead.
    auth.update_time_offset(1_002_600, 1000.0, 1000.2)
    assert auth.time_offset_ms == 2500
    assert auth.timestamp_ms() == 1_002_500
    assert auth.headers("")["X-BAPI-TIMESTAMP"] == "1002500"


def test_secret_and_key_never_printed(caplog: pytest.LogCaptureFixture) -> None:
    clock = StepClock()
    auth = BybitAuth(API_KEY, API_SECRET, clock)
    rest = BybitRestClient("http://127.0.0.1:1", clock=clock, auth=auth)
    shown = " ".join([repr(auth), str(auth), repr(rest), repr(auth._secret), str(vars(auth))])
    assert API_SECRET not in shown
    assert API_KEY not in shown
    assert mask_key(API_KEY) in repr(auth)
    with pytest.raises(TypeError):
        pickle.dumps(auth._secret)
    with pytest.raises(TypeError):
        pickle.dumps(auth)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("pmm.test").info("auth is %s, rest is %r", auth, rest)
    assert API_SECRET not in caplog.text and API_KEY not in caplog.text


def test_mask_key() -> None:
    assert mask_key("abcd") == "****"
    assert mask_key("ABCDEFGHIJKL") == "ABCD…IJKL"


def _config(**overrides: object) -> SimpleNamespace:
    base = {"derivative": "bybit_perpetual", "market": "BTC-USDT", "connector": None}
    base.update(overrides)
    return SimpleNamespace(**base)


ENV = {"PMM_BYBIT_PERPETUAL_API_KEY": API_KEY, "PMM_BYBIT_PERPETUAL_API_SECRET": API_SECRET,
       "PMM_KEYS_DIR": "/nonexistent-pmm-keys"}


def test_build_with_env_credentials_and_overrides() -> None:
    connector = SimpleNamespace(rest_url="http://127.0.0.1:9/", ws_url="ws://127.0.0.1:9")
    bundle = build(_config(connector=connector), fast=False, env=ENV)
    assert bundle.connector_id == "bybit_perpetual"
    assert bundle.gateway.venue == "bybit_perpetual"
    assert bundle.pacer.virtual is False
    rest = bundle.gateway._rest  # type: ignore[attr-defined]
    assert rest is bundle.feed._rest  # type: ignore[attr-defined]  # one client: one set of limits
    assert rest.base_url == "http://127.0.0.1:9"
    assert API_SECRET not in repr(bundle.gateway) + repr(bundle.feed)


def test_build_default_hosts_for_testnet() -> None:
    env = {"PMM_BYBIT_PERPETUAL_TESTNET_API_KEY": API_KEY, "PMM_BYBIT_PERPETUAL_TESTNET_API_SECRET": API_SECRET,
           "PMM_KEYS_DIR": "/nonexistent-pmm-keys"}
    bundle = build(_config(derivative="bybit_perpetual_testnet"), fast=False, env=env)
    assert bundle.gateway._rest.base_url == "https://api-testnet.bybit.com"  # type: ignore[attr-defined]
    assert bundle.feed._ws_url == "wss://stream-testnet.bybit.com"  # type: ignore[attr-defined]


def test_build_without_credentials_is_an_auth_error() -> None:
    with pytest.raises(AuthError) as info:
        build(_config(), fast=False, env={"PMM_KEYS_DIR": "/nonexistent-pmm-keys"})
    assert info.value.exit_code == 3
    assert "pmm connect bybit_perpetual" in str(info.value)


def test_build_refuses_fast_and_other_connectors() -> None:
    with pytest.raises(ConfigError, match="--fast"):
        build(_config(), fast=True, env=ENV)
    with pytest.raises(ConfigError, match="not a Bybit"):
        build(_config(derivative="binance_perpetual"), fast=False, env=ENV)
