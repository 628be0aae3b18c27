"""Bitget codes -> pmm.errors, and what the venue server answers with: ONE table keyed on the number.

Each row is a code from Bitget's REST / WebSocket error pages (exchange_apis_more.md §J4), the pmm
error class a client raises for it (grouped by what the caller must do, `pmm/errors.py`), and the
message and HTTP status the loopback server sends (`server/`). The message text never decides a
class. Handled where they occur, not here:

- `UNKNOWN_OUTCOME_CODES` (40010 request timed out, 40015 system abnormal, 45001 unknown error)
  become `OrderOutcomeUnknown` on order calls, so the engine keeps the order in flight until
  reconciliation; elsewhere they are `ExchangeUnavailable`.
- `RESYNC_TIME_CODES` (40005 invalid timestamp, 40008 expired, 40078 outside the receive window):
  re-measure the server clock (`/api/v2/public/time`) and retry once.
- `RATE_LIMIT_CODES` (429, HTTP 429): back off, then retry.

Envelopes: every answer is `{"code", "msg", "requestTime", "data"}`, "00000" for success; a
refusal carries `"data": null`. HTTP statuses of refusals are 400 except 404 for an unknown path
(40404), 429 for the rate limit and 500 for the venue's own failures (the docs list no statuses:
what ccxt's captures and hummingbot's mocks show). A post-only order that would take liquidity is
accepted and then canceled (`cancelReason` `POST_ONLY_CANCEL`, not confirmed from the docs read),
so it reaches the client as an order push, not as an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.common.error_translation import ErrorTranslator
from pmm.errors import (
    AuthError,
    BelowMinNotional,
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

OK: Final = "00000"


@dataclass(frozen=True, slots=True)
class Code:
    """One Bitget code: the class a client raises, and the message and HTTP status the server sends."""

    error: type[PmmError]
    msg: str
    status: int = 400


CODES: Final[dict[int, Code]] = {
    429: Code(RateLimited, "Too many requests", 429),
    # Authentication.
    40001: Code(AuthError, "ACCESS_KEY cannot be empty"),
    40002: Code(AuthError, "ACCESS_SIGN cannot be empty"),
    40003: Code(AuthError, "Signature cannot be empty"),
    40005: Code(ExchangeUnavailable, "Invalid ACCESS_TIMESTAMP"),  # after one resync + retry
    40006: Code(AuthError, "Invalid ACCESS_KEY"),
    40008: Code(ExchangeUnavailable, "Request timestamp expired"),  # after one resync + retry
    40009: Code(AuthError, "sign signature error"),
    40010: Code(ExchangeUnavailable, "Request timed out", 500),
    40011: Code(AuthError, "ACCESS_PASSPHRASE cannot be empty"),
    40012: Code(AuthError, "apikey/password is incorrect"),
    40013: Code(AuthError, "User status is abnormal"),
    40014: Code(AuthError, "Incorrect permissions, need {0} permissions"),
    40015: Code(ExchangeUnavailable, "System is abnormal, please try again later", 500),
    40018: Code(AuthError, "Invalid IP"),
    40037: Code(AuthError, "Apikey does not exist"),
    40078: Code(ExchangeUnavailable, "Timestamp for this request is outside of the ME receiveWindow."),
    # Parameters.
    40017: Code(OrderError, "Parameter verification failed {0}"),
    40019: Code(OrderError, "Parameter {0} cannot be empty"),
    40020: Code(OrderError, "Parameter {0} error"),
    40034: Code(OrderError, "Parameter {0} does not exist"),
    40072: Code(ConfigError, "symbol {0} is Invalid or not supported mix contract trade"),
    40102: Code(ConfigError, "Symbol does not exist"),
    40304: Code(OrderError, "clientOid or clientOrderId length cannot greater than 50"),
    40306: Code(OrderError, "Batch processing orders can only process up to 20"),
    40402: Code(OrderError, "orderId or clientOId format error"),
    40404: Code(ExchangeUnavailable, "Request URL NOT FOUND", 404),
    40706: Code(InvalidPrice, "Wrong order price"),
    40823: Code(OrderError, "The transaction or reasonable marked price does not exist"),
    40808: Code(OrderError, "Parameter verification exception {0}"),
    40811: Code(OrderError, "The parameter {0} should not be null"),
    # Orders.
    22001: Code(UnknownOrder, "No order to cancel"),
    22002: Code(ReduceOnlyRejected, "No position to close"),
    40757: Code(ReduceOnlyRejected, "Not enough position is available."),
    40762: Code(InsufficientMargin, "The order amount exceeds the balance"),
    40774: Code(OrderError, "The order type for unilateral position must also be the unilateral position type."),
    40109: Code(UnknownOrder, "The data of the order cannot be found, please confirm the order number"),
    40830: Code(OrderError, "The take profit price of the long position should be greater than the current price"),
    40832: Code(OrderError, "The take profit price of short positions should be less than the current price"),
    40834: Code(OrderError, "The stop loss price of the long position should be less than the current price"),
    40836: Code(OrderError, "The stop loss price of the short position should be greater than the current price"),
    40837: Code(ReduceOnlyRejected, "There is no position in this position, so stop-profit and stop-loss orders "
                                    "cannot be made"),
    43001: Code(UnknownOrder, "The order does not exist"),
    43004: Code(UnknownOrder, "There is no order to cancel"),
    43008: Code(InvalidPrice, "The current order price cannot be less than {0}{1}"),
    43009: Code(InvalidPrice, "The current order price exceeds the limit {0}{1}"),
    43011: Code(OrderError, "The parameter does not meet the specification {0}"),
    43012: Code(InsufficientMargin, "Insufficient balance"),
    43025: Code(UnknownOrder, "Plan order does not exist"),
    43034: Code(OrderError, "The trigger price should be ≤ the current market price"),
    43035: Code(OrderError, "The trigger price should be ≥ the current market price"),
    43118: Code(OrderError, "clientOrderId duplicate"),
    45001: Code(ExchangeUnavailable, "Unknown error", 500),
    45031: Code(UnknownOrder, "The order is finalized"),
    45034: Code(OrderError, "clientOid duplicate"),
    45110: Code(BelowMinNotional, "less than the minimum amount {0} USDT"),
    45111: Code(BelowMinSize, "less than the minimum order quantity"),
    45112: Code(OrderError, "more than the maximum order quantity"),
    45115: Code(InvalidPrice, "The price you enter should be a multiple of {0}"),
    # Account settings.
    40814: Code(VenueSetupError, "No change in leverage"),
    43050: Code(VenueSetupError, "Leverage exceeds the effective range"),
    45044: Code(VenueSetupError, "Leverage is not within the suitable range after adjustment"),
    45117: Code(VenueSetupError, "Currently holding positions or orders, the margin mode cannot be adjusted"),
    40730: Code(VenueSetupError, "There is currently a commission or a planned commission, and the leverage "
                                 "cannot be adjusted"),
    # WebSocket (sent in `{"event": "error", "code", "msg"}`; no HTTP status).
    30001: Code(ExchangeUnavailable, "Channel does not exist"),
    30002: Code(ExchangeUnavailable, "Illegal request"),
    30003: Code(ExchangeUnavailable, "Invalid op"),
    30004: Code(AuthError, "User needs to log in"),
    30005: Code(AuthError, "Login failed"),
    30006: Code(RateLimited, "request too many"),
    30011: Code(AuthError, "Invalid ACCESS_KEY"),
    30012: Code(AuthError, "Invalid ACCESS_PASSPHRASE"),
    30013: Code(ExchangeUnavailable, "Invalid ACCESS_TIMESTAMP"),
    30014: Code(ExchangeUnavailable, "Request timestamp expired"),
    30015: Code(AuthError, "Invalid signature"),
}

ERROR_TABLE: Final[dict[int, type[PmmError]]] = {code: row.error for code, row in CODES.items()}
UNKNOWN_OUTCOME_CODES: Final = frozenset({40010, 40015, 45001})
RESYNC_TIME_CODES: Final = frozenset({40005, 40008, 40078})
RATE_LIMIT_CODES: Final = frozenset({429})
LEVERAGE_UNCHANGED: Final = 40814  # setting the leverage in force: nothing to do


def message(code: int, *params: object) -> str:
    """The server's msg for `code`, its {0} {1} placeholders filled from `params` when given."""
    row = CODES.get(code)
    if row is None:
        return ""
    try:
        return row.msg.format(*params) if params else row.msg.replace("{0}", "").replace("{1}", "").strip()
    except (KeyError, IndexError):
        return row.msg


