"""Binance's REST words over the kit's server middleware (`common/server/kit_server.py`).

A success is the data itself; a refusal is `{"code": -N, "msg": "..."}` with the documented
message and HTTP status (`codes.py`). Signed routes are checked by `auth.Authenticator` (key,
timestamp, recvWindow, HMAC over the raw query + body), listenKey routes by their API key only.
Parameters are Binance's: the query and a form body merged (`RawParams`), so handlers take those.
An injected failure answers as Binance would: its code, or 429 / 418 (IP ban) with the weight
limit's words, or a bare -1000 (unknown execution status when the request did run).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.constants import ErrorCode as E
from pmm.connectors.binance_perpetual.server.auth import Authenticator, RateLimiter, RawParams
from pmm.connectors.binance_perpetual.server.codes import BinanceApiError, api_error, invalid, missing
from pmm.connectors.binance_perpetual.server.options import ServerOptions
from pmm.connectors.common.fault_injector import Failure
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.wire import ParamError, WireError, WireRequest
from pmm.core.clock import Clock

Handler = Callable[[RawParams], Awaitable[Any]]
_KEY_ONLY_PATHS = frozenset({c.LISTEN_KEY_PATH})  # USER_STREAM security: the API key, no signature
_CLIENT_IP = "127.0.0.1"  # the server only listens on loopback


def params_of(req: WireRequest) -> RawParams:
    return RawParams.of_text(req.query, req.body)


def with_params(handler: Handler) -> Callable[[WireRequest], Awaitable[Any]]:
    """A Binance handler (it reads `RawParams`) as a kit route handler."""
    async def serve(req: WireRequest) -> Any:
        return await handler(params_of(req))

    return serve


class BinanceRestDialect:
    """How Binance answers (see module docstring). `auth` None: a public-only server (spot)."""

    def __init__(self, clock: Clock, options: ServerOptions, *, server_name: str,
                 auth: Authenticator | None = None, limiter: RateLimiter | None = None) -> None:
        self._clock = clock
        self._options = options
        self._server_name = server_name
        self._auth = auth
        self._limiter = limiter

    def success(self, data: Any) -> Any:
        return data

    def refusal(self, err: WireError) -> Any:
        return {"code": err.code, "msg": err.msg}

    def verify(self, req: WireRequest) -> None:
        assert self._auth is not None, "a public-only server has no signed routes"
        key = req.headers.get(c.API_KEY_HEADER)
        if req.path in _KEY_ONLY_PATHS:
            self._auth.check_key(key)
        else:
            self._auth.check_signed(key, params_of(req))

    def param_error(self, err: ParamError) -> WireError:
        return missing(err.name) if err.missing else invalid(err.name)

    def bad_body(self) -> WireError:
        return api_error(E.UNKNOWN)

    def not_found(self, req: WireRequest) -> WireError:
        return BinanceApiError(E.NOT_FOUND, f"{req.method} {req.path} is not served by the pmm {self._server_name}.",
                               404)

    def rate_limited(self, req: WireRequest) -> WireError:
        return BinanceApiError(E.TOO_MANY_REQUESTS, self._weight_message(), c.HTTP_TOO_MANY_REQUESTS)

    def injected(self, failure: Failure) -> WireError:
        headers = self._limiter.weight_headers() if self._limiter is not None else {}
        if failure.code is not None or self._limiter is None:  # spot: a code, or a bare -1000
            code = failure.code if failure.code is not None else E.UNKNOWN
            return BinanceApiError(code, failure.msg or api_error(code).msg, failure.status, headers)
        if failure.status == c.HTTP_TOO_MANY_REQUESTS:
            msg = failure.msg or self._weight_message()
            return BinanceApiError(E.TOO_MANY_REQUESTS, msg, failure.status, headers)
        if failure.status == c.HTTP_IP_BANNED:
            until = ms(self._clock.now() + (failure.retry_after or self._options.ban_s))
            msg = failure.msg or c.IP_BANNED_MESSAGE.format(ip=_CLIENT_IP, until_ms=until)
            return BinanceApiError(E.TOO_MANY_REQUESTS, msg, failure.status, headers)
        default = c.UNKNOWN_EXECUTION_MESSAGE if failure.execute else c.SERVICE_UNAVAILABLE_MESSAGE
        return BinanceApiError(E.UNKNOWN, failure.msg or default, failure.status, headers)

    def _weight_message(self) -> str:
        return c.ERROR_MESSAGES[E.TOO_MANY_REQUESTS].format(ip=_CLIENT_IP, limit=self._options.weight_limit_per_min)

    def internal_error(self) -> WireError:
        return api_error(E.UNKNOWN)
