"""BinanceGateway's conditional orders against the Binance server: a reduce-only stop rests at the
venue (Algo Service), is canceled by client id, and closes the position when the market crosses it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_client_e2e import MARKET, order, run, static_settings, venue
from test_client_fakes import wait_until

from pmm.connectors.common.server.triggers import TriggerOn
from pmm.core.events import OrderFilled
from pmm.core.model import ClientOrderId, OrderType, PositionMode, Side
from pmm.errors import OrderError

D = Decimal


def test_a_stop_rests_is_canceled_and_closes_the_position_when_the_price_crosses() -> None:
    async def main() -> None:
        async with venue(static_settings()) as client:
            gateway, triggers = client.gateway, client.server.algos.triggers
            await gateway.start(client.emit)
            await gateway.set_position_mode(PositionMode.ONEWAY)
            taker = order(1, Side.BUY, OrderType.MARKET, "0.020", None)  # long 0.02 at 65000.1
            await gateway.place_order(taker)
            await wait_until(lambda: sum(f.amount for f in client.of(OrderFilled)) == D("0.020"))

            # On the mark (65000): rests, then canceled by its client id.
            algo_id = await gateway.place_stop_order(MARKET, ClientOrderId("pmm-stop-1"), Side.SELL, D("0.020"),
                                                     D("64000"))
            (resting,) = triggers.live(MARKET)
            assert (resting.algo_id, resting.client_id, resting.trigger_on, resting.reduce_only) == (
                algo_id, "pmm-stop-1", TriggerOn.MARK, True)
            assert [r.client_id for r in await gateway.open_orders(MARKET)] == []  # not an order until it fires
            assert await gateway.resting_stop_orders(MARKET) == ["pmm-stop-1"]  # an earlier run's stops are found
            await gateway.cancel_stop_order(MARKET, ClientOrderId("pmm-stop-1"))
            assert triggers.live(MARKET) == []
            assert await gateway.resting_stop_orders(MARKET) == []
            with pytest.raises(OrderError, match="-2021"):  # a stop-loss above the mark would fire at once
                await gateway.place_stop_order(MARKET, ClientOrderId("pmm-stop-2"), Side.SELL, D("0.020"), D("65500"))

            # On the last price: our own sell at the bid (64999.9) moves it through the stop.
            await gateway.place_stop_order(MARKET, ClientOrderId("pmm-stop-3"), Side.SELL, D("0.015"), D("65000"),
                                           trigger_on_mark=False)
            await gateway.place_order(order(2, Side.SELL, OrderType.MARKET, "0.005", None))
            await wait_until(lambda: any(f.client_id == "pmm-stop-3" and f.remaining == 0
                                         for f in client.of(OrderFilled)), timeout=10.0)
            assert await gateway.positions() == []
            assert triggers.live(MARKET) == []
            assert await gateway.resting_stop_orders(MARKET) == []  # a fired stop no longer rests

    run(main())
