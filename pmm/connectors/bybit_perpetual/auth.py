"""Bybit v5 request signing and WebSocket authentication.

REST: `X-BAPI-SIGN` = hex HMAC-SHA256(secret, timestamp + api_key + recv_window + payload), where the
payload is the exact query string of a GET or the exact JSON body of a POST. The bytes signed here
are the bytes `rest.py` sends (it never re-encodes them). WebSocket: `{"op": "auth", "args": [key,
expires, hex HMAC-SHA256(secret, "GET/realtime" + expires)]}` with `expires` a little in the future.

Timestamps are the injected clock plus the measured offset to the server's clock, so a skewed local
clock is corrected after one retCode 10002.

The secret and the key are held masked by `common/credentials.py`: the secret never leaves it and
refuses to be pickled, and the API key is shown masked in every repr.
"""

from __future__ import annotations

from typing import NoReturn

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.common.credentials import HmacCredentials
from pmm.core.clock import Clock


def rest_sign_payload(timestamp_ms: int, api_key: str, recv_window_ms: int, payload: str) -> str:
    """The string Bybit signs for REST: timestamp + key + recvWindow + query string or JSON body."""
    return f"{timestamp_ms}{api_key}{recv_window_ms}{payload}"


def ws_sign_payload(expires_ms: int) -> str:
    return f"{c.WS_AUTH_PREFIX}{expires_ms}"


class BybitAuth(HmacCredentials):
    """Signs requests for one API key. `time_offset_ms` = server clock - local clock."""

    def __init__(self, api_key: str, api_secret: str, clock: Clock, recv_window_ms: int = c.RECV_WINDOW_MS) -> None:
        super().__init__(api_key, api_secret, clock, recv_window_ms)

    def __reduce__(self) -> NoReturn:
        raise TypeError("credentials cannot be serialized")

    def redact(self, text: str) -> str:
        """`text` with the API key masked: Bybit's "error sign!" message echoes the signed string,
        key included, and venue messages end up in logs and errors."""
        return text.replace(self._api_key.value, self.masked_key)

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
