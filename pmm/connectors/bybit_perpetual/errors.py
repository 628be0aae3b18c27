"""Bybit retCodes and HTTP statuses -> pmm.errors, in one table keyed on the number (never the text).

Grouped by what the caller must do (see `pmm/errors.py`). Handled where they occur, not here:

- `ALREADY_SET_CODES` (110043 leverage, 110025 position mode, 110026 margin mode "not modified")
  are success for the setters in `gateway.py`;
- `RESYNC_TIME_CODES` (10002) make `rest.py` re-measure the server clock and retry once;
- `RATE_LIMIT_CODES` (10006, 10018) make `rest.py` wait for the endpoint's reset and retry;
- `DCP_REFUSALS`: what a refusal of Set Disconnect Cancel All means (`dcp.py`, below).

Outcome of order calls (create / cancel / cancel-all): a reply that says "I do not know what
happened" (10000 server timeout, 10016 server error, 110079 order still processing, HTTP 5xx,
timeouts, dropped connections) becomes `OrderOutcomeUnknown`, so the engine keeps the order in
flight until reconciliation. The same replies on other calls are `ExchangeUnavailable`.

A post-only order that would cross is not refused by the REST call: Bybit accepts it and cancels
it at once with `rejectReason` EC_PostOnlyWillTakeLiquidity (see `parse.py`), which becomes an
`OrderRejected` event. `REJECT_REASONS` maps such reasons to the class a refusal would have had.

How a reply becomes an error is the same for every venue (`common/error_translation.py`); the codes,
advice and IP-block message are Bybit's.
"""

from __future__ import annotations

from typing import Final

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.constants import RetCode as E
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
    # 10xxx: request, authentication, limits, server.
    E.SERVER_TIMEOUT: ExchangeUnavailable,  # unknown outcome on order calls
    E.PARAM_ERROR: OrderError,
    E.TIMESTAMP_OUT_OF_WINDOW: ExchangeUnavailable,  # after one time resync + retry failed
    E.INVALID_API_KEY: AuthError,
    E.INVALID_SIGN: AuthError,
    E.PERMISSION_DENIED: AuthError,
    E.TOO_MANY_VISITS: RateLimited,
    E.AUTH_FAILED: AuthError,
    E.COMMON_BANNED: AuthError,
    E.IP_BANNED: ExchangeUnavailable,
    E.UNMATCHED_IP: AuthError,
    E.DUPLICATE_REQUEST: OrderError,
    E.SERVER_ERROR: ExchangeUnavailable,  # unknown outcome on order calls
    E.ROUTE_NOT_FOUND: ExchangeUnavailable,
    E.IP_RATE_LIMIT: RateLimited,
    E.COMPLIANCE: AuthError,
    E.TRANSACTIONS_BANNED: AuthError,
    E.UNIFIED_ONLY: AuthError,
    E.SYMBOL_INVALID: ConfigError,
    # 110xxx: orders and positions.
    E.ORDER_NOT_EXIST: UnknownOrder,
    E.PRICE_OUT_OF_RANGE: InvalidPrice,
    E.WALLET_INSUFFICIENT: InsufficientMargin,
    E.POSITION_STATUS: OrderError,
    E.CANNOT_COVER_MARGIN: InsufficientMargin,
    E.AVAILABLE_INSUFFICIENT: InsufficientMargin,
    E.ORDER_COMPLETED_OR_CANCELLED: UnknownOrder,
    E.TOO_MANY_STOP_ORDERS: OrderError,
    E.ORDER_CANCELLED: UnknownOrder,
    E.LIQ_IMMEDIATELY: VenueSetupError,
    E.INSUFFICIENT_AVAILABLE: InsufficientMargin,
    E.LEVERAGE_RISK_LIMIT: VenueSetupError,
    E.QTY_EXCEEDS_RISK_LIMIT: OrderError,
    E.REDUCE_ONLY_RULE: ReduceOnlyRejected,
    E.TOO_MANY_ACTIVE_ORDERS: OrderError,
    E.OPEN_INTEREST_LIMIT: OrderError,
    E.ONLY_REDUCE_ALLOWED: OrderError,
    E.MODE_HAS_POSITION: VenueSetupError,
    E.POSITION_MODE_NOT_MODIFIED: VenueSetupError,  # success inside set_position_mode
    E.MARGIN_MODE_NOT_MODIFIED: VenueSetupError,  # success inside set_margin_mode
    E.MODE_HAS_ORDERS: VenueSetupError,
    E.HEDGE_NOT_SUPPORTED: VenueSetupError,
    E.DUPLICATE_ORDER_ID: OrderError,
    E.ORDER_ILLEGAL: OrderError,
    E.LEVERAGE_CROSS_MODE: VenueSetupError,
    E.LEVERAGE_PORTFOLIO_MODE: VenueSetupError,
    E.WOULD_LIQUIDATE: OrderError,
    E.PRE_DELIVERY_REDUCE_ONLY: OrderError,
    E.LEVERAGE_NOT_MODIFIED: VenueSetupError,  # success inside set_leverage
    E.MARGIN_INSUFFICIENT: InsufficientMargin,
    E.WALLET_INSUFFICIENT_2: InsufficientMargin,
    E.SETTLEMENT_IN_PROGRESS: OrderError,
    E.TRADING_NOT_ALLOWED: OrderError,
    E.DUPLICATE_ORDER_LINK_ID: OrderError,
    E.SET_MARGIN_MODE_FAILED: VenueSetupError,
    E.ORDER_PROCESSING: ExchangeUnavailable,  # unknown outcome on order calls
    E.LEVERAGE_EXCEEDS_RISK_TIER: OrderError,
    E.TRIGGER_NOT_ABOVE: OrderError,  # a stop that would fire at once: not placed
    E.TRIGGER_NOT_BELOW: OrderError,
    E.NOTIONAL_TOO_LOW: BelowMinNotional,
    E.QTY_BELOW_MINIMUM: BelowMinSize,
    E.ORDER_NOT_EXIST_SPOT: UnknownOrder,
    E.POST_ONLY_REJECTED: PostOnlyWouldCross,
    E.SET_MARGIN_MODE_FAILED_ACCOUNT: VenueSetupError,
}

