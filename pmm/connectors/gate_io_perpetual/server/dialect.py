"""How the Gate server answers on REST: the answer itself on success (no envelope; HTTP 200 --
Gate answers a new order with 201, which its clients read as any 2xx), signed-request checks by
`auth.Verifier`, and every refusal as `{"label", "message"}` under the label's HTTP status from
the one table in `errors.py`.
Injected failures (`faults.fail_next`): the given label, else TOO_MANY_REQUESTS for 429,
TOO_BUSY for 503, INVALID_SIGNATURE for 401, FORBIDDEN for 403, SERVER_ERROR for other 5xx.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.common.fault_injector import Failure
from pmm.connectors.common.server.wire import ParamError, WireError, WireRequest
from pmm.connectors.gate_io_perpetual import errors
from pmm.connectors.gate_io_perpetual.auth import Verifier

_BY_STATUS = {429: "TOO_MANY_REQUESTS", 503: "TOO_BUSY", 401: "INVALID_SIGNATURE", 403: "FORBIDDEN",
              404: "NOT_FOUND", 400: "INVALID_PARAM_VALUE"}


def gate_error(label: str, msg: str | None = None, *, status: int | None = None) -> WireError:
    """Gate's refusal `label` with its table message (or `msg`) and HTTP status."""
    return WireError(label, msg if msg is not None else errors.message(label),
                     errors.http_status(label) if status is None else status)


def param_refusal(err: ParamError) -> WireError:
    if err.missing:
        return gate_error("MISSING_REQUIRED_PARAM", f"Missing required parameter: {err.name}")
    return gate_error("INVALID_PARAM_VALUE", f"Invalid parameter value: {err.name}")


class GateRestDialect:
    """The Gate server's `RestDialect` (see module docstring)."""

    def __init__(self, verifier: Verifier) -> None:
        self._verifier = verifier

    def success(self, data: Any) -> Any:
        return data

    def refusal(self, err: WireError) -> Any:
        return {"label": str(err.code), "message": err.msg}

    def verify(self, req: WireRequest) -> None:
        path = req.target.partition("?")[0]
        label = self._verifier.check_rest(req.headers, req.method, path, req.query, req.body)
        if label is not None:
            raise gate_error(label)

    def param_error(self, err: ParamError) -> WireError:
        return param_refusal(err)

    def bad_body(self) -> WireError:
        return gate_error("INVALID_REQUEST_BODY")

    def not_found(self, req: WireRequest) -> WireError:
        return gate_error("NOT_FOUND", f"{req.method} {req.path} is not served by the pmm Gate simulator", status=404)

    def rate_limited(self, req: WireRequest) -> WireError:
        return gate_error("TOO_MANY_REQUESTS")

    def injected(self, failure: Failure) -> WireError:
        label = str(failure.code) if failure.code is not None else \
            _BY_STATUS.get(failure.status, "SERVER_ERROR" if failure.status >= 500 else "INVALID_PARAM_VALUE")
        return gate_error(label, failure.msg, status=failure.status)

    def internal_error(self) -> WireError:
        return gate_error("SERVER_ERROR")
