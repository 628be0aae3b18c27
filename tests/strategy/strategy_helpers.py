"""Builders for strategy tests: params, rules, books, views, live orders, positions, fills."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from pmm.core.book import OrderBook
from pmm.core.events import BookSnapshot, OrderFilled
from pmm.core.model import (
    ClientOrderId,
    ExchangeOrderId,
    Liquidity,
    MarginMode,
    OrderPurpose,
    OrderType,
    Position,
    PositionAction,
    PositionMode,
    PositionSide,
    Side,
    TradeId,
    TradingRules,
)
from pmm.strategy import Decision, LiveOrder, PerpetualMarketMaking, PmmParams, StrategyView

D = Decimal
MARKET = "BTC-USDT"
T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z

RULES = TradingRules(
    market=MARKET,
    base="BTC",
    quote="USDT",
    tick_size=D("0.01"),
    step_size=D("0.001"),
    min_size=D("0.001"),
    min_notional=D("0"),
    max_leverage=50,
)


def params(**overrides: Any) -> PmmParams:
    """Defaults: 1 level, 1% spreads, amount 1, refresh 30 s, tolerance -1 (always refresh)."""
    base: dict[str, Any] = dict(
        market=MARKET,
        leverage=10,
        position_mode=PositionMode.ONEWAY,
        margin_mode=MarginMode.CROSS,
        bid_spread=D("0.01"),
        ask_spread=D("0.01"),
        order_amount=D("1"),
        order_refresh_time=30.0,
        order_refresh_tolerance_pct=D("-1"),
    )
    base.update(overrides)
    return PmmParams(**base)


def strategy(rules: TradingRules = RULES, **overrides: Any) -> PerpetualMarketMaking:
    return PerpetualMarketMaking(params(**overrides), rules)


def book(
    bids: list[tuple[str, str]] | None = None,
    asks: list[tuple[str, str]] | None = None,
    last_trade: str | None = None,
    market: str = MARKET,
) -> OrderBook:
    """An OrderBook from a BookSnapshot. Default: 99.5 x 100.5, 10 each."""
    bids = [("99.5", "10")] if bids is None else bids
    asks = [("100.5", "10")] if asks is None else asks
    ob = OrderBook(market)
    ob.apply_snapshot(
        BookSnapshot(
            market=market,
            bids=tuple((D(p), D(s)) for p, s in bids),
            asks=tuple((D(p), D(s)) for p, s in asks),
            update_id=1,
            ts=T0,
            recv_ts=T0,
        )
    )
    if last_trade is not None:
        ob.last_trade_price = D(last_trade)
    return ob


def view(
    now: float = T0,
    ob: OrderBook | None = None,
    orders: tuple[LiveOrder, ...] | list[LiveOrder] = (),
    positions: tuple[Position, ...] | list[Position] = (),
    margin: str = "1000000",
    fee: str = "0",
    ready: bool = True,
    **kw: Any,
) -> StrategyView:
    return StrategyView(
        now=now,
        book=ob if ob is not None else book(),
        book_ready=ready,
        orders=tuple(orders),
        positions=tuple(positions),
        available_margin=D(margin),
        maker_fee=D(fee),
        **kw,
    )


def live(
    cid: str,
    side: Side,
    price: str,
    amount: str = "1",
    *,
    purpose: OrderPurpose = OrderPurpose.QUOTE,
    filled: str = "0",
    created_ts: float = T0,
    cancel_pending: bool = False,
    level: int = 0,
) -> LiveOrder:
    action = PositionAction.OPEN if purpose is OrderPurpose.QUOTE else PositionAction.CLOSE
    return LiveOrder(
        client_id=ClientOrderId(cid),
        side=side,
        price=D(price),
        amount=D(amount),
        filled=D(filled),
        purpose=purpose,
        level=level,
        position_action=action,
        created_ts=created_ts,
        cancel_pending=cancel_pending,
    )


def pending(decision: Decision, now: float, prefix: str = "o") -> list[LiveOrder]:
    """The decision's places as the engine would show them: PENDING_NEW live orders."""
    return [
        LiveOrder(
            client_id=ClientOrderId(f"{prefix}{i}"),
            side=intent.side,
            price=intent.price,
            amount=intent.amount,
            filled=D(0),
            purpose=intent.purpose,
            level=intent.level,
            position_action=intent.position_action,
            created_ts=now,
        )
        for i, intent in enumerate(decision.places)
    ]


def mark_cancel_pending(orders: list[LiveOrder], decision: Decision) -> list[LiveOrder]:
    """The engine marks the orders it is cancelling."""
    ids = {c.client_id for c in decision.cancels}
    return [replace(o, cancel_pending=True) if o.client_id in ids else o for o in orders]


def position(side: PositionSide, amount: str, entry: str) -> Position:
    return Position(
        market=MARKET,
        side=side,
        amount=D(amount),
        entry_price=D(entry),
        leverage=10,
        margin_mode=MarginMode.CROSS,
    )


def fill(cid: str, side: Side, price: str, amount: str, remaining: str = "0", ts: float = T0) -> OrderFilled:
    return OrderFilled(
        client_id=ClientOrderId(cid),
        exchange_id=ExchangeOrderId("x" + cid),
        trade_id=TradeId("t" + cid),
        market=MARKET,
        side=side,
        order_type=OrderType.LIMIT_MAKER,
        price=D(price),
        amount=D(amount),
        remaining=D(remaining),
        fee=D("0"),
        fee_asset="USDT",
        liquidity=Liquidity.MAKER,
        position_side=PositionSide.BOTH,
        realized_pnl=D("0"),
        ts=ts,
        recv_ts=ts,
    )


def prices(decision: Decision, side: Side) -> list[Decimal]:
    return [o.price for o in decision.places if o.side is side]


def cancelled(decision: Decision) -> set[str]:
    return {c.client_id for c in decision.cancels}
