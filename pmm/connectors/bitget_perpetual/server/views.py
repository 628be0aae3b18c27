"""Bitget's shapes of the account: orders, fills, bills, positions, accounts and plan orders, as the
REST endpoints answer them and the private channels push them (Bitget "Trade", "Account",
"Position", "Trigger order" pages and the private WebSocket channels).

Signs: a fee is negative when charged (`fee`, `fillFee`, `feeDetail.totalFee`); a bill's `amount`
is the signed change of the balance. Sides: in hedge mode an order's `side` names the position
(buy = long) and `tradeSide` says open or close (a close of a long is side "buy"); in one-way mode
`side` is the trade direction, `posSide` "net" and `tradeSide` "buy_single" / "sell_single".
Sizes are base coin. Order rows on REST carry the filled total as `baseVolume`; order pushes carry
the last fill there and the total as `accBaseVolume`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.server.wire import (
    ZERO,
    BitgetSymbols,
    average,
    money,
    ms_text,
    pos_mode_wire,
    trade_id,
)
from pmm.connectors.common.server.desk_order import Cause, DeskOrder, State, Tif
from pmm.connectors.common.server.ledger import Bill
from pmm.connectors.common.server.triggers import TriggerOrder, TriggerState
from pmm.core.model import Balance, Liquidity, MarginMode, Position, PositionMode, PositionSide, Side
from pmm.errors import ExchangeUnavailable
from pmm.sim.exchange import SimExchange

_STATES = {State.PENDING: "live", State.OPEN: "live", State.PARTIALLY_FILLED: "partially_filled",
           State.FILLED: "filled", State.CANCELED: "canceled", State.REJECTED: "canceled"}
# Why an order was canceled -> `cancelReason` (normal_cancel and stp_cancel are documented; the
# others are the simulator's names for what Bitget's enumeration page lists, not confirmed).
CANCEL_REASONS = {Cause.USER: "normal_cancel", Cause.UNFILLED: "normal_cancel", Cause.FOK_UNFILLABLE: "fok_cancel",
                  Cause.POST_ONLY_CROSS: "POST_ONLY_CANCEL", Cause.REDUCE_ONLY: "reduce_only_cancel",
                  Cause.DEAD_MAN: "normal_cancel", Cause.VENUE: "system_cancel", Cause.NONE: ""}
_PLAN_STATES = {TriggerState.LIVE: "live", TriggerState.TRIGGERED: "executed", TriggerState.CANCELED: "canceled",
                TriggerState.FAILED: "fail_execute"}
_PLAN_PENDING_STATES = {TriggerState.LIVE: "not_trigger", TriggerState.TRIGGERED: "triggered",
                        TriggerState.CANCELED: "cancel", TriggerState.FAILED: "fail_trigger"}
_MARGIN = {MarginMode.CROSS: spec.MARGIN_CROSSED, MarginMode.ISOLATED: spec.MARGIN_ISOLATED}


def margin_wire(mode: MarginMode) -> str:
    return _MARGIN[mode]


class Views:
    """Builds every account-side payload from the simulator and the server's records."""

    def __init__(self, exchange: SimExchange, symbols: BitgetSymbols) -> None:
        self._exchange = exchange
        self.symbols = symbols
        self.opened: dict[tuple[str, PositionSide], float] = {}  # position -> when it opened (cTime)

    def mode(self) -> PositionMode:
        return self._exchange.position_mode()

    def mark_index(self, market: str) -> tuple[Decimal, Decimal] | None:
        try:
            info = self._exchange.funding_info(market)
        except ExchangeUnavailable:  # before the first market step
            return None
        return info.mark_price, info.index_price

    # --- sides ------------------------------------------------------------------------------------

    def sides(self, side: Side, position_side: PositionSide, closing: bool) -> dict[str, str]:
        """`side`, `tradeSide`, `posSide` of an order that trades `side` (module docstring)."""
        if self.mode() is PositionMode.ONEWAY or position_side is PositionSide.BOTH:
            return {"side": side.value.lower(), "tradeSide": f"{side.value.lower()}_single", "posSide": "net"}
        return {"side": "buy" if position_side is PositionSide.LONG else "sell",
                "tradeSide": "close" if closing else "open", "posSide": position_side.value.lower()}

    # --- orders -----------------------------------------------------------------------------------

    def order(self, o: DeskOrder, *, push: bool = False, filled: bool = False) -> dict[str, Any]:
        symbol = self.symbols.symbol(o.market)
        grid = self.symbols.grid(symbol)
        avg = o.avg_price
        mode = self.mode()
        row: dict[str, Any] = {
            "symbol": symbol, "size": grid.qty(o.qty), "orderId": o.order_id, "clientOid": o.client_id,
            "fee": money(-o.cum_fee), "price": grid.price(o.price) if o.price is not None else "",
            "priceAvg": average(grid, avg) if avg is not None else "",
            "status": _STATES[o.state], "force": o.tif.value if o.price is not None else "",
            "totalProfits": money(o.pnl), "marginCoin": spec.MARGIN_COIN,
            "quoteVolume": money(o.cum_value),
            "leverage": str(o.extra.get("leverage", self._exchange.leverage(o.market))),
            "marginMode": o.extra.get("marginMode", spec.MARGIN_CROSSED), "enterPointSource": "API",
            "posMode": pos_mode_wire(mode), "orderType": "market" if o.price is None else "limit",
            "orderSource": "market" if o.price is None else "normal",
            "reduceOnly": "yes" if o.reduce_only else "no",
            "cancelReason": CANCEL_REASONS[o.cause] if o.state is State.CANCELED else "",
            "presetStopSurplusPrice": "", "presetStopLossPrice": "", "presetStopSurplusType": "",
            "presetStopLossType": "", "presetStopSurplusExecutePrice": "", "presetStopLossExecutePrice": "",
            "stpMode": "none", "cTime": ms_text(o.created), "uTime": ms_text(o.updated),
            **self.sides(o.side, o.position_side, o.closing and o.position_side is not PositionSide.BOTH),
        }
        if o.tif is Tif.POST_ONLY and o.price is not None:
            row["force"] = "post_only"
        if not push:
            row["baseVolume"] = grid.qty(o.cum_qty)
            row["state"] = row["status"]
            return row
        fill = o.last_fill if filled else None
        row.pop("orderSource")
        row.update({
            "instId": symbol, "accBaseVolume": grid.qty(o.cum_qty),
            "notionalUsd": money(o.qty * (o.price or avg or ZERO)),
            "feeDetail": [{"feeCoin": o.fee_asset or spec.MARGIN_COIN, "fee": money(-o.cum_fee)}],
            "pnl": money(o.pnl),
        })
        if fill is not None:
            row.update({
                "fillPrice": grid.price(fill.price), "tradeId": trade_id(fill.trade_id),
                "baseVolume": grid.qty(fill.amount), "fillTime": ms_text(fill.ts), "fillFee": money(-fill.fee),
                "fillFeeCoin": fill.fee_asset, "tradeScope": "M" if fill.liquidity is Liquidity.MAKER else "T",
                "fillNotionalUsd": money(fill.price * fill.amount), "pnl": money(fill.realized_pnl),
            })
        if avg is None:
            row["priceAvg"] = "0"
        return row

    # --- fills and bills --------------------------------------------------------------------------

    def fill(self, bill: Bill) -> dict[str, Any]:
        event = bill.fill
        assert event is not None
        symbol = self.symbols.symbol(event.market)
        grid = self.symbols.grid(symbol)
        order = bill.order
        closing = order is not None and order.closing and event.position_side is not PositionSide.BOTH
        return {
            "tradeId": trade_id(event.trade_id), "symbol": symbol, "orderId": order.order_id if order else "",
            "price": grid.price(event.price), "baseVolume": grid.qty(event.amount),
            "feeDetail": [{"deduction": "no", "feeCoin": event.fee_asset, "totalDeductionFee": "0",
                           "totalFee": money(-event.fee)}],
            "quoteVolume": money(event.price * event.amount), "profit": money(event.realized_pnl),
            "enterPointSource": "API", "posMode": pos_mode_wire(self.mode()),
            "tradeScope": "maker" if event.liquidity is Liquidity.MAKER else "taker",
            "orderType": "market" if order is not None and order.price is None else "limit",
            "cTime": ms_text(event.ts), "uTime": ms_text(event.ts),
            **{k: v for k, v in self.sides(event.side, event.position_side, closing).items() if k != "posSide"},
        }

    def fill_push(self, bill: Bill) -> dict[str, Any]:
        row = self.fill(bill)
        row["clientOid"] = bill.order.client_id if bill.order is not None else ""
        return row

    def bill(self, bill: Bill) -> dict[str, Any]:
        symbol = self.symbols.symbol(bill.market)
        if bill.funding is not None:
            return {"billId": bill.bill_id, "symbol": symbol, "amount": money(bill.funding.amount), "fee": "0",
                    "feeByCoupon": "", "businessType": spec.BUSINESS_FUNDING, "coin": bill.asset,
                    "balance": money(bill.balance_after), "cTime": str(bill.funding.funding_time_ms)}
        event = bill.fill
        assert event is not None
        closing = event.realized_pnl != 0 or (bill.order is not None and bill.order.closing)
        long_side = (event.side is Side.BUY) != closing
        kind = ("close_" if closing else "open_") + ("long" if long_side else "short")
        return {"billId": bill.bill_id, "symbol": symbol, "amount": money(event.realized_pnl),
                "fee": money(-event.fee), "feeByCoupon": "", "businessType": kind, "coin": bill.asset,
                "balance": money(bill.balance_after), "cTime": ms_text(bill.ts)}

    # --- positions and accounts -------------------------------------------------------------------

    def position(self, pos: Position, now: float) -> dict[str, Any]:
        symbol = self.symbols.symbol(pos.market)
        grid = self.symbols.grid(symbol)
        marks = self.mark_index(pos.market)
        opened = self.opened.get((pos.market, pos.side), now)
        notional = pos.amount * marks[0] if marks else ZERO
        margin = pos.margin if pos.margin_mode is MarginMode.ISOLATED else notional / pos.leverage
        return {
            "marginCoin": spec.MARGIN_COIN, "symbol": symbol, "instId": symbol,
            "holdSide": pos.side.value.lower(), "openDelegateSize": "0", "marginSize": money(margin),
            "available": grid.qty(pos.amount), "locked": "0", "frozen": "0", "total": grid.qty(pos.amount),
            "leverage": str(pos.leverage), "achievedProfits": "0", "openPriceAvg": average(grid, pos.entry_price),
            "marginMode": margin_wire(pos.margin_mode), "posMode": pos_mode_wire(self.mode()),
            "unrealizedPL": money(pos.unrealized_pnl),
            "unrealizedPLR": money(pos.unrealized_pnl / margin) if margin else "0",
            "liquidationPrice": grid.price(pos.liquidation_price) if pos.liquidation_price else "0",
            "keepMarginRate": format(self._exchange.settings.maintenance_margin, "f"),
            "markPrice": grid.price(marks[0]) if marks else "", "breakEvenPrice": average(grid, pos.entry_price),
            "totalFee": "0", "deductedFee": "0", "takeProfit": "", "stopLoss": "", "takeProfitId": "",
            "stopLossId": "", "marginRatio": "0", "assetMode": "single", "autoMargin": "off",
            "posId": self.pos_id(symbol, pos.side), "cTime": ms_text(opened), "uTime": ms_text(now),
        }

    def pos_id(self, symbol: str, side: PositionSide) -> str:
        index = self.symbols.symbols().index(symbol)
        return str(1_100_000_000_000_000_000 + index * 10 + (1 if side is PositionSide.LONG else 2))

    def open_positions(self) -> list[Position]:
        return self._exchange.positions()

    def positions(self, now: float, symbol: str | None = None) -> list[dict[str, Any]]:
        return [self.position(p, now) for p in self._exchange.positions()
                if symbol is None or self.symbols.symbol(p.market) == symbol]

    def account(self, bal: Balance, *, push: bool = False) -> dict[str, Any]:
        equity = bal.total + bal.unrealized_pnl
        if push:
            return {"marginCoin": bal.asset, "frozen": money(bal.margin_in_use), "available": money(bal.available),
                    "maxOpenPosAvailable": money(bal.available), "maxTransferOut": money(bal.available),
                    "equity": money(equity), "usdtEquity": money(equity), "crossedRiskRate": "0",
                    "unrealizedPL": money(bal.unrealized_pnl), "assetsMode": "single"}
        return {"marginCoin": bal.asset, "locked": money(bal.margin_in_use), "available": money(bal.available),
                "crossedMaxAvailable": money(bal.available), "isolatedMaxAvailable": money(bal.available),
                "maxTransferOut": money(bal.available), "accountEquity": money(equity), "usdtEquity": money(equity),
                "btcEquity": "0", "crossedRiskRate": "0", "unrealizedPL": money(bal.unrealized_pnl), "coupon": "0",
                "unionTotalMagin": "0", "unionAvailable": "0", "unionMm": "0", "assetList": [],
                "isolatedMargin": "0", "crossedMargin": money(bal.margin_in_use),
                "crossedUnrealizedPL": money(bal.unrealized_pnl), "isolatedUnrealizedPL": "0", "assetMode": "single"}

    def accounts(self, *, push: bool = False) -> list[dict[str, Any]]:
        return [self.account(b, push=push) for b in self._exchange.balances()]

    # --- plan orders ------------------------------------------------------------------------------

    def plan(self, t: TriggerOrder, *, push: bool = False) -> dict[str, Any]:
        symbol = self.symbols.symbol(t.market)
        grid = self.symbols.grid(symbol)
        child = t.child
        qty = grid.qty(t.qty) if t.qty is not None else "0"
        price = grid.price(t.order_price) if t.order_price is not None else ""
        row: dict[str, Any] = {
            "planType": t.extra.get("planType", spec.PLAN_NORMAL), "symbol": symbol, "size": qty, "orderId": t.algo_id,
            "clientOid": t.client_id, "price": price, "executePrice": price or "0", "callbackRatio": "",
            "triggerPrice": grid.price(t.trigger_price),
            "triggerType": spec.TRIGGER_MARK if t.trigger_on.value == "mark" else spec.TRIGGER_LAST,
            "planStatus": _PLAN_PENDING_STATES[t.state], "marginCoin": spec.MARGIN_COIN,
            "marginMode": t.extra.get("marginMode", spec.MARGIN_CROSSED), "enterPointSource": "API",
            "posMode": pos_mode_wire(self.mode()), "orderType": "market" if t.order_price is None else "limit",
            "orderSource": "plan_market" if t.order_price is None else "plan_limit",
            "reduceOnly": "yes" if t.reduce_only else "no", "stopSurplusExecutePrice": "",
            "stopSurplusTriggerPrice": "", "stopSurplusTriggerType": "", "stopLossExecutePrice": "",
            "stopLossTriggerPrice": "", "stopLossTriggerType": "", "cTime": ms_text(t.created),
            "uTime": ms_text(t.updated),
            **self.sides(t.side, t.position_side, t.position_side is not PositionSide.BOTH),
        }
        if push:
            row.update({"instId": symbol, "status": _PLAN_STATES[t.state], "triggerTime": ms_text(t.updated),
                        "actualSize": grid.qty(child.cum_qty) if child else "0", "stpMode": "none"})
            row.pop("planStatus")
        return row
