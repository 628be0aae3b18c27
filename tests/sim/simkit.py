"""Helpers for the simulator tests: settings builders, an event recorder, replay files, a driver."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from random import Random
from typing import Any

from pmm.core.events import (
    FundingPaymentReceived,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
)
from pmm.core.model import (
    ClientOrderId,
    OrderRequest,
    OrderType,
    PositionSide,
    Side,
)
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import ReplayMarket, SimMarketSettings, SimSettings, StaticMarket, SyntheticMarket

D = Decimal
START = 1_767_225_600.0  # a multiple of 8 h


def static_market(
    bids: Iterable[tuple[str, str]],
    asks: Iterable[tuple[str, str]],
    market: str = "BTC-USDT",
    mark: str | None = None,
    rate: str = "0",
    **rules: Any,
) -> SimMarketSettings:
    generator = StaticMarket(
        bids=tuple((D(p), D(s)) for p, s in bids),
        asks=tuple((D(p), D(s)) for p, s in asks),
        mark_price=None if mark is None else D(mark),
        funding_rate=D(rate),
    )
    return SimMarketSettings(market=market, generator=generator, **rules)


def replay_market(path: Path, market: str = "BTC-USDT", **rules: Any) -> SimMarketSettings:
    return SimMarketSettings(market=market, generator=ReplayMarket(path=path), **rules)


def synthetic_market(market: str = "BTC-USDT", **kwargs: Any) -> SimMarketSettings:
    return SimMarketSettings(market=market, generator=SyntheticMarket(**kwargs))


def settings(*markets: SimMarketSettings, usdt: str = "10000", **kwargs: Any) -> SimSettings:
    kwargs.setdefault("start_ts", START)
    return SimSettings(markets=tuple(markets), balances={"USDT": D(usdt)}, **kwargs)


def write_replay(path: Path, records: Iterable[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def book_record(ts: float, bid: str, ask: str, size: str = "10") -> dict:
    """A one-level-a-side snapshot at file time `ts` (seconds from 0)."""
    return {"type": "snapshot", "ts": ts, "bids": [[bid, size]], "asks": [[ask, size]]}


def order(
    cid: str,
    side: Side,
    amount: str,
    price: str | None = None,
    order_type: OrderType = OrderType.LIMIT,
    market: str = "BTC-USDT",
    position_side: PositionSide = PositionSide.BOTH,
    reduce_only: bool = False,
) -> OrderRequest:
    return OrderRequest(
        client_id=ClientOrderId(cid),
        market=market,
        side=side,
        order_type=order_type,
        amount=D(amount),
        price=None if price is None else D(price),
        position_side=position_side,
        reduce_only=reduce_only,
    )


@dataclass
class Recorder:
    """Collects every event the exchange emits, public and private, in order."""

    events: list[Any] = field(default_factory=list)

    @classmethod
    def on(cls, exchange: SimExchange) -> Recorder:
        recorder = cls()
        exchange.subscribe_public(recorder.events.append)
        exchange.subscribe_private(recorder.events.append)
        return recorder

    def of(self, kind: type) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def fills(self, cid: str | None = None) -> list[OrderFilled]:
        return [e for e in self.of(OrderFilled) if cid is None or e.client_id == cid]

    def rejection(self, cid: str) -> OrderRejected:
        (found,) = [e for e in self.of(OrderRejected) if e.client_id == cid]
        return found

    def clear(self) -> None:
        self.events.clear()


def run_until(exchange: SimExchange, end: float) -> None:
    """Advance step by step (as the --fast pacer does) until `end`."""
    while (t := exchange.next_event_time()) is not None and t <= end:
        exchange.advance_to(t)
    exchange.advance_to(end)


class QuotingDriver:
    """A crude seeded market maker used to exercise the venue: quotes, takes, reduce-only exits.

    Every `period` seconds it cancels its quotes and posts new ones around the mid with random
    offsets and sizes; sometimes it sends a market order or a reduce-only exit.
    """

    def __init__(self, exchange: SimExchange, seed: int, period: float = 5.0, market: str = "BTC-USDT") -> None:
        self.exchange = exchange
        self.rng = Random(seed)
        self.period = period
        self.market = market
        self.n = 0
        self.next_action: float | None = None

    def _cid(self) -> ClientOrderId:
        self.n += 1
        return ClientOrderId(f"d-{self.n}")

    def act(self, now: float) -> None:
        ex, rng, rules = self.exchange, self.rng, self.exchange.trading_rules(self.market)
        book = ex.book(self.market)
        mid = book.mid
        if mid is None:
            return
        ex.cancel_all(self.market)
        tick = rules.tick_size
        for side in (Side.BUY, Side.SELL):
            offset = tick * rng.randint(-2, 30)
            price = rules.round_price(mid - offset if side is Side.BUY else mid + offset, side)
            amount = rules.step_size * rng.randint(1, 400)
            ex.submit_order(self._request(side, OrderType.LIMIT, amount, price))
        roll = rng.random()
        positions = ex.positions()
        if roll < 0.08:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            ex.submit_order(self._request(side, OrderType.MARKET, rules.step_size * rng.randint(1, 300), None))
        elif roll < 0.16 and positions:
            pos = positions[0]
            ex.submit_order(
                self._request(pos.side.closing_side, OrderType.MARKET, pos.amount + rules.step_size * 5, None, True)
            )

    def _request(self, side: Side, kind: OrderType, amount: Decimal, price: Decimal | None, reduce: bool = False):
        return OrderRequest(self._cid(), self.market, side, kind, amount, price, reduce_only=reduce)

    def run(self, end: float) -> None:
        ex = self.exchange
        while True:
            t = ex.next_event_time()
            if self.next_action is not None and (t is None or self.next_action < t):
                t = self.next_action
            if t is None or t > end:
                break
            ex.advance_to(t)
            if self.next_action is None or t >= self.next_action:
                self.act(t)
                self.next_action = t + self.period


def ledger_check(exchange: SimExchange, recorder: Recorder, initial: Decimal) -> tuple[Decimal, Decimal]:
    """(wallet change, sum of what the events say) for the USDT wallet."""
    (usdt,) = [b for b in exchange.balances() if b.asset == "USDT"]
    fills = recorder.of(OrderFilled)
    funding = recorder.of(FundingPaymentReceived)
    expected = sum((f.realized_pnl for f in fills), D(0)) - sum((f.fee for f in fills), D(0))
    expected += sum((p.amount for p in funding), D(0))
    return usdt.total - initial, expected


def cancelled_ids(recorder: Recorder) -> list[str]:
    return [e.client_id for e in recorder.of(OrderCancelled)]
