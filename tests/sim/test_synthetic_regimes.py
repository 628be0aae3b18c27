"""The synthetic generator's reach decay, drift and premium-following funding (issue 15)."""

from __future__ import annotations

import random
from decimal import Decimal

from pmm.core.events import BookSnapshot, Trade
from pmm.sim.generators import MarkUpdate, SyntheticSource
from pmm.sim.settings import SimMarketSettings, SyntheticMarket

T0 = 1_767_225_600.0


def _run(config: SyntheticMarket, seconds: float) -> list[object]:
    source = SyntheticSource(SimMarketSettings("BTC-USDT", config), config, random.Random(4), 8 * 3600.0)
    source.start(T0)
    items: list[object] = []
    while (t := source.next_time()) is not None and t < T0 + seconds:
        items.extend(source.step())
    return items


def test_reaching_trades_never_print_inside_the_touch() -> None:
    items = _run(SyntheticMarket(trade_reach_ticks=Decimal(20), trade_rate_per_min=120), 1800)
    bid = ask = None
    far = 0
    for item in items:
        if isinstance(item, BookSnapshot):
            bid, ask = item.bids[0][0], item.asks[0][0]
        elif isinstance(item, Trade):
            assert bid is not None and ask is not None
            assert item.price >= ask or item.price <= bid
            far += abs(item.price - (bid + ask) / 2) > Decimal("2")  # 20 ticks of 0.1
    assert far > 0  # some trades reach well beyond the touch


def test_drift_moves_the_mid_in_its_direction() -> None:
    def last_mid(drift: str) -> Decimal:
        snaps = [i for i in _run(SyntheticMarket(drift=Decimal(drift), volatility=Decimal("0.0005")), 6 * 3600)
                 if isinstance(i, BookSnapshot)]
        return (snaps[-1].bids[0][0] + snaps[-1].asks[0][0]) / 2

    # 1 % an hour for 6 h is about 6 %; the noise (0.05 %/sqrt(h)) is far smaller
    assert last_mid("0.01") > Decimal(65000) * Decimal("1.05")
    assert last_mid("-0.01") < Decimal(65000) * Decimal("0.95")


def test_funding_rate_follows_the_premium() -> None:
    config = SyntheticMarket(funding_follows_premium=True, mark_premium=Decimal("0.001"),
                             funding_rate_mean=Decimal("0.0001"), funding_rate_volatility=Decimal(0))
    rates = [i.rate for i in _run(config, 16 * 3600) if isinstance(i, MarkUpdate) and i.rate is not None]
    # after two funding intervals the rate sits near the 0.1 % premium, not the 0.01 % mean
    assert Decimal("0.0008") < rates[-1] < Decimal("0.0012")
