"""Account views in Bybit's terms, shared by REST and the private topics: positions
(position/list, the position topic) and the UNIFIED wallet (account/wallet-balance, the wallet
topic), computed from the simulator's account and the server's ledger.

Margins (docs `wallet-balance.mdx`, `position.mdx`): positionIM is the simulator's position margin,
positionMM its size x mark x the maintenance rate, order IM what open orders reserve; equity =
wallet + unrealised PnL; available = what the simulator lets new orders use. USDT counts 1:1 in USD.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server.ledger import Ledger, PositionBook
from pmm.connectors.bybit_perpetual.server.wire import ZERO, SymbolMap, money, position_idx, position_side_wire
from pmm.core.model import MarginMode, Position, PositionMode, PositionSide
from pmm.errors import ExchangeUnavailable
from pmm.sim.exchange import SimExchange

_RISK_LIMIT_VALUE = "2000000"


class AccountViews:
    def __init__(self, exchange: SimExchange, symbols: SymbolMap, ledger: Ledger) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._ledger = ledger

    def _mark(self, market: str) -> Decimal | None:
        try:
            return self._exchange.funding_info(market).mark_price
        except ExchangeUnavailable:  # no mark before the first market step
            return None

    def _maintenance(self, pos: Position) -> Decimal:
        mark = pos.mark_price if pos.mark_price is not None else pos.entry_price
        return pos.amount * mark * self._exchange.settings.maintenance_margin

    # --- positions ------------------------------------------------------------------------------

    def position_sides(self) -> tuple[PositionSide, ...]:
        if self._exchange.position_mode() is PositionMode.ONEWAY:
            return (PositionSide.BOTH,)
        return (PositionSide.LONG, PositionSide.SHORT)

    def _held(self, market: str, side: PositionSide) -> tuple[PositionSide, PositionBook | None]:
        """The (side, book) shown at `side`: in one-way mode whichever of long/short is held."""
        if side is not PositionSide.BOTH:
            return side, self._ledger.positions.get((market, side))
        for held in (PositionSide.LONG, PositionSide.SHORT):
            book = self._ledger.positions.get((market, held))
            if book is not None and book.position is not None:
                return held, book
        return PositionSide.BOTH, self._ledger.positions.get((market, PositionSide.LONG))

    def positions(self, symbol: str | None, *, with_category: bool = False,
                  include_empty: bool) -> list[dict[str, Any]]:
        mode = self._exchange.position_mode()
        current = {(p.market, p.side): p for p in self._exchange.positions()}
        rows = []
        for sym in ([symbol] if symbol is not None else self._symbols.symbols()):
            market = self._symbols.market(sym)
            assert market is not None
            for side in self.position_sides():
                held, book = self._held(market, side)
                pos = current.get((market, held)) if held is not PositionSide.BOTH else None
                if pos is None and not include_empty:
                    continue
                rows.append(self.position_view(market, side, pos, book, mode, with_category=with_category))
        return rows

    def position_view(self, market: str, idx_side: PositionSide, pos: Position | None, book: PositionBook | None,
                      mode: PositionMode, *, with_category: bool) -> dict[str, Any]:
        symbol = self._symbols.symbol(market)
        grid = self._symbols.grid(symbol)
        leverage = self._exchange.leverage(market)
        isolated = self._exchange.margin_mode(market) is MarginMode.ISOLATED
        mark = self._mark(market)
        size = pos.amount if pos is not None else ZERO
        entry = pos.entry_price if pos is not None else ZERO
        realised = self._ledger.realised_of(market, idx_side)
        data: dict[str, Any] = {"category": c.CATEGORY_LINEAR} if with_category else {}
        data.update({
            "positionIdx": position_idx(idx_side, mode), "riskId": 1, "riskLimitValue": _RISK_LIMIT_VALUE,
            "symbol": symbol, "side": position_side_wire(pos.side) if pos is not None else "",
            "size": grid.qty(size), "avgPrice": money(entry), "entryPrice": money(entry),
            "positionValue": money(size * entry),
            "tradeMode": c.TRADE_MODE_ISOLATED if isolated else c.TRADE_MODE_CROSS,
            "autoAddMargin": 0, "positionStatus": c.POSITION_STATUS_NORMAL, "leverage": str(leverage),
            "markPrice": grid.price(mark) if mark is not None else "",
            "liqPrice": money(pos.liquidation_price) if pos is not None and pos.liquidation_price is not None else "",
            "bustPrice": "", "positionIM": money(pos.margin) if pos is not None else "0",
            "positionMM": money(self._maintenance(pos)) if pos is not None else "0",
            "positionBalance": money(pos.margin) if pos is not None else "0",
            "takeProfit": "0", "stopLoss": "0", "trailingStop": "0", "sessionAvgPrice": "",
            "delta": "", "gamma": "", "vega": "", "theta": "",
            "unrealisedPnl": money(pos.unrealized_pnl) if pos is not None else "0",
            "curRealisedPnl": money(realised.cur) if pos is not None else "0",
            "cumRealisedPnl": money(realised.cum),
            "adlRankIndicator": 2 if pos is not None else 0, "isReduceOnly": False,
            "mmrSysUpdatedTime": "", "mmrSysUpdateTime": "",  # the topic and REST spell it differently
            "leverageSysUpdatedTime": "", "tpslMode": c.TPSL_MODE_FULL, "breakEvenPrice": money(entry),
            "createdTime": str(book.created_ms) if book is not None else "0",
            "updatedTime": str(book.updated_ms) if book is not None else "0",
            "seq": book.seq if book is not None else -1,
        })
        return data

    # --- wallet ---------------------------------------------------------------------------------

    def wallet(self, coins: set[str] | None) -> dict[str, Any]:
        positions = self._exchange.positions()
        rows = []
        totals = {k: ZERO for k in ("wallet", "upl", "im", "mm", "available", "order_im")}
        for balance in self._exchange.balances():
            mine = [p for p in positions if self._symbols.grid(self._symbols.symbol(p.market)).rules.quote
                    == balance.asset]
            position_im = sum((p.margin for p in mine), ZERO)
            position_mm = sum((self._maintenance(p) for p in mine), ZERO)
            order_im = max(ZERO, balance.margin_in_use - position_im)
            equity = balance.total + balance.unrealized_pnl
            totals["wallet"] += balance.total
            totals["upl"] += balance.unrealized_pnl
            totals["im"] += balance.margin_in_use
            totals["mm"] += position_mm
            totals["available"] += balance.available
            totals["order_im"] += order_im
            if coins is not None and balance.asset not in coins:
                continue
            rows.append({
                "coin": balance.asset, "equity": money(equity), "usdValue": money(equity),
                "walletBalance": money(balance.total), "free": "", "locked": "0", "spotHedgingQty": "0",
                "borrowAmount": "0", "availableToBorrow": "", "availableToWithdraw": "",
                "accruedInterest": "0", "totalOrderIM": money(order_im), "totalPositionIM": money(position_im),
                "totalPositionMM": money(position_mm), "unrealisedPnl": money(balance.unrealized_pnl),
                "cumRealisedPnl": money(self._ledger.coin_realised.get(balance.asset, ZERO)), "bonus": "0",
                "collateralSwitch": True, "marginCollateral": True, "spotBorrow": "0",
            })
        margin_balance = totals["wallet"] + totals["upl"]
        im_rate = totals["im"] / margin_balance if margin_balance > 0 else ZERO
        mm_rate = totals["mm"] / margin_balance if margin_balance > 0 else ZERO
        return {
            "accountType": c.ACCOUNT_TYPE_UNIFIED, "accountLTV": "0",
            "accountIMRate": money(im_rate), "accountMMRate": money(mm_rate),
            "accountIMRateByMp": money(im_rate), "accountMMRateByMp": money(mm_rate),
            "totalEquity": money(margin_balance), "totalWalletBalance": money(totals["wallet"]),
            "totalMarginBalance": money(margin_balance), "totalAvailableBalance": money(totals["available"]),
            "totalPerpUPL": money(totals["upl"]), "totalInitialMargin": money(totals["im"]),
            "totalInitialMarginByMp": money(totals["im"]), "totalMaintenanceMargin": money(totals["mm"]),
            "totalMaintenanceMarginByMp": money(totals["mm"]), "coin": rows,
        }
