"""How the Bitget server answers on REST: the envelope, signed-request checks by `auth.Verifier`,
and every refusal from the one code table in `errors.py` (code, message, HTTP status).

Success: `{"code": "00000", "msg": "success", "requestTime": <ms>, "data": ...}`. Refusal:
`{"code": "<code>", "msg": "<message>", "requestTime": <ms>, "data": null}` under the code's HTTP
status (400 for most, 404 for an unknown path, 429 for the rate limit). Injected failures
(`faults.fail_next`): the given code, else 429 for 429, 40015 for 5xx, 40009 for 401, 40404 for
404, 40808 for other refusals.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bitget_perpetual import errors
from pmm.connectors.bitget_perpetual.auth import Verifier
from pmm.connectors.common.fault_injector import Failure
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.wire import ParamError, WireError, WireRequest
from pmm.core.clock import Clock

_BY_STATUS = {429: 429, 401: 40009, 404: 40404}


def bitget_error(code: int, *params: object, msg: str | None = None, status: int | None = None) -> WireError:
    """Bitget's refusal `code` with its table message (or `msg`) and HTTP status."""
    text = msg if msg is not None else errors.message(code, *params)
    return WireError(code, text, errors.http_status(code) if status is None else status)


def param_refusal(err: ParamError) -> WireError:
    """A bad or missing parameter: 40019 empty, 40020 invalid."""
    return bitget_error(40019 if err.missing else 40020, err.name)


class BitgetRestDialect:
    """The Bitget server's `RestDialect` (see module docstring)."""

    def __init__(self, verifier: Verifier, clock: Clock) -> None:
        self._verifier = verifier
        self._clock = clock

    def success(self, data: Any) -> Any:
        return {"code": errors.OK, "msg": "success", "requestTime": ms(self._clock.now()), "data": data}

    def refusal(self, err: WireError) -> Any:
        return {"code": str(err.code), "msg": err.msg, "requestTime": ms(self._clock.now()), "data": err.data}

    def verify(self, req: WireRequest) -> None:
        code = self._verifier.check_rest(req.headers, req.method, req.target, req.body)
        if code is not None:
            raise bitget_error(code)

    def param_error(self, err: ParamError) -> WireError:
        return param_refusal(err)

    def bad_body(self) -> WireError:
        return bitget_error(40017, msg="Parameter verification failed: the body is not JSON")

    def not_found(self, req: WireRequest) -> WireError:
        return bitget_error(40404, msg=f"Request URL NOT FOUND ({req.method} {req.path} is not served by the pmm "
                                       "Bitget simulator)")

    def rate_limited(self, req: WireRequest) -> WireError:
        return bitget_error(429)

    def injected(self, failure: Failure) -> WireError:
        code = failure.code
        if code is None:
            code = _BY_STATUS.get(failure.status, 40015 if failure.status >= 500 else 40808)
        return bitget_error(code, msg=failure.msg, status=failure.status)

    def internal_error(self) -> WireError:
        return bitget_error(40015)
