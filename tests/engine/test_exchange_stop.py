"""`ExchangeStop` against a fake of the `ConditionalOrders` contract: a stop rests while a position
is open, at the stop-loss trigger from the entry, is replaced (new one first) when the size or the
entry changes, is cancelled when flat, replaces the stops an earlier run left, survives a clean
stop with a position open, and is tried again after the venue refuses it. Plus the composition
root's refusal of a connector without conditional orders."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from helpers import db_url, run_fast, write_config

from pmm.core.clock import VirtualClock
from pmm.core.model import (
    ClientOrderId,
    ExchangeOrderId,
    MarginMode,
    Position,
    PositionSide,
    Side,
    TradingRules,
)
from pmm.engine.exchange_stop import RETRY_S, ExchangeStop, is_stop_client_id
from pmm.errors import ConfigError, OrderError, UnknownOrder

D = Decimal
MARKET = "BTC-USDT"
RULES = TradingRules(MARKET, "BTC", "USDT", D("0.5"), D("0.001"), D("0.001"), D("5"), 50)


class FakeStops:
    """The venue's resting stops, by client id: (side, amount, trigger, position side)."""

    def __init__(self) -> None:
        self.resting: dict[str, tuple[Side, Decimal, Decimal, PositionSide]] = {}
        self.calls: list[tuple[str, str]] = []
        self.refuse: str | None = None

    async def place_stop_order(self, market: str, client_id: ClientOrderId, side: Side, amount: Decimal,
                               trigger_price: Decimal, *, trigger_on_mark: bool = True,
                               limit_price: Decimal | None = None,
                               position_side: PositionSide = PositionSide.BOTH) -> ExchangeOrderId:
        assert market == MARKET and trigger_on_mark and limit_price is None
        self.calls.append(("place", client_id))
        if self.refuse:
            raise OrderError(self.refuse)
        assert client_id not in self.resting
        self.resting[client_id] = (side, amount, trigger_price, position_side)
        return ExchangeOrderId(f"x-{client_id}")

    async def cancel_stop_order(self, market: str, client_id: ClientOrderId) -> None:
        self.calls.append(("cancel", client_id))
        if self.resting.pop(client_id, None) is None:
            raise UnknownOrder(f"{client_id} is not resting")

    async def resting_stop_orders(self, market: str) -> list[ClientOrderId]:
        return [ClientOrderId(c) for c in self.resting]


def position(side: PositionSide, amount: str, entry: str) -> Position:
    return Position(MARKET, side, D(amount), D(entry), 10, MarginMode.CROSS)


class Harness:
    def __init__(self, hedge: bool = False, spread: str = "0.02") -> None:
        self.venue = FakeStops()
        self.positions: list[Position] = []
        self.clock = VirtualClock(1000.0)
        self.tasks: list[asyncio.Task[None]] = []
        self.stop = ExchangeStop(self.venue, market=MARKET, rules=RULES, stop_loss_spread=D(spread), hedge=hedge,
                                 positions=lambda: tuple(self.positions), clock=self.clock,
                                 spawn=lambda coro: self.tasks.append(asyncio.get_running_loop().create_task(coro)),
                                 run_id="abcdef0123456789")

    async def changed(self, *positions: Position) -> None:
        self.positions = list(positions)
        self.stop.on_position_changed()
        while self.tasks:
            await self.tasks.pop(0)

    def resting(self) -> list[tuple[Side, Decimal, Decimal, PositionSide]]:
        return sorted(self.venue.resting.values())


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_a_long_gets_a_sell_stop_at_entry_minus_the_spread_on_the_mark_and_flat_cancels_it() -> None:
    async def main() -> None:
        h = Harness()
        await h.stop.at_start()
        assert h.venue.resting == {}  # flat: nothing to rest
        await h.changed(position(PositionSide.LONG, "0.02", "65000"))
        # 65000 * 0.98 = 63700 (on the 0.5 tick already)
        assert h.resting() == [(Side.SELL, D("0.02"), D("63700"), PositionSide.BOTH)]
        (client_id,) = h.venue.resting
        assert is_stop_client_id(client_id) and client_id.startswith("pmm-stop-abcdef01-")
        await h.changed()  # flat
        assert h.venue.resting == {} and h.venue.calls[-1] == ("cancel", client_id)

    run(main())


def test_a_short_stop_is_a_buy_above_the_entry_rounded_away_from_it() -> None:
    async def main() -> None:
        h = Harness(spread="0.013")
        await h.changed(position(PositionSide.SHORT, "0.5", "64999.9"))
        # 64999.9 * 1.013 = 65844.8987 -> up to the tick: 65845.0 (a short's trigger never moves toward the entry)
        assert h.resting() == [(Side.BUY, D("0.5"), D("65845.0"), PositionSide.BOTH)]

    run(main())


def test_the_stop_is_replaced_new_one_first_when_size_or_entry_changes_and_kept_when_neither_does() -> None:
    async def main() -> None:
        h = Harness()
        await h.changed(position(PositionSide.LONG, "0.02", "65000"))
        (first,) = h.venue.resting
        calls = len(h.venue.calls)
        await h.changed(position(PositionSide.LONG, "0.02", "65000"))  # e.g. a mark update: same stop
        assert list(h.venue.resting) == [first] and len(h.venue.calls) == calls

        await h.changed(position(PositionSide.LONG, "0.03", "65000"))  # size grew
        (second,) = h.venue.resting
        assert second != first and h.resting() == [(Side.SELL, D("0.03"), D("63700"), PositionSide.BOTH)]
        assert h.venue.calls[-2:] == [("place", second), ("cancel", first)]  # never without a stop

        await h.changed(position(PositionSide.LONG, "0.03", "66000"))  # entry moved
        (third,) = h.venue.resting
        assert third != second and h.resting() == [(Side.SELL, D("0.03"), D("64680"), PositionSide.BOTH)]

    run(main())


