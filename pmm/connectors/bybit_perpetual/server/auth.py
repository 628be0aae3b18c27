"""Request parameters, API-key / timestamp / HMAC-SHA256 checks, and rate limits of the Bybit server.

Signing (exchange_apis.md §B2, §0.1): the signed string is `timestamp + apiKey + recvWindow +
payload`, the three header values exactly as sent and the payload the raw query string (GET) or
the raw JSON body (POST), lowercase hex HMAC-SHA256. The check runs over the bytes EXACTLY as
received, never re-serialised: pybit sorts GET keys and writes JSON with ", " separators, ccxt keeps
its own order and writes compact JSON; both sign what they send.

Rate limits (§B7): every request counts against the IP (600 per 5 s; over it, HTTP 403 and a
10-minute ban); signed requests also against their endpoint's per-UID rolling one-second limit,
reported on every signed answer in `X-Bapi-Limit`, `X-Bapi-Limit-Status` (remaining) and
`X-Bapi-Limit-Reset-Timestamp`, and refused over it with retCode 10006.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.constants import RetCode as R
from pmm.connectors.bybit_perpetual.server.codes import BybitApiError, api_error, param_error
from pmm.connectors.bybit_perpetual.server.options import ServerOptions
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.kit_server import WindowLimiter
from pmm.connectors.common.server.wire import Fields, WireRequest
from pmm.core.clock import Clock


class RawRequest(Fields):
    """A request's parameters as Bybit reads them: the query of a GET, the JSON object body of a POST
    (fractions as Decimals, never floats; an empty body has none), over the kit's `WireRequest`
    (`wire`: the raw query and body as received, which the signature covers)."""

    __slots__ = ("wire",)

    def __init__(self, wire: WireRequest) -> None:
        self.wire = wire
        body = wire.json() if wire.method != "GET" else wire.query_params
        if body is not None and not isinstance(body, dict):
            raise param_error("params error: the request body must be a JSON object")
        super().__init__(body or {})

    @property
    def params(self) -> Mapping[str, Any]:
        return self.raw

    @property
    def payload(self) -> str:
        """What the signature covers after the headers: the raw query (GET) or raw body (POST)."""
        return self.wire.query if self.wire.method == "GET" else self.wire.body

    @staticmethod
    def reading(handler: Callable[[RawRequest], Awaitable[Any]]) -> Callable[[WireRequest], Awaitable[Any]]:
        """A Bybit handler over the kit's request: it reads Bybit's parameters."""
        async def serve(req: WireRequest) -> Any:
            return await handler(RawRequest(req))

        return serve


def hmac_hex(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def sign_rest(secret: str, timestamp: str, api_key: str, recv_window: str, payload: str) -> str:
    """The X-BAPI-SIGN of a request (what clients compute, and what the server checks)."""
    return hmac_hex(secret, f"{timestamp}{api_key}{recv_window}{payload}")


def sign_ws_auth(secret: str, expires: int | str) -> str:
    """The signature of the private WebSocket's auth op: HMAC of "GET/realtime" + expires."""
    return hmac_hex(secret, f"{c.WS_AUTH_PREFIX}{expires}")


