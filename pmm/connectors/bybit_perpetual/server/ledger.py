"""The account's history as Bybit reports it: executions (execution/list and the execution topic),
the transaction log (TRADE and SETTLEMENT rows), realised PnL per position and per coin, and the
positions last reported by the simulator (for `closedSize`, funding rows and position views).

Funding (exchange_apis.md §B8): a settlement is one transaction-log row of type SETTLEMENT per
position, whose `funding` is signed from the account's side (negative = paid, as in the docs'
example) and equals `change`, and one execution of execType Funding whose `execFee` is what was
paid (positive = paid). The simulator nets hedge sides into one payment; the ledger splits it back
per side with the simulator's own rounding, so the rows add up to the wallet change exactly.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server.orders import order_type
from pmm.connectors.bybit_perpetual.server.wire import (
    ZERO,
    SymbolMap,
    money,
    position_idx,
    position_side_wire,
    side_wire,
)
from pmm.connectors.common.numbers import ms, plain
from pmm.connectors.common.server.desk_order import DeskOrder
from pmm.core.events import FundingPaymentReceived, OrderFilled, PositionUpdated
from pmm.core.model import Liquidity, Position, PositionMode, PositionSide, Side
from pmm.errors import ExchangeUnavailable
from pmm.sim.exchange import SimExchange
from pmm.sim.funding import funding_amount

_Key = tuple[str, PositionSide]  # (market, LONG / SHORT)


@dataclass(slots=True)
class PositionBook:
    """What the server knows of one position beyond the simulator's report."""

    position: Position | None = None
    created_ms: int = 0
    updated_ms: int = 0
    seq: int = 0


@dataclass(slots=True)
class Realised:
    """Realised PnL - fees + funding of one position index (BOTH in one-way mode)."""

    cum: Decimal = ZERO  # since the server started
    cur: Decimal = ZERO  # of the position held now


@dataclass(slots=True)
class Execution:
    """One execution row; `time_ms` and `exec_type` for filtering, `view` as Bybit shows it."""

    symbol: str
    order_id: str
    link_id: str
    exec_type: str
    time_ms: int
    view: dict[str, Any] = field(default_factory=dict)


