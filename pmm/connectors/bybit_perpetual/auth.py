"""Bybit v5 request signing and WebSocket authentication.

REST: `X-BAPI-SIGN` = hex HMAC-SHA256(secret, timestamp + api_key + recv_window + payload), where the
payload is the exact query string of a GET or the exact JSON body of a POST. The bytes signed here
are the bytes `rest.py` sends (it never re-encodes them). WebSocket: `{"op": "auth", "args": [key,
expires, hex HMAC-SHA256(secret, "GET/realtime" + expires)]}` with `expires` a little in the future.

Timestamps are the injected clock plus the measured offset to the server's clock, so a skewed local
clock is corrected after one retCode 10002.

The secret never leaves this module: it lives in a `_Secret` whose repr and str are masked and that
refuses to be pickled; the API key is shown masked in every repr.
"""

from __future__ import annotations

import hashlib
import hmac

from pmm.connectors.bybit_perpetual import constants as c
from pmm.core.clock import Clock


def mask_key(key: str) -> str:
    """First and last four characters only: enough to tell keys apart in a log."""
    if len(key) <= 8:
        return "****"
    return f"{key[:4]}…{key[-4:]}"


class _Secret:
    """Holds the API secret; nothing that prints it shows more than a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value.encode()

    def digest(self, message: bytes) -> str:
        return hmac.new(self._value, message, hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "_Secret(****)"

    __str__ = __repr__

    def __reduce__(self) -> object:  # never pickled into a state file or a subprocess
        raise TypeError("the API secret cannot be serialized")


class _ApiKey:
    """Holds the API key; printed masked (first and last four characters)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return mask_key(self.value)

    __str__ = __repr__


def sign(secret: str, message: str) -> str:
    """Lowercase hex HMAC-SHA256 of `message` keyed by `secret`."""
    return _Secret(secret).digest(message.encode())


def rest_sign_payload(timestamp_ms: int, api_key: str, recv_window_ms: int, payload: str) -> str:
    """The string Bybit signs for REST: timestamp + key + recvWindow + query string or JSON body."""
    return f"{timestamp_ms}{api_key}{recv_window_ms}{payload}"


def ws_sign_payload(expires_ms: int) -> str:
    return f"{c.WS_AUTH_PREFIX}{expires_ms}"


class BybitAuth:
    """Signs requests for one API key. `time_offset_ms` = server clock - local clock."""

    def __init__(self, api_key: str, api_secret: str, clock: Clock, recv_window_ms: int = c.RECV_WINDOW_MS) -> None:
        self._api_key = _ApiKey(api_key)
        self._secret = _Secret(api_secret)
        self._clock = clock
        self.recv_window_ms = recv_window_ms
        self.time_offset_ms = 0

    def __repr__(self) -> str:
        return f"BybitAuth(api_key={self.masked_key!r})"

    __str__ = __repr__

    def __reduce__(self) -> object:
        raise TypeError("credentials cannot be serialized")

    @property
    def masked_key(self) -> str:
        return mask_key(self._api_key.value)

    def redact(self, text: str) -> str:
        """`text` with the API key masked: Bybit's "error sign!" message echoes the signed string,
        key included, and venue messages end up in logs and errors."""
        return text.replace(self._api_key.value, self.masked_key)

    def timestamp_ms(self) -> int:
        return int(self._clock.now() * 1000) + self.time_offset_ms

    def update_time_offset(self, server_time_ms: int, sent_s: float, received_s: float) -> None:
        """Offset from one server-time round trip, assuming the server stamped it half-way."""
        local_mid_ms = (sent_s + received_s) / 2 * 1000
        self.time_offset_ms = round(server_time_ms - local_mid_ms)

    def headers(self, payload: str) -> dict[str, str]:
        """The four X-BAPI headers (plus the HMAC sign type) for a request carrying `payload`."""
        timestamp = self.timestamp_ms()
        message = rest_sign_payload(timestamp, self._api_key.value, self.recv_window_ms, payload)
        return {
            c.API_KEY_HEADER: self._api_key.value,
            c.TIMESTAMP_HEADER: str(timestamp),
            c.RECV_WINDOW_HEADER: str(self.recv_window_ms),
            c.SIGN_HEADER: self._secret.digest(message.encode()),
            c.SIGN_TYPE_HEADER: c.SIGN_TYPE_HMAC,
        }

    def ws_auth_message(self, expires_in_s: float = c.WS_AUTH_EXPIRES_S) -> dict[str, object]:
        """The private socket's `auth` frame; `expires` (ms, server clock) a little in the future."""
        expires = self.timestamp_ms() + int(expires_in_s * 1000)
        signature = self._secret.digest(ws_sign_payload(expires).encode())
        return {"op": c.WS_OP_AUTH, "args": [self._api_key.value, expires, signature]}
