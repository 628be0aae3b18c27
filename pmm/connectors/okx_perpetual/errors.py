"""OKX v5 codes -> pmm.errors, and what the venue server answers with: ONE table keyed on the number.

Each row is a code from OKX's error pages (REST 5xxxx with its HTTP status, WebSocket 6xxxx), the
pmm error class a client raises for it (grouped by what the caller must do, `pmm/errors.py`), and
the message and HTTP status the loopback server sends (`server/`). The message text never decides
a class. Handled where they occur, not here:

- `UNKNOWN_OUTCOME_CODES` (50001, 50004, 50026, 51054, 51149: "does not mean that the request
  was successful or failed") become `OrderOutcomeUnknown` on order calls, so the engine keeps the
  order in flight until reconciliation; the same replies elsewhere are `ExchangeUnavailable`.
- `RESYNC_TIME_CODES` (50102 timestamp expired, 50112 invalid timestamp): re-measure the server
  clock (`/api/v5/public/time`) and retry once.
- `RATE_LIMIT_CODES` (50011, 50013, 50061): back off, then retry.

Envelopes: every answer is `{"code", "msg", "data"}`. An order call that fails for every item is
HTTP 200 with top-level code "1" and the reason in `data[i].sCode/sMsg`; a partly failed batch is
code "2". A post-only order that would cross is accepted and then canceled (`cancelSource` "31"),
so it reaches the client as an order push, not as an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pmm.connectors.common.error_translation import ErrorTranslator
from pmm.connectors.okx_perpetual import spec
from pmm.errors import (
    AuthError,
    BelowMinSize,
    ConfigError,
    ExchangeUnavailable,
    InsufficientMargin,
    InvalidPrice,
    OrderError,
    PmmError,
    PostOnlyWouldCross,
    RateLimited,
    ReduceOnlyRejected,
    UnknownOrder,
    VenueSetupError,
)

OK: Final = 0
ALL_FAILED: Final = 1
PARTIAL: Final = 2


@dataclass(frozen=True, slots=True)
class Code:
    """One OKX code: the class a client raises, and the message and HTTP status the server sends."""

    error: type[PmmError]
    msg: str
    status: int = 200


CODES: Final[dict[int, Code]] = {
    # General class.
    ALL_FAILED: Code(OrderError, "All operations failed"),
    PARTIAL: Code(OrderError, "Bulk operation partially succeeded."),
    50000: Code(ExchangeUnavailable, "Body for POST request cannot be empty.", 400),
    50001: Code(ExchangeUnavailable, "Service temporarily unavailable. Please try again later.", 503),
    50002: Code(ExchangeUnavailable, "JSON syntax error", 400),
    50004: Code(ExchangeUnavailable, "API endpoint request timeout. (does not mean that the request was "
                                     "successful or failed, please check the request result).", 400),
    50005: Code(ExchangeUnavailable, "API endpoint is inactive or unavailable.", 410),
    50006: Code(ExchangeUnavailable, 'Invalid Content-Type. Please use "application/JSON".', 400),
    50011: Code(RateLimited, "Too Many Requests", 429),
    50013: Code(RateLimited, "Systems are busy. Please try again later.", 429),
    50014: Code(OrderError, "Parameter {param0} can not be empty.", 400),
    50015: Code(OrderError, "Either parameter {param0} or {param1} is required", 400),
    50026: Code(ExchangeUnavailable, "System error. Try again later", 500),
    50061: Code(RateLimited, "You've reached the maximum order rate limit for this account."),
    # API class: authentication.
    50100: Code(AuthError, "API frozen, please contact customer service.", 400),
    50101: Code(AuthError, "APIKey does not match current environment.", 401),
    50102: Code(ExchangeUnavailable, "Timestamp request expired.", 401),  # after one resync + retry
    50103: Code(AuthError, 'Request header "OK-ACCESS-KEY" cannot be empty.', 401),
    50104: Code(AuthError, 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.', 401),
    50105: Code(AuthError, 'Request header "OK-ACCESS-PASSPHRASE" incorrect.', 401),
    50106: Code(AuthError, 'Request header "OK-ACCESS-SIGN" cannot be empty.', 401),
    50107: Code(AuthError, 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.', 401),
    50110: Code(AuthError, "Your IP {param0} is not included in your API key's IP whitelist.", 401),
    50111: Code(AuthError, "Invalid OK-ACCESS-KEY.", 401),
    50112: Code(ExchangeUnavailable, "Invalid OK-ACCESS-TIMESTAMP.", 401),
    50113: Code(AuthError, "Invalid signature.", 401),
    50114: Code(AuthError, "Invalid authorization.", 401),
    50115: Code(ExchangeUnavailable, "Invalid request method.", 405),
    50119: Code(AuthError, "API key doesn't exist"),
    50120: Code(AuthError, "This API key doesn't have permission to use this function"),
    # Trade class.
    51000: Code(OrderError, "Parameter {param0} error", 400),
    51001: Code(ConfigError, "Instrument ID, Instrument ID code or Spread ID doesn't exist."),
    51003: Code(OrderError, "Either client order ID or order ID is required."),
    51006: Code(InvalidPrice, "Order price is not within the price limit (max buy price: {param0} , "
                              "min sell price: {param1} )"),
    51008: Code(InsufficientMargin, "Order failed. Insufficient {param0} margin in account"),
    51016: Code(OrderError, "Client order ID already exists."),
    51020: Code(BelowMinSize, "Your order should meet or exceed the minimum order amount."),
    51054: Code(ExchangeUnavailable, "Request timed out. Please try again.", 500),
    51111: Code(OrderError, "Maximum {param0} orders can be placed in bulk."),
    51121: Code(OrderError, "Order quantity must be a multiple of the lot size."),
    51131: Code(InsufficientMargin, "Insufficient balance."),
    51149: Code(ExchangeUnavailable, "Order timed out. Please try again. (does not mean that the request was "
                                     "successful or failed, please check the request result)", 500),
    51169: Code(ReduceOnlyRejected, "Order failed because you don't have any positions in this direction for "
                                    "this contract to reduce or close."),
    51170: Code(ReduceOnlyRejected, "Failed to place order. A reduce-only order can't be the same trading "
                                    "direction as your existing positions."),
    # Algo orders: a trigger already on the wrong side of the price it follows.
    51277: Code(OrderError, "TP trigger price cannot be higher than the last price."),
    51278: Code(OrderError, "SL trigger price cannot be lower than the last price."),
    51279: Code(OrderError, "TP trigger price cannot be lower than the last price."),
    51280: Code(OrderError, "SL trigger price cannot be higher than the last price."),
    51300: Code(OrderError, "TP trigger price cannot be higher than the mark price"),
    51302: Code(OrderError, "SL trigger price cannot be lower than the mark price"),
    51303: Code(OrderError, "TP trigger price cannot be lower than the mark price"),
    51304: Code(OrderError, "SL trigger price cannot be higher than the mark price"),
    51400: Code(UnknownOrder, "Order cancellation failed as the order has been filled, canceled or does not exist."),
    51410: Code(UnknownOrder, "Cancellation failed as the order is already in canceling status or pending "
                              "settlement."),
    51503: Code(UnknownOrder, "Your order has already been filled or canceled."),
    51511: Code(PostOnlyWouldCross, "Modification failed as the order price did not meet the requirement for "
                                    "Post Only."),
    51603: Code(UnknownOrder, "Order does not exist."),
    # Account class.
    59000: Code(VenueSetupError, "Settings failed. Close any open positions or orders before modifying settings."),
    59102: Code(VenueSetupError, "Leverage exceeds the maximum limit. Please lower the leverage."),
    59107: Code(VenueSetupError, "Leverage can't be modified. Please cancel all pending cross-margin orders "
                                 "before adjusting the leverage."),
    # WebSocket (no HTTP status: sent in `{"event": "error", "code", "msg"}`).
    60004: Code(ExchangeUnavailable, "Invalid timestamp"),
    60005: Code(AuthError, "Invalid apiKey"),
    60006: Code(ExchangeUnavailable, "Timestamp request expired"),
    60007: Code(AuthError, "Invalid sign"),
    60009: Code(AuthError, "Login failure"),
    60011: Code(AuthError, "Please log in"),
    60012: Code(ExchangeUnavailable, "Invalid request: {param0}"),
    60013: Code(ExchangeUnavailable, "Invalid args"),
    60018: Code(ExchangeUnavailable, "Wrong URL or {param0} doesn't exist. Please use the correct URL, channel "
                                     "and parameters referring to API document."),
    60019: Code(ExchangeUnavailable, "Invalid op: {param0}"),
    60024: Code(AuthError, "Wrong passphrase"),
    64003: Code(AuthError, "Your trading fee tier doesn't meet the requirement to access this channel"),
    64008: Code(ExchangeUnavailable, "The connection will soon be closed for a service upgrade. Please reconnect."),
}

ERROR_TABLE: Final[dict[int, type[PmmError]]] = {code: row.error for code, row in CODES.items()}
UNKNOWN_OUTCOME_CODES: Final = frozenset({50001, 50004, 50026, 51054, 51149})
RESYNC_TIME_CODES: Final = frozenset({50102, 50112, 60004, 60006})
RATE_LIMIT_CODES: Final = frozenset({50011, 50013, 50061})

# `cancelSource` of an order the venue canceled at once -> the refusal it stands for.
CANCEL_SOURCES: Final[dict[str, type[OrderError]]] = {spec.CANCEL_SOURCE_POST_ONLY: PostOnlyWouldCross}


def message(code: int, **params: object) -> str:
    """The server's msg for `code`, its {paramN} placeholders filled from `params` when given."""
    row = CODES.get(code)
    if row is None:
        return ""
    try:
        return row.msg.format(**params)
    except (KeyError, IndexError):
        return row.msg


