"""The error table, case by case: every Binance code of reference §A8 (and more) -> its pmm class."""

from __future__ import annotations

import pytest

from pmm.connectors.binance_perpetual.constants import ErrorCode
from pmm.connectors.binance_perpetual.errors import (
    ALREADY_SET_CODES,
    ERROR_TABLE,
    RESYNC_TIME_CODES,
    translate,
)
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
    UnknownOrder,
    VenueSetupError,
)

# (code, class on an order call, class on any other call). Every code of reference §A8 is here.
CASES = [
    (-1000, OrderOutcomeUnknown, ExchangeUnavailable),
    (-1001, OrderOutcomeUnknown, ExchangeUnavailable),
    (-1002, AuthError, AuthError),
    (-1003, RateLimited, RateLimited),
    (-1006, OrderOutcomeUnknown, ExchangeUnavailable),
    (-1007, OrderOutcomeUnknown, ExchangeUnavailable),
    (-1008, RateLimited, RateLimited),
    (-1015, RateLimited, RateLimited),
    (-1016, ExchangeUnavailable, ExchangeUnavailable),
    (-1021, ExchangeUnavailable, ExchangeUnavailable),
    (-1022, AuthError, AuthError),
    (-1099, AuthError, AuthError),
    (-1100, OrderError, OrderError),
    (-1101, OrderError, OrderError),
    (-1102, OrderError, OrderError),
    (-1103, OrderError, OrderError),
    (-1111, OrderError, OrderError),
    (-1115, OrderError, OrderError),
    (-1116, OrderError, OrderError),
    (-1117, OrderError, OrderError),
    (-1121, ConfigError, ConfigError),
    (-1125, ExchangeUnavailable, ExchangeUnavailable),
    (-1130, OrderError, OrderError),
    (-2010, InsufficientMargin, InsufficientMargin),
    (-2011, UnknownOrder, UnknownOrder),
    (-2013, UnknownOrder, UnknownOrder),
    (-2014, AuthError, AuthError),
    (-2015, AuthError, AuthError),
    (-2017, AuthError, AuthError),
    (-2018, InsufficientMargin, InsufficientMargin),
    (-2019, InsufficientMargin, InsufficientMargin),
    (-2020, OrderError, OrderError),
    (-2021, OrderError, OrderError),
    (-2022, ReduceOnlyRejected, ReduceOnlyRejected),
    (-2023, OrderError, OrderError),
    (-2024, ReduceOnlyRejected, ReduceOnlyRejected),
    (-2025, OrderError, OrderError),
    (-2026, OrderError, OrderError),
    (-2027, InsufficientMargin, InsufficientMargin),
    (-2028, InsufficientMargin, InsufficientMargin),
    (-4001, InvalidPrice, InvalidPrice),
    (-4002, InvalidPrice, InvalidPrice),
    (-4003, BelowMinSize, BelowMinSize),
    (-4004, BelowMinSize, BelowMinSize),
    (-4005, OrderError, OrderError),
    (-4013, InvalidPrice, InvalidPrice),
    (-4014, InvalidPrice, InvalidPrice),
    (-4015, OrderError, OrderError),
    (-4016, InvalidPrice, InvalidPrice),
    (-4023, OrderError, OrderError),
    (-4024, InvalidPrice, InvalidPrice),
    (-4028, VenueSetupError, VenueSetupError),
    (-4046, VenueSetupError, VenueSetupError),
    (-4047, VenueSetupError, VenueSetupError),
    (-4048, VenueSetupError, VenueSetupError),
    (-4059, VenueSetupError, VenueSetupError),
    (-4060, OrderError, OrderError),
    (-4061, OrderError, OrderError),
    (-4062, ReduceOnlyRejected, ReduceOnlyRejected),
    (-4067, VenueSetupError, VenueSetupError),
    (-4068, VenueSetupError, VenueSetupError),
    (-4116, OrderError, OrderError),
    (-4120, OrderError, OrderError),  # a stop sent to /fapi/v1/order instead of the Algo Service
    (-4118, ReduceOnlyRejected, ReduceOnlyRejected),
    (-4131, OrderError, OrderError),
    (-4164, BelowMinNotional, BelowMinNotional),
    (-5021, OrderError, OrderError),
    (-5022, PostOnlyWouldCross, PostOnlyWouldCross),
    (-5028, OrderError, OrderError),
]


