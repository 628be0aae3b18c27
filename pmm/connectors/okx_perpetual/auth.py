"""OKX v5 request signing and WebSocket login: the client signs and the server verifies here.

REST (exchange_apis_more.md §G2): `OK-ACCESS-SIGN` = base64(HMAC-SHA256(secret, timestamp + METHOD +
requestPath + body)), where `timestamp` is the `OK-ACCESS-TIMESTAMP` header (ISO-8601 UTC with
milliseconds, `2020-12-08T09:08:57.715Z`), `requestPath` the path with its query string exactly as
sent (`/api/v5/account/balance?ccy=USDT`) and `body` the raw JSON body ("" for a GET). The key and
the passphrase travel in `OK-ACCESS-KEY` / `OK-ACCESS-PASSPHRASE` in plain text.

WebSocket login (§G9): `{"op": "login", "args": [{apiKey, passphrase, timestamp, sign}]}` with
`timestamp` in unix SECONDS (ccxt sends a string, python-okx an int) and `sign` the same HMAC over
timestamp + "GET" + "/users/self/verify".

`prehash` and `sign` are the one code path: `OkxAuth` (client) signs with them, and `Verifier`
(the venue server) recomputes them over the bytes exactly as received. The verifier answers with
OKX's own codes (`errors.py` says what each one means and how the server sends it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from pmm.connectors.common.credentials import HmacCredentials
from pmm.connectors.okx_perpetual import spec
from pmm.core.clock import Clock

KEY_HEADER: Final = "OK-ACCESS-KEY"
SIGN_HEADER: Final = "OK-ACCESS-SIGN"
TIMESTAMP_HEADER: Final = "OK-ACCESS-TIMESTAMP"
PASSPHRASE_HEADER: Final = "OK-ACCESS-PASSPHRASE"
SIMULATED_HEADER: Final = spec.SIMULATED_TRADING_HEADER  # "1" = demo trading

WS_LOGIN_METHOD: Final = "GET"
WS_LOGIN_PATH: Final = spec.WS_LOGIN_PATH
# How far a REST timestamp may be from the server's clock (OKX: 30 s, else 50102), and how old a
# WebSocket login timestamp may be (30 s, else 60006).
TIMESTAMP_WINDOW_S: Final = 30.0
WS_LOGIN_WINDOW_S: Final = 30.0


def iso_timestamp(seconds: float) -> str:
    """`2020-12-08T09:08:57.715Z`: UTC, milliseconds, as OKX wants OK-ACCESS-TIMESTAMP."""
    moment = datetime.fromtimestamp(round(seconds * 1000) / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_iso_timestamp(text: str) -> float | None:
    """Seconds since the epoch of an OK-ACCESS-TIMESTAMP, or None when it is not ISO-8601 UTC."""
    if not text.endswith("Z") or "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    except ValueError:
        return None
    return moment.timestamp()


def prehash(timestamp: str, method: str, request_path: str, body: str = "") -> str:
    """What OKX signs: timestamp + METHOD + requestPath (with '?query') + body."""
    return f"{timestamp}{method.upper()}{request_path}{body}"


def sign(secret: str, message: str) -> str:
    """base64 of the HMAC-SHA256 of `message` keyed by `secret` (surrogates keep odd bytes)."""
    digest = hmac.new(secret.encode(), message.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def ws_login_sign(secret: str, timestamp: str) -> str:
    return sign(secret, prehash(timestamp, WS_LOGIN_METHOD, WS_LOGIN_PATH))


class OkxAuth(HmacCredentials):
    """Signs requests for one API key, secret and passphrase. `time_offset_ms` = server - local."""

    def __init__(self, api_key: str, api_secret: str, passphrase: str, clock: Clock, demo: bool = False) -> None:
        # The passphrase is held masked (never in a repr or a traceback), as the secret is.
        super().__init__(api_key, api_secret, clock, int(TIMESTAMP_WINDOW_S * 1000), passphrase=passphrase)
        self.demo = demo

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("credentials cannot be serialized")

    def _sign(self, message: str) -> str:
        # The common secret yields hex; OKX wants base64 of the same digest bytes.
        return base64.b64encode(bytes.fromhex(self._secret.digest(message.encode()))).decode()

    def headers(self, method: str, request_path: str, body: str = "") -> dict[str, str]:
        """The OK-ACCESS-* headers (and the demo header) for one request, signed over exactly
        `request_path` (with its query) and `body` as they will be sent."""
        timestamp = iso_timestamp(self.timestamp_ms() / 1000)
        headers = {
            KEY_HEADER: self._api_key.value,
            SIGN_HEADER: self._sign(prehash(timestamp, method, request_path, body)),
            TIMESTAMP_HEADER: timestamp,
            PASSPHRASE_HEADER: self.passphrase or "",
        }
        if self.demo:
            headers[SIMULATED_HEADER] = "1"
        return headers

    def ws_login_message(self) -> dict[str, object]:
        """The private socket's login frame, timestamped now (server clock) in unix seconds."""
        timestamp = str(self.timestamp_ms() // 1000)
        signature = self._sign(prehash(timestamp, WS_LOGIN_METHOD, WS_LOGIN_PATH))
        return {"op": "login", "args": [{"apiKey": self._api_key.value, "passphrase": self.passphrase or "",
                                         "timestamp": timestamp, "sign": signature}]}


class Verifier:
    """The venue server's checks of a signed request or a login frame for one simulated account.
    Each check returns None when good, else the OKX code the venue answers with."""

    def __init__(self, api_key: str, api_secret: str, passphrase: str, clock: Clock) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self._passphrase = passphrase
        self._clock = clock

    @staticmethod
    def _same(given: str, expected: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())

    def check_rest(self, headers: Mapping[str, str], method: str, request_path: str, body: str) -> int | None:
        """Codes per OKX's error page: missing header 50103/50104/50106/50107, unknown key 50111,
        bad timestamp 50112, stale 50102, wrong passphrase 50105, bad signature 50113."""
        key = headers.get(KEY_HEADER, "")
        passphrase = headers.get(PASSPHRASE_HEADER, "")
        signature = headers.get(SIGN_HEADER, "")
        timestamp = headers.get(TIMESTAMP_HEADER, "")
        for value, code in ((key, 50103), (passphrase, 50104), (signature, 50106), (timestamp, 50107)):
            if not value:
                return code
        if not self._same(key, self.api_key):
            return 50111
        sent = parse_iso_timestamp(timestamp)
        if sent is None:
            return 50112
        if abs(self._clock.now() - sent) > TIMESTAMP_WINDOW_S:
            return 50102
        if not self._same(passphrase, self._passphrase):
            return 50105
        if not self._same(signature, sign(self._secret, prehash(timestamp, method, request_path, body))):
            return 50113
        return None

    def check_ws_login(self, arg: object) -> int | None:
        """One login arg {apiKey, passphrase, timestamp, sign}: 60013 malformed, 60005 unknown key,
        60004 bad timestamp, 60006 expired, 60024 wrong passphrase, 60007 bad signature."""
        if not isinstance(arg, Mapping):
            return 60013
        key, passphrase, timestamp, signature = (arg.get(k) for k in ("apiKey", "passphrase", "timestamp", "sign"))
        if isinstance(timestamp, int) and not isinstance(timestamp, bool):
            timestamp = str(timestamp)
        if not all(isinstance(v, str) and v for v in (key, passphrase, timestamp, signature)):
            return 60013
        assert isinstance(key, str) and isinstance(passphrase, str)
        assert isinstance(timestamp, str) and isinstance(signature, str)
        if not self._same(key, self.api_key):
            return 60005
        try:
            sent = float(timestamp)
        except ValueError:
            return 60004
        if abs(self._clock.now() - sent) > WS_LOGIN_WINDOW_S:
            return 60006
        if not self._same(passphrase, self._passphrase):
            return 60024
        if not self._same(signature, ws_login_sign(self._secret, timestamp)):
            return 60007
        return None
