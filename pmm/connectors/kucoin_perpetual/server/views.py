"""KuCoin rows for the server's orders, stops, fills, positions and account (REST and pushes).

Shapes follow the documented examples (kucoin-universal-sdk's `api_order_test.py`,
`api_positions_test.py`, `api_account_test.py`, `api_futures_private_test.py`): order rows with
`id`, `clientOid`, `size`/`filledSize` in lots, `status` open|done; fills with their fee; positions
with signed `currentQty`; the account overview; order pushes (`type` open, match, filled,
canceled) with `clientOid` and, for a match, `matchPrice`, `matchSize`, `tradeId`, `liquidity`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pmm.connectors.common.server.desk_order import DeskOrder, State, Tif
from pmm.connectors.common.server.ledger import Bill
from pmm.connectors.common.server.triggers import TriggerOn, TriggerOrder, TriggerState
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.server.wire import ZERO, KucoinSymbols, money, ms, ns, num, side_wire, trade_id
from pmm.core.model import Balance, Liquidity, MarginMode, Position, PositionMode, PositionSide
from pmm.errors import ExchangeUnavailable
from pmm.sim.exchange import SimExchange


def num8(value: Decimal) -> int | float:
    """A money amount as a JSON number with at most 8 decimals (KuCoin's account and position fields)."""
    return num(value.quantize(Decimal("1e-8")))


def margin_wire(mode: MarginMode) -> str:
    return spec.MARGIN_CROSS if mode is MarginMode.CROSS else spec.MARGIN_ISOLATED


class Views:
    def __init__(self, exchange: SimExchange, symbols: KucoinSymbols) -> None:
        self._exchange = exchange
        self.symbols = symbols
        self.opened: dict[tuple[str, PositionSide], float] = {}  # when each position opened

    def _hedge(self) -> bool:
        return self._exchange.position_mode() is PositionMode.HEDGE

    def mark(self, market: str) -> Any:
        try:
            return self._exchange.funding_info(market)
        except ExchangeUnavailable:  # before the first market step
            return None

    def _position_side(self, side: PositionSide) -> str:
        return side.value.upper() if self._hedge() and side is not PositionSide.BOTH else "BOTH"

    # --- orders ---------------------------------------------------------------------------------

    def order(self, o: DeskOrder) -> dict[str, Any]:
        symbol = self.symbols.symbol(o.market)
        grid = self.symbols.grid(symbol)
        size, filled = self.symbols.lots(symbol, o.qty), self.symbols.lots(symbol, o.cum_qty)
        active = o.is_open or o.state is State.PENDING
        avg = o.avg_price
        row: dict[str, Any] = {
            "id": o.order_id, "symbol": symbol, "type": "market" if o.is_market else "limit",
            "side": side_wire(o.side), "price": grid.price(o.price) if o.price is not None else "0", "size": size,
            "value": money((o.price or ZERO) * o.qty), "dealValue": money(o.cum_value), "dealSize": filled,
            "stp": "", "stop": "", "stopPriceType": "", "stopTriggered": False, "stopPrice": None,
            "timeInForce": "IOC" if o.tif is Tif.IOC and not o.is_market else "GTC",
            "postOnly": o.tif is Tif.POST_ONLY, "hidden": False, "iceberg": False,
            "leverage": str(o.extra.get("leverage", self._exchange.leverage(o.market))), "forceHold": False,
            "closeOrder": bool(o.extra.get("closeOrder", False)), "visibleSize": 0, "clientOid": o.client_id or None,
            "remark": None, "tags": "", "isActive": active, "cancelExist": o.state is State.CANCELED,
            "createdAt": ms(o.created), "updatedAt": ms(o.updated), "endAt": None if active else ms(o.updated),
            "orderTime": ns(o.created), "settleCurrency": grid.rules.quote,
            "marginMode": o.extra.get("marginMode", margin_wire(self._exchange.margin_mode(o.market))),
            "avgDealPrice": grid.price(avg) if avg is not None and grid.rules.is_on_tick(avg) else
            (money(avg) if avg is not None else "0"),
            "filledSize": filled, "filledValue": money(o.cum_value), "status": "open" if active else "done",
            "reduceOnly": o.reduce_only, "positionSide": self._position_side(o.position_side),
        }
        return row

    def order_push(self, o: DeskOrder, kind: str, *, fill: Any = None) -> dict[str, Any]:
        """One `/contractMarket/tradeOrders` push for `o` (`fill`: the OrderFilled of a match)."""
        symbol = self.symbols.symbol(o.market)
        grid = self.symbols.grid(symbol)
        size, filled = self.symbols.lots(symbol, o.qty), self.symbols.lots(symbol, o.cum_qty)
        done = kind in ("filled", "canceled")
        canceled = size - filled if kind == "canceled" else 0
        data: dict[str, Any] = {
            "symbol": symbol, "side": side_wire(o.side), "canceledSize": str(canceled), "orderId": o.order_id,
            "clientOid": o.client_id, "liquidity": "maker", "marginMode": o.extra.get(
                "marginMode", margin_wire(self._exchange.margin_mode(o.market))),
            "type": kind, "orderTime": ns(o.created), "size": str(size), "filledSize": str(filled),
            "price": grid.price(o.price) if o.price is not None else "",
            "remainSize": str(0 if done else size - filled),
            "status": "done" if done else ("match" if kind == "match" else "open"),
            "ts": ns(o.updated), "orderType": "market" if o.is_market else "limit",
            "positionSide": self._position_side(o.position_side),
        }
        if fill is not None:
            data.update({"matchPrice": grid.price(fill.price), "matchSize": str(self.symbols.lots(symbol, fill.amount)),
                         "tradeId": trade_id(fill.trade_id), "ts": ns(fill.ts),
                         "liquidity": "maker" if fill.liquidity is Liquidity.MAKER else "taker",
                         "feeType": "takerFee" if fill.liquidity is Liquidity.TAKER else "makerFee"})
        return data

    def stop(self, t: TriggerOrder) -> dict[str, Any]:
        """A stop order as `GET /api/v1/stopOrders` lists it (an order row with its trigger)."""
        symbol = self.symbols.symbol(t.market)
        grid = self.symbols.grid(symbol)
        size = self.symbols.lots(symbol, t.qty) if t.qty is not None else 0
        live = t.state is TriggerState.LIVE
        return {
            "id": t.algo_id, "symbol": symbol, "type": "limit" if t.order_price is not None else "market",
            "side": side_wire(t.side), "price": grid.price(t.order_price) if t.order_price is not None else None,
            "size": size, "value": "0", "dealValue": "0", "dealSize": 0, "stp": "",
            "stop": "up" if t.rising else "down",
            "stopPriceType": spec.STOP_PRICE_MARK if t.trigger_on is TriggerOn.MARK else spec.STOP_PRICE_LAST,
            "stopTriggered": t.state is TriggerState.TRIGGERED, "stopPrice": grid.price(t.trigger_price),
            "timeInForce": "GTC", "postOnly": False, "hidden": False, "iceberg": False,
            "leverage": str(self._exchange.leverage(t.market)), "forceHold": False,
            "closeOrder": t.qty is None, "visibleSize": 0, "clientOid": t.client_id or None, "remark": None,
            "tags": "", "isActive": live, "cancelExist": t.state is TriggerState.CANCELED,
            "createdAt": ms(t.created), "updatedAt": ms(t.updated), "endAt": None if live else ms(t.updated),
            "orderTime": ns(t.created), "settleCurrency": grid.rules.quote,
            "marginMode": t.extra.get("marginMode", margin_wire(self._exchange.margin_mode(t.market))),
            "avgDealPrice": "0", "filledSize": 0, "filledValue": "0", "status": "open" if live else "done",
            "reduceOnly": t.reduce_only,
        }

    def stop_push(self, t: TriggerOrder) -> dict[str, Any]:
        symbol = self.symbols.symbol(t.market)
        grid = self.symbols.grid(symbol)
        kind = {TriggerState.LIVE: "open", TriggerState.TRIGGERED: "triggered", TriggerState.CANCELED: "cancel",
                TriggerState.FAILED: "cancel"}[t.state]
        return {"createdAt": ms(t.created), "marginMode": t.extra.get("marginMode", spec.MARGIN_ISOLATED),
                "orderId": t.algo_id, "orderPrice": grid.price(t.order_price) if t.order_price is not None else "0",
                "orderType": "stop", "side": side_wire(t.side),
                "size": self.symbols.lots(symbol, t.qty) if t.qty is not None else 0,
                "stop": "up" if t.rising else "down", "stopPrice": grid.price(t.trigger_price),
                "stopPriceType": spec.STOP_PRICE_MARK if t.trigger_on is TriggerOn.MARK else spec.STOP_PRICE_LAST,
                "symbol": symbol, "ts": ns(t.updated), "type": kind}

    def fill(self, bill: Bill) -> dict[str, Any]:
        event = bill.fill
        assert event is not None
        symbol = self.symbols.symbol(event.market)
        grid = self.symbols.grid(symbol)
        order = bill.order
        value = event.price * event.amount
        fee = money(event.fee)
        closing = event.realized_pnl != 0 or (order is not None and order.closing)
        return {
            "symbol": symbol, "tradeId": trade_id(event.trade_id), "orderId": order.order_id if order else "",
            "clientOid": order.client_id if order else "", "side": side_wire(event.side),
            "liquidity": "maker" if event.liquidity is Liquidity.MAKER else "taker", "forceTaker": False,
            "price": grid.price(event.price), "size": self.symbols.lots(symbol, event.amount), "value": money(value),
            "openFeePay": "0" if closing else fee, "closeFeePay": fee if closing else "0", "stop": "",
            "feeRate": format(self._exchange.settings.maker_fee if event.liquidity is Liquidity.MAKER
                              else self._exchange.settings.taker_fee, "f"),
            "fixFee": "0", "feeCurrency": event.fee_asset, "subTradeType": None,
            "marginMode": margin_wire(self._exchange.margin_mode(event.market)), "openFeeTaxPay": "0",
            "closeFeeTaxPay": "0", "displayType": "market" if order is not None and order.is_market else "limit",
            "fee": fee, "settleCurrency": event.fee_asset,
            "orderType": "market" if order is not None and order.is_market else "limit", "tradeType": "trade",
            "tradeTime": ns(event.ts), "createdAt": ms(event.ts),
            "positionSide": self._position_side(event.position_side),
        }

    # --- positions and the account --------------------------------------------------------------

    def position(self, pos: Position | None, market: str, side: PositionSide, now: float) -> dict[str, Any]:
        """One position row; `pos` None: a closed one (currentQty 0, isOpen false)."""
        symbol = self.symbols.symbol(market)
        grid = self.symbols.grid(symbol)
        info = self.mark(market)
        mark = info.mark_price if info is not None else (pos.entry_price if pos else ZERO)
        amount = pos.amount if pos else ZERO
        lots = self.symbols.lots(symbol, amount)
        signed = -lots if not self._hedge() and side is PositionSide.SHORT else lots
        mode = pos.margin_mode if pos else self._exchange.margin_mode(market)
        leverage = pos.leverage if pos else self._exchange.leverage(market)
        cost = amount * (pos.entry_price if pos else ZERO)
        direction = -1 if side is PositionSide.SHORT else 1
        return {
            "id": f"5000000000{self.symbols.symbols().index(symbol):02d}{0 if side is PositionSide.SHORT else 1}",
            "symbol": symbol, "autoDeposit": False, "crossMode": mode is MarginMode.CROSS,
            "maintMarginReq": num(self._exchange.settings.maintenance_margin), "riskLimit": 500000,
            "realLeverage": leverage, "delevPercentage": 0.5,
            "openingTimestamp": ms(self.opened.get((market, side), now)), "currentTimestamp": ms(now),
            "currentQty": signed, "currentCost": num8(cost * direction),
            "currentComm": 0, "unrealisedCost": num8(cost * direction), "realisedGrossCost": 0, "realisedCost": 0,
            "isOpen": pos is not None, "markPrice": num(grid.rules.floor_price(mark)),
            "markValue": num8(amount * mark * direction), "posCost": num8(cost * direction), "posCross": 0,
            "posInit": num8(pos.margin if pos else ZERO), "posComm": 0, "posLoss": 0,
            "posMargin": num8(pos.margin if pos else ZERO), "posFunding": 0, "posMaint": 0, "maintMargin": 0,
            "realisedGrossPnl": 0, "realisedPnl": 0, "unrealisedPnl": num8(pos.unrealized_pnl if pos else ZERO),
            "unrealisedPnlPcnt": 0, "unrealisedRoePcnt": 0,
            "avgEntryPrice": num(pos.entry_price) if pos else 0,
            "liquidationPrice": num(pos.liquidation_price) if pos and pos.liquidation_price else 0,
            "bankruptPrice": 0, "settleCurrency": grid.rules.quote, "isInverse": False,
            "marginMode": margin_wire(mode), "positionSide": self._position_side(side), "leverage": leverage,
        }

    def positions(self, now: float, symbol: str | None = None) -> list[dict[str, Any]]:
        return [self.position(p, p.market, p.side, now) for p in self._exchange.positions()
                if symbol is None or self.symbols.symbol(p.market) == symbol]

    def balance(self, asset: str) -> Balance:
        for b in self._exchange.balances():
            if b.asset == asset:
                return b
        return Balance(asset, ZERO, ZERO)

    def account(self, asset: str) -> dict[str, Any]:
        b = self.balance(asset)
        return {"accountEquity": num8(b.total + b.unrealized_pnl), "unrealisedPNL": num8(b.unrealized_pnl),
                "marginBalance": num8(b.total), "positionMargin": num8(b.margin_in_use), "orderMargin": 0,
                "frozenFunds": 0, "availableBalance": num8(b.available), "currency": asset, "riskRatio": 0,
                "maxWithdrawAmount": num8(b.available)}

    def wallet(self, asset: str, now: float) -> dict[str, Any]:
        b = self.balance(asset)
        return {"crossPosMargin": "0", "isolatedOrderMargin": "0", "holdBalance": "0",
                "equity": money(b.total + b.unrealized_pnl), "version": str(ms(now)),
                "availableBalance": money(b.available), "isolatedPosMargin": money(b.margin_in_use),
                "walletBalance": money(b.total), "isolatedFundingFeeMargin": "0", "crossUnPnl": "0",
                "totalCrossMargin": money(b.available), "currency": asset, "isolatedUnPnl": money(b.unrealized_pnl),
                "crossOrderMargin": "0", "timestamp": str(ms(now))}
