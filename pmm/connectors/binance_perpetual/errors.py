"""Binance error codes -> pmm.errors, in one table keyed on the numeric code (never the message).

Grouped by what the caller must do (see `pmm/errors.py`). Two codes are not failures in context
and are handled where they occur: -4046 (margin type already set) and -4059 (position mode already
set) are success for the setters in `gateway.py`. Codes in `RESYNC_TIME_CODES` make `rest.py`
re-measure the server clock and retry once before raising the table's class.

Outcome of order calls (place / cancel): a reply that says "I do not know what happened" (-1000,
-1001, -1006, -1007, HTTP 408 and 5xx without a definite code, timeouts, dropped connections)
becomes `OrderOutcomeUnknown`, so the engine keeps the order in flight until reconciliation.
The same replies on other calls are `ExchangeUnavailable`. How a reply becomes an error is the same
for every venue (`common/error_translation.py`); the codes, advice and ban message are Binance's.
"""

from __future__ import annotations

from typing import Final

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.constants import ErrorCode as E
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
    OrderOutcomeUnknown,
    PmmError,
    PostOnlyWouldCross,
    RateLimited,
    ReduceOnlyRejected,
    UnknownOrder,
    VenueSetupError,
)

ERROR_TABLE: Final[dict[int, type[PmmError]]] = {
    # 10xx: server or network. Unknown-outcome codes are refined per call in `translate`.
    E.UNKNOWN: ExchangeUnavailable,
    E.DISCONNECTED: ExchangeUnavailable,
    E.UNAUTHORIZED: AuthError,
    E.TOO_MANY_REQUESTS: RateLimited,
    E.UNEXPECTED_RESP: ExchangeUnavailable,
    E.TIMEOUT: ExchangeUnavailable,
    E.REQUEST_THROTTLED: RateLimited,
    E.TOO_MANY_ORDERS: RateLimited,
    E.SERVICE_SHUTTING_DOWN: ExchangeUnavailable,
    E.INVALID_TIMESTAMP: ExchangeUnavailable,  # after one time resync + retry failed
    E.INVALID_SIGNATURE: AuthError,
    E.NOT_FOUND: AuthError,  # "not found, unauthenticated, or unauthorized"
    # 11xx: the request itself is wrong.
    E.ILLEGAL_CHARS: OrderError,
    E.TOO_MANY_PARAMETERS: OrderError,
    E.MANDATORY_PARAM_EMPTY_OR_MALFORMED: OrderError,
    E.UNKNOWN_PARAM: OrderError,
    E.BAD_PRECISION: OrderError,
    E.INVALID_TIF: OrderError,
    E.INVALID_ORDER_TYPE: OrderError,
    E.INVALID_SIDE: OrderError,
    E.BAD_SYMBOL: ConfigError,
    E.INVALID_LISTEN_KEY: ExchangeUnavailable,  # the user stream renews its key
    E.INVALID_PARAMETER: OrderError,
    # 20xx: processing.
    E.NEW_ORDER_REJECTED: InsufficientMargin,  # what Binance answers for a balance shortfall
    E.CANCEL_REJECTED: UnknownOrder,  # "Unknown order sent."
    E.NO_SUCH_ORDER: UnknownOrder,
    E.BAD_API_KEY_FMT: AuthError,
    E.REJECTED_MBX_KEY: AuthError,
    E.API_KEYS_LOCKED: AuthError,
    E.BALANCE_NOT_SUFFICIENT: InsufficientMargin,
    E.MARGIN_NOT_SUFFICIENT: InsufficientMargin,
    E.UNABLE_TO_FILL: OrderError,
    E.ORDER_WOULD_IMMEDIATELY_TRIGGER: OrderError,
    E.REDUCE_ONLY_REJECT: ReduceOnlyRejected,
    E.USER_IN_LIQUIDATION: OrderError,
    E.POSITION_NOT_SUFFICIENT: ReduceOnlyRejected,
    E.MAX_OPEN_ORDER_EXCEEDED: OrderError,
    E.REDUCE_ONLY_ORDER_TYPE_NOT_SUPPORTED: OrderError,
    E.MAX_LEVERAGE_RATIO: InsufficientMargin,
    E.MIN_LEVERAGE_RATIO: InsufficientMargin,
    # 40xx: filters.
    E.PRICE_LESS_THAN_ZERO: InvalidPrice,
    E.PRICE_GREATER_THAN_MAX_PRICE: InvalidPrice,
    E.QTY_LESS_THAN_ZERO: BelowMinSize,
    E.QTY_LESS_THAN_MIN_QTY: BelowMinSize,
    E.QTY_GREATER_THAN_MAX_QTY: OrderError,
    E.PRICE_LESS_THAN_MIN_PRICE: InvalidPrice,
    E.PRICE_NOT_INCREASED_BY_TICK_SIZE: InvalidPrice,
    E.INVALID_CL_ORD_ID_LEN: OrderError,
    E.PRICE_HIGHER_THAN_MULTIPLIER_UP: InvalidPrice,
    E.QTY_NOT_INCREASED_BY_STEP_SIZE: OrderError,
    E.PRICE_LOWER_THAN_MULTIPLIER_DOWN: InvalidPrice,
    E.INVALID_LEVERAGE: VenueSetupError,
    E.NO_NEED_TO_CHANGE_MARGIN_TYPE: VenueSetupError,  # success inside set_margin_mode
    E.THERE_EXISTS_OPEN_ORDERS: VenueSetupError,
    E.THERE_EXISTS_QUANTITY: VenueSetupError,
    E.NO_NEED_TO_CHANGE_POSITION_SIDE: VenueSetupError,  # success inside set_position_mode
    E.INVALID_POSITION_SIDE: OrderError,
    E.POSITION_SIDE_NOT_MATCH: OrderError,
    E.REDUCE_ONLY_CONFLICT: ReduceOnlyRejected,
    E.POSITION_SIDE_CHANGE_EXISTS_OPEN_ORDERS: VenueSetupError,
    E.POSITION_SIDE_CHANGE_EXISTS_QUANTITY: VenueSetupError,
    E.DUPLICATED_CLIENT_ORDER_ID: OrderError,
    E.REDUCE_ONLY_MARGIN_CHECK_FAILED: ReduceOnlyRejected,
    E.MARKET_ORDER_REJECT: OrderError,
    E.MIN_NOTIONAL: BelowMinNotional,
    c.ERR_STOP_ORDER_SWITCH_ALGO: OrderError,  # a stop sent to /fapi/v1/order, not the algo endpoint
    # 50xx: execution.
    E.FOK_ORDER_REJECT: OrderError,
    E.GTX_ORDER_REJECT: PostOnlyWouldCross,
    E.ME_RECVWINDOW_REJECT: OrderError,  # after one time resync + retry failed
}

