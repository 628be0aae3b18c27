"""JSON codecs for the exchange's exported state: fills, funding payments, agenda, books.

Decimals travel as strings, floats (timestamps, generator state) as JSON numbers, which Python's
json round-trips exactly.
"""

from __future__ import annotations

from typing import Any

from pmm.core.book import OrderBook
from pmm.core.events import BookSnapshot
from pmm.core.model import (
    Balance,
    ClientOrderId,
    ExchangeOrderId,
    FillReport,
    FundingPaymentReport,
    Liquidity,
    Position,
    PositionSide,
    Side,
    TradeId,
)
from pmm.sim.account import Account
from pmm.sim.num import dec, levels_from_json, levels_to_json
from pmm.sim.orders import SimOrder, request_from_json, request_to_json

STATE_VERSION = 1


def fill_to_json(fill: FillReport) -> dict:
    return {
        "trade_id": fill.trade_id,
        "client_id": fill.client_id,
        "exchange_id": fill.exchange_id,
        "market": fill.market,
        "side": fill.side.value,
        "price": str(fill.price),
        "amount": str(fill.amount),
        "fee": str(fill.fee),
        "fee_asset": fill.fee_asset,
        "liquidity": fill.liquidity.value,
        "position_side": fill.position_side.value,
        "realized_pnl": str(fill.realized_pnl),
        "ts": fill.ts,
    }


def fill_from_json(data: dict) -> FillReport:
    return FillReport(
        trade_id=TradeId(data["trade_id"]),
        client_id=ClientOrderId(data["client_id"]),
        exchange_id=ExchangeOrderId(data["exchange_id"]),
        market=data["market"],
        side=Side(data["side"]),
        price=dec(data["price"]),
        amount=dec(data["amount"]),
        fee=dec(data["fee"]),
        fee_asset=data["fee_asset"],
        liquidity=Liquidity(data["liquidity"]),
        position_side=PositionSide(data["position_side"]),
        realized_pnl=dec(data["realized_pnl"]),
        ts=data["ts"],
    )


def funding_to_json(payment: FundingPaymentReport) -> dict:
    return {
        "market": payment.market,
        "funding_time_ms": payment.funding_time_ms,
        "rate": str(payment.rate),
        "amount": str(payment.amount),
        "asset": payment.asset,
        "position_amount": str(payment.position_amount),
        "mark_price": str(payment.mark_price),
    }


def funding_from_json(data: dict) -> FundingPaymentReport:
    return FundingPaymentReport(
        market=data["market"],
        funding_time_ms=data["funding_time_ms"],
        rate=dec(data["rate"]),
        amount=dec(data["amount"]),
        asset=data["asset"],
        position_amount=dec(data["position_amount"]),
        mark_price=dec(data["mark_price"]),
    )


def agenda_to_json(entries: list[tuple[float, int, str, Any]]) -> list[list[Any]]:
    """Scheduled items; payloads: market name, OrderRequest, (market, client id), market, None."""
    rows = []
    for t, seq, kind, payload in entries:
        if kind == "order":
            payload = request_to_json(payload)
        elif kind == "cancel":
            payload = list(payload)
        rows.append([t, seq, kind, payload])
    return rows


def agenda_from_json(rows: list[list[Any]]) -> list[tuple[float, int, str, Any]]:
    entries = []
    for t, seq, kind, payload in rows:
        if kind == "order":
            payload = request_from_json(payload)
        elif kind == "cancel":
            payload = (payload[0], ClientOrderId(payload[1]))
        entries.append((t, seq, kind, payload))
    return entries


def book_to_json(book: OrderBook) -> dict:
    return {
        "bids": levels_to_json(book.levels(Side.BUY)),
        "asks": levels_to_json(book.levels(Side.SELL)),
        "update_id": book.update_id,
        "ts": book.ts,
        "last_trade_price": None if book.last_trade_price is None else str(book.last_trade_price),
    }


def book_restore(book: OrderBook, data: dict) -> None:
    bids, asks = levels_from_json(data["bids"]), levels_from_json(data["asks"])
    book.apply_snapshot(BookSnapshot(book.market, bids, asks, data["update_id"], data["ts"], data["ts"]))
    last = data["last_trade_price"]
    book.last_trade_price = None if last is None else dec(last)


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def balance_to_json(balance: Balance) -> dict:
    return {
        "asset": balance.asset,
        "total": str(balance.total),
        "available": str(balance.available),
        "margin_in_use": str(balance.margin_in_use),
        "unrealized_pnl": str(balance.unrealized_pnl),
    }


def position_to_json(position: Position) -> dict:
    return {
        "market": position.market,
        "side": position.side.value,
        "amount": str(position.amount),
        "entry_price": str(position.entry_price),
        "leverage": position.leverage,
        "margin_mode": position.margin_mode.value,
        "unrealized_pnl": str(position.unrealized_pnl),
        "liquidation_price": _text(position.liquidation_price),
        "mark_price": _text(position.mark_price),
        "margin": str(position.margin),
    }


def account_summary(state: dict) -> dict:
    """Balances and positions of an exported simulated account (`SimExchange.export_state()`),
    JSON-ready (decimals as strings), without building an exchange: what `pmm balance` shows.

    Unrealized PnL and margins are at the marks the account last saw.
    """
    data = state["account"]
    quotes = {market: market.partition("-")[2] for market in data["leverage"]}
    account = Account({}, quotes, {}, maintenance_margin=dec(data.get("maintenance_margin", "0.005")))
    account.restore(data)
    orders = [SimOrder.from_json(row) for row in state["orders"]]
    return {
        "balances": [balance_to_json(account.balance(asset, orders)) for asset in account.wallet],
        "positions": [position_to_json(account.report(pos)) for pos in account.positions.values()],
    }