class Authenticator:
    """API-key, timestamp/recvWindow and signature checks of signed REST requests and WS auth."""

    def __init__(self, api_key: str, api_secret: str, clock: Clock) -> None:
        self.api_key = api_key
        self._secret = api_secret
        self._clock = clock

    def key_matches(self, key: str) -> bool:
        return hmac.compare_digest(key.encode(), self.api_key.encode())

    def check(self, headers: Mapping[str, str], request: RawRequest) -> None:
        key = headers.get(c.API_KEY_HEADER)
        timestamp = headers.get(c.TIMESTAMP_HEADER)
        signature = headers.get(c.SIGN_HEADER)
        if not key or not timestamp or not signature:
            missing = [h for h, v in ((c.API_KEY_HEADER, key), (c.TIMESTAMP_HEADER, timestamp),
                                      (c.SIGN_HEADER, signature)) if not v]
            raise BybitApiError(R.INVALID_API_KEY, f"missing authentication header(s): {', '.join(missing)}",
                                c.HTTP_UNAUTHORIZED)
        if not self.key_matches(key):
            raise api_error(R.INVALID_API_KEY, status=c.HTTP_UNAUTHORIZED)
        window_text = headers.get(c.RECV_WINDOW_HEADER, "")
        try:
            ts_ms = int(timestamp)
            window = int(window_text) if window_text else c.RECV_WINDOW_MS
        except ValueError:
            raise param_error(f"params error: {c.TIMESTAMP_HEADER} and {c.RECV_WINDOW_HEADER} must be "
                              "integers of milliseconds") from None
        server_ms = ms(self._clock.now())
        if not (server_ms - window <= ts_ms < server_ms + c.TIMESTAMP_AHEAD_TOLERANCE_MS) or window <= 0:
            raise api_error(R.TIMESTAMP_OUT_OF_WINDOW, req=ts_ms, server=server_ms, window=window)
        if headers.get(c.SIGN_TYPE_HEADER, "") not in c.SIGN_TYPES_ACCEPTED:
            raise api_error(R.INVALID_SIGN, "error sign! only HMAC signatures (X-BAPI-SIGN-TYPE 2) are served")
        origin = f"{timestamp}{key}{window_text}{request.payload}"
        if not hmac.compare_digest(hmac_hex(self._secret, origin), signature.lower()):
            raise api_error(R.INVALID_SIGN, origin=origin)

    def check_ws_auth(self, args: object) -> str | None:
        """None if the auth op's args [key, expires, signature] are good, else the ret_msg."""
        if not isinstance(args, list) or len(args) != 3:
            return c.WS_MSG_AUTH_PARAMS
        key, expires, signature = args
        if isinstance(expires, bool) or not isinstance(expires, (int, str)) or not str(expires).isdigit():
            return c.WS_MSG_AUTH_PARAMS
        if not isinstance(key, str) or not self.key_matches(key):
            return c.WS_MSG_AUTH_BAD_KEY
        if int(expires) <= ms(self._clock.now()):
            return c.WS_MSG_AUTH_PARAMS  # expired
        if not isinstance(signature, str) or not hmac.compare_digest(
                sign_ws_auth(self._secret, expires), signature.lower()):
            return c.WS_MSG_AUTH_BAD_SIGN
        return None


class RateLimiter:
    """The IP limit (403 and a ban) and per-endpoint rolling one-second limits (10006), counted in
    the kit's rolling windows."""

    def __init__(self, clock: Clock, options: ServerOptions) -> None:
        self._clock = clock
        self._options = options
        self._windows = WindowLimiter(clock)
        self._banned_until = 0.0

    def admit_ip(self) -> None:
        now = self._clock.now()
        if now < self._banned_until:
            raise self._forbidden()
        if not self._windows.admit("", (self._options.ip_limit_requests, self._options.ip_limit_window_s)):
            self._banned_until = now + self._options.ip_ban_s
            raise self._forbidden()

    def _forbidden(self) -> BybitApiError:
        minutes = max(1, math.ceil(self._options.ip_ban_s / 60))
        text = c.HTTP_FORBIDDEN_TEXT.format(minutes=minutes)
        return BybitApiError(R.IP_BANNED, text, c.HTTP_FORBIDDEN, text=text)

    def admit_endpoint(self, path: str) -> dict[str, str]:
        """Count one signed request on `path`; its X-Bapi-Limit* headers, or 10006 over the limit."""
        limit = (self._options.endpoint_limits_per_s.get(path, self._options.default_limit_per_s), 1.0)
        admitted = self._windows.admit(path, limit)
        remaining, reset = self._windows.window_state(path, limit)
        headers = {c.LIMIT_HEADER: str(limit[0]), c.LIMIT_STATUS_HEADER: str(remaining),
                   c.LIMIT_RESET_HEADER: str(ms(reset))}
        if not admitted:
            raise BybitApiError(R.TOO_MANY_VISITS, c.RET_MSGS[R.TOO_MANY_VISITS], headers=headers)
        return headers
