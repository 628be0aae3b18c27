"""The retCode table, case by case: every code of reference §B4 (and more) -> its pmm class."""

from __future__ import annotations

import pytest

from pmm.connectors.bybit_perpetual.constants import RetCode
from pmm.connectors.bybit_perpetual.errors import (
    ALREADY_SET_CODES,
    ERROR_TABLE,
    RATE_LIMIT_CODES,
    REJECT_REASONS,
    RESYNC_TIME_CODES,
    UNKNOWN_OUTCOME_CODES,
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

# (retCode, class on an order call, class on any other call). Every code of reference §B4 is here.
CASES = [
    (10000, OrderOutcomeUnknown, ExchangeUnavailable),
    (10001, OrderError, OrderError),
    (10002, ExchangeUnavailable, ExchangeUnavailable),
    (10003, AuthError, AuthError),
    (10004, AuthError, AuthError),
    (10005, AuthError, AuthError),
    (10006, RateLimited, RateLimited),
    (10007, AuthError, AuthError),
    (10008, AuthError, AuthError),
    (10009, ExchangeUnavailable, ExchangeUnavailable),
    (10010, AuthError, AuthError),
    (10014, OrderError, OrderError),
    (10016, OrderOutcomeUnknown, ExchangeUnavailable),
    (10017, ExchangeUnavailable, ExchangeUnavailable),
    (10018, RateLimited, RateLimited),
    (10024, AuthError, AuthError),
    (10027, AuthError, AuthError),
    (10028, AuthError, AuthError),
    (10029, ConfigError, ConfigError),
    (110001, UnknownOrder, UnknownOrder),
    (110003, InvalidPrice, InvalidPrice),
    (110004, InsufficientMargin, InsufficientMargin),
    (110005, OrderError, OrderError),
    (110006, InsufficientMargin, InsufficientMargin),
    (110007, InsufficientMargin, InsufficientMargin),
    (110008, UnknownOrder, UnknownOrder),
    (110009, OrderError, OrderError),
    (110010, UnknownOrder, UnknownOrder),
    (110011, VenueSetupError, VenueSetupError),
    (110012, InsufficientMargin, InsufficientMargin),
    (110013, VenueSetupError, VenueSetupError),
    (110016, OrderError, OrderError),
    (110017, ReduceOnlyRejected, ReduceOnlyRejected),
    (110020, OrderError, OrderError),
    (110021, OrderError, OrderError),
    (110023, OrderError, OrderError),
    (110024, VenueSetupError, VenueSetupError),
    (110025, VenueSetupError, VenueSetupError),
    (110026, VenueSetupError, VenueSetupError),
    (110028, VenueSetupError, VenueSetupError),
    (110029, VenueSetupError, VenueSetupError),
    (110030, OrderError, OrderError),
    (110032, OrderError, OrderError),
    (110036, VenueSetupError, VenueSetupError),
    (110038, VenueSetupError, VenueSetupError),
    (110040, OrderError, OrderError),
    (110042, OrderError, OrderError),
    (110043, VenueSetupError, VenueSetupError),
    (110044, InsufficientMargin, InsufficientMargin),
    (110045, InsufficientMargin, InsufficientMargin),
    (110063, OrderError, OrderError),
    (110066, OrderError, OrderError),
    (110072, OrderError, OrderError),
    (110073, VenueSetupError, VenueSetupError),
    (110079, OrderOutcomeUnknown, ExchangeUnavailable),
    (110086, OrderError, OrderError),
    (110092, OrderError, OrderError),
    (110093, OrderError, OrderError),
    (110094, BelowMinNotional, BelowMinNotional),
    (170136, BelowMinSize, BelowMinSize),
    (170213, UnknownOrder, UnknownOrder),
    (170218, PostOnlyWouldCross, PostOnlyWouldCross),
    (3400045, VenueSetupError, VenueSetupError),
]


@pytest.mark.parametrize(("code", "on_order", "elsewhere"), CASES, ids=[str(case[0]) for case in CASES])
def test_code_maps_to_class(code: int, on_order: type, elsewhere: type) -> None:
    order_error = translate(what="place order pmm-1-1", status=200, code=code, msg="whatever", order_call=True)
    other_error = translate(what="GET /v5/account/wallet-balance", status=200, code=code, msg="whatever",
                            order_call=False)
    assert type(order_error) is on_order
    assert type(other_error) is elsewhere
    if isinstance(order_error, OrderError):
        assert order_error.code == str(code)


def test_every_table_code_is_tested() -> None:
    tested = {case[0] for case in CASES}
    assert {int(code) for code in ERROR_TABLE} == tested


def test_message_text_never_decides_the_class() -> None:
    a = translate(what="x", status=200, code=110007, msg="Available balance is insufficient", order_call=True)
    b = translate(what="x", status=200, code=110007, msg="Order does not exist", order_call=True)
    assert type(a) is type(b) is InsufficientMargin
    c = translate(what="x", status=200, code=None, msg="Insufficient available balance", order_call=True)
    assert type(c) is OrderError


@pytest.mark.parametrize(("status", "on_order", "elsewhere"), [
    (429, RateLimited, RateLimited),
    (401, AuthError, AuthError),
    (403, ExchangeUnavailable, ExchangeUnavailable),
    (404, ExchangeUnavailable, ExchangeUnavailable),
    (408, OrderOutcomeUnknown, ExchangeUnavailable),
    (500, OrderOutcomeUnknown, ExchangeUnavailable),
    (502, OrderOutcomeUnknown, ExchangeUnavailable),
    (503, OrderOutcomeUnknown, ExchangeUnavailable),
    (400, OrderError, ExchangeUnavailable),
])
def test_http_status_without_a_code(status: int, on_order: type, elsewhere: type) -> None:
    assert type(translate(what="x", status=status, code=None, msg="", order_call=True)) is on_order
    assert type(translate(what="x", status=status, code=None, msg="", order_call=False)) is elsewhere


def test_403_wins_over_any_code_and_says_placement_stopped() -> None:
    err = translate(what="place order a", status=403, code=10006, msg="access too frequent", order_call=True)
    assert type(err) is ExchangeUnavailable
    assert "403" in str(err) and "placement" in str(err) and "10 minutes" in str(err)


def test_rate_limited_carries_retry_after() -> None:
    err = translate(what="x", status=200, code=10006, msg="Too many visits!", order_call=False, retry_after=0.4)
    assert isinstance(err, RateLimited) and err.retry_after == 0.4


def test_special_code_sets() -> None:
    assert RESYNC_TIME_CODES == {RetCode.TIMESTAMP_OUT_OF_WINDOW}
    assert RATE_LIMIT_CODES == {10006, 10018}
    assert ALREADY_SET_CODES == {110043, 110025, 110026}
    assert UNKNOWN_OUTCOME_CODES == {10000, 10016, 110079}
    assert REJECT_REASONS["EC_PostOnlyWillTakeLiquidity"] is PostOnlyWouldCross


def test_messages_say_what_and_code_and_advice() -> None:
    err = translate(what="place order pmm-1a2b3c4d-17", status=200, code=110094,
                    msg="Order does not meet minimum order value 5USDT", order_call=True)
    text = str(err)
    assert "pmm-1a2b3c4d-17" in text and "110094" in text and "minimum" in text
    auth = translate(what="GET /v5/account/wallet-balance", status=200, code=10003, msg="API key is invalid.",
                     order_call=False)
    assert "pmm connect bybit_perpetual" in str(auth) and "testnet" in str(auth)
