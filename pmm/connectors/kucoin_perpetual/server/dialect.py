"""How the KuCoin server answers on REST: the envelope, signed-request checks by `auth.Verifier`,
the `gw-ratelimit-*` headers, and every refusal from the one code table in `errors.py`.

Success: `{"code": "200000", "data": ...}`. Refusal: `{"code": "<digits>", "msg": "..."}` under
the code's HTTP status (401 authentication, 400 bad parameter, 404 unknown path, 429 rate limit,
500 internal, 200 business errors). Injected failures (`faults.fail_next`): the given code, else
429000 for 429, 503000 for 503, 400005 for 401, 500000 for other 5xx statuses, 400100 otherwise; a
429 also says when the pool refills (`gw-ratelimit-reset`, ms).
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.common.fault_injector import Failure
from pmm.connectors.common.server.wire import ParamError, WireError, WireRequest
from pmm.connectors.kucoin_perpetual import errors, spec
from pmm.connectors.kucoin_perpetual.auth import Verifier

_BY_STATUS = {429: 429000, 503: 503000, 401: 400005, 404: 404000, 400: 400100}


def kucoin_error(code: int, msg: str | None = None, *, status: int | None = None) -> WireError:
    """KuCoin's refusal `code` with its table message (or `msg`) and HTTP status."""
    return WireError(code, msg if msg is not None else errors.message(code),
                     errors.http_status(code) if status is None else status)


class KucoinRestDialect:
    """The KuCoin server's `RestDialect` (see module docstring)."""

    def __init__(self, verifier: Verifier) -> None:
        self._verifier = verifier

    def success(self, data: Any) -> Any:
        return {"code": spec.OK_CODE, "data": data}

    def refusal(self, err: WireError) -> Any:
        return {"code": str(err.code), "msg": err.msg}

    def verify(self, req: WireRequest) -> None:
        code = self._verifier.check_rest(req.headers, req.method, req.target, req.body)
        if code is not None:
            raise kucoin_error(code)

    def param_error(self, err: ParamError) -> WireError:
        what = "is required" if err.missing else "is invalid"
        return kucoin_error(400100, f"Parameter {err.name} {what}.")

    def bad_body(self) -> WireError:
        return kucoin_error(400100, "The request body is not valid JSON.")

    def not_found(self, req: WireRequest) -> WireError:
        return kucoin_error(404000, f"{req.method} {req.path} is not served by the pmm KuCoin simulator (URL Not "
                                    "Found).")

    def rate_limited(self, req: WireRequest) -> WireError:
        err = kucoin_error(429000)
        err.headers.update({spec.RATE_LIMIT_HEADER: "2000", spec.RATE_REMAINING_HEADER: "0",
                            spec.RATE_RESET_HEADER: "1000"})
        return err

    def injected(self, failure: Failure) -> WireError:
        code = failure.code
        if code is None:
            code = _BY_STATUS.get(failure.status, 500000 if failure.status >= 500 else 400100)
        err = kucoin_error(code, failure.msg, status=failure.status)
        if failure.status == 429:
            wait_ms = int((failure.retry_after if failure.retry_after is not None else 1.0) * 1000)
            err.headers.update({spec.RATE_REMAINING_HEADER: "0", spec.RATE_RESET_HEADER: str(wait_ms)})
        return err

    def internal_error(self) -> WireError:
        return kucoin_error(500000)