def test_hedge_mode_keeps_one_stop_per_position_side() -> None:
    async def main() -> None:
        h = Harness(hedge=True)
        await h.changed(position(PositionSide.LONG, "0.02", "65000"), position(PositionSide.SHORT, "0.01", "64000"))
        assert h.resting() == [(Side.BUY, D("0.01"), D("65280"), PositionSide.SHORT),
                               (Side.SELL, D("0.02"), D("63700"), PositionSide.LONG)]
        await h.changed(position(PositionSide.SHORT, "0.01", "64000"))  # the long closed
        assert h.resting() == [(Side.BUY, D("0.01"), D("65280"), PositionSide.SHORT)]

    run(main())


def test_stops_an_earlier_run_left_are_replaced_not_duplicated_and_others_are_left_alone() -> None:
    async def main() -> None:
        h = Harness()
        h.venue.resting["pmm-stop-01234567-4"] = (Side.SELL, D("0.02"), D("63000"), PositionSide.BOTH)
        h.venue.resting["users-own-stop"] = (Side.SELL, D("1"), D("50000"), PositionSide.BOTH)
        h.positions = [position(PositionSide.LONG, "0.02", "65000")]
        await h.stop.at_start()
        ours = [c for c in h.venue.resting if is_stop_client_id(c)]
        assert len(ours) == 1 and ours[0].startswith("pmm-stop-abcdef01-")
        assert h.venue.resting[ours[0]] == (Side.SELL, D("0.02"), D("63700"), PositionSide.BOTH)
        assert "users-own-stop" in h.venue.resting
        assert [c for c, _ in h.venue.calls] == ["place", "cancel"]  # the new one first

    run(main())


def test_a_clean_stop_keeps_the_stop_of_an_open_position_and_cancels_it_when_flat(caplog) -> None:
    async def main() -> None:
        h = Harness()
        await h.changed(position(PositionSide.LONG, "0.02", "65000"))
        await h.stop.at_stop()
        assert len(h.venue.resting) == 1
        assert "stays resting at the venue after the bot stops" in caplog.text

        flat = Harness()
        await flat.changed(position(PositionSide.LONG, "0.02", "65000"))
        flat.positions = []  # closed (e.g. flattened at the stop) before the stop event reached the engine
        await flat.stop.at_stop()
        assert flat.venue.resting == {}

    run(main())


def test_a_refused_stop_is_reported_once_and_tried_again_later(caplog) -> None:
    async def main() -> None:
        h = Harness()
        h.venue.refuse = "trigger already crossed by the mark"
        await h.changed(position(PositionSide.LONG, "0.02", "65000"))
        await h.changed(position(PositionSide.LONG, "0.02", "65000"))
        assert h.venue.resting == {} and caplog.text.count("could not rest the exchange-side stop") == 1
        h.venue.refuse = None
        h.stop.on_timer(h.clock.now() + 1)  # not yet due
        assert not h.tasks
        h.clock.advance_to(h.clock.now() + RETRY_S)
        h.stop.on_timer(h.clock.now())
        while h.tasks:
            await h.tasks.pop(0)
        assert h.resting() == [(Side.SELL, D("0.02"), D("63700"), PositionSide.BOTH)]

    run(main())


def test_changes_during_a_sync_run_it_again_instead_of_a_second_one_at_once() -> None:
    async def main() -> None:
        h = Harness()
        h.positions = [position(PositionSide.LONG, "0.02", "65000")]
        h.stop.on_position_changed()
        h.positions = [position(PositionSide.LONG, "0.04", "65000")]
        h.stop.on_position_changed()  # while the first is still to run
        assert len(h.tasks) == 1
        while h.tasks:
            await h.tasks.pop(0)
        assert h.resting() == [(Side.SELL, D("0.04"), D("63700"), PositionSide.BOTH)]

    run(main())


def test_a_connector_without_conditional_orders_is_refused_at_start(tmp_path) -> None:
    cfg = write_config(tmp_path, exchange_stop_loss="true", stop_loss_spread="2")
    with pytest.raises(ConfigError, match="cannot rest a stop at the venue") as err:
        run_fast(cfg, db_url(tmp_path), 5.0)
    assert err.value.exit_code == 2 and "`exchange_stop_loss`" in str(err.value)


def test_status_shows_each_stop_resting_or_refused() -> None:
    from rich.console import Console

    from pmm.ui.status_view import render_status

    def shown(rows: list[dict[str, Any]]) -> str:
        console = Console(width=200, record=True)
        console.print(render_status({"quoting": True, "reason": "", "exchange_stops": rows, "ts": 0}))
        return console.export_text()

    async def main() -> None:
        h = Harness()
        assert h.stop.report() == []  # flat: no stop to show
        h.venue.refuse = "trigger already crossed by the mark"
        await h.changed(position(PositionSide.LONG, "0.02", "65000"))
        [refused] = h.stop.report()
        assert (refused["side"], D(refused["trigger_price"]), refused["state"]) == ("sell", D("63700"),
                                                                                  "refused, retrying")
        h.venue.refuse = None
        await h.changed(position(PositionSide.SHORT, "0.01", "65000"))
        [resting] = h.stop.report()
        assert resting["state"] == "resting" and resting["client_id"] in h.venue.resting
        assert (resting["side"], D(resting["amount"]), D(resting["trigger_price"])) == ("buy", D("0.01"), D("66300"))
        text = shown([resting])
        assert "Exchange-side stop (short position): buy 0.01 at market when the mark rises to 66" in text, text
        assert "resting" in text

    run(main())
