"""The server conformance round trip (DESIGN.md §5): an independent client of a venue (its official
SDK, ccxt) trades a whole session against the venue's loopback server, and every answer it gets is
checked against the simulated exchange behind the server.

A venue plugs in with `tests/connectors/<venue>/conformance_clients.py`, defining
`CLIENTS: dict[str, Callable[[ServerThread], RoundTripClient]]`: one adapter per client library,
pointing the library at the server (reference/exchange_apis.md §D2, exchange_apis_more.md §L1) and
translating its answers into the views below. Venue specifics stay in the adapters; the steps and
what they must show are here, the same for every venue and client:

    load markets                    tick, step and minimum size are the venue's
    book stream                     the client's book equals the venue's book
    trades stream                   every streamed trade is one the venue printed
    set leverage                    the venue now trades at that leverage
    post-only bid                   rests at the venue, seen on the private stream, listed as open
    cancel                          gone at the venue, seen on the private stream
    market buy                      its fills, the new position and the wallet on the private stream
    positions                       the position the venue holds, size and entry
    funding rate                    the venue's current rate
    funding history                 the venue's funding payments to the account
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, TypeVar

from conformance_runtime import Level, Venue, bounded, wait_until

from pmm.core.model import OrderStatus, PositionSide, Side
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket

T = TypeVar("T")
BOOK_DEPTH = 5
LEVERAGE = 7  # not a venue default, so a client that does not send it fails
AMOUNT = Decimal("0.01")
FUNDING_RATE = Decimal("0.00012345")  # constant (no funding noise), and no venue's default value


def conformance_market() -> SimSettings:
    """A BTC-USDT market that moves (book redrawn every 0.4 s, a few trades a second) with a constant
    funding rate, settled every 2 s so a funding payment arrives within the round trip."""
    synthetic = SyntheticMarket(start_price=Decimal("65000"), volatility=Decimal("0.002"), book_interval_s=0.4,
                                depth_levels=20, trade_rate_per_min=240.0, trade_size=Decimal("0.005"),
                                funding_rate_mean=FUNDING_RATE, funding_rate_volatility=Decimal("0"))
    return SimSettings(markets=(SimMarketSettings("BTC-USDT", synthetic),), funding_interval_s=2.0, seed=11)


@dataclass(frozen=True)
class MarketView:
    tick_size: Decimal
    step_size: Decimal
    min_size: Decimal


@dataclass(frozen=True)
class OrderView:
    order_id: str
    client_id: str | None  # None when the library's answer does not carry it
    side: Side
    price: Decimal | None  # the limit price; a market order's is not compared
    amount: Decimal
    status: OrderStatus


@dataclass(frozen=True)
class FillView:
    order_id: str
    side: Side
    price: Decimal
    amount: Decimal


@dataclass(frozen=True)
class PositionView:
    side: PositionSide
    amount: Decimal
    entry_price: Decimal


@dataclass(frozen=True)
class TradeView:
    price: Decimal
    amount: Decimal
    aggressor: Side


@dataclass(frozen=True)
class FundingPaymentView:
    funding_time_ms: int
    amount: Decimal  # signed: positive = received


class RoundTripClient(Protocol):
    """One client library pointed at one venue server. Calls block until the library answers;
    `streamed_*` return what the library's streams delivered so far (oldest first)."""

    def load_markets(self) -> MarketView: ...
    def watch(self) -> None: ...  # subscribe: book, public trades, orders, fills, positions, balance
    def streamed_book(self, depth: int) -> tuple[list[Level], list[Level]] | None: ...
    def streamed_trades(self) -> list[TradeView]: ...
    def streamed_orders(self) -> list[OrderView]: ...
    def streamed_fills(self) -> list[FillView]: ...
    def streamed_positions(self) -> list[PositionView]: ...
    def streamed_balance(self) -> Decimal | None: ...  # the quote asset's wallet balance
    def set_leverage(self, leverage: int) -> int: ...  # the leverage the venue confirmed
    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView: ...
    def open_orders(self) -> list[OrderView]: ...
    def cancel(self, order_id: str) -> str: ...  # the id the venue confirmed cancelled
    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView: ...
    def positions(self) -> list[PositionView]: ...
    def funding_rate(self) -> Decimal: ...
    def funding_payments(self) -> list[FundingPaymentView]: ...
    def close(self) -> None: ...


class Streamed:
    """The `streamed_*` half of a `RoundTripClient`: adapters append what their library's streams
    deliver (from the library's threads or tasks) and record a stream's failure in `failure`."""

    def __init__(self) -> None:
        self.seen_book: tuple[list[Level], list[Level]] | None = None
        self.seen_trades: list[TradeView] = []
        self.seen_orders: list[OrderView] = []
        self.seen_fills: list[FillView] = []
        self.seen_positions: list[PositionView] = []
        self.seen_balance: Decimal | None = None  # the quote asset's wallet balance, last pushed
        self.failure: BaseException | None = None

    def _checked(self, value: T) -> T:
        if self.failure is not None:
            raise AssertionError(f"a stream of the client failed: {self.failure!r}")
        return value

    def streamed_book(self, depth: int) -> tuple[list[Level], list[Level]] | None:
        book = self._checked(self.seen_book)
        return None if book is None else (book[0][:depth], book[1][:depth])

    def streamed_trades(self) -> list[TradeView]:
        return self._checked(list(self.seen_trades))

    def streamed_orders(self) -> list[OrderView]:
        return self._checked(list(self.seen_orders))

    def streamed_fills(self) -> list[FillView]:
        return self._checked(list(self.seen_fills))

    def streamed_positions(self) -> list[PositionView]:
        return self._checked(list(self.seen_positions))

    def streamed_balance(self) -> Decimal | None:
        return self._checked(self.seen_balance)


