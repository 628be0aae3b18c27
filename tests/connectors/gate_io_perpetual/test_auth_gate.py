"""Gate signing: the official doc vectors, and the server's verifier over what clients really send."""

from __future__ import annotations

from pmm.connectors.gate_io_perpetual.auth import GateAuth, Verifier, body_hash, rest_prehash, sign, ws_prehash
from pmm.core.clock import Clock

DOC_TS = "1541993715"  # Gate's doc example: key "key", secret "secret"
DOC_BODY = '{"contract":"BTC_USD","type":"limit","size":100,"price":6800,"time_in_force":"gtc"}'


class FixedClock(Clock):
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_the_documented_get_vector():
    query = "contract=BTC_USD&status=finished&limit=50"
    signature = sign("secret", rest_prehash("GET", "/api/v4/futures/orders", query, "", DOC_TS))
    assert signature.startswith("55f84ea1") and signature.endswith("8b8a")  # as the docs print it


def test_the_documented_post_vector():
    assert body_hash(DOC_BODY).startswith("ad3c1692") and body_hash(DOC_BODY).endswith("6cca")
    signature = sign("secret", rest_prehash("POST", "/api/v4/futures/orders", "", DOC_BODY, DOC_TS))
    assert signature.startswith("eae42da9") and signature.endswith("89f0")


def test_client_headers_verify_and_tampering_is_refused():
    clock = FixedClock(1_800_000_000.0)
    auth = GateAuth("key", "secret", clock)
    verifier = Verifier("key", "secret", clock)
    headers = auth.headers("GET", "/api/v4/futures/usdt/orders", "contract=BTC_USDT&status=open", "")
    assert headers["Timestamp"] == "1800000000"
    assert verifier.check_rest(headers, "GET", "/api/v4/futures/usdt/orders", "contract=BTC_USDT&status=open", "") \
        is None
    assert verifier.check_rest(headers, "GET", "/api/v4/futures/usdt/orders", "contract=ETH_USDT&status=open", "") \
        == "INVALID_SIGNATURE"
    assert verifier.check_rest({**headers, "KEY": "other"}, "GET", "/api/v4/futures/usdt/orders", "", "") \
        == "INVALID_KEY"
    assert verifier.check_rest({}, "GET", "/api/v4/futures/usdt/orders", "", "") == "MISSING_REQUIRED_HEADER"


def test_a_fractional_timestamp_is_signed_as_sent_and_61_s_is_too_late():
    """The official SDK sends `Timestamp: 1800000000.7306118` and signs that very string."""
    verifier = Verifier("key", "secret", FixedClock(1_800_000_001.0))
    stamp = "1800000000.7306118"
    query = "contract=BTC_USDT&limit=100&with_id=True"  # the SDK's Python-style boolean
    headers = {"KEY": "key", "Timestamp": stamp,
               "SIGN": sign("secret", rest_prehash("GET", "/api/v4/futures/usdt/order_book", query, "", stamp))}
    assert verifier.check_rest(headers, "GET", "/api/v4/futures/usdt/order_book", query, "") is None
    late = Verifier("key", "secret", FixedClock(1_800_000_061.0))
    assert late.check_rest(headers, "GET", "/api/v4/futures/usdt/order_book", query, "") == "REQUEST_EXPIRED"


def test_websocket_auth_is_per_frame():
    clock = FixedClock(1_800_000_000.0)
    auth = GateAuth("key", "secret", clock)
    verifier = Verifier("key", "secret", clock)
    frame_auth = auth.ws_auth("futures.orders", "subscribe", 1_800_000_000)
    assert frame_auth["SIGN"] == sign("secret", ws_prehash("futures.orders", "subscribe", 1_800_000_000))
    assert verifier.check_ws(frame_auth, "futures.orders", "subscribe", 1_800_000_000) is None
    assert verifier.check_ws(frame_auth, "futures.positions", "subscribe", 1_800_000_000) == "signature mismatch"
    assert verifier.check_ws(None, "futures.orders", "subscribe", 1_800_000_000) == "invalid auth method"
