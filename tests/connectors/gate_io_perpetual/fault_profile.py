"""Gate facts for the generic fault and crash campaigns (tests/venue_profiles.py)."""

from __future__ import annotations

import functools

import pytest
from venue_profiles import Route, VenueFaults

from pmm.connectors.gate_io_perpetual import build, errors, rest, spec
from pmm.connectors.gate_io_perpetual.gateway import GateGateway
from pmm.connectors.gate_io_perpetual.parse import to_text
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
    mp.setattr(build, "GateRestClient", functools.partial(rest.GateRestClient, timeout_s=client_timeout_s))
    # Gate's 403 names no duration: the client waits a minute.
    mp.setattr(rest, "IP_BAN_S", ban_s)


def _shorten_funding_lookback(mp: pytest.MonkeyPatch, seconds: float) -> None:
    mp.setattr(build, "GateGateway", functools.partial(GateGateway, funding_lookback_s=seconds))


PROFILE = VenueFaults(
    order=Route(spec.ORDERS_PATH, "POST"),
    cancel=Route(spec.ORDERS_PATH + "/", "DELETE"),
    ban_status=403,
    ban_said="this IP is blocked for {seconds} s",
    stale_timestamp_code="REQUEST_EXPIRED",  # type: ignore[arg-type]  # Gate's codes are labels
    # Gate has no minimum notional (its minimum is a number of contracts): no BelowMinNotional label.
    reject_codes={  # type: ignore[arg-type]
        OrderError: "INVALID_PARAM_VALUE", InsufficientMargin: "INSUFFICIENT_AVAILABLE",
        InvalidPrice: "INVALID_PRICE", BelowMinSize: "SIZE_TOO_SMALL", PostOnlyWouldCross: "ORDER_POC_IMMEDIATE",
        ReduceOnlyRejected: "REDUCE_EXCEEDED",
        RateLimited: "TOO_MANY_REQUESTS", ExchangeUnavailable: "NOT_FOUND", OrderOutcomeUnknown: "SERVER_ERROR",
        AuthError: "INVALID_KEY", ConfigError: "CONTRACT_NOT_FOUND", VenueSetupError: "LEVERAGE_TOO_HIGH",
    },
    unknown_cancel=(404, "ORDER_NOT_FOUND"),  # type: ignore[arg-type]
    error_table=errors.ERROR_TABLE,  # type: ignore[arg-type]
    unknown_outcome_codes=errors.UNKNOWN_OUTCOME_LABELS,  # type: ignore[arg-type]
    speed_up=_speed_up,
    shorten_funding_lookback=_shorten_funding_lookback,
    clock_skew_s=-65.0,  # Gate accepts timestamps within 60 s
    wire_client_id=to_text,
)
