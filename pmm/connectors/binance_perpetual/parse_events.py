"""Binance WebSocket events -> pmm events. Pure functions, no I/O.

Market streams: a diff-depth event with the ids the book sync checks, trades, mark price and
funding. User data stream: ORDER_TRADE_UPDATE becomes OrderAccepted / OrderFilled / OrderCancelled /
OrderRejected; ACCOUNT_UPDATE becomes wallet balances (without the available balance, which the
gateway re-reads) and PositionUpdated events. Primitives and REST answers: `parse.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.parse import (
    margin_mode_of,
    ms_to_s,
    order_type_of,
    position_side_of,
    positions_for_row,
    side_of,
    status_of,
)
from pmm.connectors.common.payloads import MarketOf, Payload, UnmappedValue, book_levels, dec
from pmm.core.events import (
    BalanceUpdated,
    BookDelta,
    Event,
    FundingInfoUpdated,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    PositionUpdated,
    Trade,
)
from pmm.core.model import (
    ZERO,
    Balance,
    ClientOrderId,
    ExchangeOrderId,
    FundingInfo,
    Liquidity,
    MarginMode,
    OrderStatus,
    Position,
    PositionSide,
    Side,
    TradeId,
)


# --- market streams -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    """A diff-depth event with the sequence numbers the book sync checks."""

    first_id: int  # U
    final_id: int  # u
    prev_final_id: int  # pu
    delta: BookDelta


def parse_depth_update(payload: Payload, market: str, recv_ts: float) -> DepthUpdate:
    first_id, final_id, prev_final_id = int(payload["U"]), int(payload["u"]), int(payload["pu"])
    if not prev_final_id < first_id <= final_id:  # an event covers U..u, after the previous event's u
        raise ValueError(f"inconsistent depth update ids U={first_id} u={final_id} pu={prev_final_id}")
    ts = ms_to_s(payload.get("T") or payload["E"])
    delta = BookDelta(market, book_levels(payload.get("b", ())), book_levels(payload.get("a", ())), final_id, ts,
                      recv_ts)
    return DepthUpdate(first_id, final_id, prev_final_id, delta)


def parse_trade(payload: Payload, market: str, recv_ts: float) -> Trade:
    """`aggTrade` (id `a`) or `trade` (id `t`). `m`: the buyer was the maker, so the seller took."""
    trade_id = payload["a"] if payload.get("e") == c.EVENT_AGG_TRADE else payload["t"]
    aggressor = Side.SELL if payload["m"] else Side.BUY
    return Trade(market, TradeId(str(trade_id)), dec(payload["p"]), dec(payload["q"]), aggressor,
                 ms_to_s(payload["T"]), recv_ts)


def parse_mark_price(payload: Payload, market: str, recv_ts: float) -> FundingInfoUpdated:
    """`markPriceUpdate`: p mark, i index, r funding rate, T next funding time (ms)."""
    info = FundingInfo(market, dec(payload["p"]), dec(payload["i"]), dec(payload["r"]), ms_to_s(payload["T"]),
                       c.DEFAULT_FUNDING_INTERVAL_S)
    return FundingInfoUpdated(info, ms_to_s(payload["E"]), recv_ts)



# --- user data stream -----------------------------------------------------------------------------


def parse_order_trade_update(payload: Payload, market_of: MarketOf, recv_ts: float) -> list[Event]:
    """ORDER_TRADE_UPDATE -> OrderAccepted / OrderFilled / OrderCancelled / OrderRejected.

    A post-only (GTX) order that would have crossed is accepted and then EXPIRED by Binance with
    nothing filled: that is a rejection (code -5022), not a cancel.
    """
    o = payload["o"]
    client_id, exchange_id = ClientOrderId(str(o["c"])), ExchangeOrderId(str(o["i"]))
    market = market_of(o["s"])
    side = side_of(o["S"])
    status = status_of(o["X"])
    execution = o["x"]
    ts = ms_to_s(payload.get("E") or o["T"])
    match execution:
        case c.EXEC_NEW:
            return [OrderAccepted(client_id, exchange_id, market, ts, recv_ts)]
        case c.EXEC_TRADE | c.EXEC_CALCULATED:
            amount = dec(o["l"])
            commission = dec(o.get("n") or "0")
            return [OrderFilled(
                client_id=client_id, exchange_id=exchange_id, trade_id=TradeId(str(o["t"])), market=market,
                side=side, order_type=order_type_of(o["o"], o.get("f", "")), price=dec(o["L"]), amount=amount,
                remaining=dec(o["q"]) - dec(o["z"]), fee=commission,
                fee_asset=str(o.get("N") or market.split("-")[-1]),
                liquidity=Liquidity.MAKER if o.get("m") else Liquidity.TAKER,
                position_side=position_side_of(o.get("ps", c.POSITION_SIDE_BOTH)),
                realized_pnl=dec(o.get("rp") or "0"), ts=ms_to_s(o["T"]), recv_ts=recv_ts)]
        case c.EXEC_CANCELED:
            return [OrderCancelled(client_id, exchange_id, market, ts, recv_ts)]
        case c.EXEC_EXPIRED:
            if o.get("f") == c.TIF_GTX and status is OrderStatus.CANCELLED and dec(o["z"]) == 0:
                return [OrderRejected(client_id, market, "post-only order would have crossed the book",
                                      str(int(c.ErrorCode.GTX_ORDER_REJECT)), ts, recv_ts)]
            return [OrderCancelled(client_id, exchange_id, market, ts, recv_ts)]
        case c.EXEC_AMENDMENT:
            return []  # pmm never amends orders; nothing to track
    raise UnmappedValue(f"unknown Binance execution type {execution!r} for order {client_id}")


@dataclass(frozen=True, slots=True)
class WalletBalance:
    """One `B` row of ACCOUNT_UPDATE: wallet balance, cross wallet balance, change (excl. PnL/fees)."""

    asset: str
    wallet: Decimal
    cross_wallet: Decimal
    change: Decimal


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    reason: str  # `m`: ORDER, FUNDING_FEE, DEPOSIT, ...
    balances: tuple[WalletBalance, ...]
    positions: tuple[PositionUpdated, ...]
    ts: float

    @property
    def is_funding_fee(self) -> bool:
        return self.reason == c.ACCOUNT_UPDATE_REASON_FUNDING_FEE


def parse_account_update(payload: Payload, market_of: MarketOf, recv_ts: float,
                         leverage_of: Callable[[str], int]) -> AccountUpdate:
    """ACCOUNT_UPDATE -> wallet balances and PositionUpdated events (FUNDING_FEE carries no P for cross)."""
    a = payload["a"]
    ts = ms_to_s(payload.get("T") or payload["E"])
    balances = tuple(WalletBalance(str(b["a"]), dec(b["wb"]), dec(b.get("cw") or b["wb"]), dec(b.get("bc") or "0"))
                     for b in a.get("B", ()))
    updates: list[PositionUpdated] = []
    for p in a.get("P", ()):
        market = market_of(p["s"])
        mode = margin_mode_of(p.get("mt"))

        def build(side: PositionSide, amount: Decimal, p: Payload = p, market: str = market,
                  mode: MarginMode = mode) -> Position:
            return Position(market, side, amount, dec(p["ep"]), leverage_of(market), mode,
                            unrealized_pnl=dec(p.get("up") or "0"),
                            margin=dec(p.get("iw") or "0") if mode is MarginMode.ISOLATED else ZERO)

        for side, position in positions_for_row(market, position_side_of(p["ps"]), dec(p["pa"]), build):
            updates.append(PositionUpdated(market, side, position, ts, recv_ts))
    return AccountUpdate(a.get("m", ""), balances, tuple(updates), ts)


def balance_from_wallet(wallet: WalletBalance, previous: Balance | None) -> Balance:
    """A Balance from an ACCOUNT_UPDATE row, which lacks the available balance.

    The wallet's change is applied to the last known available balance (the gateway trues it up
    from the account endpoint right after); with no history, the cross wallet balance stands in.
    """
    if previous is None:
        return Balance(wallet.asset, wallet.wallet, wallet.cross_wallet)
    available = previous.available + (wallet.wallet - previous.total)
    return Balance(wallet.asset, wallet.wallet, max(ZERO, available), previous.margin_in_use,
                   previous.unrealized_pnl)


def parse_balance_events(update: AccountUpdate, previous: Mapping[str, Balance],
                         recv_ts: float) -> list[BalanceUpdated]:
    return [BalanceUpdated(balance_from_wallet(w, previous.get(w.asset)), update.ts, recv_ts)
            for w in update.balances]
