"""The kit server's order desk, trigger desk, dead-man switch, ledger and market tape on their own,
over a real simulated exchange with a hand-moved clock (no venue, no sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from decimal import Decimal
from typing import Any, TypeVar

import pytest

from pmm.connectors.common.server.dead_man import DeadManSwitch
from pmm.connectors.common.server.desk_order import Cause, DeskOrder, State, Tif
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.market_tape import SequencedBook, Tape, TradeWindow
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.triggers import TriggerDesk, TriggerOn, TriggerOrder, TriggerState
from pmm.connectors.common.sim_driver import SimDriver
from pmm.core.book import OrderBook
from pmm.core.clock import VirtualClock
from pmm.core.events import BookSnapshot, OrderFilled
from pmm.core.model import FundingInfo, PositionSide, Side
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket

D = Decimal
START = 1_767_225_700.0
MARKET = "BTC-USDT"
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 30))


class Kit:
    """A simulated exchange with bids 64990 (1), 64980 (2) and asks 65010 (1), 65020 (2)."""

    def __init__(self) -> None:
        book = StaticMarket(bids=((D("64990"), D("1")), (D("64980"), D("2"))),
                            asks=((D("65010"), D("1")), (D("65020"), D("2"))), mark_price=D("65000"))
        self.exchange = SimExchange(SimSettings(markets=(SimMarketSettings(MARKET, book),)))
        self.clock = VirtualClock(START)
        self.driver = SimDriver(self.exchange, self.clock, 0.01)
        self.driver.advance()
        self.desk = OrderDesk(self.exchange, self.driver, self.clock, closed_kept=3)
        self.events: list[tuple[str, str | None]] = []
        self.desk.listen(lambda e, o: self.events.append((type(e).__name__, o.order_id if o else None)))
        self._ids = iter(range(1, 10_000))

    def order(self, side: Side, qty: str, price: str | None, tif: Tif = Tif.GTC, **kwargs: Any) -> DeskOrder:
        return DeskOrder(order_id=f"o{next(self._ids)}", client_id=kwargs.pop("client_id", ""), market=MARKET,
                         side=side, tif=tif, price=D(price) if price else None, qty=D(qty), **kwargs)

    def position(self) -> Decimal:
        return sum((p.signed_amount for p in self.exchange.positions()), D(0))


def test_limit_ioc_fok_and_market_orders_end_as_venues_say():
    async def go() -> None:
        kit = Kit()
        rest, ioc, fok_no, fok_yes, market = (
            kit.order(Side.BUY, "1", "64000"), kit.order(Side.BUY, "1.5", "65010", Tif.IOC),
            kit.order(Side.SELL, "3.5", "64980", Tif.FOK), kit.order(Side.SELL, "0.5", "64990", Tif.FOK),
            kit.order(Side.BUY, "0.2", None, Tif.IOC))
        await kit.desk.place([rest, ioc, fok_no, fok_yes, market])
        assert rest.state is State.OPEN and rest.leaves_qty == D("1")
        assert (ioc.state, ioc.cum_qty, ioc.cause) == (State.CANCELED, D("1"), Cause.UNFILLED)
        assert (fok_no.state, fok_no.cum_qty, fok_no.cause) == (State.CANCELED, D(0), Cause.FOK_UNFILLABLE)
        assert fok_yes.state is State.FILLED and market.state is State.FILLED
        assert ioc.avg_price == D("65010") and ioc.fee_asset == "USDT" and ioc.cum_fee > 0
        assert kit.position() == D("1") - D("0.5") + D("0.2")
        assert ("NoneType", fok_no.order_id) in kit.events  # the desk closed it itself, and said so
    run(go())


def test_post_only_refusal_and_close_refused():
    async def go() -> None:
        kit = Kit()
        cross = kit.order(Side.BUY, "1", "65010", Tif.POST_ONLY)
        await kit.desk.place([cross])
        assert cross.state is State.REJECTED and cross.rejection is not None
        assert cross.rejection.code == "post_only_would_cross"
        kit.desk.close_refused(cross, Cause.POST_ONLY_CROSS)
        assert (cross.state, cross.cause, cross.rejection) == (State.CANCELED, Cause.POST_ONLY_CROSS, None)
    run(go())


def test_cancel_reduce_only_and_refused_cancels():
    async def go() -> None:
        kit = Kit()
        resting = kit.order(Side.BUY, "1", "64000", client_id="c1")
        await kit.desk.place([resting])
        assert kit.desk.live_client_id("c1") and kit.desk.find(None, "c1") is resting
        await kit.desk.cancel([resting])
        assert (resting.state, resting.cause) == (State.CANCELED, Cause.USER)
        assert not kit.desk.live_client_id("c1")
        await kit.desk.place([kit.order(Side.BUY, "1", "65010")])  # long 1
        closer = kit.order(Side.SELL, "1", "66000", reduce_only=True)
        await kit.desk.place([closer])
        await kit.desk.place([kit.order(Side.SELL, "1", "64990")])  # flat: nothing left to reduce
        kit.driver.advance(kit.clock.now())
        assert (closer.state, closer.cause) == (State.CANCELED, Cause.REDUCE_ONLY)
        hedge_close = kit.order(Side.SELL, "1", "66000", position_side=PositionSide.LONG)
        assert hedge_close.closing and not kit.order(Side.BUY, "1", "1", position_side=PositionSide.LONG).closing
    run(go())


def test_amend_replaces_the_live_leg_and_keeps_the_order():
    async def go() -> None:
        kit = Kit()
        order = kit.order(Side.BUY, "2", "64000")
        await kit.desk.place([order])
        await kit.desk.amend(order, D("3"), D("64500"))
        assert (order.state, order.qty, order.price, order.amends) == (State.OPEN, D("3"), D("64500"), 1)
        assert [o.client_id for o in kit.exchange.open_orders()] == [order.sim_id] and order.sim_id != order.order_id
        await kit.desk.amend(order, None, D("65020"))  # crosses: takes the whole 3 across two levels
        assert order.state is State.FILLED and order.cum_qty == D("3")
        partial = kit.order(Side.SELL, "3", "64990")  # 1 fills at 64990, 2 rest... then amended to 1
        await kit.desk.place([partial])
        assert partial.state is State.PARTIALLY_FILLED
        await kit.desk.amend(partial, D("1"), None)
        assert partial.state is State.FILLED and kit.exchange.open_orders() == []
    run(go())


def test_closed_orders_are_forgotten_past_the_limit():
    async def go() -> None:
        kit = Kit()
        orders = [kit.order(Side.BUY, "0.001", "65010") for _ in range(5)]
        await kit.desk.place(orders)
        assert all(o.state is State.FILLED for o in orders)
        assert [o.order_id for o in kit.desk.orders()] == [o.order_id for o in orders[2:]]
    run(go())


def test_triggers_fire_on_the_crossing_price_and_close_the_position():
    async def go() -> None:
        kit = Kit()
        triggers = TriggerDesk(kit.desk, kit.exchange, kit.clock, lambda: "child")
        changes: list[TriggerState] = []
        triggers.listen(lambda t: changes.append(t.state))
        await kit.desk.place([kit.order(Side.BUY, "1.5", "65020")])  # long 1.5
        stop = TriggerOrder("a1", "", MARKET, Side.SELL, D("64000"), TriggerOn.MARK, rising=False)
        other = TriggerOrder("a2", "", MARKET, Side.SELL, D("64000"), TriggerOn.LAST, rising=False)
        triggers.add(stop)
        triggers.add(other)
        triggers.on_price(MARKET, TriggerOn.MARK, D("64500"))  # not yet
        assert stop.state is TriggerState.LIVE
        triggers.on_price(MARKET, TriggerOn.MARK, D("63999"))
        assert stop.state is TriggerState.TRIGGERED and other.state is TriggerState.LIVE  # last, not mark
        await asyncio.gather(*triggers._tasks)
        assert stop.child is not None and stop.child.qty == D("1.5") and stop.child.reduce_only
        assert kit.position() == 0
        triggers.on_price(MARKET, TriggerOn.LAST, D("63000"))  # nothing left to close
        assert other.state is TriggerState.FAILED
        assert triggers.cancel([stop, other]) == [] and changes == [TriggerState.LIVE, TriggerState.LIVE,
                                                                   TriggerState.TRIGGERED, TriggerState.FAILED]
    run(go())


def test_the_dead_man_switch_fires_once_at_its_deadline():
    async def go() -> None:
        kit = Kit()
        switch = DeadManSwitch(kit.clock, kit.desk)
        order = kit.order(Side.BUY, "1", "64000")
        await kit.desk.place([order])
        assert switch.arm(10) == START + 10
        switch.on_tick(START + 9.99)
        assert switch.fired == 0
        switch.on_tick(START + 10)
        kit.driver.advance(START + 10)
        assert (switch.fired, order.state, order.cause) == (1, State.CANCELED, Cause.DEAD_MAN)
        switch.arm(5)
        assert switch.arm(0) is None
        switch.on_tick(START + 100)
        assert switch.fired == 1
    run(go())


def test_a_dead_man_switch_of_one_market_leaves_the_others_orders():
    async def go() -> None:
        kit = Kit()
        other_market = DeadManSwitch(kit.clock, kit.desk, market="ETH-USDT")
        this_market = DeadManSwitch(kit.clock, kit.desk, market=MARKET)
        order = kit.order(Side.BUY, "1", "64000")
        await kit.desk.place([order])
        other_market.arm(5)
        other_market.on_tick(START + 5)
        kit.driver.advance(START + 5)
        assert (other_market.fired, order.state) == (1, State.OPEN)
        this_market.arm(5)
        this_market.on_tick(START + 10)
        kit.driver.advance(START + 10)
        assert (order.state, order.cause) == (State.CANCELED, Cause.DEAD_MAN)
    run(go())


def test_a_forgotten_order_is_gone_from_every_lookup():
    async def go() -> None:
        kit = Kit()
        order = kit.order(Side.BUY, "0.001", "65010", client_id="c1")
        await kit.desk.place([order])
        assert kit.desk.find(None, "c1") is order and kit.desk.by_sim[order.sim_id] is order
        kit.desk.forget(order)
        assert kit.desk.find(order.order_id, None) is None and kit.desk.find(None, "c1") is None
        assert order.sim_id not in kit.desk.by_sim and kit.desk.orders() == []
    run(go())


def test_the_ledger_keeps_fills_and_funding_with_the_balance_after():
    async def go() -> None:
        kit = Kit()
        ids = iter(range(100, 200))
        ledger = Ledger(kit.exchange, lambda: str(next(ids)))
        def record(event: Any, order: DeskOrder | None) -> None:
            if isinstance(event, OrderFilled):
                ledger.on_fill(event, order)

        kit.desk.listen(record)
        order = kit.order(Side.BUY, "1", "65010")
        await kit.desk.place([order])
        [bill] = ledger.fills()
        assert bill.bill_id == "100" and bill.order is order and bill.change == -bill.fill.fee  # type: ignore[union-attr]
        assert bill.balance_after == D("10000") + bill.change and not bill.is_funding
    run(go())


def test_sequenced_book_counts_changes_and_shows_skips_as_lost_messages():
    book = OrderBook(MARKET)
    book.apply_snapshot(BookSnapshot(MARKET, ((D("1"), D("1")),), ((D("2"), D("1")),), 1, START, START))
    stream = SequencedBook(5, first_seq=100)
    assert stream.update(book, START) == (100, 101, (((D("1"), D("1")),), ((D("2"), D("1")),)))
    assert stream.update(book, START) is None  # nothing changed
    book.apply_snapshot(BookSnapshot(MARKET, ((D("1"), D("3")),), ((D("2"), D("1")),), 2, START, START))
    assert stream.update(book, START, skip=2)[:2] == (103, 104)


def test_tape_windows_and_settled_funding():
    window = TradeWindow(seconds=10)
    tape = Tape(MARKET, (1,), 0, iter(str(i) for i in range(9)).__next__)
    for ts, price in ((0.0, "10"), (5.0, "12"), (11.0, "11")):
        trade = tape.on_trade(D(price), D("1"), Side.BUY, ts)
        window.add(trade)
    assert (window.open(D(0)), window.high(D(0)), window.low(D(0)), window.volume) == (D("12"), D("12"), D("11"),
                                                                                          D("2"))
    assert tape.last is not None and tape.last.trade_id == "2"
    info = FundingInfo(MARKET, D("1"), D("1"), D("0.0001"), 100.0, 8.0)
    assert tape.on_funding(info) is False
    assert tape.on_funding(FundingInfo(MARKET, D("1"), D("1"), D("0.0002"), 108.0, 8.0)) is True
    assert tape.settled == [(100.0, D("0.0001"))]


@pytest.mark.parametrize("name", ["drop_sockets", "expire_logins"])
def test_faults_not_bound_to_a_server_say_so(name):
    from pmm.connectors.common.server.faults import KitFaults

    with pytest.raises(RuntimeError, match="not bound"):
        getattr(KitFaults(), name)()


def test_an_order_goes_to_the_simulator_by_the_id_the_venue_chose_and_a_registered_one_waits():
    async def go() -> None:
        kit = Kit()
        named = kit.order(Side.BUY, "1", "64000", client_id="link-1", sim_id="link-1")
        plain = kit.order(Side.BUY, "1", "63000")
        await kit.desk.place([named, plain])
        assert sorted(o.client_id for o in kit.exchange.open_orders()) == sorted(["link-1", plain.order_id])
        resting = kit.order(Side.SELL, "1", None, client_id="stop-1")
        kit.desk.register(resting)  # known by its ids before the simulator sees it
        assert kit.desk.find(None, "stop-1") is resting and resting.state is State.PENDING
        assert kit.desk.open_orders() == [named, plain] and len(kit.exchange.open_orders()) == 2
        kit.desk.tell(resting)
        assert kit.events[-1] == ("NoneType", resting.order_id)
    run(go())
