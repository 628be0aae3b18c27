"""KuCoin facts for the generic fault and crash campaigns (tests/venue_profiles.py)."""

from __future__ import annotations

import functools

import pytest
from venue_profiles import Route, VenueFaults

from pmm.connectors.kucoin_perpetual import build, errors, rest, spec
from pmm.connectors.kucoin_perpetual.gateway import KucoinGateway
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
    mp.setattr(build, "KucoinRestClient", functools.partial(rest.KucoinRestClient, timeout_s=client_timeout_s))
    mp.setattr(rest, "IP_BAN_S", ban_s)  # KuCoin's 403 names no duration: the client waits a minute


def _shorten_funding_lookback(mp: pytest.MonkeyPatch, seconds: float) -> None:
    mp.setattr(build, "KucoinGateway", functools.partial(KucoinGateway, funding_lookback_s=seconds))


PROFILE = VenueFaults(
    order=Route(spec.ORDERS_PATH, "POST"),
    cancel=Route("/api/v1/orders/client-order/", "DELETE"),
    ban_status=403,
    ban_said="this IP is blocked for {seconds} s",
    stale_timestamp_code=400002,
    # KuCoin cancels a post-only order that would take instead of refusing it: no PostOnlyWouldCross
    # code; it has no minimum notional either (its minimum is one lot).
    reject_codes={
        OrderError: 400100, InsufficientMargin: 300003, InvalidPrice: 300010, BelowMinSize: 300011,
        ReduceOnlyRejected: 300009, RateLimited: 429000, ExchangeUnavailable: 404000, OrderOutcomeUnknown: 500000,
        AuthError: 400007, ConfigError: 100011, VenueSetupError: 330005,
    },
    unknown_cancel=(200, 100004),
    error_table=errors.ERROR_TABLE,
    unknown_outcome_codes=errors.UNKNOWN_OUTCOME_CODES,
    speed_up=_speed_up,
    shorten_funding_lookback=_shorten_funding_lookback,
    clock_skew_s=-8.0,  # KuCoin accepts timestamps within 5 s
)
