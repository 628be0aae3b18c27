"""BitMart request signing and WebSocket login: the client signs and the server verifies here.

REST (exchange_apis_more.md §K2), three kinds of endpoint:
- NONE: public, no headers;
- KEYED: `X-BM-KEY` only (every private GET: assets, positions, orders, trades, transactions);
- SIGNED: `X-BM-KEY`, `X-BM-TIMESTAMP` (ms) and `X-BM-SIGN` = hex HMAC-SHA256(secret,
  timestamp + "#" + memo + "#" + payload), payload = the raw JSON body of a POST (or the query
  string of a GET, as ccxt signs its GETs). The timestamp must be within 60 s of BitMart's clock.

WebSocket login (§K6): `{"action": "access", "args": [key, timestamp_ms, sign, "web"]}`, sign =
the same HMAC over timestamp + "#" + memo + "#bitmart.WebSocket", valid 60 s.

`prehash` and `sign` are the one code path: `BitmartAuth` (client) signs with them, and `Verifier`
(the venue server) recomputes them over the bytes exactly as received, answering with BitMart's
own codes (`errors.py`).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.common.credentials import HmacCredentials
from pmm.core.clock import Clock

KEY_HEADER: Final = "X-BM-KEY"
SIGN_HEADER: Final = "X-BM-SIGN"
TIMESTAMP_HEADER: Final = "X-BM-TIMESTAMP"
TIMESTAMP_WINDOW_S: Final = 60.0  # REST timestamps and WS logins are good for a minute
WS_DEVICE: Final = "web"


def prehash(timestamp: str, memo: str, payload: str) -> str:
    """What BitMart signs: timestamp#memo#payload."""
    return f"{timestamp}#{memo}#{payload}"


def sign(secret: str, message: str) -> str:
    """Lowercase hex HMAC-SHA256 of `message` keyed by `secret` (surrogates keep odd bytes)."""
    return hmac.new(secret.encode(), message.encode("utf-8", "surrogateescape"), "sha256").hexdigest()


def ws_login_sign(secret: str, memo: str, timestamp: str) -> str:
    return sign(secret, prehash(timestamp, memo, spec.WS_LOGIN_SUFFIX))


class BitmartAuth(HmacCredentials):
    """Signs requests for one API key, secret and memo. `time_offset_ms` = server - local."""

    def __init__(self, api_key: str, api_secret: str, memo: str, clock: Clock) -> None:
        # The memo is held masked (never in a repr or a traceback), as the secret is.
        super().__init__(api_key, api_secret, clock, int(TIMESTAMP_WINDOW_S * 1000), passphrase=memo)

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("credentials cannot be serialized")

    def _sign(self, message: str) -> str:
        return self._secret.digest(message.encode())

    def keyed_headers(self) -> dict[str, str]:
        """A KEYED request (every private GET): the key alone."""
        return {KEY_HEADER: self._api_key.value}

    def signed_headers(self, payload: str) -> dict[str, str]:
        """A SIGNED request: key, timestamp now (server clock) and the signature over `payload`
        (the JSON body exactly as sent)."""
        timestamp = str(self.timestamp_ms())
        return {KEY_HEADER: self._api_key.value, TIMESTAMP_HEADER: timestamp,
                SIGN_HEADER: self._sign(prehash(timestamp, self.passphrase or "", payload))}

    def ws_login_message(self) -> dict[str, object]:
        """The private socket's login frame, timestamped now (server clock) in milliseconds."""
        timestamp = str(self.timestamp_ms())
        signature = self._sign(prehash(timestamp, self.passphrase or "", spec.WS_LOGIN_SUFFIX))
        return {"action": "access", "args": [self._api_key.value, timestamp, signature, WS_DEVICE]}


class Verifier:
    """The venue server's checks of a KEYED or SIGNED request and of a login frame for one simulated
    account. Each check returns None when good, else the BitMart code the venue answers with."""

    def __init__(self, api_key: str, api_secret: str, memo: str, clock: Clock) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self._memo = memo
        self._clock = clock

    @staticmethod
    def _same(given: str, expected: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode())

    def check_rest(self, headers: Mapping[str, str], *, keyed: bool, payload: str) -> int | None:
        """30001 key empty, 30002 unknown key; for a signed request (and a KEYED one that carries a
        signature anyway, as ccxt's GETs do): 30006 timestamp empty or not a number, 30007 outside
        the 60 s window, 30004 signature empty, 30005 wrong signature."""
        key = headers.get(KEY_HEADER, "")
        if not key:
            return 30001
        if not self._same(key, self.api_key):
            return 30002
        signature, timestamp = headers.get(SIGN_HEADER, ""), headers.get(TIMESTAMP_HEADER, "")
        if keyed and not signature and not timestamp:
            return None
        return self._check_signed(timestamp, signature, payload)

    def _check_signed(self, timestamp: str, signature: str, payload: str) -> int | None:
        if not timestamp or not timestamp.isdigit():
            return 30006
        if abs(self._clock.now() - int(timestamp) / 1000) > TIMESTAMP_WINDOW_S:
            return 30007
        if not signature:
            return 30004
        if not self._same(signature, sign(self._secret, prehash(timestamp, self._memo, payload))):
            return 30005
        return None

    def check_ws_login(self, args: object) -> str | None:
        """`[key, timestamp_ms, sign, device]` -> None, or why BitMart refuses it (it then disconnects)."""
        if not isinstance(args, Sequence) or isinstance(args, str) or len(args) < 3:
            return "access args must be [apiKey, timestamp, sign, device]"
        key, timestamp, signature = (str(a) for a in args[:3])
        if not self._same(key, self.api_key):
            return "Header X-BM-KEY not found"
        if not timestamp.isdigit():
            return "timestamp must be milliseconds"
        if abs(self._clock.now() - int(timestamp) / 1000) > TIMESTAMP_WINDOW_S:
            return "timestamp expired"
        if not self._same(signature, ws_login_sign(self._secret, self._memo, timestamp)):
            return "sign is wrong"
        return None

