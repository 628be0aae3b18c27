"""How the BitMEX server answers on REST: the rows themselves on success, `{"error": {"message",
"name"}}` under the message's HTTP status on a refusal (`errors.py`, the one table), signed requests
checked by `auth.Verifier`, and the `x-ratelimit-*` headers BitMEX puts on every answer.

Injected failures (`faults.fail_next`): the table's message for the given code (pmm's number of the
row), else by status: 429 "Rate limit exceeded", 503 "The system is currently overloaded", 401
"Signature not valid.", 403 "Forbidden" (BitMEX's ban), other 5xx "Server Error".
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bitmex_perpetual import errors
from pmm.connectors.bitmex_perpetual.auth import Verifier
from pmm.connectors.common.fault_injector import Failure
from pmm.connectors.common.server.wire import ParamError, WireError, WireRequest

RATE_LIMITED = "Rate limit exceeded, retry in 1 seconds."
_BY_STATUS = {429: RATE_LIMITED, 503: errors.OVERLOADED, 401: "Signature not valid.", 403: "Forbidden",
              404: "Not Found"}


def bitmex_error(message: str, status: int | None = None) -> WireError:
    """BitMEX's refusal with `message`, under the table's status (or `status`)."""
    row = errors.lookup(message)
    name = row[1].name if row is not None else "HTTPError"
    return WireError(name, message, errors.http_status(message) if status is None else status)


def error_of_code(code: int, status: int | None = None) -> WireError:
    """The refusal pmm numbers `code` (fault injection), with a figure where BitMEX's message has one."""
    text = errors.BY_CODE[code]
    if text.startswith("Account has insufficient Available Balance"):
        text += ", 1000000 USDt required"
    return bitmex_error(text, status)


class BitmexRestDialect:
    """The BitMEX server's `RestDialect` (see module docstring)."""

    def __init__(self, verifier: Verifier) -> None:
        self._verifier = verifier

    def success(self, data: Any) -> Any:
        return data

    def refusal(self, err: WireError) -> Any:
        return {"error": {"message": err.msg, "name": str(err.code)}}

    def verify(self, req: WireRequest) -> None:
        message = self._verifier.check_rest(req.headers, req.method, req.target, req.body)
        if message is not None:
            raise bitmex_error(message, 401)

    def param_error(self, err: ParamError) -> WireError:
        if err.missing:
            return bitmex_error(f"Missing required parameter: {err.name}", 400)
        return WireError("ValidationError", f"Invalid {err.name}", 400)

    def bad_body(self) -> WireError:
        return bitmex_error("Invalid JSON", 400)

    def not_found(self, req: WireRequest) -> WireError:
        return WireError("HTTPError", "Not Found", 404)

    def rate_limited(self, req: WireRequest) -> WireError:
        return WireError("HTTPError", RATE_LIMITED, 429, headers={"Retry-After": "1"})

    def injected(self, failure: Failure) -> WireError:
        if failure.code is not None and failure.code in errors.BY_CODE:
            return error_of_code(failure.code, failure.status)
        text = failure.msg or _BY_STATUS.get(failure.status, "Server Error" if failure.status >= 500 else "Bad Request")
        return WireError("HTTPError", text, failure.status)

    def internal_error(self) -> WireError:
        return WireError("HTTPError", "Server Error", 500)
