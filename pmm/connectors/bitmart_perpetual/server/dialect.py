"""How the BitMart server answers on REST: the envelope, KEYED / SIGNED request checks by
`auth.Verifier`, and every refusal from the one code table in `errors.py` (code, message, HTTP status).

Success: `{"code": 1000, "message": "Ok", "data": ..., "trace": <uuid>}`. Refusal: the same
envelope with the code, its message and `data` {}, under the code's HTTP status (401 / 403 for
authentication, 429 for a rate limit, 418 for a refused account, 400 for business errors).
Private GETs are KEYED (the key alone; a signature over the query string, as ccxt sends, is checked
when present), POSTs SIGNED over the raw body. Injected failures (`faults.fail_next`): the given
code, else 30013 for 429, 30017 for 418, 30014 for 503, 30005 for 401, 40012 for other 5xx statuses.
"""

from __future__ import annotations

import uuid
from typing import Any

from pmm.connectors.bitmart_perpetual import errors
from pmm.connectors.bitmart_perpetual.auth import Verifier
from pmm.connectors.common.fault_injector import Failure
from pmm.connectors.common.server.wire import ParamError, WireError, WireRequest

_BY_STATUS = {429: 30013, errors.IP_BAN_STATUS: 30017, 503: 30014, 401: 30005, 404: 30000, 403: 30010}


def bitmart_error(code: int, msg: str | None = None, *, status: int | None = None) -> WireError:
    """BitMart's refusal `code` with its table message (or `msg`) and HTTP status."""
    return WireError(code, msg if msg is not None else errors.message(code),
                     errors.http_status(code) if status is None else status, data={})


def param_error(name: str, *, missing: bool = False) -> WireError:
    """A bad or missing parameter: 40007 ("Parse parameter error") naming it."""
    what = "is required" if missing else "is invalid"
    return bitmart_error(40007, f"Parse parameter error: {name} {what}")


def trace() -> str:
    return str(uuid.uuid4())


class BitmartRestDialect:
    """The BitMart server's `RestDialect` (see module docstring)."""

    def __init__(self, verifier: Verifier) -> None:
        self._verifier = verifier

    def success(self, data: Any) -> Any:
        return {"code": errors.OK, "message": "Ok", "data": data, "trace": trace()}

    def refusal(self, err: WireError) -> Any:
        return {"code": err.code, "message": err.msg, "data": err.data if err.data is not None else {},
                "trace": trace()}

    def verify(self, req: WireRequest) -> None:
        keyed = req.method == "GET"
        code = self._verifier.check_rest(req.headers, keyed=keyed, payload=req.query if keyed else req.body)
        if code is not None:
            raise bitmart_error(code)

    def param_error(self, err: ParamError) -> WireError:
        return param_error(err.name, missing=err.missing)

    def bad_body(self) -> WireError:
        return bitmart_error(30018)

    def not_found(self, req: WireRequest) -> WireError:
        return bitmart_error(30000, f"Not found: {req.method} {req.path} is not served by the pmm BitMart simulator")

    def rate_limited(self, req: WireRequest) -> WireError:
        return bitmart_error(30013)

    def injected(self, failure: Failure) -> WireError:
        code = failure.code
        if code is None:
            code = _BY_STATUS.get(failure.status, 40012 if failure.status >= 500 else 40011)
        return bitmart_error(code, failure.msg, status=failure.status)

    def internal_error(self) -> WireError:
        return bitmart_error(40012)
