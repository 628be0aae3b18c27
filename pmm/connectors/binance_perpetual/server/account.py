"""Account reads of the Binance server: v2/v3 account and balance, v2/v3 positionRisk,
leverageBracket, commissionRate, userTrades and income (exchange_apis.md §A3).

Numbers come from the simulated account (pmm/sim/account.py): wallet = deposits + realized PnL -
fees + funding; position margins at mark (cross) or fixed at open (isolated); open-order margin is
what the account reserves beyond the positions. Where Binance has a field the simulator does not
model (ADL quantile, break-even price with fees, notional brackets) a neutral value is sent.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.server.auth import RawParams
from pmm.connectors.binance_perpetual.server.market import optional_symbol, symbol_param
from pmm.connectors.binance_perpetual.server.orders import BinanceOrders
from pmm.connectors.binance_perpetual.server.streams import MarketStreams
from pmm.connectors.binance_perpetual.server.wire import (
    SymbolMap,
    margin_type_lower,
    money,
    position_side_wire,
    side_wire,
    trade_number,
)
from pmm.connectors.common.numbers import ms, plain
from pmm.core.clock import Clock
from pmm.core.model import ZERO, Balance, Liquidity, MarginMode, Position, PositionMode, Side
from pmm.sim.exchange import SimExchange

_WEEK_MS = 7 * 24 * 3600 * 1000
_MAX_NOTIONAL = "1000000000"


class AccountHandlers:
    """Signed account reads over the simulated account."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap, desk: BinanceOrders, streams: MarketStreams,
                 clock: Clock) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._desk = desk
        self._streams = streams
        self._clock = clock

    # --- shared numbers -------------------------------------------------------------------------

    def _quote(self, market: str) -> str:
        return self._symbols.grid(self._symbols.symbol(market)).rules.quote

    def _asset(self, balance: Balance, positions: list[Position]) -> dict[str, Any]:
        mine = [p for p in positions if self._quote(p.market) == balance.asset]
        cross_upnl = sum((p.unrealized_pnl for p in mine if p.margin_mode is MarginMode.CROSS), ZERO)
        isolated = sum((p.margin for p in mine if p.margin_mode is MarginMode.ISOLATED), ZERO)
        position_im = sum((p.margin for p in mine), ZERO)
        maint = sum((p.notional * self._exchange.settings.maintenance_margin for p in mine), ZERO)
        order_im = max(ZERO, balance.margin_in_use - position_im)
        withdrawable = max(ZERO, min(balance.available, balance.total))
        return {
            "asset": balance.asset,
            "walletBalance": money(balance.total),
            "unrealizedProfit": money(balance.unrealized_pnl),
            "marginBalance": money(balance.total + balance.unrealized_pnl),
            "maintMargin": money(maint),
            "initialMargin": money(balance.margin_in_use),
            "positionInitialMargin": money(position_im),
            "openOrderInitialMargin": money(order_im),
            "crossWalletBalance": money(balance.total - isolated),
            "crossUnPnl": money(cross_upnl),
            "availableBalance": money(balance.available),
            "maxWithdrawAmount": money(withdrawable),
            "marginAvailable": True,
            "updateTime": ms(self._clock.now()),
        }

    def _rows(self, symbols: Iterable[str], *, only_open: bool) -> list[tuple[str, str, Position | None]]:
        """(symbol, positionSide, position or None) rows in Binance's layout for the account's mode."""
        mode = self._exchange.position_mode()
        held: dict[tuple[str, str], Position] = {}
        for pos in self._exchange.positions():
            held[(self._symbols.symbol(pos.market), position_side_wire(pos.side, mode))] = pos
        if mode is PositionMode.ONEWAY:
            sides: tuple[str, ...] = (c.POSITION_SIDE_BOTH,)
        else:
            sides = (c.POSITION_SIDE_LONG, c.POSITION_SIDE_SHORT)
        rows = []
        for symbol in symbols:
            has_orders = bool(self._desk.open_orders(symbol))
            for ps in sides:
                pos = held.get((symbol, ps))
                if only_open and pos is None and not has_orders:
                    continue
                rows.append((symbol, ps, pos))
        return rows

    def _position(self, symbol: str, ps: str, pos: Position | None, version: int) -> dict[str, Any]:
        grid = self._symbols.grid(symbol)
        market = grid.rules.market
        info = self._streams.funding.get(symbol)
        mark = pos.mark_price if pos is not None and pos.mark_price is not None else (info.mark_price if info else ZERO)
        amount = pos.signed_amount if pos is not None else ZERO
        margin_mode = self._exchange.margin_mode(market)
        isolated = margin_mode is MarginMode.ISOLATED
        margin = pos.margin if pos is not None else ZERO
        upnl = pos.unrealized_pnl if pos is not None else ZERO
        row: dict[str, Any] = {
            "symbol": symbol,
            "positionSide": ps,
            "positionAmt": grid.qty(amount),
            "entryPrice": money(pos.entry_price) if pos is not None else "0.0",
            "breakEvenPrice": money(pos.entry_price) if pos is not None else "0.0",
            "markPrice": money(mark),
            "unRealizedProfit": money(upnl),
            "liquidationPrice": money(pos.liquidation_price) if pos is not None and pos.liquidation_price else "0",
            "isolatedMargin": money(margin + upnl) if isolated and pos is not None else "0",
            "notional": money(amount * mark),
            "marginAsset": grid.rules.quote,
            "isolatedWallet": money(margin) if isolated else "0",
            "updateTime": ms(self._clock.now()) if pos is not None else 0,
        }
        if version == 2:
            row |= {"leverage": str(self._exchange.leverage(market)), "maxNotionalValue": _MAX_NOTIONAL,
                    "marginType": margin_type_lower(margin_mode), "isAutoAddMargin": "false"}
        else:
            maint = abs(amount) * mark * self._exchange.settings.maintenance_margin
            row |= {"initialMargin": money(margin), "maintMargin": money(maint), "positionInitialMargin": money(margin),
                    "openOrderInitialMargin": "0", "adl": 0, "bidNotional": "0", "askNotional": "0"}
        return row

    # --- endpoints ------------------------------------------------------------------------------

    async def balance(self, params: RawParams) -> Any:
        positions = self._exchange.positions()
        out = []
        for bal in self._exchange.balances():
            asset = self._asset(bal, positions)
            out.append({"accountAlias": "SgsR", "asset": bal.asset, "balance": asset["walletBalance"],
                        **{k: asset[k] for k in ("crossWalletBalance", "crossUnPnl", "availableBalance",
                                                  "maxWithdrawAmount", "marginAvailable", "updateTime")}})
        return out

    async def account_v2(self, params: RawParams) -> Any:
        return self._account(version=2)

    async def account_v3(self, params: RawParams) -> Any:
        return self._account(version=3)

    def _account(self, version: int) -> dict[str, Any]:
        positions = self._exchange.positions()
        assets = [self._asset(b, positions) for b in self._exchange.balances()]
        usdt = next((a for a in assets if a["asset"] == "USDT"), assets[0] if assets else None)
        totals = {
            "totalInitialMargin": "initialMargin", "totalMaintMargin": "maintMargin",
            "totalWalletBalance": "walletBalance", "totalUnrealizedProfit": "unrealizedProfit",
            "totalMarginBalance": "marginBalance", "totalPositionInitialMargin": "positionInitialMargin",
            "totalOpenOrderInitialMargin": "openOrderInitialMargin", "totalCrossWalletBalance": "crossWalletBalance",
            "totalCrossUnPnl": "crossUnPnl", "availableBalance": "availableBalance",
            "maxWithdrawAmount": "maxWithdrawAmount",
        }
        data: dict[str, Any] = {}
        if version == 2:
            data |= {"feeTier": 0, "feeBurn": False, "canTrade": True, "canDeposit": True, "canWithdraw": True,
                     "updateTime": 0, "multiAssetsMargin": False, "tradeGroupId": -1}
        data |= {total: (usdt[field] if usdt else "0.00000000") for total, field in totals.items()}
        if version == 3:
            for asset in assets:
                asset.pop("marginAvailable")
        data["assets"] = assets
        rows = self._rows(self._symbols.symbols(), only_open=version == 3)
        data["positions"] = [self._account_position(s, ps, pos, version) for s, ps, pos in rows]
        return data

    def _account_position(self, symbol: str, ps: str, pos: Position | None, version: int) -> dict[str, Any]:
        full = self._position(symbol, ps, pos, 3)
        row = {k: full[k] for k in ("symbol", "positionSide", "positionAmt", "isolatedMargin", "notional",
                                     "isolatedWallet", "initialMargin", "maintMargin", "updateTime")}
        row["unrealizedProfit"] = full["unRealizedProfit"]
        if version == 2:
            market = self._symbols.grid(symbol).rules.market
            row |= {"positionInitialMargin": full["positionInitialMargin"], "openOrderInitialMargin": "0",
                    "leverage": str(self._exchange.leverage(market)),
                    "isolated": self._exchange.margin_mode(market) is MarginMode.ISOLATED,
                    "entryPrice": full["entryPrice"], "maxNotional": _MAX_NOTIONAL, "bidNotional": "0",
                    "askNotional": "0"}
        return row

    async def position_risk_v2(self, params: RawParams) -> Any:
        symbol = optional_symbol(params, self._symbols)
        rows = self._rows([symbol] if symbol else self._symbols.symbols(), only_open=False)
        return [self._position(s, ps, pos, 2) for s, ps, pos in rows]

    async def position_risk_v3(self, params: RawParams) -> Any:
        symbol = optional_symbol(params, self._symbols)
        rows = self._rows([symbol] if symbol else self._symbols.symbols(), only_open=True)
        return [self._position(s, ps, pos, 3) for s, ps, pos in rows]

    async def leverage_bracket(self, params: RawParams) -> Any:
        symbol = optional_symbol(params, self._symbols)
        rows = []
        for s in [symbol] if symbol else self._symbols.symbols():
            rules = self._symbols.grid(s).rules
            ratio = float(self._exchange.settings.maintenance_margin)  # a ratio, sent as a JSON number
            rows.append({"symbol": s, "brackets": [{
                "bracket": 1, "initialLeverage": rules.max_leverage, "notionalCap": int(_MAX_NOTIONAL),
                "notionalFloor": 0, "maintMarginRatio": ratio, "cum": 0.0,
            }]})
        return rows[0] if symbol else rows

    async def symbol_config(self, params: RawParams) -> Any:
        """Leverage and margin type per symbol (GET /fapi/v1/symbolConfig; ccxt's fetch_leverage)."""
        symbol = optional_symbol(params, self._symbols)
        rows = []
        for s in [symbol] if symbol else self._symbols.symbols():
            market = self._symbols.grid(s).rules.market
            isolated = self._exchange.margin_mode(market) is MarginMode.ISOLATED
            rows.append({"symbol": s, "marginType": c.MARGIN_TYPE_ISOLATED if isolated else c.MARGIN_TYPE_CROSSED,
                         "isAutoAddMargin": False, "leverage": self._exchange.leverage(market),
                         "maxNotionalValue": _MAX_NOTIONAL})
        return rows

    async def commission_rate(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        settings = self._exchange.settings
        return {"symbol": symbol, "makerCommissionRate": plain(settings.maker_fee),
                "takerCommissionRate": plain(settings.taker_fee), "rpiCommissionRate": "0"}

    # --- history --------------------------------------------------------------------------------

    def _window(self, params: RawParams) -> tuple[int, int]:
        start, end = params.integer("startTime"), params.integer("endTime")
        now = ms(self._clock.now())
        if start is None and end is None:
            return now - _WEEK_MS, now
        return (start if start is not None else 0), (end if end is not None else now)

    async def user_trades(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        market = self._symbols.grid(symbol).rules.market
        order_id, from_id = params.integer("orderId"), params.integer("fromId")
        limit = min(params.integer("limit", 500) or 500, 1000)
        start, end = self._window(params)
        mode = self._exchange.position_mode()
        grid = self._symbols.grid(symbol)
        rows = []
        for fill in self._exchange.fills_since(0.0, market):
            number, when = trade_number(fill.trade_id), ms(fill.ts)
            fill_order_id = self._desk.order_number(fill)
            if order_id is not None and fill_order_id != order_id:
                continue
            if from_id is not None and number < from_id:
                continue
            if from_id is None and not start <= when <= end:
                continue
            rows.append({
                "buyer": fill.side is Side.BUY, "commission": money(fill.fee), "commissionAsset": fill.fee_asset,
                "id": number, "maker": fill.liquidity is Liquidity.MAKER, "orderId": fill_order_id,
                "price": grid.price(fill.price), "qty": grid.qty(fill.amount),
                "quoteQty": money(fill.price * fill.amount), "realizedPnl": money(fill.realized_pnl),
                "side": side_wire(fill.side), "positionSide": position_side_wire(fill.position_side, mode),
                "symbol": symbol, "time": when,
            })
        return rows[:limit] if from_id is not None else rows[-limit:]

    async def income(self, params: RawParams) -> Any:
        symbol = optional_symbol(params, self._symbols)
        market = self._symbols.grid(symbol).rules.market if symbol else None
        kind = params.get("incomeType")
        limit = min(params.integer("limit", 100) or 100, 1000)
        start, end = self._window(params)
        rows: list[dict[str, Any]] = []
        for fill in self._exchange.fills_since(0.0, market):
            sym, number, when = self._symbols.symbol(fill.market), trade_number(fill.trade_id), ms(fill.ts)
            asset = fill.fee_asset
            if fill.realized_pnl:
                rows.append(_income(sym, c.INCOME_REALIZED_PNL, fill.realized_pnl, asset, when, number, number))
            if fill.fee:
                rows.append(_income(sym, c.INCOME_COMMISSION, -fill.fee, asset, when, number, number))
        for n, pay in enumerate(self._exchange.funding_payments_since(0.0, market), start=1):
            rows.append(_income(self._symbols.symbol(pay.market), c.INCOME_FUNDING_FEE, pay.amount, pay.asset,
                                pay.funding_time_ms, n, None))
        rows = [r for r in rows if (kind is None or r["incomeType"] == kind) and start <= r["time"] <= end]
        rows.sort(key=lambda r: r["time"])
        return rows[:limit]


def _income(symbol: str, kind: str, amount: Decimal, asset: str, when: int, tran_id: int,
            trade_id: int | None) -> dict[str, Any]:
    return {"symbol": symbol, "incomeType": kind, "income": money(amount), "asset": asset, "info": kind,
            "time": when, "tranId": tran_id, "tradeId": "" if trade_id is None else str(trade_id)}

