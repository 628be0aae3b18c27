"""Bybit facts for the generic fault and crash campaigns (tests/venue_profiles.py)."""

from __future__ import annotations

import functools

import pytest
from venue_profiles import Route, VenueFaults

from pmm.connectors.bybit_perpetual import build, errors
from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.gateway import BybitGateway
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
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
    PostOnlyWouldCross,
    RateLimited,
    ReduceOnlyRejected,
    VenueSetupError,
)


def _speed_up(mp: pytest.MonkeyPatch, client_timeout_s: float, ban_s: float) -> None:
    mp.setattr(build, "BybitRestClient", functools.partial(BybitRestClient, timeout_s=client_timeout_s))
    # Bybit's 403 says nothing about its length: the client assumes the documented 10 minutes.
    mp.setattr(c, "IP_BAN_S", ban_s)


def _shorten_funding_lookback(mp: pytest.MonkeyPatch, seconds: float) -> None:
    mp.setattr(build, "BybitGateway", functools.partial(BybitGateway, funding_lookback_s=seconds))


PROFILE = VenueFaults(
    order=Route(c.ORDER_CREATE_PATH),
    cancel=Route(c.ORDER_CANCEL_PATH),
    ban_status=403,
    ban_said="this IP is blocked for {seconds} s",
    stale_timestamp_code=10002,
    reject_codes={
        OrderError: 110032, InsufficientMargin: 110007, InvalidPrice: 110003, BelowMinSize: 170136,
        BelowMinNotional: 110094, PostOnlyWouldCross: 170218, ReduceOnlyRejected: 110017, RateLimited: 10006,
        ExchangeUnavailable: 10009, OrderOutcomeUnknown: 110079, AuthError: 10003, ConfigError: 10029,
        VenueSetupError: 110013,
    },
    unknown_cancel=(200, 110001),
    error_table=errors.ERROR_TABLE,
    unknown_outcome_codes=errors.UNKNOWN_OUTCOME_CODES,
    speed_up=_speed_up,
    shorten_funding_lookback=_shorten_funding_lookback,
)
