"""OKX's code table: the class each code becomes on the client, and the message and HTTP status
the server answers with, case by case (exchange_apis_more.md §G6, OKX's error-code pages)."""

from __future__ import annotations

import pytest

from pmm.connectors.okx_perpetual import errors
from pmm.errors import (
    AuthError,
    BelowMinSize,
    ConfigError,
    ExchangeUnavailable,
    InsufficientMargin,
    OrderError,
    OrderOutcomeUnknown,
    PostOnlyWouldCross,
    RateLimited,
    ReduceOnlyRejected,
    UnknownOrder,
    VenueSetupError,
)

CASES = [
    # code, client class, server HTTP status
    (50011, RateLimited, 429), (50013, RateLimited, 429), (50061, RateLimited, 200),
    (50014, OrderError, 400), (50001, ExchangeUnavailable, 503), (50026, ExchangeUnavailable, 500),
    (50102, ExchangeUnavailable, 401), (50103, AuthError, 401), (50104, AuthError, 401),
    (50105, AuthError, 401), (50106, AuthError, 401), (50107, AuthError, 401), (50111, AuthError, 401),
    (50112, ExchangeUnavailable, 401), (50113, AuthError, 401),
    (51000, OrderError, 400), (51001, ConfigError, 200), (51008, InsufficientMargin, 200),
    (51020, BelowMinSize, 200), (51121, OrderError, 200), (51131, InsufficientMargin, 200),
    (51169, ReduceOnlyRejected, 200), (51170, ReduceOnlyRejected, 200),
    (51400, UnknownOrder, 200), (51410, UnknownOrder, 200), (51503, UnknownOrder, 200),
    (51511, PostOnlyWouldCross, 200), (51603, UnknownOrder, 200),
    (59000, VenueSetupError, 200), (59102, VenueSetupError, 200),
    (60005, AuthError, 200), (60007, AuthError, 200), (60024, AuthError, 200), (60018, ExchangeUnavailable, 200),
]


@pytest.mark.parametrize(("code", "cls", "status"), CASES)
def test_each_code_has_its_class_and_status(code, cls, status):
    assert errors.error_class(code) is cls
    assert errors.http_status(code) == status
    assert errors.message(code)


def test_messages_fill_their_placeholders():
    assert errors.message(51000, param0="sz") == "Parameter sz error"
    assert errors.message(50014) == "Parameter {param0} can not be empty."
    assert errors.message(99999) == "" and errors.http_status(99999) == 200


@pytest.mark.parametrize("code", sorted(errors.UNKNOWN_OUTCOME_CODES))
def test_unknown_outcome_codes_keep_orders_in_flight(code):
    err = errors.translate(what="place order x", status=200, code=code, msg="m", order_call=True)
    assert type(err) is OrderOutcomeUnknown
    other = errors.translate(what="read balance", status=200, code=code, msg="m", order_call=False)
    assert type(other) is ExchangeUnavailable


def test_translation_names_the_venue_code_and_advice():
    err = errors.translate(what="read balance", status=401, code=50113, msg="Invalid signature.", order_call=False)
    assert isinstance(err, AuthError)
    assert "OKX refused read balance" in str(err) and "code 50113" in str(err) and "passphrase" in str(err)
    order = errors.translate(what="place order a", status=200, code=51008, msg="m", order_call=True)
    assert isinstance(order, InsufficientMargin) and order.code == "51008"


def test_statuses_without_a_code():
    assert type(errors.translate(what="w", status=429, code=None, msg="", order_call=False)) is RateLimited
    assert type(errors.translate(what="w", status=502, code=None, msg="", order_call=True)) is OrderOutcomeUnknown
    assert type(errors.translate(what="w", status=403, code=None, msg="", order_call=True)) is ExchangeUnavailable
    unlisted = errors.translate(what="w", status=200, code=51999, msg="", order_call=True)
    assert type(unlisted) is OrderError


def test_sets_are_listed_in_the_table():
    for group in (errors.UNKNOWN_OUTCOME_CODES, errors.RESYNC_TIME_CODES, errors.RATE_LIMIT_CODES):
        assert group <= set(errors.CODES)
    assert errors.CANCEL_SOURCES["31"] is PostOnlyWouldCross
