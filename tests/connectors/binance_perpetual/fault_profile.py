"""Binance facts for the generic fault and crash campaigns (tests/venue_profiles.py)."""

from __future__ import annotations

import functools

import pytest
from venue_profiles import Route, VenueFaults

from pmm.connectors.binance_perpetual import build, errors
from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.gateway import BinanceGateway
from pmm.connectors.binance_perpetual.rest import BinanceRestClient
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
    # A 418 carries its Retry-After, so the ban's length needs no patch.
    mp.setattr(build, "BinanceRestClient", functools.partial(BinanceRestClient, timeout_s=client_timeout_s))


def _shorten_funding_lookback(mp: pytest.MonkeyPatch, seconds: float) -> None:
    mp.setattr(build, "BinanceGateway", functools.partial(BinanceGateway, funding_lookback_s=seconds))


PROFILE = VenueFaults(
    order=Route(c.ORDER_PATH, "POST"),
    cancel=Route(c.ORDER_PATH, "DELETE"),
    ban_status=418,
    ban_said="banned this IP for {seconds} s",
    stale_timestamp_code=-1021,
    reject_codes={
        OrderError: -1111, InsufficientMargin: -2019, InvalidPrice: -4014, BelowMinSize: -4004,
        BelowMinNotional: -4164, PostOnlyWouldCross: -5022, ReduceOnlyRejected: -2022, RateLimited: -1015,
        ExchangeUnavailable: -1016, OrderOutcomeUnknown: -1007, AuthError: -2015, ConfigError: -1121,
        VenueSetupError: -4028,
    },
    unknown_cancel=(400, -2011),
    error_table=errors.ERROR_TABLE,
    unknown_outcome_codes=errors.UNKNOWN_OUTCOME_CODES,
    speed_up=_speed_up,
    shorten_funding_lookback=_shorten_funding_lookback,
)
