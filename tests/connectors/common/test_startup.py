"""The connector's first contact at `pmm start`: retried with back-off while the venue does not
answer, a bounded number of times; other errors at once; the bundle stopped whenever it fails."""

from __future__ import annotations

import asyncio

import pytest

from pmm.connectors.common.startup import ATTEMPTS, prepare_bundle, retry_while_unavailable
from pmm.errors import AuthError, ExchangeUnavailable


class _Venue:
    """prepare() fails with `errors` in turn, then succeeds; stop() is counted."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.stopped = 0

    async def prepare(self, markets: list[str]) -> None:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)

    async def stop(self) -> None:
        self.stopped += 1


class _Bundle:
    def __init__(self, feed: _Venue, gateway: _Venue) -> None:
        self.connector_id, self.feed, self.gateway = "some_venue", feed, gateway


def _run(feed: _Venue, gateway: _Venue | None = None) -> list[float]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    gateway = gateway or _Venue()
    bundle = _Bundle(feed, gateway)
    asyncio.run(prepare_bundle(bundle, ((feed, ["BTC-USDT"]), (gateway, ["BTC-USDT"])), sleep=sleep))  # type: ignore[arg-type]
    return waits


def test_a_venue_that_answers_on_the_third_try_is_prepared():
    feed = _Venue(ExchangeUnavailable("no answer"), ExchangeUnavailable("no answer"))
    assert _run(feed) == [1.0, 2.0]
    assert feed.calls == 3 and feed.stopped == 0


def test_a_venue_that_never_answers_fails_after_bounded_backoff_and_is_stopped():
    feed, gateway = _Venue(*[ExchangeUnavailable("no answer from X") for _ in range(10)]), _Venue()
    with pytest.raises(ExchangeUnavailable, match=rf"no answer from X.*tried {ATTEMPTS} times over 15 s") as caught:
        _run(feed, gateway)
    assert caught.value.exit_code == 4
    assert feed.calls == ATTEMPTS
    assert feed.stopped == gateway.stopped == 1  # sessions closed on the way out
    assert gateway.calls == 0


def test_other_errors_are_not_retried_and_stop_the_bundle():
    feed, gateway = _Venue(), _Venue(AuthError("bad key"))
    with pytest.raises(AuthError):
        _run(feed, gateway)
    assert gateway.calls == 1 and feed.stopped == gateway.stopped == 1


def test_retry_while_unavailable_returns_at_the_first_success():
    calls: list[int] = []

    async def call() -> None:
        calls.append(1)

    asyncio.run(retry_while_unavailable(call, "v"))
    assert calls == [1]
