"""BitMEX request signing and WebSocket authentication: the client signs and the server verifies here.

REST (BitMEX "Authenticating with an API key"; exchange_apis_more.md §P): three headers, `api-key`,
`api-expires` (a unix time in SECONDS after which the request is void) and `api-signature` = lowercase
hex HMAC-SHA256(secret, VERB + path + expires + body), where `path` is the request target exactly as
sent, query string included (`/api/v1/order?filter=%7B%22open%22%3Atrue%7D`), and `body` the raw
body ("" without one; a DELETE /order carries a JSON body and signs it).

WebSocket (`/realtime`): either the same three headers on the upgrade request, signed over
`GET/realtime` + expires (the query string is not signed), or an `{"op": "authKeyExpires", "args":
[key, expires, signature]}` frame with the same signature. ccxt sends `expires` as the current time
in milliseconds on the socket, bitmex-ws now + 3600 s: both are in the future read as seconds.

`prehash` and `sign` are the one code path: `BitmexAuth` (client) signs with them, `Verifier` (the
venue server) recomputes them over the bytes as received and answers with BitMEX's own messages
(`errors.py`).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.common.credentials import HmacCredentials
from pmm.core.clock import Clock

KEY_HEADER: Final = "api-key"
EXPIRES_HEADER: Final = "api-expires"
SIGNATURE_HEADER: Final = "api-signature"
EXPIRES_AHEAD_S: Final = 30        # how long a signed request stays valid after it is signed

# The verifier's messages (BitMEX's own wording; `errors.py` maps them to classes).
MISSING_KEY: Final = "Missing API key."
INVALID_KEY: Final = "Invalid API Key."
BAD_SIGNATURE: Final = "Signature not valid."
EXPIRED: Final = "This request has expired - `expires` is in the past."
BAD_EXPIRES: Final = "Invalid expires"


def prehash(method: str, request_path: str, expires: str | int, body: str = "") -> str:
    """What BitMEX signs: VERB + path (with '?query') + expires + body."""
    return f"{method.upper()}{request_path}{expires}{body}"


def sign(secret: str, message: str) -> str:
    """Lowercase hex HMAC-SHA256 of `message` keyed by `secret` (surrogates keep odd bytes)."""
    return hmac.new(secret.encode(), message.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def ws_signature(secret: str, expires: str | int) -> str:
    return sign(secret, prehash(spec.WS_AUTH_METHOD, spec.WS_PATH, expires))


class BitmexAuth(HmacCredentials):
    """Signs requests for one API key and secret. `time_offset_ms` = server - local."""

    def __init__(self, api_key: str, api_secret: str, clock: Clock) -> None:
        super().__init__(api_key, api_secret, clock, EXPIRES_AHEAD_S * 1000)

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("credentials cannot be serialized")

    def _expires(self) -> str:
        return str(self.timestamp_ms() // 1000 + EXPIRES_AHEAD_S)

    def headers(self, method: str, request_path: str, body: str = "") -> dict[str, str]:
        """The api-* headers for one request, signed over exactly `request_path` (with its query) and
        `body` as they will be sent."""
        expires = self._expires()
        return {KEY_HEADER: self._api_key.value, EXPIRES_HEADER: expires,
                SIGNATURE_HEADER: self._secret.digest(prehash(method, request_path, expires, body).encode())}

    def ws_auth_message(self) -> dict[str, object]:
        """The socket's `authKeyExpires` frame, valid for EXPIRES_AHEAD_S (server clock)."""
        expires = int(self._expires())
        signature = self._secret.digest(prehash(spec.WS_AUTH_METHOD, spec.WS_PATH, expires).encode())
        return {"op": "authKeyExpires", "args": [self._api_key.value, expires, signature]}


def expires_seconds(value: object) -> float | None:
    """An `expires` as the unix seconds BitMEX compares it with, or None when it is not a number. A value
    in milliseconds (ccxt's socket auth) is read as seconds too, so it lies far in the future and
    passes, as it does at BitMEX."""
    if isinstance(value, bool):
        return None
    try:
        return float(str(value))
    except ValueError:
        return None


class Verifier:
    """The venue server's checks of a signed request or a socket auth for one simulated account.
    Each check returns None when good, else BitMEX's message (all answered with HTTP 401)."""

    def __init__(self, api_key: str, api_secret: str, clock: Clock) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self._clock = clock

    @staticmethod
    def _same(given: str, expected: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())

    def _check(self, key: str, expires: object, signature: str, message_of: str) -> str | None:
        if not key:
            return MISSING_KEY
        if not self._same(key, self.api_key):
            return INVALID_KEY
        seconds = expires_seconds(expires)
        if seconds is None:
            return BAD_EXPIRES
        if seconds < self._clock.now():
            return f"{EXPIRED} Current time: {int(self._clock.now())}"
        if not signature or not self._same(signature, sign(self._secret, message_of)):
            return BAD_SIGNATURE
        return None

    def check_rest(self, headers: Mapping[str, str], method: str, request_path: str, body: str) -> str | None:
        expires = headers.get(EXPIRES_HEADER, "")
        return self._check(headers.get(KEY_HEADER, ""), expires, headers.get(SIGNATURE_HEADER, ""),
                           prehash(method, request_path, expires, body))

    def check_ws_headers(self, headers: Mapping[str, str]) -> str | None:
        """Auth by headers on the upgrade: signed over GET/realtime + expires (no query)."""
        expires = headers.get(EXPIRES_HEADER, "")
        return self._check(headers.get(KEY_HEADER, ""), expires, headers.get(SIGNATURE_HEADER, ""),
                           prehash(spec.WS_AUTH_METHOD, spec.WS_PATH, expires))

    def check_ws_auth(self, args: object) -> str | None:
        """`authKeyExpires` args [key, expires, signature]; `expires` a number or a string."""
        if not isinstance(args, list) or len(args) != 3:
            return "authKeyExpires requires args [apiKey, expires, signature]"
        key, expires, signature = args
        if not isinstance(key, str) or not isinstance(signature, str):
            return INVALID_KEY
        return self._check(key, expires, signature, prehash(spec.WS_AUTH_METHOD, spec.WS_PATH, str(expires)))
