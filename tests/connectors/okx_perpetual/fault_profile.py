"""OKX facts for the generic fault and crash campaigns (tests/venue_profiles.py)."""

from __future__ import annotations

import functools

import pytest
from venue_profiles import Route, VenueFaults

from pmm.connectors.okx_perpetual import build, errors, rest, spec
from pmm.connectors.okx_perpetual.gateway import OkxGateway
from pmm.connectors.okx_perpetual.parse import to_cl_ord_id
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


def _speed_up(mp: pytest.MonkeyPatch, client_timeout_s: float, ban_s: float) -> None:
    mp.setattr(build, "OkxRestClient", functools.partial(rest.OkxRestClient, timeout_s=client_timeout_s))
    # OKX's 403 names no duration: the client waits a minute.
    mp.setattr(rest, "IP_BAN_S", ban_s)


def _shorten_funding_lookback(mp: pytest.MonkeyPatch, seconds: float) -> None:
    mp.setattr(build, "OkxGateway", functools.partial(OkxGateway, funding_lookback_s=seconds))


PROFILE = VenueFaults(
    order=Route(spec.ORDER_PATH, "POST"),
    cancel=Route(spec.CANCEL_ORDER_PATH),
    ban_status=403,
    ban_said="this IP is blocked for {seconds} s",
    stale_timestamp_code=50102,
    # OKX has no minimum notional (its minimum is a number of contracts): no BelowMinNotional code.
    reject_codes={
        OrderError: 51121, InsufficientMargin: 51008, InvalidPrice: 51006, BelowMinSize: 51020,
        PostOnlyWouldCross: 51511, ReduceOnlyRejected: 51169, RateLimited: 50011, ExchangeUnavailable: 50005,
        OrderOutcomeUnknown: 51149, AuthError: 50120, ConfigError: 51001, VenueSetupError: 59102,
    },
    unknown_cancel=(200, 51400),
    error_table=errors.ERROR_TABLE,
    unknown_outcome_codes=errors.UNKNOWN_OUTCOME_CODES,
    speed_up=_speed_up,
    shorten_funding_lookback=_shorten_funding_lookback,
    clock_skew_s=-35.0,  # OKX accepts timestamps within 30 s
    wire_client_id=to_cl_ord_id,
)