# Replies that mean "the venue does not know whether it executed the request".
UNKNOWN_OUTCOME_CODES: Final = frozenset({E.SERVER_TIMEOUT, E.SERVER_ERROR, E.ORDER_PROCESSING})
# The local clock is off: measure the server's clock again and retry once.
RESYNC_TIME_CODES: Final = frozenset({E.TIMESTAMP_OUT_OF_WINDOW})
# Too many requests to this endpoint: wait for X-Bapi-Limit-Reset-Timestamp, then retry.
RATE_LIMIT_CODES: Final = frozenset({E.TOO_MANY_VISITS, E.IP_RATE_LIMIT})
# Setting an account option to the value it already has.
ALREADY_SET_CODES: Final = frozenset({E.LEVERAGE_NOT_MODIFIED, E.POSITION_MODE_NOT_MODIFIED,
                                      E.MARGIN_MODE_NOT_MODIFIED})

# Set Disconnect Cancel All (Bybit's dead-man switch, `dcp.py`). Bybit documents no retCode for "DCP
# is not enabled for this account" (it is enabled by Bybit, per account); so a refusal that only
# means "not now" (an unknown outcome, the clock, a rate limit, an IP block) is raised as usual and
# the next arm retries, and every other non-zero retCode means "DCP is not available here": the
# gateway warns once and the bot relies on its own disconnect safety.
DCP_RETRY_CODES: Final = UNKNOWN_OUTCOME_CODES | RESYNC_TIME_CODES | RATE_LIMIT_CODES | {E.IP_BANNED}


class _DcpRefusals:
    """The retCodes (a container for `BybitRestClient.post(accept_codes=...)`) after which DCP is
    taken as not available to the account: every non-zero code but `DCP_RETRY_CODES`."""

    def __contains__(self, code: object) -> bool:
        return isinstance(code, int) and code != E.OK and code not in DCP_RETRY_CODES


DCP_REFUSALS: Final = _DcpRefusals()

# `rejectReason` of an order the venue closed without filling -> what a refusal would have been.
REJECT_REASONS: Final[dict[str, type[OrderError]]] = {
    c.REJECT_POST_ONLY_WILL_TAKE_LIQUIDITY: PostOnlyWouldCross,
}

_ADVICE: Final[dict[type[PmmError], str]] = {
    AuthError: (f"Check the API key and secret (`pmm connect {c.CONNECTOR_ID}`, or {c.API_KEY_ENV} / "
                f"{c.API_SECRET_ENV}), that it is a key for this environment (mainnet or testnet) of a "
                "Unified Trading Account, its Contract permission and its IP whitelist."),
    RateLimited: "pmm backs off and retries; lower the request rate if this repeats.",
    ExchangeUnavailable: "Bybit is not serving this request right now (an outage or maintenance).",
    VenueSetupError: "Close open orders and positions on that market or change the config, then start again.",
    ConfigError: "Check `market` in the config: it must be a USDT perpetual Bybit lists.",
    OrderOutcomeUnknown: "The order is kept in flight until reconciliation with the venue settles it.",
}


def _ip_block_message(what: str, retry_after: float | None) -> str:
    return (f"Bybit refused {what} with HTTP 403: this IP passed the venue's request limit and is blocked "
            f"for about {c.IP_BAN_S / 60:.0f} minutes. Order placement is stopped until then; do not restart "
            "in a loop, it extends the block.")


_TRANSLATOR: Final = ErrorTranslator(
    venue="Bybit", code_name="retCode", table=ERROR_TABLE, unknown_outcome_codes=UNKNOWN_OUTCOME_CODES,
    advice=_ADVICE, ip_block_status=c.HTTP_FORBIDDEN, ip_block_message=_ip_block_message,
    unavailable_statuses={c.HTTP_NOT_FOUND: " Check `connector.rest_url` and that the account is a Unified "
                                            "Trading Account."})


def error_class(code: int) -> type[PmmError] | None:
    """The table's class for a retCode (None when the code is not listed)."""
    return ERROR_TABLE.get(code)


def translate(*, what: str, status: int, code: int | None, msg: str, order_call: bool,
              retry_after: float | None = None) -> PmmError:
    """The pmm error for one failed Bybit reply (rules: `common/error_translation.py`).

    `what` names the request for the message ("place order pmm-1-2"), `status` is the HTTP status,
    `code` / `msg` the envelope's retCode / retMsg (None / "" when there was no envelope). The
    message text is shown to the user but never decides the class.
    """
    return _TRANSLATOR.translate(what=what, status=status, code=code, msg=msg, order_call=order_call,
                                 retry_after=retry_after)
