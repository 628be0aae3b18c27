"""How the OKX server answers on REST: the envelope, signed-request checks by `auth.Verifier`, and
every refusal from the one code table in `errors.py` (code, message, HTTP status).

Success: `{"code": "0", "msg": "", "data": [...]}`. Refusal: the same envelope with the code as a
string, its message and `data` (the per-item results of an order call, else []), under the code's
HTTP status (401 for authentication, 400 for a bad parameter, 429 for a rate limit, 200 for
business errors). Injected failures (`faults.fail_next`): the given code, else 50011 for 429,
50001 for 503, 50113 for 401, 50026 for other 5xx statuses and 50000-range refusals.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.common.fault_injector import Failure
from pmm.connectors.common.server.wire import ParamError, WireError, WireRequest
from pmm.connectors.okx_perpetual import errors
from pmm.connectors.okx_perpetual.auth import Verifier
from pmm.connectors.okx_perpetual.server.wire import Body

_BY_STATUS = {429: 50011, 503: 50001, 401: 50113, 400: 51000, 404: 50005, 410: 50005}


def okx_error(code: int, msg: str | None = None, *, data: Any = None, status: int | None = None,
              **params: object) -> WireError:
    """OKX's refusal `code` with its table message (or `msg`) and HTTP status."""
    text = msg if msg is not None else errors.message(code, **params)
    return WireError(code, text, errors.http_status(code) if status is None else status,
                     data=[] if data is None else data)


def param_refusal(err: ParamError) -> tuple[int, str]:
    """(code, msg) of a bad or missing parameter: 50014 empty, 51000 invalid."""
    if err.missing:
        return 50014, errors.message(50014, param0=err.name)
    return 51000, errors.message(51000, param0=err.name)


class OkxRestDialect:
    """The OKX server's `RestDialect` (see module docstring)."""

    def __init__(self, verifier: Verifier) -> None:
        self._verifier = verifier

    def success(self, data: Any) -> Any:
        if isinstance(data, Body):
            return data
        return {"code": "0", "msg": "", "data": data}

    def refusal(self, err: WireError) -> Any:
        return {"code": str(err.code), "msg": err.msg, "data": err.data if err.data is not None else []}

    def verify(self, req: WireRequest) -> None:
        code = self._verifier.check_rest(req.headers, req.method, req.target, req.body)
        if code is not None:
            raise okx_error(code)

    def param_error(self, err: ParamError) -> WireError:
        code, msg = param_refusal(err)
        return okx_error(code, msg)

    def bad_body(self) -> WireError:
        return okx_error(50002)

    def not_found(self, req: WireRequest) -> WireError:
        return okx_error(50005, f"{req.method} {req.path} is not served by the pmm OKX simulator "
                                "(API endpoint is inactive or unavailable).", status=404)

    def rate_limited(self, req: WireRequest) -> WireError:
        return okx_error(50011)

    def injected(self, failure: Failure) -> WireError:
        code = failure.code
        if code is None:
            code = _BY_STATUS.get(failure.status, 50026 if failure.status >= 500 else 50000)
        return okx_error(code, failure.msg, status=failure.status)

    def internal_error(self) -> WireError:
        return okx_error(50026)
