"""Request parameters, API-key / timestamp / HMAC-SHA256 checks, and request-weight rate limits.

Signing (exchange_apis.md §A2, §0.1–0.2): totalParams is the raw query string concatenated directly
with the raw body, and the signature is the lowercase hex HMAC-SHA256 of it with the `signature`
parameter removed. The check runs over the bytes EXACTLY as received — never re-serialised —
because clients differ in order (ccxt: timestamp first; python-binance: sorted), placement (form
body, query string, DELETE with a body) and number spelling ("25000" vs "25000.0").
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qsl

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.constants import ErrorCode as E
from pmm.connectors.binance_perpetual.server.codes import BinanceApiError, api_error, invalid, missing
from pmm.connectors.binance_perpetual.server.options import ServerOptions
from pmm.connectors.common.numbers import parse_decimal
from pmm.core.clock import Clock

_SIGNATURE_PREFIX = c.SIGNATURE_PARAM + "="
_KEY_FORMAT = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_CLIENT_IP = "127.0.0.1"  # the server only listens on loopback
_AHEAD_MESSAGE = "Timestamp for this request was 1000ms ahead of the server's time."


@dataclass(frozen=True, slots=True)
class RawParams:
    """A request's parameters: the raw query and body as received, and the merged values."""

    query: str
    body: str
    values: dict[str, str]

    @classmethod
    def of_text(cls, query: str, body: str) -> RawParams:
        """Query string and form body merged; a parameter in both takes the query's value."""
        values: dict[str, str] = {}
        for source in (query, body):
            for key, value in parse_qsl(source, keep_blank_values=True):
                values.setdefault(key, value)
        return cls(query, body, values)

    def get(self, name: str) -> str | None:
        value = self.values.get(name)
        return value if value not in (None, "") else None

    def integer(self, name: str, default: int | None = None) -> int | None:
        """An integer parameter (-1102 when it is not one)."""
        text = self.get(name)
        if text is None:
            return default
        try:
            return int(text)
        except ValueError:
            raise missing(name) from None

    def decimal(self, name: str) -> Decimal:
        """A required number (-1102 when absent or not a number)."""
        text = self.get(name)
        value = parse_decimal(text) if text is not None else None
        if value is None:
            raise missing(name)
        return value

    def flag(self, name: str) -> bool | None:
        """"true" / "false" in any case, None when absent (-1130 otherwise)."""
        text = self.get(name)
        if text is None:
            return None
        if text.lower() not in (c.TRUE, c.FALSE):
            raise invalid(name)
        return text.lower() == c.TRUE


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def split_signature(raw: str) -> tuple[str, str | None]:
    """`raw` without its `signature=...` parameter, and that signature (None if absent)."""
    kept: list[str] = []
    signature: str | None = None
    for part in raw.split("&"):
        if part.startswith(_SIGNATURE_PREFIX):
            signature = part[len(_SIGNATURE_PREFIX):]
        else:
            kept.append(part)
    return "&".join(kept), signature


def signed_payload(query: str, body: str) -> tuple[bytes, str | None]:
    """totalParams (query + body, no separator) minus the signature, and the signature sent."""
    query_rest, query_sig = split_signature(query)
    body_rest, body_sig = split_signature(body) if body else ("", None)
    signature = query_sig if query_sig is not None else body_sig
    message = (query_rest + body_rest).encode("utf-8", "surrogateescape")
    return message, signature


def signature_valid(secret: str, query: str, body: str) -> bool:
    message, signature = signed_payload(query, body)
    if not signature:
        return False
    return hmac.compare_digest(hmac_hex(secret, message), signature.lower())


