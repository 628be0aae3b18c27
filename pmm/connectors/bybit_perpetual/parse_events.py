"""Bybit v5 WebSocket messages -> pmm events. Pure functions, no I/O.

Public topics: `orderbook.{depth}.{symbol}` frames with the sequence numbers the book sync checks,
ticker snapshots and deltas merged into one state, public trades. Private topics: one `order` row
-> OrderAccepted / OrderCancelled / OrderRejected, one `execution` row -> OrderFilled, one
`position` row -> PositionUpdated per side, a `wallet` message -> BalanceUpdated. Primitives, REST
answers and the rows both share: `parse.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.errors import REJECT_REASONS
from pmm.connectors.bybit_perpetual.parse import (
    client_id_of,
    dec_or_zero,
    fee_asset_of,
    is_trade_execution,
    ms_to_s,
    order_type_of,
    parse_wallet_balances,
    positions_of_row,
    side_of,
    status_of,
)
from pmm.connectors.common.payloads import MarketOf, Payload, UnmappedValue, book_levels, dec
from pmm.core.events import (
    BalanceUpdated,
    BookDelta,
    BookSnapshot,
    Event,
    Level,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    PositionUpdated,
    Trade,
)
from pmm.core.model import ExchangeOrderId, Liquidity, MarginMode, OrderStatus, OrderType, PositionSide, TradeId

log = logging.getLogger("pmm.bybit.parse")

# --- public topics --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrderbookFrame:
    """One `orderbook.{depth}.{symbol}` message with the sequence numbers the book sync checks."""

    market: str
    is_snapshot: bool  # a `snapshot`, or a message with u == 1 (the service restarted)
    update_id: int  # u
    seq: int  # cross sequence
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    ts: float
    recv_ts: float

    def snapshot(self) -> BookSnapshot:
        return BookSnapshot(self.market, self.bids, self.asks, self.update_id, self.ts, self.recv_ts)

    def delta(self) -> BookDelta:
        return BookDelta(self.market, self.bids, self.asks, self.update_id, self.ts, self.recv_ts)


def parse_orderbook(message: Payload, market: str, recv_ts: float) -> OrderbookFrame:
    data = message["data"]
    update_id = int(data["u"])
    kind = message.get("type")
    if kind not in (c.TYPE_SNAPSHOT, c.TYPE_DELTA):
        raise UnmappedValue(f"unknown Bybit orderbook message type {kind!r}")
    is_snapshot = kind == c.TYPE_SNAPSHOT or update_id == c.ORDERBOOK_RESTART_UPDATE_ID
    ts = ms_to_s(message.get("ts") or message.get("cts") or 0) or recv_ts
    return OrderbookFrame(market, is_snapshot, update_id, int(data.get("seq") or 0), book_levels(data.get("b", ())),
                          book_levels(data.get("a", ())), ts, recv_ts)


def merge_ticker(previous: Mapping[str, Any] | None, message: Payload) -> dict[str, Any]:
    """The ticker state after `message`: a snapshot replaces it, a delta changes only what it names."""
    data = dict(message.get("data") or {})
    if message.get("type") == c.TYPE_DELTA and previous is not None:
        merged = dict(previous)
        merged.update({k: v for k, v in data.items() if v is not None})
        return merged
    return data


def parse_public_trades(message: Payload, market_of: MarketOf, recv_ts: float) -> list[Trade]:
    """`publicTrade.{symbol}`: `S` is the taker's side."""
    return [Trade(market_of(t["s"]), TradeId(str(t["i"])), dec(t["p"]), dec(t["v"]), side_of(t["S"]),
                  ms_to_s(t["T"]), recv_ts) for t in message.get("data", ())]



# --- private topics -------------------------------------------------------------------------------


