"""API credentials as every HMAC-signing venue client holds them: masked, unpicklable, clock-aware.

The secret lives in a `_Secret` whose repr and str are masked and that refuses to be pickled (into
a state file or a subprocess); the key lives in an `_ApiKey` printed as its first and last four
characters. `HmacCredentials` holds both for one account and keeps the offset between the local
clock and the venue's, measured from one server-time round trip, so signed timestamps are right
after a skewed local clock was noticed once. Keys of some venues carry a third part, a passphrase
(or memo) sent with every signed request: it lives in a `_Secret` too. What a venue signs, and how
it sends the signature, is the venue's `auth.py` (a subclass).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NoReturn

from pmm.core.clock import Clock


def mask_key(key: str) -> str:
    """First and last four characters only: enough to tell keys apart in a log."""
    if len(key) <= 8:
        return "****"
    return f"{key[:4]}…{key[-4:]}"


def account_label(endpoint: str, api_key: str) -> str:
    """A stable name for the account behind an API key at an endpoint, that reveals neither.

    The store tells the bots of one account apart from another's by it (one bot per account and
    market); it never holds the key or the whole endpoint, which may carry a token.
    """
    return hashlib.sha256(f"{endpoint}\n{api_key}".encode()).hexdigest()[:16]


class _Secret:
    """Holds the API secret; nothing that prints it shows more than a mask."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value.encode()

    def digest(self, message: bytes) -> str:
        return hmac.new(self._value, message, hashlib.sha256).hexdigest()

    def reveal(self) -> str:
        """The value itself, for a venue that sends it as it is (a key's passphrase in a header)."""
        return self._value.decode()

    def __repr__(self) -> str:
        return "_Secret(****)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:  # never pickled into a state file or a subprocess
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


class HmacCredentials:
    """One API key and secret, and the venue clock's offset. `time_offset_ms` = server - local."""

    def __init__(self, api_key: str, api_secret: str, clock: Clock, recv_window_ms: int,
                 passphrase: str | None = None) -> None:
        self._api_key = _ApiKey(api_key)
        self._secret = _Secret(api_secret)
        self._passphrase = None if passphrase is None else _Secret(passphrase)
        self._clock = clock
        self.recv_window_ms = recv_window_ms
        self.time_offset_ms = 0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(api_key={self.masked_key!r})"

    __str__ = __repr__

    @property
    def masked_key(self) -> str:
        return mask_key(self._api_key.value)

    @property
    def passphrase(self) -> str | None:
        """The key's passphrase (venues whose keys have one), to send with a signed request."""
        return None if self._passphrase is None else self._passphrase.reveal()

    def timestamp_ms(self) -> int:
        return int(self._clock.now() * 1000) + self.time_offset_ms

    def update_time_offset(self, server_time_ms: int, sent_s: float, received_s: float) -> None:
        """Offset from one server-time round trip, assuming the server stamped it half-way."""
        local_mid_ms = (sent_s + received_s) / 2 * 1000
        self.time_offset_ms = round(server_time_ms - local_mid_ms)