class Authenticator:
    """API-key, timestamp/recvWindow and signature checks for USER_STREAM and SIGNED endpoints."""

    def __init__(self, api_key: str, api_secret: str, clock: Clock) -> None:
        self._api_key = api_key
        self._api_secret = api_secret
        self._clock = clock

    def check_key(self, header: str | None) -> None:
        if header is None or not _KEY_FORMAT.match(header):
            raise api_error(E.BAD_API_KEY_FMT)
        if not hmac.compare_digest(header.encode(), self._api_key.encode()):
            raise api_error(E.REJECTED_MBX_KEY)

    def check_signed(self, header: str | None, params: RawParams) -> None:
        self.check_key(header)
        timestamp = params.integer(c.TIMESTAMP_PARAM)
        if timestamp is None:
            raise missing(c.TIMESTAMP_PARAM)
        recv_window = params.integer(c.RECV_WINDOW_PARAM)
        window = c.RECV_WINDOW_MS if recv_window is None else recv_window
        if window <= 0 or window > c.MAX_RECV_WINDOW_MS:
            raise api_error(c.ERR_BAD_RECV_WINDOW)
        _, signature = signed_payload(params.query, params.body)
        if not signature:
            raise missing(c.SIGNATURE_PARAM)
        server_ms = self._clock.now() * 1000
        if timestamp >= server_ms + c.TIMESTAMP_AHEAD_TOLERANCE_MS:
            raise BinanceApiError(E.INVALID_TIMESTAMP, _AHEAD_MESSAGE)
        if server_ms - timestamp > window:
            raise api_error(E.INVALID_TIMESTAMP)
        if not signature_valid(self._api_secret, params.query, params.body):
            raise api_error(E.INVALID_SIGNATURE)


class RateLimiter:
    """IP request weight per minute (429, then 418 when 429s are ignored) and account order counts.

    Windows are fixed clock minutes (and 10-second slots), as Binance resets them.
    """

    def __init__(self, clock: Clock, options: ServerOptions) -> None:
        self._clock = clock
        self._options = options
        self._minute = -1
        self.used_weight = 0
        self._rejections_in_a_row = 0
        self._banned_until = 0.0
        self._orders_10s: tuple[int, int] = (-1, 0)
        self._orders_1m: tuple[int, int] = (-1, 0)

    def _roll(self, now: float) -> None:
        minute = math.floor(now / 60)
        if minute != self._minute:
            self._minute, self.used_weight = minute, 0

    def admit(self, weight: int) -> None:
        """Count `weight` for this request, or refuse it with 429 / 418."""
        now = self._clock.now()
        if now < self._banned_until:
            raise self._banned(now)
        self._roll(now)
        self.used_weight += weight
        limit = self._options.weight_limit_per_min
        if self.used_weight <= limit:
            self._rejections_in_a_row = 0
            return
        self._rejections_in_a_row += 1
        if self._rejections_in_a_row > self._options.ban_after_429s:
            self._banned_until = now + self._options.ban_s
            raise self._banned(now)
        retry = max(1, math.ceil(60 - now % 60))
        raise BinanceApiError(
            E.TOO_MANY_REQUESTS,
            c.ERROR_MESSAGES[E.TOO_MANY_REQUESTS].format(ip=_CLIENT_IP, limit=limit),
            c.HTTP_TOO_MANY_REQUESTS,
            {c.RETRY_AFTER_HEADER: str(retry)},
        )

    def _banned(self, now: float) -> BinanceApiError:
        until_ms = int(self._banned_until * 1000)
        retry = max(1, math.ceil(self._banned_until - now))
        msg = c.IP_BANNED_MESSAGE.format(ip=_CLIENT_IP, until_ms=until_ms)
        return BinanceApiError(E.TOO_MANY_REQUESTS, msg, c.HTTP_IP_BANNED, {c.RETRY_AFTER_HEADER: str(retry)})

    def count_order(self) -> None:
        """One new order on the account's ORDERS limits (10 s and 1 min), or -1015."""
        now = self._clock.now()
        slot10, minute = math.floor(now / 10), math.floor(now / 60)
        n10 = self._orders_10s[1] + 1 if self._orders_10s[0] == slot10 else 1
        n1m = self._orders_1m[1] + 1 if self._orders_1m[0] == minute else 1
        self._orders_10s, self._orders_1m = (slot10, n10), (minute, n1m)
        for count, limit, interval in (
            (n10, self._options.orders_limit_per_10s, "10 SECOND"),
            (n1m, self._options.orders_limit_per_min, "1 MINUTE"),
        ):
            if count > limit:
                raise api_error(E.TOO_MANY_ORDERS, limit=limit, interval=interval)

    def weight_headers(self) -> dict[str, str]:
        self._roll(self._clock.now())
        return {c.USED_WEIGHT_HEADER: str(self.used_weight)}

    def order_headers(self) -> dict[str, str]:
        return {c.ORDER_COUNT_10S_HEADER: str(self._orders_10s[1]), c.ORDER_COUNT_1M_HEADER: str(self._orders_1m[1])}
