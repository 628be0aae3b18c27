"""Bybit server: Disconnection Protection (DCP). `POST /v5/order/disconnected-cancel-all` checks its
parameters (timeWindow in [3, 300], product OPTIONS / DERIVATIVES / SPOT) and is refused for an
account without DCP; the private `dcp` topics; when the last connection that subscribed `dcp` goes
and none resumes (reconnects and pings) within the window on the server clock, every open order is
cancelled with cancelType CancelByDCP and pushed on the order topic."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from test_server_bybit_kit import StepClock, Venue, Ws, run, running, static_settings

from pmm.connectors.bybit_perpetual.server import ServerOptions

DCP = "/v5/order/disconnected-cancel-all"


def _with(check: Callable[[Venue], Any], options: ServerOptions | None = None) -> None:
    async def go() -> None:
        async with running(static_settings(), clock=StepClock(), options=options) as venue:
            venue.step()
            await check(venue)
    run(go())


async def _until(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    """Wait (real time) until the server has processed what the test just did."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.005)


async def _guard(venue: Venue, topic: str = "dcp", *, ping: bool = True) -> Ws:
    """A private connection subscribed to `topic` (and order), with one ping."""
    ws = await venue.private(["order", topic])
    if ping:
        await ws.send({"op": "ping", "req_id": "hb"})
        assert (await ws.recv())["op"] == "pong"
    return ws


async def _rest(venue: Venue, link: str) -> None:
    placed = await venue.order("Buy", "0.01", "60000", tif="PostOnly", link=link)
    assert placed.code == 0, placed.body


# --- the endpoint ---------------------------------------------------------------------------------


@pytest.mark.parametrize("body, message", [
    ({"product": "DERIVATIVES", "timeWindow": 2}, "between 3 and 300, was 2"),
    ({"product": "DERIVATIVES", "timeWindow": 301}, "between 3 and 300, was 301"),
    ({"product": "DERIVATIVES", "timeWindow": 0}, "between 3 and 300, was 0"),
    ({"product": "DERIVATIVES"}, "timeWindow is required"),
    ({"product": "DERIVATIVES", "timeWindow": "ten"}, "timeWindow invalid"),
    ({"product": "DERIVATIVES", "timeWindow": 10.5}, "timeWindow invalid"),
    ({"product": "FUTURES", "timeWindow": 10}, "product FUTURES is invalid"),
])
def test_a_bad_parameter_is_a_param_error(body: dict[str, Any], message: str) -> None:
    async def check(venue: Venue) -> None:
        answer = await venue.post(DCP, body)
        assert (answer.status, answer.code) == (200, 10001), answer.body
        assert message in answer.body["retMsg"]
        assert venue.server.dcp.windows == {}
    _with(check)


def test_a_window_is_set_per_product_options_by_default() -> None:
    async def check(venue: Venue) -> None:
        for body in ({"timeWindow": 40}, {"product": "DERIVATIVES", "timeWindow": 3},
                     {"product": "SPOT", "timeWindow": "300"}):
            answer = await venue.post(DCP, body, style="ccxt")
            assert (answer.code, answer.body["retMsg"], answer.result) == (0, "OK", {}), answer.body
        assert venue.server.dcp.windows == {"OPTIONS": 40, "DERIVATIVES": 3, "SPOT": 300}
    _with(check)


def test_an_account_without_dcp_is_refused() -> None:
    async def check(venue: Venue) -> None:
        answer = await venue.post(DCP, {"product": "DERIVATIVES", "timeWindow": 10})
        assert (answer.status, answer.code) == (200, 10005), answer.body
        assert "not enabled for this account" in answer.body["retMsg"]
        assert venue.server.dcp.windows == {}
        venue.server.dcp.enabled = True  # the account manager turned it on
        assert (await venue.post(DCP, {"product": "DERIVATIVES", "timeWindow": 10})).code == 0
    _with(check, ServerOptions(dcp_enabled=False))


def test_dcp_topics_are_private_topics() -> None:
    async def check(venue: Venue) -> None:
        ws = await venue.private(["dcp", "dcp.future", "dcp.spot", "dcp.option"])  # asserts the ack
        await ws.send({"op": "subscribe", "req_id": "x", "args": ["dcp.perp"]})
        refused = await ws.recv()
        assert refused["success"] is False and "handler not found" in refused["ret_msg"]
        public = await venue.ws("public")
        await public.send({"op": "subscribe", "req_id": "p", "args": ["dcp"]})
        assert (await public.recv())["success"] is False
    _with(check)


# --- the protection -------------------------------------------------------------------------------


