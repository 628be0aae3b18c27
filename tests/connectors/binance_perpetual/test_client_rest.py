"""REST behaviour against a fake venue on 127.0.0.1: 429 back-off, 418 ban, -1021 resync, timeouts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from test_client_fakes import API_KEY, API_SECRET, FakeBinance, Recorded

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.auth import BinanceAuth
from pmm.connectors.binance_perpetual.rest import BinanceRestClient
from pmm.core.clock import LiveClock
from pmm.errors import (
    ExchangeUnavailable,
    InsufficientMargin,
    OrderOutcomeUnknown,
    RateLimited,
)

ORDER = [("symbol", "BTCUSDT"), ("side", "BUY"), ("type", "LIMIT"), ("quantity", "0.01"), ("price", "25000"),
         ("timeInForce", "GTX"), ("newClientOrderId", "pmm-1a2b3c4d-17")]
OK_ORDER = (200, {"orderId": 1, "clientOrderId": "pmm-1a2b3c4d-17", "status": "NEW"}, {})


def run(test: Callable[[FakeBinance, BinanceRestClient], Awaitable[None]], **client_options: Any) -> None:
    async def main() -> None:
        fake = FakeBinance()
        await fake.start()
        clock = LiveClock()
        rest = BinanceRestClient(fake.rest_url, clock=clock, auth=BinanceAuth(API_KEY, API_SECRET, clock),
                                 **client_options)
        try:
            await test(fake, rest)
        finally:
            await rest.close()
            await fake.stop()

    asyncio.run(main())


def test_signed_request_is_verifiable_and_weight_header_read() -> None:
    async def body(fake: FakeBinance, rest: BinanceRestClient) -> None:
        fake.reply("GET", c.ACCOUNT_PATH, (200, {"assets": []}, {"X-MBX-USED-WEIGHT-1M": "42"}))
        assert await rest.signed("GET", c.ACCOUNT_PATH) == {"assets": []}
        [req] = fake.requests
        assert fake.bad_signatures == 0
        assert req.headers[c.API_KEY_HEADER] == API_KEY
        assert req.param("recvWindow") == "5000" and req.param("timestamp") is not None
        assert req.query.rsplit("&", 1)[1].startswith("signature=")
        assert rest.used_weight_1m == 42

    run(body)


def test_429_waits_retry_after_then_retries() -> None:
    async def body(fake: FakeBinance, rest: BinanceRestClient) -> None:
        fake.reply("POST", c.ORDER_PATH,
                   (429, {"code": -1003, "msg": "Too many requests"}, {"Retry-After": "0.3"}), OK_ORDER)
        started = time.monotonic()
        reply = await rest.signed("POST", c.ORDER_PATH, ORDER, order_call=True)
        elapsed = time.monotonic() - started
        assert reply["orderId"] == 1
        assert len(fake.calls("POST", c.ORDER_PATH)) == 2
        assert elapsed >= 0.3
        assert fake.bad_signatures == 0  # the retry was signed afresh

    run(body)


def test_429_beyond_the_retry_budget_raises_rate_limited() -> None:
    async def body(fake: FakeBinance, rest: BinanceRestClient) -> None:
        fake.reply("GET", c.OPEN_ORDERS_PATH, (429, {"code": -1003, "msg": "Too many"}, {"Retry-After": "120"}))
        with pytest.raises(RateLimited) as err:
            await rest.signed("GET", c.OPEN_ORDERS_PATH, [("symbol", "BTCUSDT")])
        assert err.value.retry_after == 120.0
        assert len(fake.requests) == 1  # 120 s is longer than max_retry_wait_s: not retried

    run(body, max_retry_wait_s=5.0)


def test_418_stops_order_placement() -> None:
    async def body(fake: FakeBinance, rest: BinanceRestClient) -> None:
        fake.reply("POST", c.ORDER_PATH, (418, {"code": -1003, "msg": "Way too many requests; IP banned"},
                                          {"Retry-After": "60"}), OK_ORDER)
        with pytest.raises(ExchangeUnavailable, match="418") as err:
            await rest.signed("POST", c.ORDER_PATH, ORDER, order_call=True)
        assert not isinstance(err.value, RateLimited)
        assert rest.banned_until is not None
        with pytest.raises(ExchangeUnavailable, match="banned"):
            await rest.signed("POST", c.ORDER_PATH, ORDER, order_call=True)
        with pytest.raises(ExchangeUnavailable, match="banned"):
            await rest.public("GET", c.TIME_PATH)
        assert len(fake.requests) == 1  # nothing was sent during the ban

    run(body)


def test_1021_resyncs_the_clock_once_and_retries() -> None:
    async def body(fake: FakeBinance, rest: BinanceRestClient) -> None:
        server_ahead_ms = 7_000

        def server_time(_: Recorded) -> Any:
            return 200, {"serverTime": int(time.time() * 1000) + server_ahead_ms}, {}

        fake.reply("GET", c.TIME_PATH, server_time)
        fake.reply("POST", c.ORDER_PATH,
                   (400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}, {}),
                   OK_ORDER)
        assert (await rest.signed("POST", c.ORDER_PATH, ORDER, order_call=True))["orderId"] == 1
        assert len(fake.calls("GET", c.TIME_PATH)) == 1
        first, second = fake.calls("POST", c.ORDER_PATH)
        shift = int(second.param("timestamp") or 0) - int(first.param("timestamp") or 0)
        assert 6_000 < shift < 9_000
        assert rest.auth is not None and 6_000 < rest.auth.time_offset_ms < 8_000

    run(body)


def test_1021_twice_gives_up() -> None:
    async def body(fake: FakeBinance, rest: BinanceRestClient) -> None:
        fake.reply("GET", c.TIME_PATH, lambda _: (200, {"serverTime": int(time.time() * 1000)}, {}))
        fake.reply("GET", c.ACCOUNT_PATH, (400, {"code": -1021, "msg": "Timestamp outside recvWindow"}, {}))
        with pytest.raises(ExchangeUnavailable, match="-1021"):
            await rest.signed("GET", c.ACCOUNT_PATH)
        assert len(fake.calls("GET", c.ACCOUNT_PATH)) == 2

    run(body)


def test_timeout_on_place_is_an_unknown_outcome() -> None:
    async def body(fake: FakeBinance, rest: BinanceRestClient) -> None:
        async def slow(_: Recorded) -> Any:
            await asyncio.sleep(0.5)
            return OK_ORDER

        fake.reply("POST", c.ORDER_PATH, slow)
        with pytest.raises(OrderOutcomeUnknown, match="pmm-1a2b3c4d-17"):
            await rest.signed("POST", c.ORDER_PATH, ORDER, order_call=True, what="place order pmm-1a2b3c4d-17")
        fake.reply("GET", c.ACCOUNT_PATH, slow)
        with pytest.raises(ExchangeUnavailable):
            await rest.signed("GET", c.ACCOUNT_PATH)

    run(body, timeout_s=0.2)


def test_5xx_on_place_is_unknown_and_a_refusal_is_an_order_error() -> None:
    async def body(fake: FakeBinance, rest: BinanceRestClient) -> None:
        fake.reply("POST", c.ORDER_PATH,
                   (503, {"code": -1000, "msg": "Unknown error, please check your request or try again later."}, {}),
                   (400, {"code": -2019, "msg": "Margin is insufficient."}, {}))
        with pytest.raises(OrderOutcomeUnknown):
            await rest.signed("POST", c.ORDER_PATH, ORDER, order_call=True)
        with pytest.raises(InsufficientMargin) as err:
            await rest.signed("POST", c.ORDER_PATH, ORDER, order_call=True)
        assert err.value.code == "-2019"

    run(body)


def test_unreachable_venue() -> None:
    async def main() -> None:
        clock = LiveClock()
        rest = BinanceRestClient("http://127.0.0.1:9", clock=clock, auth=BinanceAuth(API_KEY, API_SECRET, clock))
        try:
            with pytest.raises(OrderOutcomeUnknown):
                await rest.signed("POST", c.ORDER_PATH, ORDER, order_call=True)
            with pytest.raises(ExchangeUnavailable, match="no answer"):
                await rest.public("GET", c.EXCHANGE_INFO_PATH)
        finally:
            await rest.close()

    asyncio.run(main())


def test_client_side_weight_budget_waits_for_the_next_minute() -> None:
    class MinuteClock:
        t = 59.0

        def now(self) -> float:
            return self.t

    clock = MinuteClock()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.t += seconds

    async def main() -> None:
        fake = FakeBinance()
        await fake.start()
        rest = BinanceRestClient(fake.rest_url, clock=clock, weight_limit=50, sleep=sleep)  # budget 45
        fake.reply("GET", c.DEPTH_PATH, (200, {"lastUpdateId": 1, "bids": [], "asks": []}, {}))
        try:
            await rest.public("GET", c.DEPTH_PATH, [("symbol", "BTCUSDT"), ("limit", "1000")])  # 20
            await rest.public("GET", c.DEPTH_PATH, [("symbol", "BTCUSDT"), ("limit", "1000")])  # 40
            assert slept == []
            await rest.public("GET", c.DEPTH_PATH, [("symbol", "BTCUSDT"), ("limit", "1000")])  # would be 60
            assert len(slept) == 1 and 0.9 < slept[0] < 1.1  # waited for the minute at t=60
        finally:
            await rest.close()
            await fake.stop()

    asyncio.run(main())