def _client_id() -> str:
    return "pmmcf" + uuid.uuid4().hex[:12]


def round_trip(client: RoundTripClient, venue: Venue) -> None:
    """The session above; each step asserts what the client returned against the venue."""
    rules = venue.rules()
    market = bounded("load markets", client.load_markets)
    assert market == MarketView(rules.tick_size, rules.step_size, rules.min_size)

    bounded("subscribe to the book, trades, orders, fills, positions and wallet", client.watch)
    wait_until("the streamed book equals the venue's book",
               lambda: (client.streamed_book(BOOK_DEPTH), venue.book(BOOK_DEPTH)), lambda pair: pair[0] == pair[1])
    streamed = wait_until("a public trade on the trades stream", client.streamed_trades, bool)
    printed = {(t.price, t.amount, t.aggressor) for t in venue.trades()}
    assert {(t.price, t.amount, t.aggressor) for t in streamed} <= printed

    assert bounded("set leverage", lambda: client.set_leverage(LEVERAGE)) == LEVERAGE
    assert venue.leverage() == LEVERAGE

    _post_only_and_cancel(client, venue)
    _market_buy_and_position(client, venue)

    assert bounded("funding rate", client.funding_rate) == venue.funding_rate() == FUNDING_RATE
    wait_until("a funding payment to the account at the venue", venue.funding_payments, bool)
    before = {(p.funding_time_ms, p.amount) for p in venue.funding_payments()}
    got = bounded("funding history", client.funding_payments)
    after = {(p.funding_time_ms, p.amount) for p in venue.funding_payments()}
    assert len(got) == len(set(got)), f"duplicate funding payments: {got}"
    assert before <= {(p.funding_time_ms, p.amount) for p in got} <= after


def _post_only_and_cancel(client: RoundTripClient, venue: Venue) -> None:
    rules = venue.rules()
    best_bid = venue.book(1)[0][0][0]
    price = rules.floor_price(best_bid * Decimal("0.98"))  # far from the market: stays unfilled
    client_id = _client_id()
    order = bounded("place a post-only bid", lambda: client.place_post_only(Side.BUY, price, AMOUNT, client_id))
    assert order.order_id and order == OrderView(order.order_id, client_id, Side.BUY, price, AMOUNT, OrderStatus.OPEN)
    assert [(o.side, o.price, o.amount, o.order_type.value) for o in venue.open_orders()] == [
        (Side.BUY, price, AMOUNT, "limit_maker")]
    wait_until("the new order on the private stream", client.streamed_orders,
               lambda seen: OrderView(order.order_id, client_id, Side.BUY, price, AMOUNT, OrderStatus.OPEN) in seen)
    assert [o.order_id for o in bounded("open orders", client.open_orders)] == [order.order_id]

    assert bounded("cancel the bid", lambda: client.cancel(order.order_id)) == order.order_id
    assert venue.open_orders() == []
    wait_until("the cancel on the private stream", client.streamed_orders,
               lambda seen: any(o.order_id == order.order_id and o.status is OrderStatus.CANCELLED for o in seen))
    assert bounded("open orders after the cancel", client.open_orders) == []


def _market_buy_and_position(client: RoundTripClient, venue: Venue) -> None:
    client_id = _client_id()
    order = bounded("place a market buy", lambda: client.place_market(Side.BUY, AMOUNT, client_id))
    assert order.order_id and (order.client_id, order.side, order.amount, order.status) == (
        client_id, Side.BUY, AMOUNT, OrderStatus.FILLED)
    fills = venue.fills()
    assert fills and sum(f.amount for f in fills) == AMOUNT and {f.side for f in fills} == {Side.BUY}
    streamed = wait_until("the fills on the private stream",
                          lambda: [f for f in client.streamed_fills() if f.order_id == order.order_id],
                          lambda mine: sum(f.amount for f in mine) == AMOUNT)
    assert sorted((f.side, f.price, f.amount) for f in streamed) == sorted((f.side, f.price, f.amount) for f in fills)

    [held] = venue.positions()
    position = PositionView(PositionSide.LONG, AMOUNT, held.entry_price)
    assert (held.side, held.amount) == (PositionSide.LONG, AMOUNT)
    wait_until("the position update on the private stream", client.streamed_positions, lambda seen: position in seen)
    assert bounded("positions", client.positions) == [position]
    # Funding moves the wallet every 2 s: the streamed balance must catch up with the venue's.
    wait_until("the wallet balance on the private stream equals the venue's",
               lambda: (client.streamed_balance(), venue.wallet_balance()), lambda pair: pair[0] == pair[1])