def test_orders_are_cancelled_by_dcp_when_no_connection_resumes_within_the_window() -> None:
    async def check(venue: Venue) -> None:
        dcp = venue.server.dcp
        assert (await venue.post(DCP, {"product": "DERIVATIVES", "timeWindow": 5})).code == 0
        watcher = await venue.private(["order"])  # no dcp: it neither guards nor resumes anything
        guard = await _guard(venue)
        await _rest(venue, "pmm-a")
        await _rest(venue, "pmm-b")
        await watcher.drain()
        await guard.close()
        await _until(lambda: dcp.deadlines)
        assert dcp.deadlines == {"DERIVATIVES": venue.clock.now() + 5}
        venue.step(4.9)
        assert dcp.fired == [] and len(await venue.open_orders()) == 2
        venue.step(0.1)  # the window ran out on the server clock: cancels sent to the venue
        venue.step()  # ... and processed
        assert dcp.fired == ["DERIVATIVES"] and await venue.open_orders() == []
        assert [what for what, _, _ in dcp.history] == ["started", "fired"]
        pushed = [m["data"][0] for m in await watcher.drain() if m.get("topic") == "order"]
        assert {(r["orderLinkId"], r["orderStatus"], r["cancelType"]) for r in pushed} == {
            ("pmm-a", "Cancelled", "CancelByDCP"), ("pmm-b", "Cancelled", "CancelByDCP")}
        closed = await venue.open_orders(openOnly=1)
        assert {r["cancelType"] for r in closed} == {"CancelByDCP"}
        assert venue.exchange.open_orders() == []
    _with(check)


def test_a_reconnection_that_pings_within_the_window_keeps_the_orders() -> None:
    async def check(venue: Venue) -> None:
        dcp = venue.server.dcp
        assert (await venue.post(DCP, {"product": "DERIVATIVES", "timeWindow": 5})).code == 0
        guard = await _guard(venue)
        await _rest(venue, "pmm-a")
        await guard.close()
        await _until(lambda: dcp.deadlines)
        venue.step(3)
        again = await _guard(venue, "dcp.future", ping=False)  # reconnected, not yet beating
        venue.step(1)
        assert dcp.deadlines  # subscribing alone is not resuming the heartbeat
        await again.send({"op": "ping"})
        await _until(lambda: not dcp.deadlines)
        venue.step(10)
        venue.step()
        assert [what for what, _, _ in dcp.history] == ["started", "resumed"]
        assert [r["orderLinkId"] for r in await venue.open_orders()] == ["pmm-a"]
    _with(check)


def test_a_reconnection_without_a_ping_does_not_stop_the_timer() -> None:
    async def check(venue: Venue) -> None:
        dcp = venue.server.dcp
        assert (await venue.post(DCP, {"product": "DERIVATIVES", "timeWindow": 3})).code == 0
        guard = await _guard(venue)
        await _rest(venue, "pmm-a")
        await guard.close()
        await _until(lambda: dcp.deadlines)
        silent = await _guard(venue, ping=False)
        venue.step(3)
        venue.step()
        assert dcp.fired == ["DERIVATIVES"] and await venue.open_orders() == []
        await silent.close()
    _with(check)


def test_nothing_fires_while_another_guard_lives_after_an_unsubscribe_or_without_a_window() -> None:
    async def check(venue: Venue) -> None:
        dcp = venue.server.dcp
        await _rest(venue, "pmm-a")
        # No window set for DERIVATIVES (only OPTIONS): nothing to protect.
        assert (await venue.post(DCP, {"timeWindow": 3})).code == 0
        await (await _guard(venue, "dcp.future")).close()
        assert (await venue.post(DCP, {"product": "DERIVATIVES", "timeWindow": 3})).code == 0
        # Two guards: one going leaves the other.
        first, second = await _guard(venue), await _guard(venue)
        await first.close()
        await _until(lambda: dcp.guarded() == 1)
        # Unsubscribing first is a planned goodbye: no timer.
        await second.send({"op": "unsubscribe", "req_id": "u", "args": ["dcp"]})
        assert (await second.recv())["success"] is True
        await _until(lambda: dcp.guarded() == 0)
        await second.close()
        await asyncio.sleep(0.05)
        venue.step(10)
        venue.step()
        assert dcp.history == [] and dcp.deadlines == {}
        assert [r["orderLinkId"] for r in await venue.open_orders()] == ["pmm-a"]
    _with(check)


def test_a_dropped_or_expired_connection_is_a_disconnection() -> None:
    async def check(venue: Venue) -> None:
        dcp = venue.server.dcp
        assert (await venue.post(DCP, {"product": "DERIVATIVES", "timeWindow": 3})).code == 0
        first = await _guard(venue)
        await _rest(venue, "pmm-a")
        assert venue.faults.drop_sockets("private") == 1
        await _until(lambda: dcp.deadlines)
        second = await _guard(venue)  # resumed
        await _until(lambda: not dcp.deadlines)
        assert venue.faults.expire_listen_key() == 1
        await _until(lambda: dcp.deadlines)
        venue.step(3)
        venue.step()
        assert [what for what, _, _ in dcp.history] == ["started", "resumed", "started", "fired"]
        assert await venue.open_orders() == []
        await first.close()
        await second.close()
    _with(check)
