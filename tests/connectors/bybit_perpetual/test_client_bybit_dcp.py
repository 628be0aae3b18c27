"""The gateway's dead-man switch on Bybit, Disconnection Protection (DCP). Against the fake venue:
the window is set once per value (clamped to [3, 300]), `dcp` is subscribed on the live private
connection and on every reconnection with a ping right after, a refusal that is not "not now"
makes DCP unavailable (one warning, no subscription, no further requests), a "not now" refusal is
raised and retried, and disarming unsubscribes `dcp`. Against the Bybit-dialect venue: a reconnect
keeps the orders, a stream that dies loses them to DCP, a disarmed stream closes without a timer."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from test_client_bybit_e2e import connected, order, settings
from test_client_bybit_fakes import FakeBybit, envelope
from test_client_bybit_gateway import MARKET, Sink, run, until

from pmm.connectors.bybit_perpetual.gateway import BybitGateway
from pmm.connectors.bybit_perpetual.server.orders import view
from pmm.core.events import ConnectionChanged, OrderAccepted
from pmm.core.model import OrderType, Side
from pmm.errors import ExchangeUnavailable

DCP = "/v5/order/disconnected-cancel-all"


def _private_ops(fake: FakeBybit) -> list[tuple[str, Any]]:
    return [(f["op"], f.get("args")) for f in fake.ws_frames["private"] if f["op"] != "auth"]


def _dcp_ops(fake: FakeBybit) -> list[tuple[str, Any]]:
    """The (un)subscriptions of `dcp` and the pings, in order."""
    return [(op, args) for op, args in _private_ops(fake) if op == "ping" or args == ["dcp"]]


def test_arming_sets_the_window_once_and_subscribes_dcp_with_a_ping() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        await gateway.arm_dead_man_switch(MARKET, 60)
        (call,) = fake.calls("POST", DCP)
        assert call.json() == {"product": "DERIVATIVES", "timeWindow": 60}
        await until(lambda: ("ping", None) in _dcp_ops(fake))
        assert _dcp_ops(fake)[:2] == [("subscribe", ["dcp"]), ("ping", None)]
        for _ in range(3):  # the engine re-arms every third of the window: nothing more to send
            await gateway.arm_dead_man_switch(MARKET, 60)
        assert len(fake.calls("POST", DCP)) == 1
        assert [op for op, _ in _dcp_ops(fake)].count("subscribe") == 1
        await gateway.arm_dead_man_switch(MARKET, 20)  # a new window is sent again
        assert [c.json()["timeWindow"] for c in fake.calls("POST", DCP)] == [60, 20]
        assert gateway.dcp.armed and gateway.dcp.window == 20

    run(scenario)


def test_the_window_is_clamped_to_bybits_range_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        with caplog.at_level(logging.WARNING, logger="pmm.bybit.dcp"):
            await gateway.arm_dead_man_switch(MARKET, 1)
            await gateway.arm_dead_man_switch(MARKET, 1)
            await gateway.arm_dead_man_switch(MARKET, 1000)
            await gateway.arm_dead_man_switch(MARKET, 7.4)  # rounded, not clamped: no warning
        assert [c.json()["timeWindow"] for c in fake.calls("POST", DCP)] == [3, 300, 7]
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 2, warnings
        assert "outside Bybit DCP's timeWindow range [3, 300] s; using 3 s" in warnings[0]
        assert "using 300 s" in warnings[1]

    run(scenario)


@pytest.mark.parametrize("code", [10005, 10001, 110064, 10017])
def test_an_account_without_dcp_warns_once_and_subscribes_nothing(code: int, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        fake.reply("POST", DCP, (200, envelope(code=code, msg="DCP is not enabled"), {}))
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                await gateway.arm_dead_man_switch(MARKET, 60)  # never raises: the bot keeps running
        assert len(fake.calls("POST", DCP)) == 1  # not asked again
        assert gateway.dcp.unavailable == f"retCode {code}: DCP is not enabled" and not gateway.dcp.armed
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1, warnings
        assert f"not available to this account (Bybit answered retCode {code}" in warnings[0]
        assert "enabled for the account by Bybit" in warnings[0] and "disconnect_cancel_s" in warnings[0]
        await gateway.disarm_dead_man_switch(MARKET)
        assert _dcp_ops(fake) == []

    run(scenario)


def test_a_not_now_refusal_is_raised_and_the_next_arm_retries() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        fake.reply("POST", DCP, (200, envelope(code=10016, msg="Internal System Error."), {}),
                   (200, envelope({}), {}))
        with pytest.raises(ExchangeUnavailable, match="10016"):
            await gateway.arm_dead_man_switch(MARKET, 30)
        assert gateway.dcp.unavailable is None and not gateway.dcp.armed
        await gateway.arm_dead_man_switch(MARKET, 30)
        assert gateway.dcp.window == 30 and len(fake.calls("POST", DCP)) == 2
        await until(lambda: ("subscribe", ["dcp"]) in _dcp_ops(fake))

    run(scenario)


def test_every_reconnection_subscribes_dcp_and_pings_at_once() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        await gateway.arm_dead_man_switch(MARKET, 10)
        await until(lambda: ("ping", None) in _dcp_ops(fake))
        before = len(fake.ws_frames["private"])
        await fake.drop("private")
        await until(lambda: any(f["op"] == "ping" for f in fake.ws_frames["private"][before:]))
        after = [(f["op"], f.get("args")) for f in fake.ws_frames["private"][before:]]
        assert [op for op, _ in after[:4]] == ["auth", "subscribe", "subscribe", "ping"]
        assert after[1][1] == ["order", "execution", "position", "wallet"] and after[2][1] == ["dcp"]

    run(scenario)


def test_a_refused_dcp_subscription_never_keeps_the_stream_down(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        fake.ack_subscriptions = False  # every subscription is refused from now on
        with caplog.at_level(logging.WARNING):
            await gateway.arm_dead_man_switch(MARKET, 10)
            await until(lambda: "refused to subscribe dcp" in caplog.text)
        assert gateway.stream.ws.connected

    run(scenario)


def test_disarming_unsubscribes_dcp_on_this_and_later_connections() -> None:
    async def scenario(fake: FakeBybit, gateway: BybitGateway, sink: Sink) -> None:
        await gateway.arm_dead_man_switch(MARKET, 10)
        await until(lambda: ("ping", None) in _dcp_ops(fake))
        await gateway.disarm_dead_man_switch(MARKET)
        await until(lambda: ("unsubscribe", ["dcp"]) in _dcp_ops(fake))
        assert not gateway.dcp.armed
        before = len(fake.ws_frames["private"])
        await fake.drop("private")
        await until(lambda: len([f for f in fake.ws_frames["private"][before:] if f["op"] == "subscribe"]) == 1)
        assert all(f.get("args") != ["dcp"] for f in fake.ws_frames["private"][before:])
        await gateway.arm_dead_man_switch(MARKET, 10)  # armed again: the window is set again
        assert len(fake.calls("POST", DCP)) == 2

    run(scenario)


# --- against the Bybit-dialect venue (BybitServer over the simulator, real time) ------------------


def test_against_the_venue_a_reconnect_keeps_the_orders_and_a_dead_stream_loses_them() -> None:
    async def main() -> None:
        async with connected(settings()) as c:
            dcp = c.server.dcp
            await c.gateway.arm_dead_man_switch(MARKET, 3)
            assert dcp.windows == {"DERIVATIVES": 3}
            await c.until(lambda: dcp.guarded() == 1)
            await c.gateway.place_order(order("pmm-dcp-1", Side.BUY, OrderType.LIMIT_MAKER, "60000"))
            await c.until(lambda: c.of(OrderAccepted))
            # The private connection is cut: the gateway reconnects, subscribes dcp and pings at once.
            ups = len([e for e in c.of(ConnectionChanged) if e.stream == "account" and e.connected])
            assert c.server.faults.drop_sockets("private") == 1
            await c.until(lambda: [what for what, _, _ in dcp.history] == ["started", "resumed"], timeout=20)
            await c.until(lambda: len([e for e in c.of(ConnectionChanged)
                                       if e.stream == "account" and e.connected]) > ups)
            assert dcp.deadlines == {} and dcp.fired == []
            assert [o.client_id for o in c.exchange.open_orders()] == ["pmm-dcp-1"]
            # The stream ends without a goodbye (a dead process, a lost network): after the window
            # on the venue's clock, Bybit cancels the order.
            await c.gateway.stream.ws.stop()
            await c.until(lambda: dcp.fired == ["DERIVATIVES"], timeout=30)
            await c.until(lambda: c.exchange.open_orders() == [], timeout=10)
            record = c.server.desk.find(None, "pmm-dcp-1")
            assert record is not None
            row = view(record, c.server.symbols)
            assert (row["orderStatus"], row["cancelType"]) == ("Cancelled", "CancelByDCP")

    asyncio.run(main())


def test_against_the_venue_disarming_before_a_clean_stop_starts_no_timer() -> None:
    async def main() -> None:
        async with connected(settings()) as c:
            dcp = c.server.dcp
            await c.gateway.arm_dead_man_switch(MARKET, 3)
            await c.until(lambda: dcp.guarded() == 1)
            await c.gateway.place_order(order("pmm-dcp-2", Side.BUY, OrderType.LIMIT_MAKER, "60000"))
            await c.until(lambda: c.of(OrderAccepted))
            await c.gateway.disarm_dead_man_switch(MARKET)
            await c.until(lambda: dcp.guarded() == 0)
            await c.gateway.stream.ws.stop()
            await c.until(lambda: not [cn for cn in c.server.hub.clients if cn.kind == "private"])
            assert dcp.deadlines == {} and dcp.history == []
            assert [o.client_id for o in c.exchange.open_orders()] == ["pmm-dcp-2"]

    asyncio.run(main())
