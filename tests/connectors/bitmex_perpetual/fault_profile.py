"""BitMEX facts for the generic fault and crash campaigns (tests/venue_profiles.py).

BitMEX has no numeric error codes: the codes here are pmm's numbers of the rows of BitMEX's message
table (`errors.MESSAGES`), which the venue server's fault injection and `OrderRejected.code` use.
"""

from __future__ import annotations

import functools

import pytest
from venue_profiles import Route, VenueFaults

from pmm.connectors.bitmex_perpetual import build, errors, rest, spec
from pmm.connectors.bitmex_perpetual.gateway import BitmexGateway
from pmm.connectors.bitmex_perpetual.parse import to_cl_ord_id
from pmm.errors import (
    AuthError,
    BelowMinSize,
    ConfigError,
    ExchangeUnavailable,
    InsufficientMargin,
    InvalidPrice,
    OrderError,
    OrderOutcomeUnknown,
    PostOnlyWouldCross,
    RateLimited,
    ReduceOnlyRejected,
    VenueSetupError,
)


def _code(opening: str) -> int:
    return errors.MESSAGES[opening].code


def _speed_up(mp: pytest.MonkeyPatch, client_timeout_s: float, ban_s: float) -> None:
    mp.setattr(build, "BitmexRestClient", functools.partial(rest.BitmexRestClient, timeout_s=client_timeout_s))
    mp.setattr(rest, "IP_BAN_S", ban_s)  # BitMEX bans for an hour


def _shorten_funding_lookback(mp: pytest.MonkeyPatch, seconds: float) -> None:
    mp.setattr(build, "BitmexGateway", functools.partial(BitmexGateway, funding_lookback_s=seconds))


PROFILE = VenueFaults(
    order=Route(spec.ORDER_PATH, "POST"),
    cancel=Route(spec.ORDER_PATH, "DELETE"),
    ban_status=403,
    ban_said="BitMEX answered HTTP 403",
    stale_timestamp_code=_code("This request has expired"),
    # BitMEX has no minimum notional (its minimum is one lot of contracts): no BelowMinNotional row.
    reject_codes={
        OrderError: _code("Duplicate clOrdID"), InsufficientMargin: _code("Account has insufficient Available Balance"),
        InvalidPrice: _code("Invalid price tickSize"), BelowMinSize: _code("Order quantity is below the minimum"),
        PostOnlyWouldCross: _code("Order had execInst of ParticipateDoNotInitiate"),
        ReduceOnlyRejected: _code("Order had execInst of ReduceOnly"), RateLimited: _code("Rate limit exceeded"),
        ExchangeUnavailable: _code("Invalid JSON"), OrderOutcomeUnknown: _code("Server Error"),
        AuthError: _code("Access Denied"), ConfigError: _code("Invalid symbol"),
        VenueSetupError: _code("Invalid leverage"),
    },
    unknown_cancel=(404, _code("Not Found")),
    error_table=errors.ERROR_TABLE,
    unknown_outcome_codes=frozenset({_code("Server Error"), _code("The system is currently overloaded."),
                                     _code("Service unavailable")}),
    speed_up=_speed_up,
    shorten_funding_lookback=_shorten_funding_lookback,
    clock_skew_s=60.0,  # pmm signs `api-expires` 30 s ahead: a server clock 60 s ahead finds it past
    wire_client_id=to_cl_ord_id,
)
