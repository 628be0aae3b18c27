"""KuCoin Futures codes -> pmm.errors, and what the venue server answers with: ONE table keyed on the number.

Each row is a code KuCoin answers in `{"code": "<digits>", "msg": "..."}` (exchange_apis_more.md
§I4: the docs' error page, ccxt's and Hummingbot's constants), the pmm error class a client raises
for it (grouped by what the caller must do, `pmm/errors.py`), and the message and HTTP status the
loopback server sends. The message text never decides a class. Handled where they occur:

- `UNKNOWN_OUTCOME_CODES` (500000 internal error, 503000 busy): on an order call the order may or
  may not exist, so it becomes `OrderOutcomeUnknown` and reconciliation settles it;
- `RESYNC_TIME_CODES` (400002 timestamp out of the 5 s window): re-measure the server clock
  (`/api/v1/timestamp`) and retry once;
- `RATE_LIMIT_CODES` (429000, HTTP 429): back off for the `gw-ratelimit-reset` the answer names.

A post-only order that would take liquidity is not refused by code: KuCoin accepts it and cancels
it at once, so it reaches the client as a `canceled` order push without an `open` before it
(`parse.py` reads that as the refusal). KuCoin names no IP-ban status; HTTP 403 is treated as one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pmm.connectors.common.error_translation import ErrorTranslator
from pmm.connectors.kucoin_perpetual import spec
from pmm.errors import (
    AuthError,
    BelowMinSize,
    ConfigError,
    ExchangeUnavailable,
    InsufficientMargin,
    InvalidPrice,
    OrderError,
    PmmError,
    RateLimited,
    ReduceOnlyRejected,
    UnknownOrder,
    VenueSetupError,
)


@dataclass(frozen=True, slots=True)
class Code:
    """One KuCoin code: the class a client raises, and the message and HTTP status the server sends."""

    error: type[PmmError]
    msg: str
    status: int = 200


CODES: Final[dict[int, Code]] = {
    # Authentication (HTTP 401).
    400001: Code(AuthError, "Any of KC-API-KEY, KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE is missing in "
                            "your request header.", 401),
    400002: Code(ExchangeUnavailable, "KC-API-TIMESTAMP Invalid -- Time differs from server time by more than "
                                      "5 seconds", 401),  # after one clock resync + retry
    400003: Code(AuthError, "KC-API-KEY not exists", 401),
    400004: Code(AuthError, "KC-API-PASSPHRASE error", 401),
    400005: Code(AuthError, "Signature error -- Please check your signature", 401),
    400006: Code(AuthError, "The IP address is not in the API whitelist", 401),
    400007: Code(AuthError, "Access Denied -- Your API key does not have sufficient permissions to access the URI",
                 401),
    411100: Code(AuthError, "User is frozen -- Please contact us via support center", 401),
    # Requests.
    400100: Code(OrderError, "Parameter Error -- You tried to access the resource with invalid parameters", 400),
    404000: Code(ExchangeUnavailable, "URL Not Found -- The requested resource could not be found", 404),
    415000: Code(ExchangeUnavailable, "Content-Type -- The Content-Type of the request header must be "
                                      "application/json", 415),
    429000: Code(RateLimited, "Too Many Requests -- Access limit breached", 429),
    500000: Code(ExchangeUnavailable, "Internal Server Error -- We had a problem with our server. Try again later.",
                 500),
    503000: Code(ExchangeUnavailable, "Service Unavailable -- We're temporarily offline for maintenance. Please "
                                      "try again later.", 503),
    # Orders and positions.
    100001: Code(UnknownOrder, "error.getOrder.orderNotExist"),
    100004: Code(UnknownOrder, "Order not exist or not allow to be cancelled"),
    100011: Code(ConfigError, "Contract does not exist"),
    300003: Code(InsufficientMargin, "Balance insufficient"),
    300009: Code(ReduceOnlyRejected, "No open positions to close."),
    300010: Code(InvalidPrice, "Price out of the allowed range"),
    300011: Code(BelowMinSize, "Order size below the minimum requirement."),
    300012: Code(OrderError, "The clientOid is duplicate"),
    330005: Code(VenueSetupError, "The order's margin mode does not match the selected one. Please switch and "
                                  "try again."),
    330008: Code(VenueSetupError, "Leverage exceeds the maximum allowed for the current risk limit"),
    330011: Code(VenueSetupError, "Open orders or positions exist: the margin mode cannot be switched"),
    330012: Code(VenueSetupError, "The order's position mode does not match your selected mode."),
}

ERROR_TABLE: Final[dict[int, type[PmmError]]] = {code: row.error for code, row in CODES.items()}
UNKNOWN_OUTCOME_CODES: Final = frozenset({500000, 503000})
RESYNC_TIME_CODES: Final = frozenset({400002})
RATE_LIMIT_CODES: Final = frozenset({429000})


def message(code: int) -> str:
    row = CODES.get(code)
    return row.msg if row is not None else ""


def http_status(code: int) -> int:
    """The HTTP status KuCoin answers `code` with (200 for business errors and unlisted codes)."""
    row = CODES.get(code)
    return row.status if row is not None else 200


_ADVICE: Final[dict[type[PmmError], str]] = {
    AuthError: (f"Check the API key, secret and passphrase (`pmm connect {spec.CONNECTOR_ID}`), that the key has "
                "the Futures trade permission, and its IP whitelist."),
    RateLimited: "pmm backs off until KuCoin's gw-ratelimit-reset and retries; lower the request rate if this repeats.",
    ExchangeUnavailable: "KuCoin is not serving this request right now; pmm retries or stops quoting.",
    VenueSetupError: "Close open orders and positions on that market, or change the config, then start again.",
    ConfigError: "Check `market` in the config: it must be a KuCoin USDT-margined perpetual such as BTC-USDT.",
    OrderError: "",
}


def _ip_block_message(what: str, retry_after: float | None) -> str:
    return (f"KuCoin refused {what} with HTTP 403: requests from this IP are refused (a blocked IP or region). "
            "Order placement is stopped; check the network path to KuCoin before starting again.")


_TRANSLATOR: Final = ErrorTranslator(
    venue="KuCoin", code_name="code", table=ERROR_TABLE, unknown_outcome_codes=UNKNOWN_OUTCOME_CODES,
    advice=_ADVICE, ip_block_status=403, ip_block_message=_ip_block_message,
    unavailable_statuses={404: " Check `connector.rest_url`: KuCoin has no such endpoint there."})


def error_class(code: int) -> type[PmmError] | None:
    return ERROR_TABLE.get(code)


def translate(*, what: str, status: int, code: int | None, msg: str, order_call: bool,
              retry_after: float | None = None) -> PmmError:
    """The pmm error for one failed KuCoin reply (rules: `common/error_translation.py`)."""
    return _TRANSLATOR.translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                                 retry_after=retry_after)
