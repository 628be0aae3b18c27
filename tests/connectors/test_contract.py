"""What every connector must do (DESIGN.md §4), run against each connector in HARNESSES."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from contract_harness import HARNESSES, MARKET, Harness
from pmm.connectors import registry
from pmm.connectors.base import ConditionalOrders, DeadManSwitch, MarketDataFeed, OrderGateway, Pacer
from pmm.connectors.common.venue_spec import ConnectorMode
from pmm.core.events import (
    BalanceUpdated,
    BookSnapshot,
    FundingInfoUpdated,
    OrderAccepted,
    OrderCancelled,
    OrderCancelRejected,
    OrderFilled,
    OrderRejected,
    PositionUpdated,
)
from pmm.core.model import (
    ClientOrderId,
    Liquidity,
    MarginMode,
    OrderRequest,
    OrderType,
    PositionAction,
    PositionMode,
    PositionSide,
    Side,
)
from pmm.errors import OrderError, PostOnlyWouldCross, UnknownOrder

pytestmark = pytest.mark.parametrize("connector", sorted(HARNESSES))


def _run(connector, tmp_path, scenario):
    async def main():
        async with HARNESSES[connector](tmp_path) as harness:
            await scenario(harness)

    asyncio.run(main())


async def _ready(h: Harness) -> None:
    await h.pump_until(lambda: h.of_type(BookSnapshot) and h.of_type(FundingInfoUpdated))


def _order(cid: str, side: Side, price: Decimal | None, amount: str = "0.01",
           order_type: OrderType = OrderType.LIMIT_MAKER, reduce_only: bool = False) -> OrderRequest:
    return OrderRequest(ClientOrderId(cid), MARKET, side, order_type, Decimal(amount), price,
                        position_action=PositionAction.CLOSE if reduce_only else PositionAction.OPEN,
                        reduce_only=reduce_only)


def _members(protocol: type) -> set[str]:
    """What a Protocol declares (methods and attributes), without the machinery of `Protocol`."""
    own = {n for cls in protocol.__mro__ if cls.__module__ == protocol.__module__ for n in vars(cls)}
    own |= set(getattr(protocol, "__annotations__", {}))
    return {n for n in own if not n.startswith("_")}


def test_bundle_has_every_member_the_contract_declares(connector, tmp_path):
    async def scenario(h: Harness):
        await _ready(h)
        b = h.bundle
        assert b.connector_id == connector
        for part, protocol in ((b.feed, MarketDataFeed), (b.gateway, OrderGateway), (b.pacer, Pacer)):
            missing = sorted(n for n in _members(protocol) if not hasattr(part, n))
            assert not missing, f"{type(part).__name__} lacks {missing} of {protocol.__name__}"

    _run(connector, tmp_path, scenario)


def test_declared_capabilities_match_the_bundle(connector, tmp_path):
    """The spec says whether the venue has a dead-man switch and conditional orders; the live bundle
    brings each then, with every member the contract declares, and the switch arms and disarms (paper
    and simulated accounts have neither: no venue holds their orders)."""
    spec = registry.spec_of(connector)
    assert spec is not None, f"{connector} is not in the registry"
    live = spec.mode_of(connector) in (ConnectorMode.LIVE, ConnectorMode.TESTNET)
    expected = spec.capabilities.dead_man_switch and live

    async def scenario(h: Harness):
        switch = h.bundle.dead_man_switch
        assert (switch is not None) == expected
        if switch is not None:
            assert not _members(DeadManSwitch) - set(dir(switch))
            await _ready(h)
            await switch.arm_dead_man_switch(MARKET, 30)
            await switch.disarm_dead_man_switch(MARKET)
        stops = h.bundle.conditional_orders
        assert (stops is not None) == (spec.capabilities.conditional_orders and live), \
            "the spec's conditional_orders and the bundle's disagree"
        if stops is not None:
            assert not _members(ConditionalOrders) - set(dir(stops))
        assert h.bundle.pacer.finished() is False  # a market that runs on

    _run(connector, tmp_path, scenario)


def test_trading_rules_book_and_funding(connector, tmp_path):
    async def scenario(h: Harness):
        rules = h.bundle.feed.trading_rules(MARKET)
        assert rules.tick_size > 0 and rules.step_size > 0 and rules.quote == "USDT"
        await _ready(h)
        snap = h.of_type(BookSnapshot)[-1]
        assert snap.market == MARKET and snap.bids and snap.asks
        assert snap.bids[0][0] < snap.asks[0][0]
        info = h.of_type(FundingInfoUpdated)[-1].info
        assert info.market == MARKET and info.mark_price > 0 and info.next_funding_ts > h.bundle.clock.now() - 1

    _run(connector, tmp_path, scenario)


def test_account_setup_is_idempotent(connector, tmp_path):
    async def scenario(h: Harness):
        gw = h.bundle.gateway
        for _ in range(2):
            await gw.set_position_mode(PositionMode.ONEWAY)
            await gw.set_margin_mode(MARKET, MarginMode.CROSS)
            await gw.set_leverage(MARKET, 5)
        balances = {b.asset: b for b in await gw.balances()}
        assert balances["USDT"].total > 0

    _run(connector, tmp_path, scenario)


def test_place_list_cancel(connector, tmp_path):
    async def scenario(h: Harness):
        await _ready(h)
        gw = h.bundle.gateway
        bid = h.of_type(BookSnapshot)[-1].bids[0][0]
        far = h.bundle.feed.trading_rules(MARKET).floor_price(bid * Decimal("0.9"))
        await gw.place_order(_order("pmm-contract-1", Side.BUY, far))
        await h.pump_until(lambda: any(e.client_id == "pmm-contract-1" for e in h.of_type(OrderAccepted)))
        assert [o.client_id for o in await gw.open_orders(MARKET)] == ["pmm-contract-1"]
        await gw.cancel_order(MARKET, ClientOrderId("pmm-contract-1"))
        await h.pump_until(lambda: any(e.client_id == "pmm-contract-1" for e in h.of_type(OrderCancelled)))
        assert await gw.open_orders(MARKET) == []

    _run(connector, tmp_path, scenario)


def test_post_only_that_would_cross_is_rejected(connector, tmp_path):
    async def scenario(h: Harness):
        await _ready(h)
        ask = h.of_type(BookSnapshot)[-1].asks[0][0]
        try:
            await h.bundle.gateway.place_order(_order("pmm-contract-2", Side.BUY, ask))
        except PostOnlyWouldCross:
            return
        await h.pump_until(lambda: any(e.client_id == "pmm-contract-2" for e in h.of_type(OrderRejected)))
        assert await h.bundle.gateway.open_orders(MARKET) == []

    _run(connector, tmp_path, scenario)


def test_cancel_of_an_unknown_order_is_reported(connector, tmp_path):
    async def scenario(h: Harness):
        await _ready(h)
        try:
            await h.bundle.gateway.cancel_order(MARKET, ClientOrderId("pmm-contract-nope"))
        except UnknownOrder:
            return
        await h.pump_until(lambda: h.of_type(OrderCancelRejected))

    _run(connector, tmp_path, scenario)


def test_market_order_fills_opens_a_position_and_reduce_only_closes_it(connector, tmp_path):
    async def scenario(h: Harness):
        await _ready(h)
        gw = h.bundle.gateway
        await gw.set_leverage(MARKET, 5)
        await gw.place_order(_order("pmm-contract-3", Side.BUY, None, order_type=OrderType.MARKET))
        await h.pump_until(lambda: any(e.client_id == "pmm-contract-3" and e.remaining == 0
                                       for e in h.of_type(OrderFilled)))
        fills = [e for e in h.of_type(OrderFilled) if e.client_id == "pmm-contract-3"]
        assert sum(f.amount for f in fills) == Decimal("0.01")
        assert all(f.liquidity is Liquidity.TAKER and f.fee > 0 for f in fills)
        await h.pump_until(lambda: any(e.position is not None for e in h.of_type(PositionUpdated)))
        (position,) = await gw.positions()
        assert position.side is PositionSide.LONG and position.amount == Decimal("0.01")
        # The wallet and position topics are separate streams on some venues; either may come first.
        await h.pump_until(lambda: h.of_type(BalanceUpdated))
        recorded = {f.trade_id for f in await gw.fills_since(0, MARKET)}
        assert {f.trade_id for f in fills} <= recorded
        await gw.place_order(_order("pmm-contract-4", Side.SELL, None, order_type=OrderType.MARKET,
                                    reduce_only=True))
        await h.pump_until(lambda: any(e.position is None for e in h.of_type(PositionUpdated)))
        assert await gw.positions() == []

    _run(connector, tmp_path, scenario)


def test_reduce_only_without_position_is_refused(connector, tmp_path):
    async def scenario(h: Harness):
        await _ready(h)
        try:
            await h.bundle.gateway.place_order(_order("pmm-contract-5", Side.SELL, None,
                                                      order_type=OrderType.MARKET, reduce_only=True))
        except OrderError:
            return
        await h.pump_until(lambda: any(e.client_id == "pmm-contract-5"
                                       for e in h.of_type(OrderRejected) + h.of_type(OrderCancelled)))
        assert await h.bundle.gateway.positions() == []

    _run(connector, tmp_path, scenario)
