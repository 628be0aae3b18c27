"""BitMEX errors -> pmm.errors, and what the venue server answers with: ONE table.

BitMEX has no numeric error codes: a failed request is an HTTP status with `{"error": {"message",
"name"}}`, and the message's fixed opening is the only thing that tells one refusal from another
(ccxt keys its table on the same texts). So the table here is keyed on that opening: each row is the
message as BitMEX words it (figures such as "100 USDt required" follow it), the HTTP status BitMEX
answers with, the `name` of the error object, and the pmm error class a client raises. A message the
table does not know falls back to the HTTP status (`common/error_translation.py`: 401 auth, 429 rate
limit, 5xx unavailable, other refusals of an order call `OrderError`).

Handled where they occur, not here:
- an expired `api-expires` (401 "This request has expired") re-measures the server clock and
  retries once (`rest.py`);
- HTTP 429 waits for `Retry-After` (or `x-ratelimit-reset`) and retries; HTTP 403 without a reason
  of the table (a key's permission, a restricted account) is BitMEX's ban of this IP or key after too
  many refused requests (`is_ban`): every request stops for `IP_BAN_S`;
- 503 "The system is currently overloaded" is BitMEX's load shedding, documented as refused before
  the engine saw it; pmm still reconciles an order call answered with any 5xx (`OrderOutcomeUnknown`),
  as a proxy or a lost answer looks the same, and elsewhere it is `ExchangeUnavailable`.
- Orders BitMEX accepts and then cancels come back as order rows, not errors: a post-only order that
  would have taken liquidity is `Canceled` with text "Canceled: Order had execInst of
  ParticipateDoNotInitiate" (`parse.py` makes it `OrderRejected`; the table reads the text after
  "Canceled: " as the reason). The message opening is the only discriminator BitMEX offers, so here,
  unlike the other venues, a text decides the class.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pmm.connectors.bitmex_perpetual import spec
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
    PostOnlyWouldCross,
    RateLimited,
    ReduceOnlyRejected,
    UnknownOrder,
    VenueSetupError,
)


@dataclass(frozen=True, slots=True)
class Message:
    """One BitMEX error: pmm's number for it, the class a client raises, the HTTP status and error name
    the server sends."""

    code: int
    error: type[PmmError]
    status: int = 400
    name: str = "HTTPError"


# The opening of BitMEX's message -> what it means. Longest openings are matched first. The number of
# each row is pmm's, not BitMEX's (BitMEX has none; 913000 + n, a number no BitMEX text holds): it
# names the refusal in `OrderRejected.code` and in the venue server's fault injection.
MESSAGES: Final[dict[str, Message]] = {
    # Authentication (401) and permissions (403).
    "Missing API key.": Message(913001, AuthError, 401),
    "Invalid API Key.": Message(913002, AuthError, 401),
    "Signature not valid.": Message(913003, AuthError, 401),
    "This key is disabled.": Message(913004, AuthError, 403),
    "Access Denied": Message(913005, AuthError, 403),
    "Account is restricted": Message(913006, AuthError, 403),
    "This request has expired": Message(913040, ExchangeUnavailable, 401),  # after one clock resync + retry
    "Invalid expires": Message(913007, ExchangeUnavailable, 401),
    # Rate limits and availability.
    "Rate limit exceeded": Message(913008, RateLimited, 429),
    "The system is currently overloaded.": Message(913009, ExchangeUnavailable, 503),
    "Service unavailable": Message(913010, ExchangeUnavailable, 503),
    "Server Error": Message(913011, ExchangeUnavailable, 500),
    # Orders.
    "Account has insufficient Available Balance": Message(913012, InsufficientMargin, 400, "ValidationError"),
    "Executing at order price would lead to immediate liquidation": Message(913013, InsufficientMargin),
    "Invalid price tickSize": Message(913014, InvalidPrice, 400, "ValidationError"),
    "Invalid price": Message(913015, InvalidPrice, 400, "ValidationError"),
    "Price greater than limit": Message(913016, InvalidPrice),
    "Invalid stopPx for ordType": Message(913017, OrderError, 400, "ValidationError"),
    "Invalid orderQty": Message(913018, OrderError, 400, "ValidationError"),
    "orderQty is invalid": Message(913019, OrderError, 400, "ValidationError"),
    "Order quantity must be a multiple of lot size": Message(913020, OrderError, 400, "ValidationError"),
    "Order quantity is below the minimum": Message(913021, BelowMinSize, 400, "ValidationError"),
    "Duplicate clOrdID": Message(913022, OrderError),
    "Invalid ordType": Message(913023, OrderError, 400, "ValidationError"),
    "Invalid execInst": Message(913024, OrderError, 400, "ValidationError"),
    "Invalid side": Message(913025, OrderError, 400, "ValidationError"),
    "Invalid symbol": Message(913026, ConfigError, 400, "ValidationError"),
    "Instrument not listed for trading yet": Message(913027, ConfigError),
    "Unable to cancel order due to existing state": Message(913028, UnknownOrder),
    "Invalid ordStatus": Message(913029, UnknownOrder),
    "Not Found": Message(913030, UnknownOrder, 404),
    "Invalid orderID": Message(913031, UnknownOrder, 400, "ValidationError"),
    "Order had execInst of ParticipateDoNotInitiate": Message(913032, PostOnlyWouldCross),
    "Order had execInst of ReduceOnly": Message(913033, ReduceOnlyRejected),
    "Order had execInst of Close or ReduceOnly": Message(913034, ReduceOnlyRejected),
    # Account set-up.
    "Invalid leverage": Message(913035, VenueSetupError, 400, "ValidationError"),
    "Leverage exceeds": Message(913036, VenueSetupError),
    "Cannot change margin type with open position": Message(913037, VenueSetupError),
    # Malformed requests.
    "Invalid JSON": Message(913038, ExchangeUnavailable, 400, "ValidationError"),
    "Missing required parameter": Message(913039, OrderError, 400, "ValidationError"),
}

_BY_LENGTH: Final = sorted(MESSAGES, key=len, reverse=True)
BY_CODE: Final[dict[int, str]] = {row.code: text for text, row in MESSAGES.items()}
ERROR_TABLE: Final[dict[int, type[PmmError]]] = {row.code: row.error for row in MESSAGES.values()}
EXPIRED_PREFIXES: Final = ("This request has expired", "Invalid expires")
OVERLOADED: Final = "The system is currently overloaded. Please try again later."
IP_BAN_STATUS: Final = 403
CANCELED_PREFIX: Final = "Canceled: "  # the text of an order BitMEX canceled at once names why after it


def is_ban(status: int, message: str) -> bool:
    """HTTP 403 without a known reason (a key's permission, a restricted account): BitMEX's ban."""
    row = lookup(message)
    return status == IP_BAN_STATUS and (row is None or row[1].status != IP_BAN_STATUS)


def lookup(message: str) -> tuple[str, Message] | None:
    """The table row whose opening `message` starts with (the longest such), or None."""
    text = message.strip()
    text = text[len(CANCELED_PREFIX):] if text.startswith(CANCELED_PREFIX) else text
    for key in _BY_LENGTH:
        if text.startswith(key):
            return key, MESSAGES[key]
    return None


def error_class(message: str) -> type[PmmError] | None:
    row = lookup(message)
    return None if row is None else row[1].error


def is_expired(message: str) -> bool:
    return message.strip().startswith(EXPIRED_PREFIXES)


def body(message: str) -> dict[str, dict[str, str]]:
    """The error object BitMEX answers with (the server sends it)."""
    row = lookup(message)
    return {"error": {"message": message, "name": row[1].name if row else "HTTPError"}}


def http_status(message: str) -> int:
    row = lookup(message)
    return row[1].status if row is not None else 400


_ADVICE: Final[dict[type[PmmError], str]] = {
    AuthError: (f"Check the API key and secret (`pmm connect {spec.CONNECTOR_ID}`), that the key belongs to this "
                "environment (live or testnet), its Order permission and its IP whitelist."),
    RateLimited: "pmm backs off and retries; lower the request rate if this repeats.",
    ExchangeUnavailable: "BitMEX is not serving this request right now; pmm retries or stops quoting.",
    VenueSetupError: "Close open orders and positions on that market or change the config, then start again.",
    ConfigError: "Check `market` in the config: it must be a BitMEX USDT perpetual such as BTC-USDT (XBTUSDT).",
    OrderError: "",
}


def _ip_block_message(what: str, retry_after: float | None) -> str:
    return (f"BitMEX refused {what} with HTTP 403: this IP or key is banned for now (BitMEX bans after too many "
            "refused or rate-limited requests). Order placement is stopped; wait, then check the request rate "
            "and the key's permissions before starting again.")


_TRANSLATOR: Final = ErrorTranslator(
    venue="BitMEX", code_name="error", table={}, unknown_outcome_codes=frozenset(), advice=_ADVICE,
    ip_block_status=IP_BAN_STATUS, ip_block_message=_ip_block_message,
    unavailable_statuses={404: " Check `connector.rest_url`: BitMEX has no such endpoint there."})


def translate(*, what: str, status: int, message: str, order_call: bool,
              retry_after: float | None = None) -> PmmError:
    """The pmm error for one failed BitMEX reply: the table's class for its message, else by status."""
    row = lookup(message)
    if row is not None and row[0] == "Not Found" and not order_call:
        row = None  # a path the venue does not serve, not an order it does not know
    known_403 = row is not None and row[1].status == IP_BAN_STATUS
    # A 5xx on an order call may or may not have executed (the answer may be lost after the engine
    # took it): the status rules make it OrderOutcomeUnknown, to be reconciled, never assumed.
    if row is None or (status == IP_BAN_STATUS and not known_403) or status >= 500:
        return _TRANSLATOR.translate(what=what, status=status, code=None, msg=message, order_call=order_call,
                                     retry_after=retry_after)
    where = f"BitMEX refused {what}: {message} (HTTP {status})."
    return _TRANSLATOR.build(row[1].error, where, row[1].code, retry_after)
