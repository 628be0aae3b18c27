"""The Gate gateway against the venue server: dual (hedge) mode, the resting reduce-only stop, the
dead-man countdown; and without a server: Gate's rate-limit headers and error labels."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from venue_servers import API_KEY, API_SECRET, ServerThread, running_server

from pmm.connectors.gate_io_perpetual import errors, spec
from pmm.connectors.gate_io_perpetual.auth import GateAuth
from pmm.connectors.gate_io_perpetual.gateway import GateGateway
from pmm.connectors.gate_io_perpetual.rest import GateRestClient
from pmm.core.clock import LiveClock
from pmm.core.model import (
    ClientOrderId,
    OrderRequest,
    OrderType,
    PositionAction,
    PositionMode,
    PositionSide,
    Side,
)
from pmm.errors import AuthError, ExchangeUnavailable, OrderOutcomeUnknown, PostOnlyWouldCross, UnknownOrder

MARKET = "BTC-USDT"


def _order(cid: str, side: Side, *, position_side: PositionSide = PositionSide.BOTH,
           close: bool = False) -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), MARKET, side, OrderType.MARKET, Decimal("0.01"), None,
                        position_action=PositionAction.CLOSE if close else PositionAction.OPEN,
                        position_side=position_side, reduce_only=close)


def _with_gateway(server: ServerThread, scenario: Callable[[GateGateway], Awaitable[Any]]) -> Any:
    async def run() -> Any:
        clock = LiveClock()
        rest = GateRestClient(server.rest_url, clock=clock, auth=GateAuth(API_KEY, API_SECRET, clock))
        gateway = GateGateway(rest, ws_url=server.ws_url, clock=clock, markets=[MARKET], funding_poll_s=None)
        await gateway.start(lambda event: None)
        try:
            return await scenario(gateway)
        finally:
            await gateway.stop()

    return asyncio.run(run())


async def _until(probe: Callable[[], Awaitable[Any]], done: Callable[[Any], bool]) -> Any:
    for _ in range(200):
        value = await probe()
        if done(value):
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached: {value}")


def test_dual_mode_holds_a_long_and_a_short_and_closes_one_side():
    with running_server(spec.CONNECTOR_ID) as server:
        async def scenario(gw: GateGateway) -> Any:
            await gw.set_position_mode(PositionMode.HEDGE)
            assert gw.hedge_mode
            await gw.place_order(_order("pmm-dual-long", Side.BUY, position_side=PositionSide.LONG))
            await gw.place_order(_order("pmm-dual-short", Side.SELL, position_side=PositionSide.SHORT))
            both = await _until(gw.positions, lambda held: len(held) == 2)
            await gw.place_order(_order("pmm-dual-close", Side.SELL, position_side=PositionSide.LONG, close=True))
            left = await _until(gw.positions, lambda held: len(held) == 1)
            return both, left

        both, left = _with_gateway(server, scenario)
        modes = server.call(lambda: server.exchange.position_mode())
    assert sorted(p.side for p in both) == [PositionSide.LONG, PositionSide.SHORT]
    assert [(p.side, p.amount) for p in left] == [(PositionSide.SHORT, Decimal("0.01"))]
    assert modes is PositionMode.HEDGE


def test_the_resting_stop_is_listed_cancelled_and_fires_to_close_the_position():
    with running_server(spec.CONNECTOR_ID) as server:
        async def scenario(gw: GateGateway) -> Any:
            await gw.place_order(_order("pmm-stop-open", Side.BUY))
            [held] = await _until(gw.positions, lambda held: len(held) == 1)
            mark = held.mark_price or held.entry_price
            far = await gw.place_stop_order(MARKET, ClientOrderId("pmm-stop-far"), Side.SELL, Decimal("0.01"),
                                            (mark * Decimal("0.5")).quantize(Decimal("0.1")))
            listed = await gw.resting_stop_orders(MARKET)
            gw.stops.ids.clear()  # as after a restart: found again by listing
            await gw.cancel_stop_order(MARKET, ClientOrderId("pmm-stop-far"))
            after_cancel = await gw.resting_stop_orders(MARKET)
            # A sell stop above the mark has already been crossed: it fires at the next mark price.
            await gw.place_stop_order(MARKET, ClientOrderId("pmm-stop-now"), Side.SELL, Decimal("0.01"),
                                      (mark * Decimal("1.5")).quantize(Decimal("0.1")), trigger_on_mark=True)
            flat = await _until(gw.positions, lambda held: held == [])
            return far, listed, after_cancel, flat

        far, listed, after_cancel, flat = _with_gateway(server, scenario)
    assert far and listed == ["pmm-stop-far"] and after_cancel == [] and flat == []


def test_the_countdown_cancels_resting_orders_when_not_renewed():
    with running_server(spec.CONNECTOR_ID) as server:
        async def scenario(gw: GateGateway) -> Any:
            book = await gw._rest.public(spec.ORDER_BOOK_PATH, [("contract", "BTC_USDT"), ("limit", "1")])
            far = (Decimal(book["bids"][0]["p"]) * Decimal("0.9")).quantize(Decimal("0.1"))
            await gw.place_order(OrderRequest(ClientOrderId("pmm-dms-1"), MARKET, Side.BUY, OrderType.LIMIT_MAKER,
                                              Decimal("0.01"), far))
            await gw.arm_dead_man_switch(MARKET, 1)  # raised to Gate's minimum of 5 s
            deadline = server.call(lambda: server.server.dead_man.deadline)
            return deadline, await _until(lambda: gw.open_orders(MARKET), lambda orders: orders == [])

        deadline, left = _with_gateway(server, scenario)
    assert deadline is not None and left == []


def test_gate_rate_limit_headers_hold_back_the_next_request():
    clock = LiveClock()
    rest = GateRestClient("http://127.0.0.1:1", clock=clock)
    key = f"POST {spec.ORDERS_PATH}"
    reset_ms = int((clock.now() + 2) * 1000)
    rest._note_limits(key, {spec.RATE_REMAIN_HEADER: "0", spec.RATE_LIMIT_HEADER: "100",
                            spec.RATE_RESET_HEADER: str(reset_ms)})
    assert 1.0 < rest.limits.wait_needed(key) <= 2.0
    assert rest.limits.use() == 1.0
    rest._note_limits(key, {spec.RATE_REMAIN_HEADER: "60", spec.RATE_LIMIT_HEADER: "100",
                            spec.RATE_RESET_HEADER: str(reset_ms)})
    assert rest.limits.wait_needed(key) == 0 and rest.limits.use() == 0.4


def test_labels_become_errors_that_name_the_label_and_say_what_to_do():
    poc = errors.translate(what="place order pmm-1", status=400, label="ORDER_POC_IMMEDIATE", msg="would take",
                           order_call=True)
    assert isinstance(poc, PostOnlyWouldCross) and "label ORDER_POC_IMMEDIATE" in str(poc)
    auth = errors.translate(what="read the balance", status=401, label="INVALID_SIGNATURE", msg="Signature mismatch",
                            order_call=False)
    assert isinstance(auth, AuthError) and "pmm connect gate_io_perpetual" in str(auth)
    unknown = errors.translate(what="place order pmm-2", status=500, label="SERVER_ERROR", msg="", order_call=True)
    assert isinstance(unknown, OrderOutcomeUnknown)
    assert isinstance(errors.translate(what="cancel", status=404, label="ORDER_NOT_FOUND", msg="", order_call=True),
                      UnknownOrder)
    banned = errors.translate(what="place order pmm-3", status=403, label="FORBIDDEN", msg="", order_call=True)
    assert isinstance(banned, ExchangeUnavailable) and "IP" in str(banned)
