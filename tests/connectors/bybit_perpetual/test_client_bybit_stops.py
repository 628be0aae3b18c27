"""pmm's Bybit gateway as `ConditionalOrders` against the Bybit-dialect server on 127.0.0.1: a
reduce-only stop rests at the venue (not among the open orders reconciliation sees, untouched by
cancel-all), is cancelled by its client id, is refused when the mark is already through it, and
closes the position when the mark falls through it."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from test_client_bybit_e2e import MARKET, connected, order, settings

from pmm.connectors.base import ConditionalOrders
from pmm.core.events import FundingInfoUpdated, OrderAccepted, OrderFilled, PositionUpdated
from pmm.core.model import ClientOrderId, FundingInfo, OrderType, Side
from pmm.errors import OrderError

D = Decimal


def test_a_reduce_only_stop_rests_at_bybit_and_closes_the_position_when_the_mark_falls_through() -> None:
    async def main() -> None:
        async with connected(settings()) as c:
            gw: ConditionalOrders = c.gateway
            await c.gateway.place_order(order("pmm-s-open", Side.BUY, OrderType.MARKET, None, "0.02"))
            await c.until(lambda: any(e.position is not None for e in c.of(PositionUpdated)))

            # Rest, look, cancel.
            order_id = await gw.place_stop_order(MARKET, ClientOrderId("pmm-stop-1"), Side.SELL, D("0.02"),
                                                 D("64000"))
            (resting,) = c.server.stops.triggers.live(MARKET)
            assert (resting.algo_id, resting.reduce_only, resting.trigger_price, resting.rising) == (
                order_id, True, D("64000"), False)
            assert await c.gateway.open_orders(MARKET) == []  # not a quote for reconciliation to cancel
            await c.gateway.cancel_all(MARKET)
            assert len(c.server.stops.triggers.live(MARKET)) == 1  # the bot's cancel-all leaves it
            await gw.cancel_stop_order(MARKET, ClientOrderId("pmm-stop-1"))
            assert c.server.stops.triggers.live(MARKET) == []

            with pytest.raises(OrderError, match="110093"):  # a sell stop above the mark would fire at once
                await gw.place_stop_order(MARKET, ClientOrderId("pmm-stop-2"), Side.SELL, D("0.02"), D("65500"))

            # The mark falls through the stop: the venue closes the position by itself.
            await gw.place_stop_order(MARKET, ClientOrderId("pmm-stop-3"), Side.SELL, D("0.02"), D("64000"))
            now = c.server.clock.now()
            c.server.stops.on_public(FundingInfoUpdated(
                FundingInfo(MARKET, D("63990"), D("63990"), D("0.0001"), now + 3600), now, now))
            await c.until(lambda: any(f.client_id == "pmm-stop-3" and f.remaining == 0 for f in c.of(OrderFilled)))
            await c.until(lambda: any(e.position is None for e in c.of(PositionUpdated)))
            assert await c.gateway.positions() == []
            # The stop's own life on the order topic is not reported as one of the engine's orders.
            assert not any(e.client_id.startswith("pmm-stop") for e in c.of(OrderAccepted))

    asyncio.run(main())


def test_resting_stops_are_listed_by_client_id_until_they_fire_or_are_cancelled() -> None:
    async def main() -> None:
        async with connected(settings()) as c:
            gw: ConditionalOrders = c.gateway
            await c.gateway.place_order(order("pmm-s-open", Side.BUY, OrderType.MARKET, None, "0.02"))
            await c.until(lambda: any(e.position is not None for e in c.of(PositionUpdated)))
            assert await gw.resting_stop_orders(MARKET) == []
            await c.gateway.place_order(order("pmm-quote-1", Side.BUY, OrderType.LIMIT, "60000", "0.01"))
            await gw.place_stop_order(MARKET, ClientOrderId("pmm-stop-ab-1"), Side.SELL, D("0.02"), D("64000"))
            await gw.place_stop_order(MARKET, ClientOrderId("pmm-stop-ab-2"), Side.SELL, D("0.01"), D("63000"))
            # Stops only, not the resting quote.
            assert sorted(await gw.resting_stop_orders(MARKET)) == ["pmm-stop-ab-1", "pmm-stop-ab-2"]
            await gw.cancel_stop_order(MARKET, ClientOrderId("pmm-stop-ab-2"))
            assert await gw.resting_stop_orders(MARKET) == ["pmm-stop-ab-1"]
            now = c.server.clock.now()
            c.server.stops.on_public(FundingInfoUpdated(
                FundingInfo(MARKET, D("63990"), D("63990"), D("0.0001"), now + 3600), now, now))
            await c.until(lambda: any(e.position is None for e in c.of(PositionUpdated)))
            assert await gw.resting_stop_orders(MARKET) == []  # fired: no longer resting

    asyncio.run(main())
