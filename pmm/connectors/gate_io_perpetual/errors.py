"""Gate APIv4 error labels -> pmm.errors, and what the venue server answers with: ONE table keyed on
the label.

Gate answers a refused request with a non-2xx status and `{"label": "...", "message": "..."}`
(exchange_apis_more.md §H4; Gate's "Error codes" list). Each row is a label, the pmm error class a
client raises for it (grouped by what the caller must do, `pmm/errors.py`), and the message and
HTTP status the loopback server sends (`server/`). The message text never decides a class.
Handled where they occur, not here:

- `UNKNOWN_OUTCOME_LABELS` (SERVER_ERROR, TOO_BUSY: Gate's own fault, the request may or may not
  have been executed) become `OrderOutcomeUnknown` on order calls, so the engine keeps the order
  in flight until reconciliation; elsewhere they are `ExchangeUnavailable`.
- `RESYNC_TIME_LABELS` (REQUEST_EXPIRED: the Timestamp is over 60 s off): re-measure the server
  clock (`/api/v4/spot/time`) and retry once.
- `RATE_LIMIT_LABELS` (TOO_MANY_REQUESTS, HTTP 429): back off, then retry.

A post-only order that would take liquidity is refused at once (ORDER_POC_IMMEDIATE), so it
reaches the client as `PostOnlyWouldCross`, never as an order push.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pmm.connectors.common.error_translation import ErrorTranslator
from pmm.connectors.gate_io_perpetual import spec
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


@dataclass(frozen=True, slots=True)
class Label:
    """One Gate label: the class a client raises, and the message and HTTP status the server sends."""

    error: type[PmmError]
    msg: str
    status: int = 400


LABELS: Final[dict[str, Label]] = {
    # Authentication (HTTP 401).
    "INVALID_KEY": Label(AuthError, "Invalid key provided", 401),
    "INVALID_SIGNATURE": Label(AuthError, "Signature mismatch", 401),
    "MISSING_REQUIRED_HEADER": Label(AuthError, "Missing required authentication header", 401),
    "REQUEST_EXPIRED": Label(ExchangeUnavailable, "gap between request Timestamp and server time exceeds 60", 401),
    "READ_ONLY": Label(AuthError, "API key is read-only", 403),
    "FORBIDDEN": Label(AuthError, "No permission", 403),
    # Request shape.
    "INVALID_PARAM_VALUE": Label(OrderError, "Invalid parameter value"),
    "INVALID_REQUEST_BODY": Label(OrderError, "Invalid request body"),
    "MISSING_REQUIRED_PARAM": Label(OrderError, "Missing required parameter"),
    "INVALID_CLIENT_ORDER_ID": Label(OrderError, "Client order ID is invalid"),
    "NOT_FOUND": Label(ExchangeUnavailable, "Not found", 404),
    # Contracts and orders.
    "CONTRACT_NOT_FOUND": Label(ConfigError, "Contract not found", 400),
    "ORDER_NOT_FOUND": Label(UnknownOrder, "Order not found", 404),
    "ORDER_FINISHED": Label(UnknownOrder, "Order has been finished", 400),
    "ORDER_POC_IMMEDIATE": Label(PostOnlyWouldCross, "Order would match and take immediately so it's cancelled"),
    "INSUFFICIENT_AVAILABLE": Label(InsufficientMargin, "Insufficient available balance"),
    "SIZE_TOO_SMALL": Label(BelowMinSize, "Order size too small"),
    "SIZE_TOO_LARGE": Label(OrderError, "Order size too large"),
    "INVALID_PRICE": Label(InvalidPrice, "Invalid price"),
    "PRICE_TOO_DEVIATED": Label(InvalidPrice, "Order price deviates too much from the mark price"),
    "REDUCE_EXCEEDED": Label(ReduceOnlyRejected, "Reduce-only order exceeds the position size"),
    "INCREASE_POSITION": Label(ReduceOnlyRejected, "Reduce-only order would increase the position"),
    "TOO_MANY_ORDERS": Label(OrderError, "Too many open orders"),
    # Account settings.
    "LEVERAGE_TOO_HIGH": Label(VenueSetupError, "Leverage too high"),
    "LEVERAGE_TOO_LOW": Label(VenueSetupError, "Leverage too low"),
    "POSITION_HOLDING": Label(VenueSetupError, "Position is held: close it first"),
    "POSITION_DUAL_MODE": Label(VenueSetupError, "Operation forbidden in dual position mode"),
    "POSITION_NOT_DUAL_MODE": Label(VenueSetupError, "Operation forbidden outside dual position mode"),
    "ORDER_PENDING": Label(VenueSetupError, "Operation forbidden while orders are pending"),
    # The venue itself.
    "TOO_MANY_REQUESTS": Label(RateLimited, "Request rate limit exceeded", 429),
    "SERVER_ERROR": Label(ExchangeUnavailable, "Internal server error", 500),
    "TOO_BUSY": Label(ExchangeUnavailable, "Server is too busy at the moment", 503),
}

ERROR_TABLE: Final[dict[str, type[PmmError]]] = {label: row.error for label, row in LABELS.items()}
UNKNOWN_OUTCOME_LABELS: Final = frozenset({"SERVER_ERROR", "TOO_BUSY"})
RESYNC_TIME_LABELS: Final = frozenset({"REQUEST_EXPIRED"})
RATE_LIMIT_LABELS: Final = frozenset({"TOO_MANY_REQUESTS"})


def message(label: str) -> str:
    row = LABELS.get(label)
    return row.msg if row is not None else label


def http_status(label: str) -> int:
    """The HTTP status Gate answers `label` with (400 for labels not listed)."""
    row = LABELS.get(label)
    return row.status if row is not None else 400


_ADVICE: Final[dict[type[PmmError], str]] = {
    AuthError: (f"Check the API key and secret (`pmm connect {spec.CONNECTOR_ID}`), that the key belongs to this "
                "environment (live or TestNet), has the Futures trade permission and allows this IP."),
    RateLimited: "pmm backs off and retries; lower the request rate if this repeats.",
    ExchangeUnavailable: "Gate is not serving this request right now; pmm retries or stops quoting.",
    VenueSetupError: "Close open orders and positions on that market or change the config, then start again.",
    ConfigError: "Check `market` in the config: it must be a Gate USDT perpetual such as BTC-USDT.",
    OrderError: "",
}


def _ip_block_message(what: str, retry_after: float | None) -> str:
    return (f"Gate refused {what} with HTTP 403: requests from this IP are refused (a blocked IP, region or a key "
            "restricted to other IPs). Order placement is stopped; check the network path and the key's IP "
            "whitelist before starting again.")


_TRANSLATOR: Final = ErrorTranslator(
    venue="Gate", code_name="label", table=ERROR_TABLE, unknown_outcome_codes=UNKNOWN_OUTCOME_LABELS,
    advice=_ADVICE, ip_block_status=403, ip_block_message=_ip_block_message,
    unavailable_statuses={404: " Check `connector.rest_url`: Gate has no such endpoint there."})


def error_class(label: str) -> type[PmmError] | None:
    return ERROR_TABLE.get(label)


def translate(*, what: str, status: int, label: str | None, msg: str, order_call: bool,
              retry_after: float | None = None) -> PmmError:
    """The pmm error for one failed Gate reply (rules: `common/error_translation.py`); `label` is
    the body's label (None when the body had none)."""
    return _TRANSLATOR.translate(what=what, status=status, code=label, msg=msg, order_call=order_call,
                                 retry_after=retry_after)
