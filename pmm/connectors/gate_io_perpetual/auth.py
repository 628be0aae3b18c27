"""Gate APIv4 request signing and WebSocket channel auth: the client signs and the server verifies here.

REST (exchange_apis_more.md §H2): headers `KEY`, `Timestamp` (unix seconds) and `SIGN` = hex of
HMAC-SHA512(secret, METHOD "\\n" PATH "\\n" QUERY "\\n" hex(SHA512(body)) "\\n" Timestamp), where PATH
includes `/api/v4`, QUERY is the raw query string exactly as sent ("" without one) and the body
hash of an empty body is SHA512 of "". The `Timestamp` header is signed as sent: the official SDK
sends a fraction (`1795304772.7306118`), ccxt and pmm whole seconds. Gate accepts 60 s of skew.

WebSocket (§H6): each private subscribe carries `auth: {"method": "api_key", "KEY", "SIGN"}` with
SIGN = hex HMAC-SHA512(secret, "channel=<channel>&event=<event>&time=<time>"), `time` the frame's.

`rest_prehash` / `ws_prehash` / `sign` are the one code path: `GateAuth` (client) signs with them
and `Verifier` (the venue server) recomputes them over the bytes received. The verifier answers
with Gate's labels (`errors.py` says what each means).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any, Final

from pmm.connectors.common.credentials import HmacCredentials
from pmm.core.clock import Clock

KEY_HEADER: Final = "KEY"
SIGN_HEADER: Final = "SIGN"
TIMESTAMP_HEADER: Final = "Timestamp"
TIMESTAMP_WINDOW_S: Final = 60.0
WS_AUTH_METHOD: Final = "api_key"


def body_hash(body: str) -> str:
    return hashlib.sha512(body.encode("utf-8", "surrogateescape")).hexdigest()


def rest_prehash(method: str, path: str, query: str, body: str, timestamp: str) -> str:
    """What Gate signs for one REST request (see module docstring)."""
    return "\n".join((method.upper(), path, query, body_hash(body), timestamp))


def ws_prehash(channel: str, event: str, time: int | float | str) -> str:
    return f"channel={channel}&event={event}&time={time}"


def sign(secret: str, message: str) -> str:
    """Lowercase hex HMAC-SHA512 of `message` keyed by `secret` (surrogates keep odd bytes)."""
    return hmac.new(secret.encode(), message.encode("utf-8", "surrogateescape"), hashlib.sha512).hexdigest()


class GateAuth(HmacCredentials):
    """Signs requests for one API key and secret. `time_offset_ms` = server - local."""

    def __init__(self, api_key: str, api_secret: str, clock: Clock) -> None:
        super().__init__(api_key, api_secret, clock, int(TIMESTAMP_WINDOW_S * 1000))

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("credentials cannot be serialized")

    def _sign(self, message: str) -> str:
        return sign(self._secret.reveal(), message)

    def headers(self, method: str, path: str, query: str, body: str) -> dict[str, str]:
        """KEY, Timestamp, SIGN for one request, signed over exactly `path`, `query`, `body` as sent."""
        timestamp = str(self.timestamp_ms() // 1000)
        return {KEY_HEADER: self._api_key.value, TIMESTAMP_HEADER: timestamp,
                SIGN_HEADER: self._sign(rest_prehash(method, path, query, body, timestamp))}

    def ws_time(self) -> int:
        return self.timestamp_ms() // 1000

    def ws_auth(self, channel: str, event: str, time: int) -> dict[str, str]:
        """The `auth` object of one private subscribe / unsubscribe frame sent at `time`."""
        return {"method": WS_AUTH_METHOD, "KEY": self._api_key.value,
                "SIGN": self._sign(ws_prehash(channel, event, time))}


class Verifier:
    """The venue server's checks of a signed request or a private subscribe for one simulated
    account. Each check returns None when good, else the Gate label the venue answers with."""

    def __init__(self, api_key: str, api_secret: str, clock: Clock) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self._clock = clock

    @staticmethod
    def _same(given: str, expected: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())

    def check_rest(self, headers: Mapping[str, str], method: str, path: str, query: str, body: str) -> str | None:
        """MISSING_REQUIRED_HEADER, INVALID_KEY, REQUEST_EXPIRED (timestamp unreadable or more than
        60 s off), INVALID_SIGNATURE."""
        key, timestamp, signature = (headers.get(h, "") for h in (KEY_HEADER, TIMESTAMP_HEADER, SIGN_HEADER))
        if not key or not timestamp or not signature:
            return "MISSING_REQUIRED_HEADER"
        if not self._same(key, self.api_key):
            return "INVALID_KEY"
        try:
            sent = float(timestamp)
        except ValueError:
            return "REQUEST_EXPIRED"
        if abs(self._clock.now() - sent) > TIMESTAMP_WINDOW_S:
            return "REQUEST_EXPIRED"
        if not self._same(signature.lower(), sign(self._secret, rest_prehash(method, path, query, body, timestamp))):
            return "INVALID_SIGNATURE"
        return None

    def check_ws(self, auth: object, channel: str, event: str, time: object) -> str | None:
        """One private frame's `auth`: None when it is this account's, signed over the frame."""
        if not isinstance(auth, Mapping) or auth.get("method") != WS_AUTH_METHOD:
            return "invalid auth method"
        key, signature = auth.get("KEY"), auth.get("SIGN")
        if not isinstance(key, str) or not isinstance(signature, str) or not self._same(key, self.api_key):
            return "invalid key"
        if isinstance(time, bool) or not isinstance(time, (int, float, str)):
            return "invalid time"
        if not self._same(signature.lower(), sign(self._secret, ws_prehash(channel, event, time))):
            return "signature mismatch"
        return None
