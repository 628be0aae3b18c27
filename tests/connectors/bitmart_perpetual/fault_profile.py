"""BitMart facts for the generic fault and crash campaigns (tests/venue_profiles.py)."""

from __future__ import annotations

import functools

import pytest
from venue_profiles import Route, VenueFaults

from pmm.connectors.bitmart_perpetual import build, errors, rest, spec
from pmm.connectors.bitmart_perpetual.gateway import BitmartGateway
from pmm.connectors.bitmart_perpetual.parse import to_client_order_id
from pmm.errors import (
    AuthError,
    BelowMinSize,
    ConfigError,
    ExchangeUnavailable,
    InsufficientMargin,
    InvalidPrice,
    OrderError,
    OrderOutcomeUnknown,
    RateLimited,
    ReduceOnlyRejected,
    VenueSetupError,
)


def _speed_up(mp: pytest.MonkeyPatch, client_timeout_s: float, ban_s: float) -> None:
    mp.setattr(build, "BitmartRestClient", functools.partial(rest.BitmartRestClient, timeout_s=client_timeout_s))
    mp.setattr(rest, "IP_BAN_S", ban_s)  # used when a 418 carries no Retry-After


def _shorten_funding_lookback(mp: pytest.MonkeyPatch, seconds: float) -> None:
    mp.setattr(build, "BitmartGateway", functools.partial(BitmartGateway, funding_lookback_s=seconds))


PROFILE = VenueFaults(
    order=Route(spec.SUBMIT_ORDER_PATH, "POST"),
    cancel=Route(spec.CANCEL_ORDER_PATH, "POST"),
    ban_status=errors.IP_BAN_STATUS,
    ban_said="requests are refused for {seconds} s",
    stale_timestamp_code=30007,
    # BitMart has no minimum notional, and answers a Maker Only order that would take by canceling it
    # (no code): no BelowMinNotional, no PostOnlyWouldCross code.
    reject_codes={
        OrderError: 40041, InsufficientMargin: 40027, InvalidPrice: 40043, BelowMinSize: 40044,
        ReduceOnlyRejected: 40020, RateLimited: 30013, ExchangeUnavailable: 40015,
        OrderOutcomeUnknown: 40012, AuthError: 30005, ConfigError: 40034, VenueSetupError: 40040,
    },
    unknown_cancel=(400, 40035),
    error_table=errors.ERROR_TABLE,
    unknown_outcome_codes=errors.UNKNOWN_OUTCOME_CODES,
    speed_up=_speed_up,
    shorten_funding_lookback=_shorten_funding_lookback,
    clock_skew_s=-65.0,  # BitMart accepts timestamps within 60 s
    wire_client_id=to_client_order_id,
)