def http_status(code: int) -> int:
    """The HTTP status the server answers `code` with (400 for unlisted codes)."""
    row = CODES.get(code)
    return row.status if row is not None else 400


_ADVICE: Final[dict[type[PmmError], str]] = {
    AuthError: (f"Check the API key, secret and passphrase (`pmm connect {spec.CONNECTOR_ID}`), that the key "
                "belongs to this environment (live or demo trading), its trade permission and its IP whitelist."),
    RateLimited: "pmm backs off and retries; lower the request rate if this repeats.",
    ExchangeUnavailable: "Bitget is not serving this request right now; pmm retries or stops quoting.",
    VenueSetupError: "Close open orders and positions on that market or change the config, then start again.",
    ConfigError: "Check `market` in the config: it must be a Bitget USDT-M perpetual such as BTC-USDT.",
    OrderError: "",
}


def _ip_block_message(what: str, retry_after: float | None) -> str:
    return (f"Bitget refused {what} with HTTP 403: requests from this IP are refused (a blocked IP or region). "
            "Order placement is stopped; check the network path to Bitget before starting again.")


_TRANSLATOR: Final = ErrorTranslator(
    venue="Bitget", code_name="code", table=ERROR_TABLE, unknown_outcome_codes=UNKNOWN_OUTCOME_CODES,
    advice=_ADVICE, ip_block_status=403, ip_block_message=_ip_block_message,
    unavailable_statuses={404: " Check `connector.rest_url`: Bitget has no such endpoint there."})


def error_class(code: int) -> type[PmmError] | None:
    return ERROR_TABLE.get(code)


def translate(*, what: str, status: int, code: int | None, msg: str, order_call: bool,
              retry_after: float | None = None) -> PmmError:
    """The pmm error for one failed Bitget reply (rules: `common/error_translation.py`)."""
    return _TRANSLATOR.translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                                 retry_after=retry_after)