def http_status(code: int) -> int:
    """The HTTP status OKX answers `code` with (200 for business errors and unlisted codes)."""
    row = CODES.get(code)
    return row.status if row is not None else 200


_ADVICE: Final[dict[type[PmmError], str]] = {
    AuthError: (f"Check the API key, secret and passphrase (`pmm connect {spec.CONNECTOR_ID}`), that the key "
                "belongs to this environment (live or demo trading), its Trade permission and its IP whitelist."),
    RateLimited: "pmm backs off and retries; lower the request rate if this repeats.",
    ExchangeUnavailable: "OKX is not serving this request right now; pmm retries or stops quoting.",
    VenueSetupError: "Close open orders and positions on that market or change the config, then start again.",
    ConfigError: "Check `market` in the config: it must be an OKX USDT swap such as BTC-USDT.",
    OrderError: "",
}


def _ip_block_message(what: str, retry_after: float | None) -> str:
    return (f"OKX refused {what} with HTTP 403: requests from this IP are refused (a blocked IP or region). "
            "Order placement is stopped; check the network path to OKX before starting again.")


_TRANSLATOR: Final = ErrorTranslator(
    venue="OKX", code_name="code", table=ERROR_TABLE, unknown_outcome_codes=UNKNOWN_OUTCOME_CODES,
    advice=_ADVICE, ip_block_status=403, ip_block_message=_ip_block_message,
    unavailable_statuses={404: " Check `connector.rest_url`: OKX has no such endpoint there."})


def error_class(code: int) -> type[PmmError] | None:
    """The table's class for an OKX code (None when the code is not listed)."""
    return ERROR_TABLE.get(code)


def translate(*, what: str, status: int, code: int | None, msg: str, order_call: bool,
              retry_after: float | None = None) -> PmmError:
    """The pmm error for one failed OKX reply (rules: `common/error_translation.py`).

    `code` is the envelope's code or, for an order item, its `sCode` (as an int; None when there
    was no envelope), `msg` the matching msg / sMsg.
    """
    return _TRANSLATOR.translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                                 retry_after=retry_after)