def parse_order_update(row: Payload, market_of: MarketOf, recv_ts: float) -> list[Event]:
    """One `order` topic row -> OrderAccepted / OrderCancelled / OrderRejected (fills: `execution`).

    A PostOnly order that would have crossed is accepted and then Cancelled by Bybit with
    rejectReason EC_PostOnlyWillTakeLiquidity and nothing filled: that is a rejection.
    """
    client_id, exchange_id = client_id_of(row), ExchangeOrderId(str(row["orderId"]))
    market = market_of(str(row["symbol"]))
    side_of(row["side"])  # an unknown side is as unsafe as an unknown status
    status = status_of(row["orderStatus"])
    ts = ms_to_s(row.get("updatedTime") or row.get("createdTime") or 0) or recv_ts
    reason = str(row.get("rejectReason") or "")
    match status:
        case OrderStatus.OPEN | OrderStatus.PARTIALLY_FILLED:
            return [OrderAccepted(client_id, exchange_id, market, ts, recv_ts)]
        case OrderStatus.FILLED:
            return []  # each fill arrives on the execution topic, with the remaining quantity
        case OrderStatus.CANCELLED:
            if reason in REJECT_REASONS and dec_or_zero(row.get("cumExecQty")) == 0:
                text = "post-only order would have crossed the book" \
                    if reason == c.REJECT_POST_ONLY_WILL_TAKE_LIQUIDITY else reason
                return [OrderRejected(client_id, market, text, reason, ts, recv_ts)]
            return [OrderCancelled(client_id, exchange_id, market, ts, recv_ts)]
        case OrderStatus.REJECTED:
            return [OrderRejected(client_id, market, f"rejected by Bybit ({reason or 'no reason'})", reason or None,
                                  ts, recv_ts)]
    raise UnmappedValue(f"unhandled Bybit order status {row['orderStatus']!r}")  # pragma: no cover


def parse_execution(row: Payload, market_of: MarketOf, recv_ts: float, *,
                    position_side: PositionSide = PositionSide.BOTH,
                    order_type: OrderType | None = None) -> OrderFilled | None:
    """One `execution` topic row -> OrderFilled (None for funding and other non-trade executions).

    The row carries no position index: the gateway passes the order's `position_side` (and the
    order type it placed, since the row has no time in force to tell post-only from limit).
    """
    if not is_trade_execution(row):
        if row.get("execType") not in (c.EXEC_TYPE_FUNDING,):
            log.warning("ignoring Bybit execution of type %r", row.get("execType"))
        return None
    market = market_of(str(row["symbol"]))
    return OrderFilled(
        client_id=client_id_of(row), exchange_id=ExchangeOrderId(str(row["orderId"])),
        trade_id=TradeId(str(row["execId"])), market=market, side=side_of(row["side"]),
        order_type=order_type or order_type_of(row.get("orderType")), price=dec(row["execPrice"]),
        amount=dec(row["execQty"]), remaining=dec_or_zero(row.get("leavesQty")), fee=dec_or_zero(row.get("execFee")),
        fee_asset=fee_asset_of(row, market), liquidity=Liquidity.MAKER if row.get("isMaker") else Liquidity.TAKER,
        position_side=position_side, realized_pnl=dec_or_zero(row.get("execPnl")), ts=ms_to_s(row["execTime"]),
        recv_ts=recv_ts)


def parse_position_update(row: Payload, market_of: MarketOf, recv_ts: float,
                          margin_of: Callable[[str], MarginMode] = lambda _: MarginMode.CROSS,
                          leverage_of: Callable[[str], int] = lambda _: 1) -> list[PositionUpdated]:
    """One `position` topic row -> PositionUpdated per side it speaks for."""
    market = market_of(str(row["symbol"]))
    ts = ms_to_s(row.get("updatedTime") or 0) or recv_ts
    return [PositionUpdated(market, side, position, ts, recv_ts)
            for side, position in positions_of_row(row, market, margin_of(market), leverage_of(market))]


def parse_wallet_update(message: Payload, recv_ts: float) -> list[BalanceUpdated]:
    ts = ms_to_s(message.get("creationTime") or 0) or recv_ts
    return [BalanceUpdated(b, ts, recv_ts) for b in parse_wallet_balances(message.get("data", ()))]
