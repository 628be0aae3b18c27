"""okx rest.py counts OKX's per-endpoint budgets itself (OKX sends no rate-limit headers)."""

from __future__ import annotations

import asyncio

import pytest

from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.rest import LIMITS, OkxRestClient
from pmm.core.clock import VirtualClock
from pmm.errors import RateLimited


def _client() -> tuple[OkxRestClient, VirtualClock, list[float]]:
    clock, slept = VirtualClock(1000.0), []

    async def sleep(seconds: float) -> None:  # time passes only when the client waits
        slept.append(seconds)
        clock.advance_to(clock.now() + seconds)

    return OkxRestClient("http://127.0.0.1:1", clock=clock, sleep=sleep), clock, slept


def test_a_request_past_the_endpoint_budget_waits_for_the_window():
    rest, clock, slept = _client()
    count, window = LIMITS[spec.ORDER_PATH]

    async def burst() -> None:
        for _ in range(count):
            await rest._wait_budget(spec.ORDER_PATH, 1, "place")
        assert slept == []
        clock.advance_to(1000.5)
        await rest._wait_budget(spec.ORDER_PATH, 1, "place")

    asyncio.run(burst())
    assert slept == [pytest.approx(window - 0.5)]


def test_batch_endpoints_count_orders_not_requests():
    rest, _, slept = _client()

    async def batches() -> None:
        for _ in range(15):
            await rest._wait_budget(spec.BATCH_ORDERS_PATH, 20, "place 20")  # 300 orders per 2 s
        assert slept == []
        await rest._wait_budget(spec.BATCH_ORDERS_PATH, 1, "place 1")

    asyncio.run(batches())
    assert len(slept) == 1


def test_a_wait_longer_than_the_limit_is_refused_unsent():
    rest, _, _ = _client()
    rest.limits.max_wait_s = 0.1

    async def burst() -> None:
        for _ in range(LIMITS[spec.CANCEL_ALL_AFTER_PATH][0]):
            await rest._wait_budget(spec.CANCEL_ALL_AFTER_PATH, 1, "arm")
        await rest._wait_budget(spec.CANCEL_ALL_AFTER_PATH, 1, "arm")

    with pytest.raises(RateLimited, match="was not sent"):
        asyncio.run(burst())
