"""Binance request signing: HMAC-SHA256 over the exact query string, timestamp, recvWindow.

The signature covers the string that goes on the wire, byte for byte (the venue verifies over the
raw received bytes), so the query is encoded once here and sent unchanged (`rest.py` marks the
URL as already encoded). Timestamps are the injected clock plus the measured offset to the
server's clock, so a skewed local clock is corrected after one `-1021`.

The secret and the key are held masked by `common/credentials.py`: the secret never leaves it, and
the API key is shown masked in every repr.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.common.credentials import HmacCredentials
from pmm.core.clock import Clock

Params = list[tuple[str, str]]


def encode_params(params: Iterable[tuple[str, str]]) -> str:
    """The query string as sent: call order kept, values percent-encoded once."""
    return urlencode(list(params))


class BinanceAuth(HmacCredentials):
    """Signs requests for one API key. `time_offset_ms` = server clock - local clock."""

    def __init__(self, api_key: str, api_secret: str, clock: Clock,
                 recv_window_ms: int = c.RECV_WINDOW_MS) -> None:
        super().__init__(api_key, api_secret, clock, recv_window_ms)

    def headers(self) -> dict[str, str]:
        return {c.API_KEY_HEADER: self._api_key.value}

    def signed_query(self, params: Params) -> str:
        """`params` + recvWindow + timestamp, encoded, with the signature as the last parameter."""
        full = list(params)
        full.append((c.RECV_WINDOW_PARAM, str(self.recv_window_ms)))
        full.append((c.TIMESTAMP_PARAM, str(self.timestamp_ms())))
        query = encode_params(full)
        signature = self._secret.digest(query.encode())
        return f"{query}&{c.SIGNATURE_PARAM}={signature}"
