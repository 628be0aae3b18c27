"""The REST client against a tiny fake venue on 127.0.0.1: envelope, exact-bytes signing, the
X-Bapi-Limit headers (wait for the reset), retCode 10006 (honour the reset, retry), HTTP 403 (stop
sending), retCode 10002 (re-sync the clock once), timeouts and 5xx on order calls (outcome unknown)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from test_client_bybit_fakes import (
    API_KEY,
    API_SECRET,
    FakeBybit,
    RecordingSleep,
    StepClock,
    envelope,
    fixture,
)

from pmm.connectors.bybit_perpetual.auth import BybitAuth
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.errors import (
    AuthError,
    ExchangeUnavailable,
    InsufficientMargin,
    OrderOutcomeUnknown,
    RateLimited,
    UnknownOrder,
)

T0 = 1_700_000_000.0


def run(scenario: Callable[[FakeBybit, BybitRestClient, StepClock, RecordingSleep], Awaitable[None]],
        **client_options: Any) -> None:
    async def main() -> None:
        fake = FakeBybit()
        await fake.start()
        clock = StepClock(T0)
        sleep = RecordingSleep(clock)
        rest = BybitRestClient(fake.rest_url, clock=clock, auth=BybitAuth(API_KEY, API_SECRET, clock), sleep=sleep,
                               **client_options)
        try:
            await scenario(fake, rest, clock, sleep)
        finally:
            await rest.close()
            await fake.stop()

    asyncio.run(main())


def limit_headers(remaining: int, reset_s: float, limit: int = 10) -> dict[str, str]:
    return {"X-Bapi-Limit": str(limit), "X-Bapi-Limit-Status": str(remaining),
            "X-Bapi-Limit-Reset-Timestamp": str(int((T0 + reset_s) * 1000))}


def test_signed_get_and_post_are_verified_over_the_bytes_sent() -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        fake.reply("GET", "/v5/account/wallet-balance", (200, fixture("rest_wallet_balance.json"), {}))
        fake.reply("POST", "/v5/order/create", (200, fixture("rest_create_order.json"), {}))
        result = await rest.get("/v5/account/wallet-balance", [("accountType", "UNIFIED"), ("coin", "BTC,USDT")])
        assert result["list"][0]["accountType"] == "UNIFIED"  # the envelope's result, unwrapped
        body = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01",
                "price": "25000", "timeInForce": "PostOnly", "positionIdx": 0, "orderLinkId": "pmm-a-1",
                "reduceOnly": False}
        created = await rest.post("/v5/order/create", body, order_call=True)
        assert created == {"orderId": "1321003749386327552", "orderLinkId": "spot-test-postonly"}
        assert fake.bad_signatures == 0
        get, post = fake.requests
        assert get.query == "accountType=UNIFIED&coin=BTC%2CUSDT"
        assert post.body == json.dumps(body, separators=(",", ":"))
        assert post.headers["Content-Type"] == "application/json"
        assert get.headers["X-BAPI-TIMESTAMP"] == str(int(T0 * 1000)) and get.headers["X-BAPI-RECV-WINDOW"] == "5000"

    run(scenario)


def test_public_requests_carry_no_key() -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        fake.reply("GET", "/v5/market/instruments-info", (200, fixture("rest_instruments_info.json"), {}))
        await rest.public("/v5/market/instruments-info", [("category", "linear"), ("symbol", "BTCUSDT")])
        assert "X-BAPI-API-KEY" not in fake.requests[0].headers

    run(scenario)


def test_error_envelope_is_translated_by_code() -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        fake.reply("POST", "/v5/order/cancel", (200, fixture("rest_error_order_not_exist.json"), {}))
        fake.reply("POST", "/v5/order/create", (200, envelope(code=110007, msg="ab not enough for new order"), {}))
        with pytest.raises(UnknownOrder) as info:
            await rest.post("/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "x"},
                            order_call=True, what="cancel order x")
        assert info.value.code == "110001" and "cancel order x" in str(info.value)
        with pytest.raises(InsufficientMargin):
            await rest.post("/v5/order/create", {"category": "linear"}, order_call=True)

    run(scenario)


def test_exhausted_endpoint_waits_for_its_reset_before_sending() -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        fake.reply("POST", "/v5/order/create", (200, envelope({"orderId": "1", "orderLinkId": "a"}),
                                                limit_headers(remaining=0, reset_s=0.4)))
        fake.reply("GET", "/v5/order/realtime", (200, envelope({"list": []}), limit_headers(remaining=0, reset_s=9)))
        await rest.post("/v5/order/create", {"category": "linear"}, order_call=True)
        assert sleep.calls == []
        await rest.post("/v5/order/create", {"category": "linear"}, order_call=True)
        assert sleep.calls == [pytest.approx(0.4)]  # waited for the reset instead of earning a 10006
        assert rest.limits.budget("/v5/order/create").limit == 10
        # Another endpoint has its own budget; one whose reset is too far off is refused without sending.
        await rest.get("/v5/order/realtime", [("category", "linear")])
        with pytest.raises(RateLimited) as info:
            await rest.get("/v5/order/realtime", [("category", "linear")])
        assert info.value.retry_after == pytest.approx(9 - 0.4)
        assert len(fake.calls("GET", "/v5/order/realtime")) == 1

    run(scenario)


def test_too_many_visits_honours_the_reset_and_retries() -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        fake.reply("POST", "/v5/order/create",
                   (200, envelope(code=10006, msg="Too many visits!"), limit_headers(remaining=0, reset_s=0.25)),
                   (200, envelope({"orderId": "7", "orderLinkId": "a"}), limit_headers(remaining=9, reset_s=1.25)))
        result = await rest.post("/v5/order/create", {"category": "linear"}, order_call=True)
        assert result["orderId"] == "7"
        assert sleep.calls == [pytest.approx(0.25)]
        assert len(fake.calls("POST", "/v5/order/create")) == 2

    run(scenario)


def test_too_many_visits_gives_up_after_the_retries() -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        fake.reply("GET", "/v5/position/list", lambda rec: (200, envelope(code=10006, msg="Too many visits!"), {}))
        with pytest.raises(RateLimited) as info:
            await rest.get("/v5/position/list", [("category", "linear")])
        assert len(fake.calls("GET", "/v5/position/list")) == 3  # the first try and two retries
        assert sleep.calls == [1.0, 1.0]  # no reset header: one second
        assert info.value.retry_after == 1.0

    run(scenario, max_retries=2)


def test_http_429_is_retried_too() -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        fake.reply("GET", "/v5/position/list", (429, "Too Many Requests", {}), (200, envelope({"list": []}), {}))
        assert await rest.get("/v5/position/list", [("category", "linear")]) == {"list": []}

    run(scenario)


def test_http_403_blocks_every_request_for_ten_minutes(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        fake.reply("GET", "/v5/position/list", (403, "access too frequent", {}))
        with pytest.raises(ExchangeUnavailable, match="403"):
            await rest.get("/v5/position/list", [("category", "linear")])
        with pytest.raises(ExchangeUnavailable, match="not sent.*placement is stopped"):
            await rest.post("/v5/order/create", {"category": "linear"}, order_call=True, what="place order a")
        assert fake.calls("POST", "/v5/order/create") == []  # nothing sent while blocked
        clock.advance(601)
        fake.reply("POST", "/v5/order/create", (200, envelope({"orderId": "1", "orderLinkId": "a"}), {}))
        await rest.post("/v5/order/create", {"category": "linear"}, order_call=True)

    with caplog.at_level(logging.INFO):
        run(scenario)
    assert API_SECRET not in caplog.text


def test_timestamp_outside_the_window_resyncs_the_clock_once() -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        server_ms = int((T0 + 3.0) * 1000)
        fake.reply("GET", "/v5/market/time", (200, envelope({"timeSecond": str(server_ms // 1000),
                                                             "timeNano": str(server_ms * 1_000_000)}), {}))

        def wallet(rec: Any) -> tuple[int, Any, dict[str, str]]:
            ts = int(rec.headers["X-BAPI-TIMESTAMP"])
            if ts < server_ms - 1000:
                return 200, envelope(code=10002, msg="invalid request, please check your server timestamp"), {}
            return 200, envelope({"list": []}), {}

        fake.reply("GET", "/v5/account/wallet-balance", wallet)
        assert await rest.get("/v5/account/wallet-balance", [("accountType", "UNIFIED")]) == {"list": []}
        assert rest.auth is not None and rest.auth.time_offset_ms == 3000
        assert len(fake.calls("GET", "/v5/market/time")) == 1

    run(scenario)


def test_timeout_on_create_is_an_unknown_outcome() -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        async def slow(rec: Any) -> tuple[int, Any, dict[str, str]]:
            await asyncio.sleep(1.0)
            return 200, envelope({"orderId": "1", "orderLinkId": "a"}), {}

        fake.reply("POST", "/v5/order/create", slow)
        fake.reply("GET", "/v5/position/list", slow)
        with pytest.raises(OrderOutcomeUnknown, match="in flight"):
            await rest.post("/v5/order/create", {"category": "linear"}, order_call=True, what="place order a")
        with pytest.raises(ExchangeUnavailable):
            await rest.get("/v5/position/list", [("category", "linear")])

    run(scenario, timeout_s=0.2)


@pytest.mark.parametrize("reply", [
    (502, "<html>Bad Gateway</html>", {}),
    (200, envelope(code=10016, msg="Server error."), {}),
    (200, envelope(code=10000, msg="Server Timeout"), {}),
    (200, "not json at all", {}),
])
def test_server_trouble_on_create_is_an_unknown_outcome(reply: tuple) -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        fake.reply("POST", "/v5/order/create", reply)
        with pytest.raises(OrderOutcomeUnknown):
            await rest.post("/v5/order/create", {"category": "linear"}, order_call=True)
        fake.reply("GET", "/v5/position/list", reply)
        with pytest.raises(ExchangeUnavailable):
            await rest.get("/v5/position/list", [("category", "linear")])

    run(scenario)


def test_accepted_codes_return_the_envelope() -> None:
    async def scenario(fake: FakeBybit, rest: BybitRestClient, clock: StepClock, sleep: RecordingSleep) -> None:
        fake.reply("POST", "/v5/position/set-leverage", (200, envelope(code=110043, msg="leverage not modified"), {}))
        reply = await rest.post("/v5/position/set-leverage", {"category": "linear"}, accept_codes=frozenset({110043}))
        assert reply["retCode"] == 110043

    run(scenario)


def test_bad_key_is_an_auth_error_without_the_secret() -> None:
    async def main() -> None:
        fake = FakeBybit(secret="another-secret")
        await fake.start()
        clock = StepClock(T0)
        rest = BybitRestClient(fake.rest_url, clock=clock, auth=BybitAuth(API_KEY, API_SECRET, clock))
        try:
            with pytest.raises(AuthError) as info:
                await rest.get("/v5/account/wallet-balance", [("accountType", "UNIFIED")])
            assert "10004" in str(info.value)
            assert API_SECRET not in str(info.value) and API_KEY not in str(info.value)
        finally:
            await rest.close()
            await fake.stop()

    asyncio.run(main())


def test_signed_call_without_keys_says_how_to_add_them() -> None:
    async def main() -> None:
        rest = BybitRestClient("http://127.0.0.1:9", clock=StepClock(T0))
        with pytest.raises(AuthError, match="pmm connect bybit_perpetual"):
            await rest.get("/v5/position/list")

    asyncio.run(main())
