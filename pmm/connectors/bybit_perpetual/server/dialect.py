"""Bybit's REST words for the kit's middleware (`common/server/kit_server.py`): the envelope
`{retCode, retMsg, result, retExtInfo, time}` of every answer, the signature check of signed
requests (`auth.Authenticator`) with the per-endpoint limit counted after it, and the refusals.

Refusals (exchange_apis.md §B4, §B7): an unknown route is HTTP 404 with retCode 10017 "route not
found"; an injected failure with a code answers that retCode (HTTP 200 + code is a
business error); without one, 403 is the IP-ban page in plain text, 429 retCode 10006 with
rate-limit headers, anything else retCode 10016.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.constants import RetCode as R
from pmm.connectors.bybit_perpetual.server.auth import Authenticator, RateLimiter, RawRequest
from pmm.connectors.bybit_perpetual.server.codes import BybitApiError, api_error, param_error
from pmm.connectors.bybit_perpetual.server.options import ServerOptions
from pmm.connectors.common.fault_injector import Failure
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.wire import ParamError, WireError, WireRequest
from pmm.core.clock import Clock


def envelope(ret_code: int, ret_msg: str, result: Any, now: float) -> dict[str, Any]:
    """Bybit's answer shape: `{retCode, retMsg, result, retExtInfo, time}`."""
    return {c.RET_CODE: ret_code, c.RET_MSG: ret_msg, c.RESULT: result, c.RET_EXT_INFO: {}, c.TIME: ms(now)}


class BybitRestDialect:
    """The Bybit server's `RestDialect` (see module docstring)."""

    def __init__(self, clock: Clock, auth: Authenticator, limits: RateLimiter, options: ServerOptions) -> None:
        self._clock = clock
        self._auth = auth
        self._limits = limits
        self._options = options

    def success(self, data: Any) -> Any:
        return envelope(0, "OK", data, self._clock.now())

    def refusal(self, err: WireError) -> Any:
        return envelope(int(err.code), err.msg, err.data if err.data is not None else {}, self._clock.now())

    def verify(self, req: WireRequest) -> None:
        """The key, timestamp and signature; then the endpoint's per-UID limit, whose state every
        answer to a signed request reports in its X-Bapi-Limit* headers."""
        self._auth.check(req.headers, RawRequest(req))
        req.reply_headers.update(self._limits.admit_endpoint(req.path))

    def param_error(self, err: ParamError) -> WireError:
        return param_error(f"params error: {err.name} {'is required' if err.missing else 'invalid'}")

    def bad_body(self) -> WireError:
        return param_error("params error: the request body is not valid JSON")

    def not_found(self, req: WireRequest) -> WireError:
        msg = f"{req.method} {req.path} is not served by the pmm Bybit simulator (route not found)."
        return BybitApiError(R.ROUTE_NOT_FOUND, msg, c.HTTP_NOT_FOUND)

    def rate_limited(self, req: WireRequest) -> WireError:
        return api_error(R.TOO_MANY_VISITS)

    def internal_error(self) -> WireError:
        return BybitApiError(R.SERVER_ERROR, c.RET_MSGS[R.SERVER_ERROR])

    def injected(self, failure: Failure) -> WireError:
        if failure.code is None and failure.status == c.HTTP_FORBIDDEN:
            text = failure.msg or c.HTTP_FORBIDDEN_TEXT.format(minutes=max(1, int(self._options.ip_ban_s // 60)))
            return BybitApiError(R.IP_BANNED, text, failure.status, text=text)
        code = failure.code
        if code is None:
            code = R.TOO_MANY_VISITS if failure.status == c.HTTP_TOO_MANY_REQUESTS else R.SERVER_ERROR
        headers: dict[str, str] = {}
        if code == R.TOO_MANY_VISITS:
            reset = self._clock.now() + (failure.retry_after or 1.0)
            headers = {c.LIMIT_HEADER: "0", c.LIMIT_STATUS_HEADER: "0", c.LIMIT_RESET_HEADER: str(ms(reset))}
        return BybitApiError(code, failure.msg or api_error(code).msg, failure.status, headers=headers)
