"""OKX's shapes of the account: orders, fills, bills, positions, balances and algo orders, as the
REST endpoints answer them and the private channels push them (docs-v5 "Trade", "Account").

Signs: a fee is negative when charged (`fee`, `fillFee`); a bill's `balChg` is the signed change
of the balance; a net-mode position's `pos` is negative when short. Sizes are contracts (`wire.py`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pmm.connectors.common.server.desk_order import Cause, DeskOrder, State
from pmm.connectors.common.server.ledger import Bill
from pmm.connectors.common.server.triggers import TriggerOrder, TriggerState
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.server.wire import (
    ZERO,
    OkxSymbols,
    average,
    flag,
    money,
    ms_text,
    pos_side_wire,
    side_wire,
    trade_id,
)
from pmm.core.model import Balance, Liquidity, MarginMode, Position, PositionMode, PositionSide, Side
from pmm.errors import ExchangeUnavailable
from pmm.sim.exchange import SimExchange

_STATES = {State.PENDING: "live", State.OPEN: "live", State.PARTIALLY_FILLED: "partially_filled",
           State.FILLED: "filled", State.CANCELED: "canceled", State.REJECTED: "canceled"}
# Why an order was canceled -> OKX `cancelSource` (docs: orders channel).
CANCEL_SOURCES = {Cause.USER: "1", Cause.UNFILLED: "14", Cause.FOK_UNFILLABLE: "13",
                  Cause.POST_ONLY_CROSS: spec.CANCEL_SOURCE_POST_ONLY, Cause.REDUCE_ONLY: "17",
                  Cause.DEAD_MAN: "20", Cause.VENUE: "0", Cause.NONE: ""}
_ALGO_STATES = {TriggerState.LIVE: "live", TriggerState.TRIGGERED: "effective", TriggerState.CANCELED: "canceled",
                TriggerState.FAILED: "order_failed"}


class Views:
    """Builds every account-side payload from the simulator and the server's records."""

    def __init__(self, exchange: SimExchange, symbols: OkxSymbols) -> None:
        self._exchange = exchange
        self.symbols = symbols
        self.opened: dict[tuple[str, PositionSide], float] = {}  # position -> when it opened (cTime)
        self.last_trade: dict[str, str] = {}  # market -> the account's last trade id there

    def _mode(self) -> PositionMode:
        return self._exchange.position_mode()

    def mark_index(self, market: str) -> tuple[Decimal, Decimal] | None:
        try:
            info = self._exchange.funding_info(market)
        except ExchangeUnavailable:  # before the first market step
            return None
        return info.mark_price, info.index_price

    # --- orders -----------------------------------------------------------------------------------

    def order(self, o: DeskOrder, *, push: bool = False, filled: bool = False) -> dict[str, Any]:
        symbol = self.symbols.symbol(o.market)
        grid = self.symbols.grid(symbol)
        fill = o.last_fill
        avg = o.avg_price
        row: dict[str, Any] = {
            "instType": spec.INST_TYPE, "instId": symbol, "tgtCcy": "", "ccy": "", "ordId": o.order_id,
            "clOrdId": o.client_id, "tag": o.extra.get("tag", ""), "px": grid.price(o.price) if o.price else "",
            "pxUsd": "", "pxVol": "", "pxType": "", "sz": self.symbols.contracts(symbol, o.qty),
            "pnl": money(o.pnl), "ordType": o.extra.get("ordType", "limit"), "side": side_wire(o.side),
            "posSide": pos_side_wire(o.position_side, self._mode()), "tdMode": o.extra.get("tdMode", "cross"),
            "accFillSz": self.symbols.contracts(symbol, o.cum_qty),
            "fillPx": grid.price(fill.price) if fill else "", "tradeId": trade_id(fill.trade_id) if fill else "",
            "fillSz": self.symbols.contracts(symbol, fill.amount) if fill else "0",
            "fillTime": ms_text(fill.ts) if fill else "", "avgPx": average(grid, avg) if avg is not None else "",
            "state": _STATES[o.state], "stpId": "", "stpMode": "cancel_maker",
            "lever": str(o.extra.get("lever", self._exchange.leverage(o.market))),
            "attachAlgoClOrdId": "", "tpTriggerPx": "", "tpTriggerPxType": "", "tpOrdPx": "", "slTriggerPx": "",
            "slTriggerPxType": "", "slOrdPx": "", "attachAlgoOrds": [], "linkedAlgoOrd": {"algoId": ""},
            "feeCcy": o.fee_asset or grid.rules.quote, "fee": money(-o.cum_fee), "rebateCcy": grid.rules.quote,
            "rebate": "0", "source": "", "category": "normal", "reduceOnly": flag(o.reduce_only),
            "isTpLimit": "false", "cancelSource": CANCEL_SOURCES[o.cause] if o.state is State.CANCELED else "",
            "cancelSourceReason": "", "quickMgnType": "", "algoClOrdId": "", "algoId": o.extra.get("algoId", ""),
            "tradeQuoteCcy": grid.rules.quote, "uTime": ms_text(o.updated), "cTime": ms_text(o.created),
        }
        if push:
            this = fill if filled else None
            row.update({
                "execType": ("M" if this.liquidity is Liquidity.MAKER else "T") if this else "",
                "fillFee": money(-this.fee) if this else "0", "fillFeeCcy": this.fee_asset if this else "",
                "fillPnl": money(this.realized_pnl) if this else "0",
                "fillNotionalUsd": money(this.price * this.amount) if this else "",
                "fillMarkPx": "", "fillIdxPx": "", "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "",
                "fillFwdPx": "", "notionalUsd": money(o.qty * (o.price or avg or ZERO)),
                "amendResult": o.extra.get("amendResult", ""), "amendSource": o.extra.get("amendSource", ""),
                "reqId": o.extra.get("reqId", ""), "code": "0", "msg": "",
            })
            if not filled:
                row.update({"fillPx": "", "fillSz": "0", "tradeId": row["tradeId"] if fill else "", "fillTime": ""})
        return row

    # --- fills and bills --------------------------------------------------------------------------

    def _sub_type(self, side: Side, position_side: PositionSide, closing: bool) -> str:
        if self._mode() is PositionMode.ONEWAY or position_side is PositionSide.BOTH:
            return "1" if side is Side.BUY else "2"
        if position_side is PositionSide.LONG:
            return "5" if closing else "3"
        return "6" if closing else "4"

    def fill(self, bill: Bill) -> dict[str, Any]:
        event = bill.fill
        assert event is not None
        symbol = self.symbols.symbol(event.market)
        grid = self.symbols.grid(symbol)
        order = bill.order
        closing = event.realized_pnl != 0 or (order is not None and order.closing)
        return {
            "instType": spec.INST_TYPE, "instId": symbol, "tradeId": trade_id(event.trade_id),
            "ordId": order.order_id if order else "", "clOrdId": order.client_id if order else "",
            "billId": bill.bill_id, "subType": self._sub_type(event.side, event.position_side, closing),
            "tag": order.extra.get("tag", "") if order else "", "fillPx": grid.price(event.price),
            "fillSz": self.symbols.contracts(symbol, event.amount), "fillIdxPx": "",
            "fillPnl": money(event.realized_pnl),
            "fillPxVol": "", "fillPxUsd": "", "fillMarkVol": "", "fillFwdPx": "", "fillMarkPx": "",
            "side": side_wire(event.side), "posSide": pos_side_wire(event.position_side, self._mode()),
            "execType": "M" if event.liquidity is Liquidity.MAKER else "T", "feeCcy": event.fee_asset,
            "fee": money(-event.fee), "feeRate": "", "ts": ms_text(event.ts), "fillTime": ms_text(event.ts),
            "tradeQuoteCcy": grid.rules.quote,
        }

    def bill(self, bill: Bill) -> dict[str, Any]:
        symbol = self.symbols.symbol(bill.market)
        grid = self.symbols.grid(symbol)
        row: dict[str, Any] = {
            "bal": money(bill.balance_after), "balChg": money(bill.change), "billId": bill.bill_id, "ccy": bill.asset,
            "clOrdId": "", "execType": "", "fee": "0", "fillFwdPx": "", "fillIdxPx": "", "fillMarkPx": "",
            "fillMarkVol": "", "fillPxUsd": "", "fillPxVol": "", "fillTime": ms_text(bill.ts), "from": "",
            "instId": symbol, "instType": spec.INST_TYPE, "interest": "0",
            "mgnMode": self._exchange.margin_mode(bill.market).value, "notes": "", "ordId": "", "pnl": "0",
            "posBal": "0", "posBalChg": "0", "px": "", "subType": "", "sz": "", "tag": "", "to": "", "tradeId": "",
            "ts": ms_text(bill.ts), "type": "", "earnAmt": "", "earnApr": "",
        }
        if bill.funding is not None:
            pay = bill.funding
            row.update({
                "type": spec.BILL_TYPE_FUNDING, "px": grid.price(pay.mark_price),
                "subType": spec.BILL_SUBTYPE_FUNDING_INCOME if pay.amount > 0 else spec.BILL_SUBTYPE_FUNDING_EXPENSE,
                "sz": self.symbols.contracts(symbol, abs(pay.position_amount)),
                "fillTime": str(pay.funding_time_ms), "ts": str(pay.funding_time_ms),
            })
        elif bill.fill is not None:
            view = self.fill(bill)
            row.update({"type": "2", "subType": view["subType"], "px": view["fillPx"], "sz": view["fillSz"],
                        "fee": view["fee"], "pnl": view["fillPnl"], "execType": view["execType"],
                        "ordId": view["ordId"], "clOrdId": view["clOrdId"], "tradeId": view["tradeId"],
                        "tag": view["tag"]})
        return row

    # --- positions and balances -------------------------------------------------------------------

    def pos_id(self, symbol: str, side: PositionSide) -> str:
        """A stable position id of digits per instrument and side (net mode: one per instrument)."""
        index = self.symbols.symbols().index(symbol)
        part = 0 if self._mode() is PositionMode.ONEWAY else (1 if side is PositionSide.LONG else 2)
        return str(1_752_810_569_801_498_000 + index * 10 + part)

    def position(self, pos: Position | None, market: str, side: PositionSide, now: float) -> dict[str, Any]:
        """One position row; `pos` None: a closed one (pushed with pos "0")."""
        symbol = self.symbols.symbol(market)
        grid = self.symbols.grid(symbol)
        mode = self._mode()
        marks = self.mark_index(market)
        amount = pos.amount if pos else ZERO
        signed = -amount if mode is PositionMode.ONEWAY and side is PositionSide.SHORT else amount
        mgn_mode = (pos.margin_mode if pos else self._exchange.margin_mode(market))
        lever = pos.leverage if pos else self._exchange.leverage(market)
        notional = amount * marks[0] if marks else ZERO
        opened = self.opened.get((market, side), now)
        upl = pos.unrealized_pnl if pos else ZERO
        margin = pos.margin if pos else ZERO
        return {
            "adl": "1", "availPos": "", "avgPx": average(grid, pos.entry_price) if pos else "", "bePx": "",
            "cTime": ms_text(opened), "ccy": grid.rules.quote, "closeOrderAlgo": [], "deltaBS": "", "deltaPA": "",
            "fee": "0", "fundingFee": "0", "gammaBS": "", "gammaPA": "", "hedgedPos": "",
            "idxPx": grid.price(marks[1]) if marks else "",
            "imr": money(notional / lever) if mgn_mode is MarginMode.CROSS and pos else "",
            "instId": symbol, "instType": spec.INST_TYPE, "interest": "", "last": "", "lever": str(lever),
            "liab": "", "liabCcy": "", "liqPenalty": "0",
            "liqPx": grid.price(pos.liquidation_price) if pos and pos.liquidation_price else "",
            "margin": money(margin) if mgn_mode is MarginMode.ISOLATED and pos else "",
            "markPx": grid.price(marks[0]) if marks else "", "mgnMode": mgn_mode.value,
            "mgnRatio": "", "mmr": money(notional * self._exchange.settings.maintenance_margin) if pos else "",
            "notionalUsd": money(notional), "optVal": "", "pendingCloseOrdLiabVal": "", "pnl": "0",
            "pos": self.symbols.contracts(symbol, signed), "posCcy": "", "posId": self.pos_id(symbol, side),
            "posSide": pos_side_wire(side, mode), "realizedPnl": "0", "spotInUseAmt": "", "spotInUseCcy": "",
            "thetaBS": "", "thetaPA": "", "tradeId": self.last_trade.get(market, ""), "uTime": ms_text(now),
            "upl": money(upl), "uplLastPx": money(upl), "uplRatio": money(upl / margin) if margin else "0",
            "uplRatioLastPx": money(upl / margin) if margin else "0", "usdPx": "", "vegaBS": "", "vegaPA": "",
            "nonSettleAvgPx": "", "settledPnl": "",
        }

    def positions(self, now: float, symbol: str | None = None) -> list[dict[str, Any]]:
        rows = []
        for pos in self._exchange.positions():
            if symbol is None or self.symbols.symbol(pos.market) == symbol:
                rows.append(self.position(pos, pos.market, pos.side, now))
        return rows

    def balance_detail(self, bal: Balance, now: float) -> dict[str, Any]:
        eq = bal.total + bal.unrealized_pnl
        return {
            "autoLendStatus": "off", "autoLendMtAmt": "0", "availBal": money(bal.available),
            "availEq": money(bal.available), "borrowFroz": "", "cashBal": money(bal.total), "ccy": bal.asset,
            "crossLiab": "", "colRes": "0", "collateralEnabled": False, "collateralRestrict": False,
            "colBorrAutoConversion": "0", "disEq": money(eq), "eq": money(eq), "eqUsd": money(eq),
            "smtSyncEq": "0", "spotCopyTradingEq": "0", "fixedBal": "0", "frozenBal": money(bal.margin_in_use),
            "frpType": "0", "imr": "", "interest": "", "isoEq": "0", "isoLiab": "", "isoUpl": "0", "liab": "",
            "maxLoan": "", "mgnRatio": "", "mmr": "", "notionalLever": "", "ordFrozen": "0", "rewardBal": "0",
            "spotInUseAmt": "", "clSpotInUseAmt": "", "maxSpotInUse": "", "spotIsoBal": "0", "stgyEq": "0",
            "twap": "0", "uTime": ms_text(now), "upl": money(bal.unrealized_pnl), "uplLiab": "", "spotBal": "",
            "openAvgPx": "", "accAvgPx": "", "spotUpl": "", "spotUplRatio": "", "totalPnl": "", "totalPnlRatio": "",
        }

    def balance(self, now: float, assets: set[str] | None = None) -> dict[str, Any]:
        balances = [b for b in self._exchange.balances() if assets is None or b.asset in assets]
        total = sum((b.total + b.unrealized_pnl for b in balances), ZERO)
        return {
            "adjEq": "", "availEq": "", "borrowFroz": "", "delta": "", "deltaLever": "", "deltaNeutralStatus": "0",
            "details": [self.balance_detail(b, now) for b in balances], "imr": "", "isoEq": "0", "mgnRatio": "",
            "mmr": "", "notionalUsd": "", "notionalUsdForBorrow": "", "notionalUsdForFutures": "",
            "notionalUsdForOption": "", "notionalUsdForSwap": "", "ordFroz": "", "totalEq": money(total),
            "uTime": ms_text(now), "upl": "",
        }

    # --- algo orders ------------------------------------------------------------------------------

    def algo(self, t: TriggerOrder) -> dict[str, Any]:
        symbol = self.symbols.symbol(t.market)
        grid = self.symbols.grid(symbol)
        stop = t.extra.get("kind", "sl") == "sl"
        trigger = grid.price(t.trigger_price)
        order_px = grid.price(t.order_price) if t.order_price is not None else "-1"
        child = t.child
        return {
            "activePx": "", "actualPx": average(grid, child.avg_price) if child and child.avg_price else "",
            "actualSide": ("sl" if stop else "tp") if child else "",
            "actualSz": self.symbols.contracts(symbol, child.qty) if child else "",
            "algoClOrdId": t.client_id, "algoId": t.algo_id, "amendPxOnTriggerType": "0", "attachAlgoOrds": [],
            "cTime": ms_text(t.created), "callbackRatio": "", "callbackSpread": "", "ccy": "", "clOrdId": "",
            "closeFraction": "1" if t.qty is None else "", "failCode": "", "instId": symbol,
            "instType": spec.INST_TYPE, "isTradeBorrowMode": "", "last": "",
            "lever": str(self._exchange.leverage(t.market)), "linkedOrd": {"ordId": ""}, "moveTriggerPx": "",
            "ordId": child.order_id if child else "", "ordIdList": [child.order_id] if child else [],
            "ordPx": "", "ordType": t.extra.get("ordType", "conditional"),
            "posSide": pos_side_wire(t.position_side, self._mode()), "pxLimit": "", "pxSpread": "", "pxVar": "",
            "quickMgnType": "", "reduceOnly": flag(t.reduce_only), "side": side_wire(t.side),
            "slOrdPx": order_px if stop else "", "slTriggerPx": trigger if stop else "",
            "slTriggerPxType": t.trigger_on.value if stop else "", "state": _ALGO_STATES[t.state],
            "sz": self.symbols.contracts(symbol, t.qty) if t.qty is not None else "0", "szLimit": "",
            "tag": t.extra.get("tag", ""), "tdMode": t.extra.get("tdMode", "cross"), "tgtCcy": "",
            "timeInterval": "", "tpOrdPx": "" if stop else order_px, "tpTriggerPx": "" if stop else trigger,
            "tpTriggerPxType": "" if stop else t.trigger_on.value, "triggerPx": "", "triggerPxType": "",
            "triggerTime": ms_text(t.updated) if t.state is TriggerState.TRIGGERED else "",
            "uTime": ms_text(t.updated),
        }
