"""Signing: the official HMAC vector, the signed query as sent, clock offset, secrets never shown."""

from __future__ import annotations

import logging
import pickle

import pytest
from test_client_fakes import API_KEY, API_SECRET, StepClock

from pmm.connectors.binance_perpetual.auth import BinanceAuth
from pmm.connectors.binance_perpetual.build import build, credentials
from pmm.connectors.binance_perpetual.rest import BinanceRestClient
from pmm.connectors.common.credentials import mask_key, sign
from pmm.errors import AuthError

# reference/exchange_apis.md §A2: USD-M General Info, "SIGNED Endpoint Examples for POST /fapi/v1/order".
OFFICIAL_MESSAGE = ("symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC"
                    "&recvWindow=5000&timestamp=1591702613943")
OFFICIAL_SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"


def test_official_hmac_vector() -> None:
    assert sign(API_SECRET, OFFICIAL_MESSAGE) == OFFICIAL_SIGNATURE


def test_signed_query_reproduces_the_official_request() -> None:
    clock = StepClock(1591702613.943)
    auth = BinanceAuth(API_KEY, API_SECRET, clock, recv_window_ms=5000)
    query = auth.signed_query([("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("quantity", "1"),
                               ("price", "9000"), ("timeInForce", "GTC")])
    assert query == f"{OFFICIAL_MESSAGE}&signature={OFFICIAL_SIGNATURE}"
    assert auth.headers() == {"X-MBX-APIKEY": API_KEY}


def test_client_order_id_characters_are_encoded_once_and_signed_as_sent() -> None:
    auth = BinanceAuth(API_KEY, API_SECRET, StepClock(1.0))
    query = auth.signed_query([("newClientOrderId", "a:b/c.d")])
    unsigned, _, signature = query.rpartition("&signature=")
    assert unsigned.startswith("newClientOrderId=a%3Ab%2Fc.d&")
    assert sign(API_SECRET, unsigned) == signature


def test_time_offset_from_server_time() -> None:
    clock = StepClock(1000.0)
    auth = BinanceAuth(API_KEY, API_SECRET, clock)
    # Sent at 1000.0 s, answered at 1000.2 s, server said 1000.1 s + 2.5 s ahead.
    auth.update_time_offset(1_002_600, 1000.0, 1000.2)
    assert auth.time_offset_ms == 2500
    assert auth.timestamp_ms() == 1_002_500


def test_secret_and_key_never_printed(caplog: pytest.LogCaptureFixture) -> None:
    clock = StepClock()
    auth = BinanceAuth(API_KEY, API_SECRET, clock)
    rest = BinanceRestClient("http://127.0.0.1:1", clock=clock, auth=auth)
    shown = " ".join([repr(auth), str(auth), repr(rest), repr(auth._secret), str(vars(auth))])
    assert API_SECRET not in shown
    assert API_KEY not in shown
    assert mask_key(API_KEY) in repr(auth)
    with pytest.raises(TypeError):
        pickle.dumps(auth._secret)


def test_missing_credentials_say_what_to_set() -> None:
    with pytest.raises(AuthError) as err:
        credentials("binance_perpetual", {"PMM_KEYS_DIR": "/nonexistent/pmm-keys"})
    message = str(err.value)
    assert "PMM_BINANCE_PERPETUAL_API_KEY" in message and "PMM_BINANCE_PERPETUAL_API_SECRET" in message
    assert "pmm connect binance_perpetual" in message
    env = {"PMM_BINANCE_PERPETUAL_API_KEY": "k", "PMM_BINANCE_PERPETUAL_API_SECRET": "s"}
    assert credentials("binance_perpetual", env) == ("k", "s")


def test_bundle_reprs_hide_the_secret(caplog: pytest.LogCaptureFixture) -> None:
    class Cfg:
        derivative = "binance_perpetual_testnet"

        class connector:
            rest_url = "http://127.0.0.1:9"
            ws_url = "ws://127.0.0.1:9"

    # The testnet has keys of its own, under its own variable names.
    env = {"PMM_BINANCE_PERPETUAL_TESTNET_API_KEY": API_KEY, "PMM_BINANCE_PERPETUAL_TESTNET_API_SECRET": API_SECRET}
    with caplog.at_level(logging.DEBUG):
        bundle = build(Cfg(), fast=False, env=env)
    text = " ".join([repr(bundle), repr(bundle.feed), repr(bundle.gateway), caplog.text])
    assert API_SECRET not in text and API_KEY not in text