# Replies that mean "the venue does not know whether it executed the request".
UNKNOWN_OUTCOME_CODES: Final = frozenset({E.UNKNOWN, E.DISCONNECTED, E.UNEXPECTED_RESP, E.TIMEOUT})
# The local clock is off: measure the server's clock again and retry once.
RESYNC_TIME_CODES: Final = frozenset({E.INVALID_TIMESTAMP, E.ME_RECVWINDOW_REJECT})
# Setting an account option to the value it already has.
ALREADY_SET_CODES: Final = frozenset({E.NO_NEED_TO_CHANGE_MARGIN_TYPE, E.NO_NEED_TO_CHANGE_POSITION_SIDE})

_ADVICE: Final[dict[type[PmmError], str]] = {
    AuthError: (f"Check the API key and secret in {c.API_KEY_ENV} / {c.API_SECRET_ENV}, the key's futures "
                "permission and its IP whitelist."),
    RateLimited: "",  # Binance's rate-limit refusals carry no advice: pmm's back-off is automatic
    ExchangeUnavailable: "Binance is not serving this request right now (an outage or maintenance).",
    VenueSetupError: "Close open orders and positions on that market or change the config, then start again.",
    ConfigError: "Check `market` in the config: it must be a USD-M perpetual Binance lists.",
    OrderOutcomeUnknown: "The order is kept in flight until reconciliation with the venue settles it.",
}


def _ip_ban_message(what: str, retry_after: float | None) -> str:
    wait = f" for {retry_after:g} s" if retry_after else ""
    return (f"Binance banned this IP{wait} (HTTP 418) after too many requests: {what} was not sent. "
            "Order placement is stopped until the ban ends; do not restart in a loop, it extends the ban.")


_TRANSLATOR: Final = ErrorTranslator(
    venue="Binance", code_name="code", table=ERROR_TABLE, unknown_outcome_codes=UNKNOWN_OUTCOME_CODES,
    advice=_ADVICE, ip_block_status=c.HTTP_IP_BANNED, ip_block_message=_ip_ban_message,
    unavailable_statuses={c.HTTP_WAF_LIMIT: ""})


def translate(*, what: str, status: int, code: int | None, msg: str, order_call: bool,
              retry_after: float | None = None) -> PmmError:
    """The pmm error for one failed Binance reply (rules: `common/error_translation.py`).

    `what` names the request for the message ("place order pmm-1-2"), `status` is the HTTP status,
    `code`/`msg` come from the `{"code", "msg"}` body (None/"" when there was none). The message
    text is shown to the user but never decides the class.
    """
    return _TRANSLATOR.translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                                 retry_after=retry_after)
