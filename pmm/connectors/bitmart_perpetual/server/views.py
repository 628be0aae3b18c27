"""BitMart's shapes of the account: orders, trades, transactions, positions, assets and plan orders,
as the REST endpoints answer them and the private channels push them (Futures V2 "Futures Trade",
"Futures Account", private channels).

Orders: `state` 1 (approval: not yet answered), 2 (open, partly filled or not), 4 (finished:
filled or canceled, `deal_size` says which); `side` the number the client sent. Signs: a REST
trade's `paid_fees` is positive when paid; a pushed fill's `fee` and a transaction's `amount` are
balance changes (negative = charged / paid). Sizes are contracts (`wire.py`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.server.wire import (
    BitmartSymbols,
    average,
    money,
    position_mode_wire,
    side_number,
    trade_id,
)
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.desk_order import DeskOrder, State
from pmm.connectors.common.server.ledger import Bill
from pmm.connectors.common.server.triggers import TriggerOn, TriggerOrder, TriggerState
from pmm.core.model import Balance, Liquidity, MarginMode, Position, PositionSide
from pmm.errors import ExchangeUnavailable
from pmm.sim.exchange import SimExchange

_STATES = {State.PENDING: spec.STATE_APPROVAL, State.OPEN: spec.STATE_CHECK, State.PARTIALLY_FILLED: spec.STATE_CHECK,
           State.FILLED: spec.STATE_FINISH, State.CANCELED: spec.STATE_FINISH, State.REJECTED: spec.STATE_FINISH}
# transaction-history `flow_type` -> the `type` its rows carry (the SDK's list: 2 Realized PNL, 3 Funding Fee,
# 4 Commission Fee; the `type` words of 2 and 4 are the docs' example rows', "Realized PNL" assumed).
FLOW_TYPES = {"2": "Realized PNL", "3": spec.FUNDING_FEE_TYPE, "4": "Commission Fee"}


class Views:
    """Builds every account-side payload from the simulator and the server's records."""

    def __init__(self, exchange: SimExchange, symbols: BitmartSymbols) -> None:
        self._exchange = exchange
        self.symbols = symbols
        self.opened: dict[tuple[str, PositionSide], float] = {}  # position -> when it opened

    def mode(self) -> str:
        return position_mode_wire(self._exchange.position_mode())

    def mark(self, market: str) -> Decimal | None:
        try:
            return self._exchange.funding_info(market).mark_price
        except ExchangeUnavailable:  # before the first market step
            return None

    # --- orders -----------------------------------------------------------------------------------

    def _side(self, o: DeskOrder) -> int:
        sent = o.extra.get("side")
        if isinstance(sent, int):
            return sent
        return side_number(o.side, o.position_side, self._exchange.position_mode(), o.closing)

    def order(self, o: DeskOrder) -> dict[str, Any]:
        symbol = self.symbols.symbol(o.market)
        grid = self.symbols.grid(symbol)
        return {
            "order_id": o.order_id, "client_order_id": o.client_id,
            "price": grid.price(o.price) if o.price is not None else "0",
            "size": self.symbols.contracts(symbol, o.qty), "symbol": symbol, "state": _STATES[o.state],
            "side": self._side(o), "type": o.extra.get("type", "limit" if o.price is not None else "market"),
            "position_mode": self.mode(), "account": "futures",
            "leverage": str(o.extra.get("leverage", self._exchange.leverage(o.market))),
            "open_type": o.extra.get("open_type", spec.OPEN_TYPE_CROSS),
            "deal_avg_price": average(grid, o.avg_price), "deal_size": self.symbols.contracts(symbol, o.cum_qty),
            "create_time": ms(o.created), "update_time": ms(o.updated),
        }

    def order_push(self, o: DeskOrder, action: int) -> dict[str, Any]:
        """One `futures/order` item: the order, and its fill in `last_trade` for action 1."""
        row = self.order(o)
        row.pop("account")
        fill = o.last_fill if action == spec.ACTION_MATCH else None
        trigger = o.extra.get("algo")
        row.update({
            "plan_order_id": trigger.algo_id if isinstance(trigger, TriggerOrder) else "",
            "last_trade": None if fill is None else {
                "lastTradeID": int(trade_id(fill.trade_id)),
                "fillQty": self.symbols.contracts(row["symbol"], fill.amount),
                "fillPrice": self.symbols.grid(row["symbol"]).price(fill.price), "fee": money(-fill.fee),
                "feeCcy": fill.fee_asset},
            "trigger_price": "-", "trigger_price_type": "-", "execution_price": "-", "activation_price_type": "-",
            "activation_price": "-", "callback_rate": "-"})
        return {"action": action, "order": row}

    # --- trades and transactions ------------------------------------------------------------------

    def trade(self, bill: Bill) -> dict[str, Any]:
        event = bill.fill
        assert event is not None
        symbol = self.symbols.symbol(event.market)
        order = bill.order
        return {
            "order_id": order.order_id if order else "", "trade_id": trade_id(event.trade_id), "symbol": symbol,
            "side": self._side(order) if order else side_number(event.side, event.position_side,
                                                                self._exchange.position_mode(), False),
            "price": self.symbols.grid(symbol).price(event.price), "vol": self.symbols.contracts(symbol, event.amount),
            "exec_type": "Maker" if event.liquidity is Liquidity.MAKER else "Taker", "profit": event.realized_pnl > 0,
            "realised_profit": money(event.realized_pnl), "paid_fees": money(event.fee), "account": "futures",
            "create_time": ms(event.ts),
        }

    def transactions(self, bill: Bill) -> list[dict[str, Any]]:
        """A bill as BitMart's transaction rows: a funding fee, or a fill's commission and PnL."""
        symbol = self.symbols.symbol(bill.market)
        base = {"symbol": symbol, "asset": bill.asset, "account": "futures", "tran_id": bill.bill_id}
        if bill.funding is not None:
            return [{**base, "type": spec.FUNDING_FEE_TYPE, "amount": money(bill.funding.amount),
                     "time": str(bill.funding.funding_time_ms)}]
        event = bill.fill
        assert event is not None
        rows = [{**base, "type": FLOW_TYPES["4"], "amount": money(-event.fee), "time": str(ms(bill.ts))}]
        if event.realized_pnl:
            rows.append({**base, "type": FLOW_TYPES["2"], "amount": money(event.realized_pnl),
                         "time": str(ms(bill.ts))})
        return rows

    # --- positions and assets ---------------------------------------------------------------------

    def position(self, pos: Position, now: float) -> dict[str, Any]:
        """A REST position row (`/position` and `/position-v2`)."""
        symbol = self.symbols.symbol(pos.market)
        grid = self.symbols.grid(symbol)
        mark = pos.mark_price or self.mark(pos.market) or pos.entry_price
        value = pos.amount * mark
        return {
            "symbol": symbol, "leverage": str(pos.leverage), "timestamp": ms(now), "current_fee": "0",
            "open_timestamp": ms(self.opened.get((pos.market, pos.side), now)), "current_value": money(value),
            "mark_value": money(value), "mark_price": grid.price(mark), "position_value": money(value),
            "position_cross": money(pos.margin),
            "maintenance_margin": money(value * self._exchange.settings.maintenance_margin),
            "margin_type": "Isolated" if pos.margin_mode is MarginMode.ISOLATED else "Cross",
            "position_mode": self.mode(), "close_vol": "0", "close_avg_price": "0",
            "open_avg_price": average(grid, pos.entry_price), "entry_price": average(grid, pos.entry_price),
            "current_amount": self.symbols.contracts(symbol, pos.amount),
            "unrealized_value": money(pos.unrealized_pnl), "realized_value": "0",
            "liquidation_price": grid.price(pos.liquidation_price) if pos.liquidation_price else "0",
            "position_type": spec.POSITION_LONG if pos.side is PositionSide.LONG else spec.POSITION_SHORT,
            "account": "futures",
        }

    def positions(self, now: float, symbol: str | None = None) -> list[dict[str, Any]]:
        return [self.position(p, now) for p in self._exchange.positions()
                if symbol is None or self.symbols.symbol(p.market) == symbol]

    def position_push(self, pos: Position | None, market: str, side: PositionSide, now: float) -> dict[str, Any]:
        """A `futures/position` row; `pos` None: a closed position (hold_volume "0")."""
        symbol = self.symbols.symbol(market)
        grid = self.symbols.grid(symbol)
        isolated = (pos.margin_mode if pos else self._exchange.margin_mode(market)) is MarginMode.ISOLATED
        entry = average(grid, pos.entry_price) if pos else "0"
        return {
            "symbol": symbol, "hold_volume": self.symbols.contracts(symbol, pos.amount) if pos else "0",
            "position_type": spec.POSITION_LONG if side is PositionSide.LONG else spec.POSITION_SHORT,
            "open_type": 1 if isolated else 2, "frozen_volume": "0", "close_volume": "0", "hold_avg_price": entry,
            "close_avg_price": "0", "open_avg_price": entry,
            "liquidate_price": grid.price(pos.liquidation_price) if pos and pos.liquidation_price else "0",
            "create_time": ms(self.opened.get((market, side), now)), "update_time": ms(now),
            "position_mode": self.mode(),
        }

    @staticmethod
    def asset(balance: Balance) -> dict[str, Any]:
        """An assets-detail row; the push carries the first four fields. Available + frozen + position
        deposit is the wallet (unrealized PnL apart: `equity` - `unrealized`), read the same way from both."""
        return {"currency": balance.asset, "position_deposit": money(balance.margin_in_use), "frozen_balance": "0",
                "available_balance": money(balance.total - balance.margin_in_use),
                "equity": money(balance.total + balance.unrealized_pnl), "unrealized": money(balance.unrealized_pnl)}

    # --- plan orders ------------------------------------------------------------------------------

    def plan(self, t: TriggerOrder) -> dict[str, Any]:
        symbol = self.symbols.symbol(t.market)
        grid = self.symbols.grid(symbol)
        return {
            "order_id": t.algo_id, "client_order_id": t.client_id,
            "executive_price": grid.price(t.order_price) if t.order_price is not None else "0",
            "trigger_price": grid.price(t.trigger_price),
            "size": self.symbols.contracts(symbol, t.qty) if t.qty is not None else "0", "symbol": symbol,
            "state": 1 if t.state is TriggerState.LIVE else spec.STATE_FINISH, "side": t.extra.get("side"),
            "mode": t.extra.get("mode", spec.MODE_GTC), "position_mode": self.mode(),
            "price_way": spec.PRICE_WAY_UP if t.rising else spec.PRICE_WAY_DOWN,
            "price_type": spec.PRICE_TYPE_FAIR if t.trigger_on is TriggerOn.MARK else spec.PRICE_TYPE_LAST,
            "plan_category": 1, "type": "plan", "leverage": t.extra.get("leverage", "1"),
            "open_type": t.extra.get("open_type", spec.OPEN_TYPE_CROSS), "create_time": ms(t.created),
            "update_time": ms(t.updated),
        }

