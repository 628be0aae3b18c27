"""Binance request signing: HMAC-SHA256 over the exact query string, timestamp, recvWindow.

The signature covers the string that goes on the wire, byte for byte (the venue verifies over the
raw received bytes), so the query is encoded once here and sent unchanged (`rest.py` marks the
URL as already encoded). Timestamps are the injected clock plus the measured offset to the
server's clock, so a skewed local clock is corrected after one `-1021`.

The secret never leaves this module: it lives in a `_Secret` whose repr and str are masked, and the
API key is shown masked in every repr.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlencode

from pmm.connectors.binance_perpetual import constants as c
from pmm.core.clock import Clock

Params = list[tuple[str, str]]


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


def sign(secret: str, total_params: str) -> str:
    """Lowercase hex HMAC-SHA256 of `total_params` (query string + body) keyed by `secret`."""
    return _Secret(secret).digest(total_params.encode())


def encode_params(params: Iterable[tuple[str, str]]) -> str:
    """The query string as sent: call order kept, values percent-encoded once."""
    return urlencode(list(params))


class _ApiKey:
    """Holds the API key; printed masked (first and last four characters)."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return mask_key(self.value)

    __str__ = __repr__


class BinanceAuth:
    """Signs requests for one API key. `time_offset_ms` = server clock - local clock."""

    def __init__(self, api_key: str, api_secret: str, clock: Clock,
                 recv_window_ms: int = c.RECV_WINDOW_MS) -> None:
        self._api_key = _ApiKey(api_key)
        self._secret = _Secret(api_secret)
        self._clock = clock
        self.recv_window_ms = recv_window_ms
        self.time_offset_ms = 0

    def __repr__(self) -> str:
        return f"BinanceAuth(api_key={self.masked_key!r})"

    __str__ = __repr__

    @property
    def masked_key(self) -> str:
        return mask_key(self._api_key.value)

    def headers(self) -> dict[str, str]:
        return {c.API_KEY_HEADER: self._api_key.value}

    def timestamp_ms(self) -> int:
        return int(self._clock.now() * 1000) + self.time_offset_ms

    def update_time_offset(self, server_time_ms: int, sent_s: float, received_s: float) -> None:
        """Offset from one GET /time round trip, assuming the server stamped it half-way."""
        local_mid_ms = (sent_s + received_s) / 2 * 1000
        self.time_offset_ms = round(server_time_ms - local_mid_ms)

    def signed_query(self, params: Params) -> str:
        """`params` + recvWindow + timestamp, encoded, with the signature as the last parameter."""
        full = list(params)
        full.append((c.RECV_WINDOW_PARAM, str(self.recv_window_ms)))
        full.append((c.TIMESTAMP_PARAM, str(self.timestamp_ms())))
        query = encode_params(full)
        signature = self._secret.digest(query.encode())
        return f"{query}&{c.SIGNATURE_PARAM}={signature}"
