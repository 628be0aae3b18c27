"""Bitget facts for the generic fault and crash campaigns (tests/venue_profiles.py)."""

from __future__ import annotations

import functools

import pytest
from venue_profiles import Route, VenueFaults

from pmm.connectors.bitget_perpetual import build, errors, rest, spec
from pmm.connectors.bitget_perpetual.gateway import BitgetGateway
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
    RateLimited,
    ReduceOnlyRejected,
    VenueSetupError,
)


def _speed_up(mp: pytest.MonkeyPatch, client_timeout_s: float, ban_s: float) -> None:
    mp.setattr(build, "BitgetRestClient", functools.partial(rest.BitgetRestClient, timeout_s=client_timeout_s))
    # Bitget's over-limit penalty is five minutes: the campaign waits `ban_s` instead.
    mp.setattr(rest, "IP_BAN_S", ban_s)


def _shorten_funding_lookback(mp: pytest.MonkeyPatch, seconds: float) -> None:
    mp.setattr(build, "BitgetGateway", functools.partial(BitgetGateway, funding_lookback_s=seconds))


PROFILE = VenueFaults(
    order=Route(spec.PLACE_ORDER_PATH, "POST"),
    cancel=Route(spec.CANCEL_ORDER_PATH),
    ban_status=403,
    ban_said="this IP is blocked for {seconds} s",
    stale_timestamp_code=40008,
    # A post-only order that would cross is accepted and canceled (a push, not a code).
    reject_codes={
        OrderError: 40808, InsufficientMargin: 43012, InvalidPrice: 45115, BelowMinSize: 45111,
        BelowMinNotional: 45110, ReduceOnlyRejected: 22002, RateLimited: 429, ExchangeUnavailable: 40404,
        OrderOutcomeUnknown: 40010, AuthError: 40014, ConfigError: 40102, VenueSetupError: 45117,
    },
    unknown_cancel=(400, 43001),
    error_table=errors.ERROR_TABLE,
    unknown_outcome_codes=errors.UNKNOWN_OUTCOME_CODES,
    speed_up=_speed_up,
    shorten_funding_lookback=_shorten_funding_lookback,
    clock_skew_s=-35.0,  # Bitget accepts timestamps within 30 s
)