@pytest.mark.parametrize(("code", "on_order", "elsewhere"), CASES, ids=[str(case[0]) for case in CASES])
def test_code_maps_to_class(code: int, on_order: type, elsewhere: type) -> None:
    order_error = translate(what="place order pmm-1-1", status=400, code=code, msg="whatever", order_call=True)
    other_error = translate(what="GET /fapi/v3/account", status=400, code=code, msg="whatever", order_call=False)
    assert type(order_error) is on_order
    assert type(other_error) is elsewhere
    if isinstance(order_error, OrderError):
        assert order_error.code == str(code)


def test_every_table_code_is_tested() -> None:
    tested = {case[0] for case in CASES}
    assert {int(code) for code in ERROR_TABLE} <= tested


def test_message_text_never_decides_the_class() -> None:
    a = translate(what="x", status=400, code=-2019, msg="Margin is insufficient.", order_call=True)
    b = translate(what="x", status=400, code=-2019, msg="Unknown order sent.", order_call=True)
    assert type(a) is type(b) is InsufficientMargin


@pytest.mark.parametrize(("status", "on_order", "elsewhere"), [
    (429, RateLimited, RateLimited),
    (418, ExchangeUnavailable, ExchangeUnavailable),
    (401, AuthError, AuthError),
    (403, ExchangeUnavailable, ExchangeUnavailable),
    (408, OrderOutcomeUnknown, ExchangeUnavailable),
    (500, OrderOutcomeUnknown, ExchangeUnavailable),
    (502, OrderOutcomeUnknown, ExchangeUnavailable),
    (503, OrderOutcomeUnknown, ExchangeUnavailable),
    (400, OrderError, ExchangeUnavailable),
])
def test_http_status_without_a_code(status: int, on_order: type, elsewhere: type) -> None:
    assert type(translate(what="x", status=status, code=None, msg="", order_call=True)) is on_order
    assert type(translate(what="x", status=status, code=None, msg="", order_call=False)) is elsewhere


def test_503_with_a_definite_code_uses_the_code() -> None:
    # -1008 is a definite failure (overload) even on HTTP 503: not an unknown outcome.
    assert type(translate(what="x", status=503, code=-1008, msg="", order_call=True)) is RateLimited


def test_ban_418_wins_over_its_code_and_says_placement_stopped() -> None:
    err = translate(what="place order a", status=418, code=-1003, msg="banned", order_call=True, retry_after=120)
    assert type(err) is ExchangeUnavailable
    assert "418" in str(err) and "placement" in str(err) and "120" in str(err)


def test_rate_limited_carries_retry_after() -> None:
    err = translate(what="x", status=429, code=-1003, msg="", order_call=False, retry_after=7.0)
    assert isinstance(err, RateLimited) and err.retry_after == 7.0


def test_special_code_sets() -> None:
    assert ErrorCode.INVALID_TIMESTAMP in RESYNC_TIME_CODES
    assert ALREADY_SET_CODES == {ErrorCode.NO_NEED_TO_CHANGE_MARGIN_TYPE, ErrorCode.NO_NEED_TO_CHANGE_POSITION_SIDE}


def test_messages_say_what_and_code() -> None:
    err = translate(what="place order pmm-1a2b3c4d-17", status=400, code=-4164, msg="Order's notional must be "
                    "no smaller than 5.0 (unless you choose reduce only)", order_call=True)
    text = str(err)
    assert "pmm-1a2b3c4d-17" in text and "-4164" in text and "notional" in text
