"""KuCoin request signing: the client signs and the venue server verifies here.

REST (exchange_apis_more.md §I2): `KC-API-SIGN` = base64(HMAC-SHA256(secret, timestamp + METHOD +
endpoint + body)), where `timestamp` is `KC-API-TIMESTAMP` (unix milliseconds), `endpoint` the path
with its query string exactly as sent (`/api/v1/orders?status=active&symbol=XBTUSDTM`) and `body`
the raw JSON body ("" for GET and DELETE). Key versions 2 and 3 send `KC-API-PASSPHRASE` =
base64(HMAC-SHA256(secret, passphrase)); version 1 (retired) sent the passphrase in plain text.
ccxt and kucoin-futures-python send version 2, kucoin-universal-sdk version 3; the scheme is the
same, so pmm signs as version 2 and the server accepts 1, 2 and 3.

The WebSocket needs no signature: the private socket's token comes from the signed
`POST /api/v1/bullet-private`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

from pmm.connectors.common.credentials import HmacCredentials
from pmm.core.clock import Clock

KEY_HEADER: Final = "KC-API-KEY"
SIGN_HEADER: Final = "KC-API-SIGN"
TIMESTAMP_HEADER: Final = "KC-API-TIMESTAMP"
PASSPHRASE_HEADER: Final = "KC-API-PASSPHRASE"
VERSION_HEADER: Final = "KC-API-KEY-VERSION"
KEY_VERSION: Final = "2"
ACCEPTED_VERSIONS: Final = ("1", "2", "3")
# How far KC-API-TIMESTAMP may be from the server's clock (KuCoin: 5 s, else 400002).
TIMESTAMP_WINDOW_S: Final = 5.0


def prehash(timestamp: str, method: str, endpoint: str, body: str = "") -> str:
    """What KuCoin signs: timestamp + METHOD + endpoint (with '?query') + body."""
    return f"{timestamp}{method.upper()}{endpoint}{body}"


def sign(secret: str, message: str) -> str:
    """base64 of the HMAC-SHA256 of `message` keyed by `secret` (surrogates keep odd bytes)."""
    digest = hmac.new(secret.encode(), message.encode("utf-8", "surrogateescape"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class KucoinAuth(HmacCredentials):
    """Signs requests for one API key, secret and passphrase. `time_offset_ms` = server - local."""

    def __init__(self, api_key: str, api_secret: str, passphrase: str, clock: Clock) -> None:
        super().__init__(api_key, api_secret, clock, int(TIMESTAMP_WINDOW_S * 1000), passphrase=passphrase)

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("credentials cannot be serialized")

    def _sign(self, message: str) -> str:
        # The common secret yields hex; KuCoin wants base64 of the same digest bytes.
        return base64.b64encode(bytes.fromhex(self._secret.digest(message.encode()))).decode()

    def headers(self, method: str, endpoint: str, body: str = "") -> dict[str, str]:
        """The KC-API-* headers for one request, signed over exactly `endpoint` and `body` as sent."""
        timestamp = str(self.timestamp_ms())
        return {
            KEY_HEADER: self._api_key.value,
            SIGN_HEADER: self._sign(prehash(timestamp, method, endpoint, body)),
            TIMESTAMP_HEADER: timestamp,
            PASSPHRASE_HEADER: self._sign(self.passphrase or ""),
            VERSION_HEADER: KEY_VERSION,
        }


class Verifier:
    """The venue server's check of a signed request for one simulated account: None when good,
    else the KuCoin code it answers with (400001 missing header, 400002 timestamp, 400003 unknown
    key, 400004 passphrase, 400005 signature)."""

    def __init__(self, api_key: str, api_secret: str, passphrase: str, clock: Clock) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self._passphrase = passphrase
        self._clock = clock

    @staticmethod
    def _same(given: str, expected: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())

    def check_rest(self, headers: Mapping[str, str], method: str, endpoint: str, body: str) -> int | None:
        key, signature = headers.get(KEY_HEADER, ""), headers.get(SIGN_HEADER, "")
        timestamp, passphrase = headers.get(TIMESTAMP_HEADER, ""), headers.get(PASSPHRASE_HEADER, "")
        version = headers.get(VERSION_HEADER, "1")
        if not (key and signature and timestamp and passphrase):
            return 400001
        if not timestamp.isdigit():
            return 400002
        if abs(self._clock.now() - int(timestamp) / 1000) > TIMESTAMP_WINDOW_S:
            return 400002
        if not self._same(key, self.api_key) or version not in ACCEPTED_VERSIONS:
            return 400003
        expected = self._passphrase if version == "1" else sign(self._secret, self._passphrase)
        if not self._same(passphrase, expected):
            return 400004
        if not self._same(signature, sign(self._secret, prehash(timestamp, method, endpoint, body))):
            return 400005
        return None
