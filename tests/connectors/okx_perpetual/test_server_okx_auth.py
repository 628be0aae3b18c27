"""OKX signing and its verification: one code path for the client (`OkxAuth`) and the server
(`Verifier`), checked against OKX's documented example and python-okx's own signer."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from pmm.connectors.okx_perpetual import auth
from pmm.core.clock import VirtualClock

KEY, SECRET, PASSPHRASE = "okx-test-key", "22582BD0CFF14C41EDBF1AB98506286D", "okx-pass"
# OKX's signing doc: timestamp 2020-12-08T09:08:57.715Z, set-leverage body, the doc's SecretKey.
DOC_TS = "2020-12-08T09:08:57.715Z"
DOC_BODY = '{"instId":"BTC-USDT","lever":"5","mgnMode":"isolated"}'
DOC_NOW = 1607418537.715


def _independent(secret: str, message: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()


def test_the_documented_example_prehash_and_signature():
    message = auth.prehash(DOC_TS, "post", "/api/v5/account/set-leverage", DOC_BODY)
    assert message == DOC_TS + "POST/api/v5/account/set-leverage" + DOC_BODY
    assert auth.sign(SECRET, message) == _independent(SECRET, message)
    assert auth.prehash(DOC_TS, "GET", "/users/self/verify") == DOC_TS + "GET/users/self/verify"


def test_python_okx_signs_the_same_bytes():
    utils = pytest.importorskip("okx.utils")
    path = "/api/v5/account/balance?ccy=USDT"
    theirs = utils.sign(utils.pre_hash(DOC_TS, "GET", path, "", debug=False), SECRET).decode()
    assert auth.sign(SECRET, auth.prehash(DOC_TS, "GET", path)) == theirs


def test_iso_timestamps_round_trip_with_milliseconds():
    assert auth.iso_timestamp(DOC_NOW) == DOC_TS
    assert auth.iso_timestamp(1607418537.0) == "2020-12-08T09:08:57.000Z"
    assert auth.parse_iso_timestamp(DOC_TS) == pytest.approx(DOC_NOW)
    for bad in ("1607418537715", "2020-12-08 09:08:57", "2020-13-08T09:08:57.715Z", ""):
        assert auth.parse_iso_timestamp(bad) is None


def _pair(demo: bool = False):
    clock = VirtualClock(DOC_NOW)
    return clock, auth.OkxAuth(KEY, SECRET, PASSPHRASE, clock, demo=demo), auth.Verifier(KEY, SECRET, PASSPHRASE, clock)


def test_client_headers_verify_on_the_server():
    _, client, server = _pair()
    headers = client.headers("POST", "/api/v5/account/set-leverage", DOC_BODY)
    assert headers[auth.TIMESTAMP_HEADER] == DOC_TS
    assert headers[auth.SIGN_HEADER] == _independent(SECRET, DOC_TS + "POST/api/v5/account/set-leverage" + DOC_BODY)
    assert auth.SIMULATED_HEADER not in headers
    assert server.check_rest(headers, "POST", "/api/v5/account/set-leverage", DOC_BODY) is None
    assert _pair(demo=True)[1].headers("GET", "/api/v5/account/balance")[auth.SIMULATED_HEADER] == "1"


@pytest.mark.parametrize(("change", "code"), [
    ({auth.KEY_HEADER: ""}, 50103),
    ({auth.PASSPHRASE_HEADER: ""}, 50104),
    ({auth.SIGN_HEADER: ""}, 50106),
    ({auth.TIMESTAMP_HEADER: ""}, 50107),
    ({auth.KEY_HEADER: "other-key"}, 50111),
    ({auth.TIMESTAMP_HEADER: "1607418537715"}, 50112),
    ({auth.TIMESTAMP_HEADER: "2020-12-08T09:08:20.000Z"}, 50102),
    ({auth.PASSPHRASE_HEADER: "wrong"}, 50105),
    ({auth.SIGN_HEADER: _independent("other-secret", DOC_TS + "GET/api/v5/account/balance")}, 50113),
])
def test_each_refusal_has_its_code(change, code):
    _, client, server = _pair()
    headers = {**client.headers("GET", "/api/v5/account/balance"), **change}
    assert server.check_rest(headers, "GET", "/api/v5/account/balance", "") == code


def test_the_signature_covers_path_query_and_body_exactly():
    _, client, server = _pair()
    headers = client.headers("GET", "/api/v5/account/balance?ccy=USDT")
    assert server.check_rest(headers, "GET", "/api/v5/account/balance?ccy=USDT", "") is None
    assert server.check_rest(headers, "GET", "/api/v5/account/balance?ccy=BTC", "") == 50113
    posted = client.headers("POST", "/api/v5/trade/order", '{"sz": "1"}')
    assert server.check_rest(posted, "POST", "/api/v5/trade/order", '{"sz":"1"}') == 50113


def test_ws_login_frame_verifies_and_accepts_int_or_string_timestamps():
    clock, client, server = _pair()
    frame = client.ws_login_message()
    arg = frame["args"][0]  # type: ignore[index]
    assert frame["op"] == "login" and arg["timestamp"] == "1607418537"
    assert arg["sign"] == _independent(SECRET, "1607418537GET/users/self/verify")
    assert server.check_ws_login(arg) is None
    assert server.check_ws_login({**arg, "timestamp": 1607418537}) is None  # python-okx sends an int
    clock.advance_to(DOC_NOW + 60)
    assert server.check_ws_login(arg) == 60006


@pytest.mark.parametrize(("change", "code"), [
    ({"apiKey": "other"}, 60005),
    ({"timestamp": "soon"}, 60004),
    ({"passphrase": "wrong"}, 60024),
    ({"sign": "AAAA"}, 60007),
    ({"sign": None}, 60013),
])
def test_ws_login_refusals(change, code):
    _, client, server = _pair()
    arg = {**client.ws_login_message()["args"][0], **change}  # type: ignore[index]
    assert server.check_ws_login(arg) == code
    assert server.check_ws_login("not-an-object") == 60013


def test_credentials_never_print_the_secret_or_passphrase():
    _, client, _ = _pair()
    assert SECRET not in repr(client) and PASSPHRASE not in repr(client) and KEY not in repr(client)
    with pytest.raises(TypeError):
        import pickle
        pickle.dumps(client)
