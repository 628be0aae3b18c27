"""Bitget signing and its verification (one code path for the client `BitgetAuth` and the server
`Verifier`, checked against Bitget's documented string-to-sign and an independent HMAC), and the
one error table."""

from __future__ import annotations

import base64
import hashlib
import hmac
import pickle

import pytest

from pmm.connectors.bitget_perpetual import auth, errors, spec
from pmm.core.clock import VirtualClock
from pmm.errors import (
    AuthError,
    BelowMinNotional,
    ExchangeUnavailable,
    InsufficientMargin,
    OrderError,
    OrderOutcomeUnknown,
    RateLimited,
    UnknownOrder,
)

KEY, SECRET, PASSPHRASE = "bitget-test-key", "22582BD0CFF14C41EDBF1AB98506286D", "bitget-pass"
# Bitget's signature doc: timestamp 16273667805456 and its two strings to sign (no secret published).
DOC_TS = "16273667805456"
DOC_BODY = ('{"productType":"usdt-futures","symbol":"BTCUSDT","size":"8","marginMode":"crossed","side":"buy",'
            '"orderType":"limit","clientOid":"channel#123456"}')
NOW = 1_700_000_000.0


def _independent(secret: str, message: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()


def test_the_documented_strings_to_sign():
    assert auth.prehash(DOC_TS, "get", "/api/mix/v2/market/depth?limit=20&symbol=BTCUSDT") == \
        "16273667805456GET/api/mix/v2/market/depth?limit=20&symbol=BTCUSDT"
    message = auth.prehash(DOC_TS, "POST", "/api/v2/mix/order/place-order", DOC_BODY)
    assert message == "16273667805456POST/api/v2/mix/order/place-order" + DOC_BODY
    assert auth.sign(SECRET, message) == _independent(SECRET, message)


def _pair(demo: bool = False):
    clock = VirtualClock(NOW)
    return (clock, auth.BitgetAuth(KEY, SECRET, PASSPHRASE, clock, demo=demo),
            auth.Verifier(KEY, SECRET, PASSPHRASE, clock))


def test_client_headers_verify_on_the_server_and_demo_adds_paptrading():
    _, client, server = _pair()
    path = "/api/v2/mix/account/accounts?productType=USDT-FUTURES"
    headers = client.headers("GET", path)
    assert headers[auth.TIMESTAMP_HEADER] == "1700000000000" and headers[auth.PASSPHRASE_HEADER] == PASSPHRASE
    assert headers[auth.SIGN_HEADER] == _independent(SECRET, "1700000000000GET" + path)
    assert server.check_rest(headers, "GET", path, "") is None
    assert spec.DEMO_HEADER not in headers
    assert _pair(demo=True)[1].headers("GET", path)[spec.DEMO_HEADER] == "1"


@pytest.mark.parametrize(("change", "code"), [
    ({auth.KEY_HEADER: ""}, 40001),
    ({auth.SIGN_HEADER: ""}, 40002),
    ({auth.PASSPHRASE_HEADER: ""}, 40011),
    ({auth.TIMESTAMP_HEADER: "2023-11-14T22:13:20Z"}, 40005),
    ({auth.KEY_HEADER: "other-key"}, 40006),
    ({auth.TIMESTAMP_HEADER: "1699999960000"}, 40008),
    ({auth.PASSPHRASE_HEADER: "wrong"}, 40012),
    ({auth.SIGN_HEADER: _independent("other-secret", "1700000000000GET/api/v2/mix/account/accounts")}, 40009),
])
def test_each_refusal_has_its_code(change, code):
    _, client, server = _pair()
    headers = {**client.headers("GET", "/api/v2/mix/account/accounts"), **change}
    assert server.check_rest(headers, "GET", "/api/v2/mix/account/accounts", "") == code


def test_the_signature_covers_query_and_body_exactly():
    _, client, server = _pair()
    headers = client.headers("GET", "/api/v2/mix/order/fills?symbol=BTCUSDT")
    assert server.check_rest(headers, "GET", "/api/v2/mix/order/fills?symbol=ETHUSDT", "") == 40009
    posted = client.headers("POST", spec.PLACE_ORDER_PATH, '{"size": "1"}')
    assert server.check_rest(posted, "POST", spec.PLACE_ORDER_PATH, '{"size":"1"}') == 40009


def test_ws_login_signs_seconds_and_the_server_takes_seconds_or_milliseconds():
    clock, client, server = _pair()
    frame = client.ws_login_message()
    arg = frame["args"][0]  # type: ignore[index]
    assert frame["op"] == "login" and arg["timestamp"] == "1700000000"
    assert arg["sign"] == _independent(SECRET, "1700000000GET/user/verify")
    assert server.check_ws_login(arg) is None
    ms_arg = {**arg, "timestamp": "1700000000000", "sign": _independent(SECRET, "1700000000000GET/user/verify")}
    assert server.check_ws_login(ms_arg) is None  # the docs' unit (bitget-api-client sends it)
    assert server.check_ws_login({**arg, "timestamp": 1700000000}) is None
    clock.advance_to(NOW + 60)
    assert server.check_ws_login(arg) == 30014


@pytest.mark.parametrize(("change", "code"), [
    ({"apiKey": "other"}, 30011), ({"timestamp": "soon"}, 30013), ({"passphrase": "wrong"}, 30012),
    ({"sign": "AAAA"}, 30015), ({"sign": None}, 30002),
])
def test_ws_login_refusals(change, code):
    _, client, server = _pair()
    arg = {**client.ws_login_message()["args"][0], **change}  # type: ignore[index]
    assert server.check_ws_login(arg) == code
    assert server.check_ws_login("not-an-object") == 30002


def test_credentials_never_print_the_secret_or_passphrase():
    _, client, _ = _pair()
    assert SECRET not in repr(client) and PASSPHRASE not in repr(client) and KEY not in repr(client)
    with pytest.raises(TypeError):
        pickle.dumps(client)


@pytest.mark.parametrize(("code", "cls"), [
    (40009, AuthError), (40012, AuthError), (429, RateLimited), (43012, InsufficientMargin),
    (40762, InsufficientMargin), (45110, BelowMinNotional), (43001, UnknownOrder), (22001, UnknownOrder),
    (40404, ExchangeUnavailable), (40808, OrderError),
])
def test_codes_translate_by_the_table_with_the_code_in_the_message(code, cls):
    err = errors.translate(what="place order pmm-1", status=errors.http_status(code), code=code,
                           msg=errors.message(code, "x"), order_call=True)
    assert type(err) is cls and str(code) in str(err) and "Bitget refused place order pmm-1" in str(err)


def test_unknown_outcomes_on_order_calls_and_advice_on_auth():
    assert isinstance(errors.translate(what="place order", status=500, code=40010, msg="timed out",
                                       order_call=True), OrderOutcomeUnknown)
    assert isinstance(errors.translate(what="read balance", status=500, code=40010, msg="timed out",
                                       order_call=False), ExchangeUnavailable)
    auth_error = errors.translate(what="read balance", status=400, code=40012, msg="", order_call=False)
    assert "pmm connect bitget_perpetual" in str(auth_error)
    assert "HTTP 403" in str(errors.translate(what="x", status=403, code=None, msg="", order_call=True))


def test_every_code_the_server_sends_is_in_the_table():
    assert errors.RESYNC_TIME_CODES | errors.UNKNOWN_OUTCOME_CODES | errors.RATE_LIMIT_CODES <= set(errors.CODES)
    assert errors.message(45115, "0.1") == "The price you enter should be a multiple of 0.1"
    assert errors.http_status(40404) == 404 and errors.http_status(429) == 429 and errors.http_status(43012) == 400


@pytest.mark.parametrize(("url", "socket"), [
    ("wss://ws.bitget.com", "wss://ws.bitget.com/v2/ws/public"),
    ("ws://127.0.0.1:9/v2/ws/public", "ws://127.0.0.1:9/v2/ws/public"),
    ("ws://127.0.0.1:9/v2/ws", "ws://127.0.0.1:9/v2/ws/public"),
])
def test_socket_urls_from_a_host_or_a_full_url(url, socket):
    assert spec.ws_endpoint(url, spec.WS_PUBLIC_PATH) == socket
    assert spec.ws_endpoint(url, spec.WS_PRIVATE_PATH) == socket.replace("public", "private")
