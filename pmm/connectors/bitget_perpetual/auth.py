"""Bitget request signing and WebSocket login: the client signs and the server verifies here.

REST (exchange_apis_more.md §J2, Bitget "Signature"): `ACCESS-SIGN` = base64(HMAC-SHA256(secret,
timestamp + METHOD + requestPath + ("?" + queryString when there is one) + body)), `timestamp` the
`ACCESS-TIMESTAMP` header in unix milliseconds, the query and body exactly as sent ("" for a GET).
The key and the passphrase travel in `ACCESS-KEY` / `ACCESS-PASSPHRASE` in plain text; demo
trading adds `paptrading: 1`.

WebSocket login (§J6): `{"op": "login", "args": [{apiKey, passphrase, timestamp, sign}]}` with
`sign` the same HMAC over timestamp + "GET" + "/user/verify". The docs say milliseconds but their
example and ccxt send SECONDS: the client sends seconds, the server accepts both (30 s validity).
ccxt adds a top-level "url" key to the frame: unknown keys are ignored.

`prehash` and `sign` are the one code path: `BitgetAuth` (client) signs with them and `Verifier`
(the venue server) recomputes them over the bytes exactly as received, answering with Bitget's
codes (`errors.py`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.common.credentials import HmacCredentials
from pmm.core.clock import Clock

KEY_HEADER: Final = "ACCESS-KEY"
SIGN_HEADER: Final = "ACCESS-SIGN"
TIMESTAMP_HEADER: Final = "ACCESS-TIMESTAMP"
PASSPHRASE_HEADER: Final = "ACCESS-PASSPHRASE"
DEMO_HEADER: Final = spec.DEMO_HEADER

WS_LOGIN_METHOD: Final = "GET"
# How far a REST timestamp may be from the server's clock, and how old a login timestamp may be.
TIMESTAMP_WINDOW_S: Final = 30.0
WS_LOGIN_WINDOW_S: Final = 30.0
_SECONDS_BELOW: Final = 10_000_000_000  # a login timestamp smaller than this is in seconds


def prehash(timestamp: str, method: str, request_path: str, body: str = "") -> str:
    """What Bitget signs: timestamp + METHOD + path (with "?query" when there is one) + body."""
    return f"{timestamp}{method.upper()}{request_path}{body}"


def sign(secret: str, message: str) -> str:
    """base64 of the HMAC-SHA256 of `message` keyed by `secret` (surrogates keep odd bytes)."""
    digest = hmac.new(secret.encode(), message.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def ws_login_sign(secret: str, timestamp: str) -> str:
    return sign(secret, prehash(timestamp, WS_LOGIN_METHOD, spec.WS_LOGIN_PATH))


class BitgetAuth(HmacCredentials):
    """Signs requests for one API key, secret and passphrase. `time_offset_ms` = server - local."""

    def __init__(self, api_key: str, api_secret: str, passphrase: str, clock: Clock, demo: bool = False) -> None:
        super().__init__(api_key, api_secret, clock, int(TIMESTAMP_WINDOW_S * 1000), passphrase=passphrase)
        self.demo = demo

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("credentials cannot be serialized")

    def _sign(self, message: str) -> str:
        # The common secret yields hex; Bitget wants base64 of the same digest bytes.
        return base64.b64encode(bytes.fromhex(self._secret.digest(message.encode()))).decode()

    def headers(self, method: str, request_path: str, body: str = "") -> dict[str, str]:
        """The ACCESS-* headers (and the demo header) for one request, signed over exactly
        `request_path` (with its query) and `body` as they will be sent."""
        timestamp = str(self.timestamp_ms())
        headers = {
            KEY_HEADER: self._api_key.value,
            SIGN_HEADER: self._sign(prehash(timestamp, method, request_path, body)),
            TIMESTAMP_HEADER: timestamp,
            PASSPHRASE_HEADER: self.passphrase or "",
            "locale": "en-US",
        }
        if self.demo:
            headers[DEMO_HEADER] = "1"
        return headers

    def ws_login_message(self) -> dict[str, object]:
        """The private socket's login frame, timestamped now (server clock) in unix seconds."""
        timestamp = str(self.timestamp_ms() // 1000)
        signature = self._sign(prehash(timestamp, WS_LOGIN_METHOD, spec.WS_LOGIN_PATH))
        return {"op": "login", "args": [{"apiKey": self._api_key.value, "passphrase": self.passphrase or "",
                                         "timestamp": timestamp, "sign": signature}]}


class Verifier:
    """The venue server's checks of a signed request or a login frame for one simulated account.
    Each check returns None when good, else the Bitget code the venue answers with."""

    def __init__(self, api_key: str, api_secret: str, passphrase: str, clock: Clock) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self._passphrase = passphrase
        self._clock = clock

    @staticmethod
    def _same(a: str, b: str) -> bool:
        return hmac.compare_digest(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape"))

    def check_rest(self, headers: Mapping[str, str], method: str, request_path: str, body: str) -> int | None:
        """The REST checks, in Bitget's order: 40001 key empty, 40002 sign empty, 40011 passphrase
        empty, 40005 timestamp invalid, 40006 unknown key, 40008 expired, 40012 wrong passphrase,
        40009 bad signature."""
        key = headers.get(KEY_HEADER, "")
        signature = headers.get(SIGN_HEADER, "")
        passphrase = headers.get(PASSPHRASE_HEADER, "")
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        for value, code in ((key, 40001), (signature, 40002), (passphrase, 40011)):
            if not value:
                return code
        if not timestamp.isdigit():
            return 40005
        if not self._same(key, self.api_key):
            return 40006
        if abs(self._clock.now() - int(timestamp) / 1000) > TIMESTAMP_WINDOW_S:
            return 40008
        if not self._same(passphrase, self._passphrase):
            return 40012
        if not self._same(signature, sign(self._secret, prehash(timestamp, method, request_path, body))):
            return 40009
        return None

    def check_ws_login(self, arg: object) -> int | None:
        """One login arg {apiKey, passphrase, timestamp, sign}: 30002 malformed, 30011 unknown key,
        30013 bad timestamp, 30014 expired, 30012 wrong passphrase, 30015 bad signature."""
        if not isinstance(arg, Mapping):
            return 30002
        key, passphrase, timestamp, signature = (arg.get(k) for k in ("apiKey", "passphrase", "timestamp", "sign"))
        if isinstance(timestamp, int) and not isinstance(timestamp, bool):
            timestamp = str(timestamp)
        if not all(isinstance(v, str) and v for v in (key, passphrase, timestamp, signature)):
            return 30002
        assert isinstance(key, str) and isinstance(passphrase, str)
        assert isinstance(timestamp, str) and isinstance(signature, str)
        if not self._same(key, self.api_key):
            return 30011
        if not timestamp.isdigit():
            return 30013
        sent = int(timestamp) / (1 if int(timestamp) < _SECONDS_BELOW else 1000)
        if abs(self._clock.now() - sent) > WS_LOGIN_WINDOW_S:
            return 30014
        if not self._same(passphrase, self._passphrase):
            return 30012
        if not self._same(signature, ws_login_sign(self._secret, timestamp)):
            return 30015
        return None
