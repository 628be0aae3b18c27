"""The rows of the BitMEX server, as BitMEX's tables write them (swagger 1.2.0 definitions): Instrument,
Order, Execution, Position, Margin, Wallet, Trade, OrderBookL2. REST answers and WebSocket pushes use
the same rows. Sizes in contracts, prices as numbers, money in millionths of USDT (`wire.py`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.server.wire import ACCOUNT, ZERO, BitmexSymbols, iso, match_id, money, side_wire
from pmm.connectors.common.server.desk_order import Cause, DeskOrder, State, Tif
from pmm.connectors.common.server.ledger import Bill
from pmm.connectors.common.server.market_tape import Tape
from pmm.connectors.common.server.triggers import TriggerOrder, TriggerState
from pmm.core.model import Balance, Liquidity, MarginMode, Position, PositionSide, Side
from pmm.sim.exchange import SimExchange

_STATUS = {State.PENDING: "New", State.OPEN: "New", State.PARTIALLY_FILLED: "PartiallyFilled",
           State.FILLED: "Filled", State.CANCELED: "Canceled", State.REJECTED: "Rejected"}
_SUBMITTED = "Submitted via API."
# Why BitMEX canceled an order, as its `text` says (the first line; "Submitted via API." follows).
CANCEL_TEXTS = {
    Cause.USER: "Canceled: Canceled via API.",
    Cause.POST_ONLY_CROSS: spec.POST_ONLY_CANCEL_TEXT,
    Cause.REDUCE_ONLY: "Canceled: Order had execInst of ReduceOnly",
    Cause.UNFILLED: "Canceled: Order had timeInForce of ImmediateOrCancel",
    Cause.FOK_UNFILLABLE: "Canceled: Order had timeInForce of FillOrKill",
    Cause.DEAD_MAN: "Canceled: Cancel all after timeout expired",
    Cause.VENUE: "Canceled: Canceled by the system",
}
_TIF = {Tif.GTC: "GoodTillCancel", Tif.IOC: "ImmediateOrCancel", Tif.FOK: "FillOrKill",
        Tif.POST_ONLY: "GoodTillCancel"}
EPOCH_INTERVAL = "2000-01-01T00:00:00.000Z"


def interval_text(seconds: float) -> str:
    """BitMEX writes an interval as a time after 2000-01-01 (8 h = "2000-01-01T08:00:00.000Z")."""
    return iso(946684800.0 + seconds)


class Views:
    def __init__(self, exchange: SimExchange, symbols: BitmexSymbols) -> None:
        self._exchange = exchange
        self.symbols = symbols

    # --- public ------------------------------------------------------------------------------------

    def instrument(self, symbol: str, tape: Tape, now: float) -> dict[str, Any]:
        market = self.symbols.market(symbol)
        assert market is not None
        rules = self.symbols.grid(symbol).rules
        settings = self._exchange.settings
        book = self._exchange.book(market)
        info = tape.funding
        last = tape.last.price if tape.last is not None else (book.mid or ZERO)
        bid, ask = book.best_bid, book.best_ask
        base = spec.to_venue_symbol(market)[:-len(rules.quote)]
        spot = symbol == spec.to_spot_symbol(market)
        def price(value: Decimal | None) -> Decimal | None:
            return self.symbols.price(symbol, value) if value is not None else None

        return {
            "symbol": symbol, "rootSymbol": base, "state": "Open",
            "typ": spec.SPOT_TYP if spot else spec.LINEAR_PERPETUAL_TYP,
            "listing": "2021-11-04T04:00:00.000Z", "front": "2021-11-04T04:00:00.000Z", "expiry": None,
            "settle": None, "listedSettle": None, "positionCurrency": base, "underlying": base,
            "quoteCurrency": rules.quote, "underlyingSymbol": f"{base}T=", "reference": "BMEX",
            "referenceSymbol": f".B{base}T", "calcInterval": None, "publishInterval": None, "publishTime": None,
            "maxOrderQty": 1_000_000_000, "maxPrice": 10_000_000, "lotSize": int(self.symbols.multiplier(symbol) *
                                                                                   rules.step_size),
            "tickSize": rules.tick_size, "multiplier": 1, "settlCurrency": spec.SETTLE_CURRENCY,
            "underlyingToPositionMultiplier": int(self.symbols.multiplier(symbol)),
            "underlyingToSettleMultiplier": None, "quoteToSettleMultiplier": 1_000_000, "isQuanto": False,
            "isInverse": False, "initMargin": Decimal(1) / Decimal(rules.max_leverage),
            "maintMargin": settings.maintenance_margin, "riskLimit": 1_000_000_000_000, "riskStep": 1_000_000_000_000,
            "limit": None, "taxed": True, "deleverage": True, "makerFee": settings.maker_fee,
            "takerFee": settings.taker_fee, "settlementFee": 0, "fundingBaseSymbol": f".{base}BON8H",
            "fundingQuoteSymbol": ".USDTBON8H", "fundingPremiumSymbol": f".{base}USDTPI8H",
            "fundingTimestamp": iso(info.next_funding_ts) if info else None,
            "fundingInterval": interval_text(info.interval_s if info else settings.funding_interval_s),
            "fundingRate": info.rate if info else ZERO, "indicativeFundingRate": info.rate if info else ZERO,
            "prevClosePrice": price(last), "limitDownPrice": None, "limitUpPrice": None,
            "totalVolume": 0, "volume": 0, "volume24h": self.symbols.contracts(symbol, tape.day.volume),
            "homeNotional24h": tape.day.volume, "lastPrice": price(last), "lastTickDirection": "ZeroPlusTick",
            "bidPrice": price(bid), "midPrice": price(book.mid), "askPrice": price(ask),
            "impactBidPrice": price(bid), "impactMidPrice": price(book.mid), "impactAskPrice": price(ask),
            "hasLiquidity": bid is not None and ask is not None, "openInterest": 0, "openValue": 0,
            "fairMethod": "FundingRate", "fairBasisRate": ZERO, "fairBasis": ZERO,
            "fairPrice": price(info.mark_price) if info else price(last), "markMethod": "FairPrice",
            "markPrice": price(info.mark_price) if info else price(last),
            "indicativeSettlePrice": price(info.index_price) if info else price(last),
            "instantPnl": True, "timestamp": iso(now),
        }

    def book_row(self, symbol: str, buy: bool, price: Decimal, size: Decimal | None, ts: float) -> dict[str, Any]:
        row: dict[str, Any] = {"symbol": symbol, "id": self.symbols.level_id(symbol, price), "side": side_wire(buy)}
        if size is not None:
            row["size"] = self.symbols.contracts(symbol, size)
        row["price"] = self.symbols.price(symbol, price)
        row["timestamp"] = iso(ts)
        return row

    def trade(self, symbol: str, trade_id: str, price: Decimal, qty: Decimal, buy: bool,
              ts: float) -> dict[str, Any]:
        contracts = self.symbols.contracts(symbol, qty)
        return {"timestamp": iso(ts), "symbol": symbol, "side": side_wire(buy), "size": contracts,
                "price": self.symbols.price(symbol, price), "tickDirection": "PlusTick", "trdMatchID": trade_id,
                "grossValue": money(price * qty), "homeNotional": qty, "foreignNotional": price * qty,
                "trdType": "Regular"}

    # --- orders and executions ------------------------------------------------------------------------

    @staticmethod
    def ord_type(o: DeskOrder) -> str:
        return str(o.extra.get("ordType") or ("Market" if o.price is None else "Limit"))

    def text(self, o: DeskOrder) -> str:
        if o.state is State.CANCELED:
            return CANCEL_TEXTS.get(o.cause, CANCEL_TEXTS[Cause.VENUE]) + "\n" + _SUBMITTED
        return str(o.extra.get("text") or _SUBMITTED)

    def order(self, o: DeskOrder) -> dict[str, Any]:
        symbol = self.symbols.symbol(o.market)
        avg = o.avg_price
        stop = o.extra.get("stopPx")
        return {
            "orderID": o.order_id, "clOrdID": o.client_id, "clOrdLinkID": "", "account": ACCOUNT, "symbol": symbol,
            "side": side_wire(o.side is Side.BUY),
            "orderQty": self.symbols.contracts(symbol, o.qty),
            "price": self.symbols.price(symbol, o.price) if o.price is not None else None, "displayQty": None,
            "stopPx": stop, "pegOffsetValue": None, "pegPriceType": "", "currency": "USDT",
            "settlCurrency": spec.SETTLE_CURRENCY, "ordType": self.ord_type(o), "timeInForce": _TIF[o.tif],
            "execInst": str(o.extra.get("execInst") or ""), "contingencyType": "", "ordStatus": _STATUS[o.state],
            "triggered": str(o.extra.get("triggered") or ""), "workingIndicator": o.is_open,
            "ordRejReason": "", "leavesQty": self.symbols.contracts(symbol, o.leaves_qty),
            "cumQty": self.symbols.contracts(symbol, o.cum_qty),
            "avgPx": self.symbols.price(symbol, avg) if avg is not None else None, "text": self.text(o),
            "transactTime": iso(o.updated), "timestamp": iso(o.updated),
        }

    def execution(self, o: DeskOrder, exec_id: str, exec_type: str, *, bill: Bill | None = None) -> dict[str, Any]:
        """An execution row of an order: New, Canceled, Rejected (the order as it is), or Trade (`bill`)."""
        row = self.order(o)
        row.update({"execID": exec_id, "lastQty": None, "lastPx": None, "lastLiquidityInd": "",
                    "execType": exec_type, "commission": None, "feeType": "", "tradePublishIndicator": "",
                    "trdMatchID": "00000000-0000-0000-0000-000000000000", "execCost": None, "execComm": None,
                    "homeNotional": None, "foreignNotional": None})
        if bill is not None and bill.fill is not None:
            fill = bill.fill
            symbol = row["symbol"]
            maker = fill.liquidity is Liquidity.MAKER
            settings = self._exchange.settings
            buy = row["side"] == "Buy"
            row.update({
                "lastQty": self.symbols.contracts(symbol, fill.amount),
                "lastPx": self.symbols.price(symbol, fill.price),
                "lastLiquidityInd": "AddedLiquidity" if maker else "RemovedLiquidity",
                "commission": settings.maker_fee if maker else settings.taker_fee,
                "feeType": "Maker" if maker else "Taker", "tradePublishIndicator": "PublishTrade",
                "trdMatchID": match_id(fill.trade_id), "execCost": money(fill.price * fill.amount),
                "execComm": money(fill.fee), "homeNotional": fill.amount if buy else -fill.amount,
                "foreignNotional": -(fill.price * fill.amount) if buy else fill.price * fill.amount,
                "leavesQty": self.symbols.contracts(symbol, max(ZERO, o.qty - o.cum_qty)) if not o.is_done else 0,
                "transactTime": iso(fill.ts), "timestamp": iso(fill.ts)})
        return row

    def funding_execution(self, bill: Bill, exec_id: str) -> dict[str, Any]:
        """A funding payment as BitMEX books it: an execution of execType Funding (execComm paid)."""
        assert bill.funding is not None
        pay = bill.funding
        symbol = self.symbols.symbol(pay.market)
        contracts = self.symbols.contracts(symbol, abs(pay.position_amount))
        return {
            "execID": exec_id, "orderID": "00000000-0000-0000-0000-000000000000", "clOrdID": "", "clOrdLinkID": "",
            "account": ACCOUNT, "symbol": symbol, "side": "", "lastQty": contracts,
            "lastPx": self.symbols.price(symbol, pay.mark_price), "lastLiquidityInd": "", "orderQty": contracts,
            "price": self.symbols.price(symbol, pay.mark_price), "displayQty": None, "stopPx": None,
            "currency": "USDT", "settlCurrency": spec.SETTLE_CURRENCY, "execType": spec.EXEC_TYPE_FUNDING,
            "ordType": "Funding", "timeInForce": "", "execInst": "", "contingencyType": "", "ordStatus": "Filled",
            "triggered": "", "workingIndicator": False, "ordRejReason": "", "leavesQty": 0, "cumQty": 0,
            "avgPx": self.symbols.price(symbol, pay.mark_price), "commission": pay.rate, "feeType": "Funding",
            "tradePublishIndicator": "", "text": "Funding", "trdMatchID": "00000000-0000-0000-0000-000000000000",
            "execCost": money(pay.mark_price * abs(pay.position_amount)), "execComm": money(-pay.amount),
            "homeNotional": pay.position_amount, "foreignNotional": -(pay.mark_price * pay.position_amount),
            "transactTime": iso(pay.funding_time_ms / 1000), "timestamp": iso(bill.ts),
        }

    def stop_order(self, t: TriggerOrder) -> dict[str, Any]:
        symbol = self.symbols.symbol(t.market)
        status = {TriggerState.LIVE: "New", TriggerState.CANCELED: "Canceled", TriggerState.FAILED: "Rejected",
                  TriggerState.TRIGGERED: "Filled"}[t.state]
        insts = [spec.EXEC_REDUCE_ONLY] if t.reduce_only else []
        insts.append(spec.EXEC_MARK_PRICE if t.trigger_on.value == "mark" else spec.EXEC_LAST_PRICE)
        qty = self.symbols.contracts(symbol, t.qty) if t.qty is not None else 0
        return {
            "orderID": t.algo_id, "clOrdID": t.client_id, "clOrdLinkID": "", "account": ACCOUNT, "symbol": symbol,
            "side": side_wire(t.side is Side.BUY), "orderQty": qty,
            "price": self.symbols.price(symbol, t.order_price) if t.order_price is not None else None,
            "displayQty": None, "stopPx": self.symbols.price(symbol, t.trigger_price), "pegOffsetValue": None,
            "pegPriceType": "", "currency": "USDT", "settlCurrency": spec.SETTLE_CURRENCY,
            "ordType": "Stop" if t.order_price is None else "StopLimit", "timeInForce": "ImmediateOrCancel"
            if t.order_price is None else "GoodTillCancel", "execInst": ",".join(insts), "contingencyType": "",
            "ordStatus": status, "triggered": "StopOrderTriggered" if t.state is TriggerState.TRIGGERED else "",
            "workingIndicator": False, "ordRejReason": "", "leavesQty": qty if t.state is TriggerState.LIVE else 0,
            "cumQty": 0, "avgPx": None, "text": _SUBMITTED, "transactTime": iso(t.updated or t.created),
            "timestamp": iso(t.updated or t.created),
        }

    # --- account ------------------------------------------------------------------------------------

    def position(self, market: str, pos: Position | None, now: float) -> dict[str, Any]:
        """The market's one position row (BitMEX keeps the row when the position closes: currentQty 0)."""
        symbol = self.symbols.symbol(market)
        mode = pos.margin_mode if pos else self._exchange.margin_mode(market)
        leverage = pos.leverage if pos else self._exchange.leverage(market)
        qty = ZERO if pos is None else (pos.amount if pos.side is PositionSide.LONG else -pos.amount)
        contracts = self.symbols.contracts(symbol, qty)
        mark = pos.mark_price if pos and pos.mark_price else (pos.entry_price if pos else None)
        return {
            "account": ACCOUNT, "symbol": symbol, "currency": spec.SETTLE_CURRENCY,
            "underlying": symbol[:-4], "quoteCurrency": "USDT", "commission": self._exchange.settings.taker_fee,
            "initMarginReq": Decimal(1) / Decimal(leverage),
            "maintMarginReq": self._exchange.settings.maintenance_margin,
            "riskLimit": 1_000_000_000_000, "leverage": leverage, "crossMargin": mode is MarginMode.CROSS,
            "deleveragePercentile": None, "rebalancedPnl": 0, "prevRealisedPnl": 0, "currentQty": contracts,
            "currentCost": money(qty * pos.entry_price) if pos else 0, "currentComm": 0, "realisedCost": 0,
            "unrealisedCost": money(qty * pos.entry_price) if pos else 0, "grossOpenPremium": 0,
            "isOpen": pos is not None,
            "markPrice": self.symbols.price(symbol, mark) if mark else None,
            "markValue": money(qty * mark) if mark else 0, "riskValue": money(abs(qty) * mark) if mark else 0,
            "homeNotional": qty, "foreignNotional": -(qty * mark) if mark else ZERO, "posState": "",
            "posCost": money(qty * pos.entry_price) if pos else 0, "posCross": 0, "posComm": 0, "posLoss": 0,
            "posMargin": money(pos.margin) if pos else 0, "posMaint": 0, "initMargin": 0,
            "maintMargin": money(pos.margin) if pos else 0, "realisedPnl": 0,
            "unrealisedPnl": money(pos.unrealized_pnl) if pos else 0, "unrealisedPnlPcnt": ZERO,
            "unrealisedRoePcnt": ZERO,
            "avgCostPrice": self.symbols.price(symbol, pos.entry_price) if pos else None,
            "avgEntryPrice": self.symbols.price(symbol, pos.entry_price) if pos else None,
            "breakEvenPrice": self.symbols.price(symbol, pos.entry_price) if pos else None,
            "marginCallPrice": self.symbols.price(symbol, pos.liquidation_price) if pos and pos.liquidation_price
            else None,
            "liquidationPrice": self.symbols.price(symbol, pos.liquidation_price) if pos and pos.liquidation_price
            else None,
            "bankruptPrice": None, "timestamp": iso(now),
        }

    def margin(self, balance: Balance, now: float) -> dict[str, Any]:
        return {
            "account": ACCOUNT, "currency": spec.SETTLE_CURRENCY, "riskLimit": 1_000_000_000_000, "state": "",
            "amount": money(balance.total), "prevRealisedPnl": 0, "grossComm": 0, "grossOpenCost": 0,
            "grossOpenPremium": 0, "grossExecCost": 0, "grossMarkValue": 0, "riskValue": 0,
            "initMargin": money(balance.margin_in_use), "maintMargin": 0, "targetExcessMargin": 0,
            "realisedPnl": 0, "unrealisedPnl": money(balance.unrealized_pnl),
            "walletBalance": money(balance.total), "marginBalance": money(balance.total + balance.unrealized_pnl),
            "marginLeverage": ZERO, "marginUsedPcnt": ZERO, "excessMargin": money(balance.available),
            "availableMargin": money(balance.available), "withdrawableMargin": money(balance.available),
            "makerFeeDiscount": ZERO, "takerFeeDiscount": ZERO, "timestamp": iso(now),
        }

    def wallet(self, balance: Balance, now: float) -> dict[str, Any]:
        return {"account": ACCOUNT, "currency": spec.SETTLE_CURRENCY, "deposited": money(balance.total),
                "withdrawn": 0, "transferIn": 0, "transferOut": 0, "amount": money(balance.total),
                "pendingCredit": 0, "pendingDebit": 0, "confirmedDebit": 0, "timestamp": iso(now)}

    def usdt_balance(self) -> Balance | None:
        return next((b for b in self._exchange.balances() if b.asset == "USDT"), None)
