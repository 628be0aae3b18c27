"""BitMart codes -> pmm.errors, and what the venue server answers with: ONE table keyed on the number.

Each row is a code from BitMart's error pages (exchange_apis_more.md §K4; the futures 400xx
wording as ccxt 4.5.70 lists it), the pmm error class a client raises for it (grouped by what the
caller must do, `pmm/errors.py`), and the message and HTTP status the loopback server sends
(`server/`). The message text never decides a class. Handled where they occur, not here:

- `UNKNOWN_OUTCOME_CODES` (40012 system error, 30014 service unavailable) become
  `OrderOutcomeUnknown` on order calls, so the engine keeps the order in flight until
  reconciliation; the same replies elsewhere are `ExchangeUnavailable`.
- `RESYNC_TIME_CODES` (30007 timestamp outside the minute, 30008 bad timestamp): re-measure the
  server clock (`/system/time`) and retry once.
- `RATE_LIMIT_CODES` (30013, HTTP 429): back off, then retry. 30017 (HTTP 418) is BitMart
  refusing the account for breaking its limits: every request stops for a while.

Envelopes: success `{"code": 1000, "message": "Ok", "data", "trace"}`; a refusal the same with
the code and its message, `data` {}. A maker-only order that would take liquidity is accepted and
then canceled (no code; the gateway reads it as `PostOnlyWouldCross`). Codes chosen for pmm's
classes without a wording of their own (not confirmed by BitMart's docs): 40043 "order precision
is invalid" is the price off the tick (`InvalidPrice`), 40044 "order range is invalid" a size
below the minimum (`BelowMinSize`), 40020 "position volume is not enough" a reduce-only order
with nothing to reduce (`ReduceOnlyRejected`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.common.error_translation import ErrorTranslator
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

OK: Final = 1000
IP_BAN_STATUS: Final = 418


@dataclass(frozen=True, slots=True)
class Code:
    """One BitMart code: the class a client raises, and the message and HTTP status the server sends."""

    error: type[PmmError]
    msg: str
    status: int = 400


CODES: Final[dict[int, Code]] = {
    # General and authentication (30xxx).
    30000: Code(ExchangeUnavailable, "Not found", 404),
    30001: Code(AuthError, "Header X-BM-KEY is empty", 401),
    30002: Code(AuthError, "Header X-BM-KEY not found", 401),
    30003: Code(AuthError, "Header X-BM-KEY has frozen", 401),
    30004: Code(AuthError, "Header X-BM-SIGN is empty", 401),
    30005: Code(AuthError, "Header X-BM-SIGN is wrong", 401),
    30006: Code(ExchangeUnavailable, "Header X-BM-TIMESTAMP is empty", 401),
    30007: Code(ExchangeUnavailable, "Header X-BM-TIMESTAMP range. Within a minute", 401),
    30008: Code(ExchangeUnavailable, "Header X-BM-TIMESTAMP invalid format", 401),
    30010: Code(AuthError, "IP is forbidden. We recommend enabling IP whitelist for API trading. After that reauth "
                           "your account", 403),
    30011: Code(AuthError, "Header X-BM-KEY over expire time", 403),
    30012: Code(AuthError, "Header X-BM-KEY is forbidden to request it", 403),
    30013: Code(RateLimited, "Request too many requests", 429),
    30014: Code(ExchangeUnavailable, "Service unavailable", 503),
    30016: Code(ExchangeUnavailable, "Service maintenance, the function is temporarily unavailable", 200),
    30017: Code(ExchangeUnavailable, "Your account request is temporarily rejected due to violation of current "
                                     "limiting rules, please contact customer service", IP_BAN_STATUS),
    30018: Code(ExchangeUnavailable, "Request Body requires JSON format", 503),
    30019: Code(AuthError, "You do not have the permissions to perform this operation. Please contact customer "
                           "service or BD for assistance", 200),
    # Futures (400xx).
    40007: Code(OrderError, "Parse parameter error"),
    40011: Code(OrderError, "Invalid request"),
    40012: Code(ExchangeUnavailable, "System error", 500),
    40014: Code(ConfigError, "This contract is offline"),
    40015: Code(ExchangeUnavailable, "This contract's exchange has been paused"),
    40016: Code(OrderError, "This order would trigger user position liquidate"),
    40017: Code(OrderError, "It is not possible to open and close simultaneously in the same position"),
    40018: Code(ReduceOnlyRejected, "Your position is closed"),
    40020: Code(ReduceOnlyRejected, "Your position volume is not enough"),
    40027: Code(InsufficientMargin, "You contract account available balance not enough"),
    40028: Code(OrderError, "Your plan order's count is more than system maximum limit."),
    40029: Code(VenueSetupError, "The order's leverage is too large."),
    40030: Code(VenueSetupError, "The order's leverage is too small."),
    40031: Code(OrderError, "The deviation between current price and trigger price is too large."),
    40034: Code(ConfigError, "This contract is not found"),
    40035: Code(UnknownOrder, "The order is not exist"),
    40036: Code(UnknownOrder, "The order status is invalid"),
    40037: Code(UnknownOrder, "The order id is not exist"),
    40039: Code(OrderError, "The timestamp is invalid"),
    40040: Code(VenueSetupError, "The order leverage is invalid"),
    40041: Code(OrderError, "The order side is invalid"),
    40042: Code(OrderError, "The order type is invalid"),
    40043: Code(InvalidPrice, "The order precision is invalid"),
    40044: Code(BelowMinSize, "The order range is invalid"),
    40045: Code(OrderError, "The order open type is invalid"),
    40046: Code(AuthError, "The account is not opened futures", 403),
    40047: Code(AuthError, "Services is not available in you countries and areas", 403),
    40048: Code(OrderError, "ClientOrderId only allows a combination of numbers and letters", 403),
    40049: Code(OrderError, "The maximum length of clientOrderId cannot exceed 32", 403),
    40050: Code(OrderError, "Client OrderId duplicated with existing orders", 403),
}

ERROR_TABLE: Final[dict[int, type[PmmError]]] = {code: row.error for code, row in CODES.items()}
UNKNOWN_OUTCOME_CODES: Final = frozenset({40012, 30014})
RESYNC_TIME_CODES: Final = frozenset({30007, 30008})
RATE_LIMIT_CODES: Final = frozenset({30013})


def message(code: int) -> str:
    row = CODES.get(code)
    return row.msg if row is not None else ""


def http_status(code: int) -> int:
    """The HTTP status BitMart answers `code` with (400 for unlisted codes)."""
    row = CODES.get(code)
    return row.status if row is not None else 400


_ADVICE: Final[dict[type[PmmError], str]] = {
    AuthError: (f"Check the API key, secret and memo (`pmm connect {spec.CONNECTOR_ID}`), that the key belongs to "
                "this environment (live or simulated trading), its Futures Trade permission and its IP whitelist."),
    RateLimited: "pmm backs off and retries; lower the request rate if this repeats.",
    ExchangeUnavailable: "BitMart is not serving this request right now; pmm retries or stops quoting.",
    VenueSetupError: "Close open orders and positions on that market or change the config, then start again.",
    ConfigError: "Check `market` in the config: it must be a BitMart USDT perpetual such as BTC-USDT.",
    OrderError: "",
}


def _ip_block_message(what: str, retry_after: float | None) -> str:
    wait = f" for {retry_after:.0f} s" if retry_after else ""
    return (f"BitMart refused {what} with HTTP {IP_BAN_STATUS} (code 30017): the account broke BitMart's request "
            f"limits and its requests are refused{wait}. Order placement is stopped; lower the request rate "
            "before starting again.")


_TRANSLATOR: Final = ErrorTranslator(
    venue="BitMart", code_name="code", table=ERROR_TABLE, unknown_outcome_codes=UNKNOWN_OUTCOME_CODES,
    advice=_ADVICE, ip_block_status=IP_BAN_STATUS, ip_block_message=_ip_block_message,
    unavailable_statuses={404: " Check `connector.rest_url`: BitMart has no such endpoint there."})


def error_class(code: int) -> type[PmmError] | None:
    return ERROR_TABLE.get(code)


def translate(*, what: str, status: int, code: int | None, msg: str, order_call: bool,
              retry_after: float | None = None) -> PmmError:
    """The pmm error for one failed BitMart reply (rules: `common/error_translation.py`)."""
    return _TRANSLATOR.translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                                 retry_after=retry_after)
