"""The OKX client without a server: the per-endpoint budgets rest.py counts itself (OKX sends no
rate-limit headers), and what build.py makes of ids, hosts and keys."""

from __future__ import annotations

import asyncio

import pytest

from pmm.config import load_config
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.build import build
from pmm.connectors.okx_perpetual.rest import LIMITS, OkxRestClient
from pmm.core.clock import VirtualClock
from pmm.errors import AuthError, ConfigError, RateLimited

KEYS = {"PMM_OKX_PERPETUAL_TESTNET_API_KEY": "k", "PMM_OKX_PERPETUAL_TESTNET_API_SECRET": "s",
        "PMM_OKX_PERPETUAL_TESTNET_API_PASSPHRASE": "p"}


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


def _config(tmp_path, derivative: str):
    from helpers import write_config

    return load_config(write_config(tmp_path, derivative=derivative))


def test_demo_trading_signs_with_the_demo_header_and_streams_from_the_demo_host(tmp_path):
    bundle = build(_config(tmp_path, spec.TESTNET_CONNECTOR_ID), fast=False, env=KEYS)
    rest = bundle.gateway._rest
    assert rest.base_url == "https://openapi.okx.com"
    assert rest.auth.headers("GET", spec.BALANCE_PATH)[spec.SIMULATED_TRADING_HEADER] == "1"
    assert bundle.feed._ws_url == "wss://wspap.okx.com:8443"
    assert spec.ws_endpoint(bundle.feed._ws_url, spec.WS_PUBLIC_PATH) == "wss://wspap.okx.com:8443/ws/v5/public"
    assert spec.ws_endpoint("ws://127.0.0.1:8082/ws/v5/", spec.WS_PRIVATE_PATH) == "ws://127.0.0.1:8082/ws/v5/private"


def test_a_key_without_its_passphrase_or_a_fast_run_is_refused_before_connecting(tmp_path):
    config = _config(tmp_path, spec.TESTNET_CONNECTOR_ID)
    without = {k: v for k, v in KEYS.items() if "PASSPHRASE" not in k}
    with pytest.raises(AuthError, match="pmm connect"):
        build(config, fast=False, env=without)
    with pytest.raises(ConfigError, match="--fast"):
        build(config, fast=True, env=KEYS)


def test_a_resubscription_that_brings_no_snapshot_ends_in_a_reconnection():
    from pmm.connectors.common.book_sync import BookSync
    from pmm.connectors.okx_perpetual.feed import SNAPSHOT_WAIT_S, OkxFeed

    clock, slept, reconnects = VirtualClock(0.0), [], []

    class Socket:
        connected = True

        async def resubscribe(self, args):
            return True

        async def reconnect(self, reason):
            reconnects.append(reason)

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    feed = OkxFeed(OkxRestClient("http://127.0.0.1:1", clock=clock), ws_url="ws://127.0.0.1:1", clock=clock,
                   sleep=sleep)
    feed._ws = Socket()
    feed._books = {"BTC-USDT": BookSync("BTC-USDT", lambda e: None, clock)}
    asyncio.run(feed._resubscribe("BTC-USDT"))
    assert slept == [SNAPSHOT_WAIT_S] and "no book snapshot" in reconnects[0]
    feed._books["BTC-USDT"].live = True  # the snapshot came: nothing more to do
    asyncio.run(feed._resubscribe("BTC-USDT"))
    assert len(reconnects) == 1