class Ledger:
    """Executions, transaction log rows and realised PnL, built from the simulator's events."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self.executions: list[Execution] = []
        self.transactions: list[dict[str, Any]] = []
        self.positions: dict[_Key, PositionBook] = {}
        self.realised: dict[_Key, Realised] = {}
        self.coin_realised: dict[str, Decimal] = {}
        self._seq = 0
        self._funding_n = 0

    def book(self, market: str, side: PositionSide) -> PositionBook:
        return self.positions.setdefault((market, side), PositionBook())

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _target(self, event: OrderFilled) -> tuple[PositionSide, PositionSide]:
        """(side the fill closes, side it opens) in the account's position mode."""
        if self._exchange.position_mode() is PositionMode.ONEWAY:
            if event.side is Side.BUY:
                return PositionSide.SHORT, PositionSide.LONG
            return PositionSide.LONG, PositionSide.SHORT
        return event.position_side, event.position_side

    # --- fills ----------------------------------------------------------------------------------

    def on_fill(self, event: OrderFilled, record: DeskOrder | None) -> Execution:
        symbol = self._symbols.symbol(event.market)
        grid = self._symbols.grid(symbol)
        closes, _ = self._target(event)
        held = self.book(event.market, closes).position
        closing = held is not None and (self._exchange.position_mode() is PositionMode.ONEWAY
                                        or event.side is closes.closing_side)
        closed = min(event.amount, held.amount) if closing and held is not None else ZERO
        value = event.price * event.amount
        fee_rate = event.fee / value if value else ZERO
        info = self._mark(event.market)
        when = ms(event.ts)
        exec_id = str(uuid.uuid4())
        seq = self._next_seq()
        order_id = record.order_id if record is not None else str(uuid.uuid4())
        link_id = record.client_id if record is not None else ""
        exec_type = c.EXEC_TYPE_TRADE if record is not None else c.EXEC_TYPE_BUST_TRADE
        view = {
            "symbol": symbol, "orderId": order_id, "orderLinkId": link_id, "side": side_wire(event.side),
            "orderPrice": grid.price(record.extra["price"]) if record is not None and record.extra["price"]
            else grid.price(event.price),
            "orderQty": grid.qty(record.qty if record is not None else event.amount),
            "leavesQty": grid.qty(event.remaining), "createType": c.CREATE_TYPE_BY_USER if record is not None
            else c.CREATE_TYPE_BY_LIQ, "orderType": order_type(record) if record is not None else c.ORDER_TYPE_MARKET,
            "stopOrderType": "", "execFee": money(event.fee), "execId": exec_id, "execPrice": grid.price(event.price),
            "execQty": grid.qty(event.amount), "execType": exec_type, "execValue": money(value),
            "execTime": str(when), "feeCurrency": event.fee_asset, "isMaker": event.liquidity is Liquidity.MAKER,
            "feeRate": plain(fee_rate.normalize()) if fee_rate else "0", "tradeIv": "", "markIv": "",
            "markPrice": grid.price(info[0]) if info else "", "indexPrice": grid.price(info[1]) if info else "",
            "underlyingPrice": "", "blockTradeId": "", "closedSize": grid.qty(closed),
            "execPnl": money(event.realized_pnl), "seq": seq, "extraFees": "", "isLeverage": "",
        }
        execution = Execution(symbol, order_id, link_id, exec_type, when, view)
        self.executions.append(execution)
        change = event.realized_pnl - event.fee
        if record is not None and event.realized_pnl:
            record.extra["closed_pnl"] = record.extra.get("closed_pnl", ZERO) + change
        if not self._held_any(event.market, event.position_side):
            self.realised_of(event.market, event.position_side).cur = ZERO  # a new position starts
        self._add_realised(event.market, closes if closed else self._target(event)[1], event.fee_asset, change)
        size_after = self._size_after(event)
        self.transactions.append({
            "id": f"{when}-{seq}", "symbol": symbol, "category": c.CATEGORY_LINEAR, "side": side_wire(event.side),
            "transactionTime": str(when), "type": c.TRANSACTION_TYPE_TRADE, "qty": grid.qty(event.amount),
            "size": grid.qty(size_after), "currency": event.fee_asset, "tradePrice": grid.price(event.price),
            "funding": "", "fee": money(event.fee), "cashFlow": money(event.realized_pnl), "change": money(change),
            "cashBalance": money(self._wallet(event.fee_asset)), "feeRate": view["feeRate"], "bonusChange": "",
            "tradeId": exec_id, "orderId": order_id, "orderLinkId": link_id,
        })
        return execution

    def _held_any(self, market: str, side: PositionSide) -> bool:
        """Whether the position index of `side` holds anything (either side in one-way mode)."""
        if self._exchange.position_mode() is PositionMode.HEDGE:
            return self.book(market, side).position is not None
        return any(self.book(market, sd).position is not None for sd in (PositionSide.LONG, PositionSide.SHORT))

    def _size_after(self, event: OrderFilled) -> Decimal:
        """The signed position after a fill, from the simulator (already updated)."""
        mode = self._exchange.position_mode()
        total = ZERO
        for pos in self._exchange.positions():
            if pos.market != event.market:
                continue
            if mode is PositionMode.HEDGE and pos.side is not event.position_side:
                continue
            total += pos.signed_amount
        return abs(total) if mode is PositionMode.HEDGE else total

    def realised_of(self, market: str, side: PositionSide) -> Realised:
        """The realised PnL of a position index: one per market in one-way mode, per side in hedge."""
        if self._exchange.position_mode() is PositionMode.ONEWAY:
            side = PositionSide.BOTH
        return self.realised.setdefault((market, side), Realised())

    def _add_realised(self, market: str, side: PositionSide, asset: str, amount: Decimal) -> None:
        realised = self.realised_of(market, side)
        realised.cum += amount
        realised.cur += amount
        self.coin_realised[asset] = self.coin_realised.get(asset, ZERO) + amount

    def _mark(self, market: str) -> tuple[Decimal, Decimal] | None:
        try:
            info = self._exchange.funding_info(market)
        except ExchangeUnavailable:  # no mark yet (before the first market step)
            return None
        return info.mark_price, info.index_price

    def _wallet(self, asset: str) -> Decimal:
        for balance in self._exchange.balances():
            if balance.asset == asset:
                return balance.total
        return ZERO

    # --- positions and funding ------------------------------------------------------------------

    def on_position(self, event: PositionUpdated) -> PositionBook:
        book = self.book(event.market, event.side)
        when = ms(event.ts)
        if book.position is None and event.position is not None:
            book.created_ms = when
        book.position = event.position
        book.updated_ms = when
        book.seq = self._next_seq()
        return book

    def on_funding(self, event: FundingPaymentReceived) -> list[Execution]:
        """Transaction-log SETTLEMENT rows and Funding executions, one per position of the market."""
        symbol = self._symbols.symbol(event.market)
        grid = self._symbols.grid(symbol)
        held = [(side, b.position) for (market, side), b in self.positions.items()
                if market == event.market and b.position is not None]
        when = ms(event.ts)
        funding_sec = event.funding_time_ms // 1000
        balance_after = self._wallet(event.asset)
        parts = [(side, pos, funding_amount(pos.signed_amount, event.mark_price, event.rate)) for side, pos in held]
        remaining_after = sum((amount for _, _, amount in parts), ZERO)
        out: list[Execution] = []
        mode = self._exchange.position_mode()
        for side, pos, amount in parts:
            self._funding_n += 1
            remaining_after -= amount
            order_id = f"{funding_sec}-{self._funding_n}-{position_idx(side, mode)}-1-{self._funding_n}"
            trade_id = str(uuid.uuid4())
            self._add_realised(event.market, side, event.asset, amount)
            self.transactions.append({
                "id": f"{when}-{self._next_seq()}", "symbol": symbol, "category": c.CATEGORY_LINEAR,
                "side": position_side_wire(side), "transactionTime": str(event.funding_time_ms),
                "type": c.TRANSACTION_TYPE_SETTLEMENT, "qty": grid.qty(pos.amount), "size": grid.qty(pos.amount),
                "currency": event.asset, "tradePrice": grid.price(event.mark_price), "funding": money(amount),
                "fee": money(ZERO), "cashFlow": "0", "change": money(amount),
                "cashBalance": money(balance_after - remaining_after), "feeRate": plain(event.rate),
                "bonusChange": "", "tradeId": trade_id, "orderId": order_id, "orderLinkId": "",
            })
            value = pos.amount * event.mark_price
            view = {
                "symbol": symbol, "orderId": order_id, "orderLinkId": "", "side": position_side_wire(side),
                "orderPrice": grid.price(event.mark_price), "orderQty": grid.qty(pos.amount), "leavesQty": "0",
                "createType": "", "orderType": c.ORDER_TYPE_UNKNOWN, "stopOrderType": "", "execFee": money(-amount),
                "execId": trade_id, "execPrice": grid.price(event.mark_price), "execQty": grid.qty(pos.amount),
                "execType": c.EXEC_TYPE_FUNDING, "execValue": money(value), "execTime": str(event.funding_time_ms),
                "feeCurrency": event.asset, "isMaker": False, "feeRate": plain(event.rate), "tradeIv": "",
                "markIv": "", "markPrice": grid.price(event.mark_price), "indexPrice": "", "underlyingPrice": "",
                "blockTradeId": "", "closedSize": "0", "execPnl": "0", "seq": self._next_seq(), "extraFees": "",
                "isLeverage": "",
            }
            execution = Execution(symbol, order_id, "", c.EXEC_TYPE_FUNDING, event.funding_time_ms, view)
            self.executions.append(execution)
            out.append(execution)
        return out
