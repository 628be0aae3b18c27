"""Gate's shapes of the account: orders, fills, account-book rows, positions, the futures account
and price-triggered orders, as the REST endpoints answer them and the private channels push them
(Gate APIv4 "Futures" models, exchange_apis_more.md §H3, §H6).

Signs: an order's and a fill's `size` are positive for a buy, negative for a sell; a single-mode
position's `size` is negative when short; an account-book `change` is signed for the account
(negative = paid). `finish_as` is absent while an order is open (the official SDK refuses an empty
one). Sizes are contracts (`wire.py`).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pmm.connectors.common.server.desk_order import Cause, DeskOrder, State
from pmm.connectors.common.server.ledger import Bill
from pmm.connectors.common.server.triggers import TriggerOn, TriggerOrder, TriggerState
from pmm.connectors.gate_io_perpetual.server.wire import ZERO, GateSymbols, average, money, ms, seconds, trade_id
from pmm.core.model import Balance, Liquidity, MarginMode, Position, PositionMode, PositionSide, Side
from pmm.errors import ExchangeUnavailable
from pmm.sim.exchange import SimExchange

UID = 10_000  # the simulated account's user id (private channel payloads name it)
# Why an order ended -> Gate's finish_as.
FINISH_AS = {Cause.USER: "cancelled", Cause.UNFILLED: "ioc", Cause.FOK_UNFILLABLE: "ioc",
             Cause.POST_ONLY_CROSS: "cancelled", Cause.REDUCE_ONLY: "reduce_only", Cause.DEAD_MAN: "cancelled",
             Cause.VENUE: "cancelled", Cause.NONE: "cancelled"}
_TIFS = {"gtc": "gtc", "ioc": "ioc", "fok": "fok", "post_only": "poc"}
_TRIGGER_STATUS = {TriggerState.LIVE: "open", TriggerState.TRIGGERED: "finished", TriggerState.CANCELED: "finished",
                   TriggerState.FAILED: "finished"}
_TRIGGER_FINISH = {TriggerState.TRIGGERED: "succeeded", TriggerState.CANCELED: "cancelled",
                   TriggerState.FAILED: "failed"}


class Views:
    """Builds every account-side payload from the simulator and the server's records."""

    def __init__(self, exchange: SimExchange, symbols: GateSymbols) -> None:
        self._exchange = exchange
        self.symbols = symbols
        self.opened: dict[tuple[str, PositionSide], float] = {}  # position -> when it opened

    def _signed(self, symbol: str, side: Side, base: Decimal, decimal: bool) -> int | str:
        return self.symbols.size(symbol, base if side is Side.BUY else -base, decimal=decimal)

    def mark(self, market: str) -> Decimal | None:
        try:
            return self._exchange.funding_info(market).mark_price
        except ExchangeUnavailable:  # before the first market step
            return None

    # --- orders -------------------------------------------------------------------------------------

    def order(self, o: DeskOrder, *, decimal: bool = False, push: bool = False) -> dict[str, Any]:
        symbol = self.symbols.symbol(o.market)
        grid = self.symbols.grid(symbol)
        avg = o.avg_price
        finished = o.is_done
        left = o.qty - o.cum_qty if not (finished and o.state is State.FILLED) else ZERO
        row: dict[str, Any] = {
            "id": int(o.order_id), "user": UID, "contract": symbol, "create_time": seconds(o.created),
            "size": self._signed(symbol, o.side, o.qty, decimal), "iceberg": 0 if not decimal else "0",
            "left": self._signed(symbol, o.side, left, decimal) if left else (0 if not decimal else "0"),
            "price": grid.price(o.price) if o.price is not None else "0",
            "fill_price": average(grid, avg) if avg is not None else "0",
            "mkfr": money(self._exchange.settings.maker_fee), "tkfr": money(self._exchange.settings.taker_fee),
            "tif": _TIFS[o.tif.value], "refu": 0, "is_reduce_only": o.reduce_only, "is_close": False,
            "is_liq": False, "text": o.client_id or o.extra.get("text", "api"),
            "status": "finished" if finished else "open", "update_time": seconds(o.updated),
            "close": False, "reduce_only": o.reduce_only, "stp_act": "-", "stp_id": 0, "amend_text": "-",
            "biz_info": "-", "pos_margin_mode": self._margin(o.market),
        }
        if finished:
            row["finish_time"] = seconds(o.updated)
            row["finish_as"] = "filled" if o.state is State.FILLED else FINISH_AS[o.cause]
        if push:
            row.update(create_time_ms=ms(o.created), finish_time_ms=ms(o.updated) if finished else 0,
                       update_id=o.amends + 1 + len(o.extra.get("fills", ())))
        return row

    def _margin(self, market: str) -> str:
        return "cross" if self._exchange.margin_mode(market) is MarginMode.CROSS else "isolated"

    # --- fills and account book ---------------------------------------------------------------------

    def fill(self, bill: Bill, *, decimal: bool = False, push: bool = False) -> dict[str, Any]:
        event = bill.fill
        assert event is not None
        symbol = self.symbols.symbol(event.market)
        order = bill.order
        row: dict[str, Any] = {
            "id": trade_id(event.trade_id) if push else int(trade_id(event.trade_id)),
            "create_time": seconds(event.ts), "contract": symbol,
            "order_id": order.order_id if order else "0",
            "size": self._signed(symbol, event.side, event.amount, decimal),
            "price": self.symbols.grid(symbol).price(event.price),
            "role": "maker" if event.liquidity is Liquidity.MAKER else "taker",
            "text": (order.client_id or order.extra.get("text", "api")) if order else "api",
            "fee": money(event.fee), "point_fee": "0",
        }
        if push:
            row["create_time_ms"] = ms(event.ts)
        else:
            # close_size: how much of the fill closed a position (signed as the fill): a hedge-mode
            # close is all closing; a one-way fill that realized PnL closed (a flip counts whole).
            closing = (order is not None and order.closing) or event.realized_pnl != 0
            row.update(trade_id=trade_id(event.trade_id),
                       close_size=row["size"] if closing else (0 if not decimal else "0"),
                       trade_value=money(event.price * event.amount))
        return row

    def account_book(self, bill: Bill) -> list[dict[str, Any]]:
        """One bill -> Gate's account-book rows: a fill's `pnl` row (when it realized any) and its
        `fee` row, or a funding settlement's `fund` row; newest first like the endpoint."""
        symbol = self.symbols.symbol(bill.market)
        base = {"contract": symbol, "text": f"{symbol}:{bill.bill_id}"}
        if bill.funding is not None:
            pay = bill.funding
            # A settlement's text is the contract alone (Gate's docs; ccxt reads the market from it).
            return [{**base, "text": symbol, "id": f"{bill.bill_id}0", "time": pay.funding_time_ms / 1000,
                     "type": "fund",
                     "change": money(pay.amount), "balance": money(bill.balance_after), "trade_id": ""}]
        event = bill.fill
        assert event is not None
        tid = trade_id(event.trade_id)
        rows = [{**base, "id": f"{bill.bill_id}2", "time": seconds(bill.ts), "type": "fee", "change": money(-event.fee),
                 "balance": money(bill.balance_after), "trade_id": tid}]
        if event.realized_pnl:
            rows.append({**base, "id": f"{bill.bill_id}1", "time": seconds(bill.ts), "type": "pnl",
                         "change": money(event.realized_pnl), "balance": money(bill.balance_after + event.fee),
                         "trade_id": tid})
        return rows

    # --- positions and the account ------------------------------------------------------------------

    def _mode(self, side: PositionSide) -> str:
        if self._exchange.position_mode() is PositionMode.ONEWAY:
            return "single"
        return "dual_long" if side is PositionSide.LONG else "dual_short"

    def position(self, pos: Position | None, market: str, side: PositionSide, now: float, *,
                 decimal: bool = False, push: bool = False) -> dict[str, Any]:
        """One position row; `pos` None: a closed one (size 0)."""
        symbol = self.symbols.symbol(market)
        grid = self.symbols.grid(symbol)
        amount = pos.amount if pos else ZERO
        signed = -amount if side is PositionSide.SHORT and self._mode(side) == "single" else amount
        mode = pos.margin_mode if pos else self._exchange.margin_mode(market)
        lever = pos.leverage if pos else self._exchange.leverage(market)
        cross = mode is MarginMode.CROSS
        mark = self.mark(market)
        rules = grid.rules
        row: dict[str, Any] = {
            "user": UID, "contract": symbol, "size": self.symbols.size(symbol, signed, decimal=decimal),
            "leverage": "0" if cross else str(lever), "risk_limit": "1000000", "leverage_max": str(rules.max_leverage),
            "maintenance_rate": money(self._exchange.settings.maintenance_margin),
            "value": money(amount * mark) if mark else "0", "margin": money(pos.margin if pos else ZERO),
            "entry_price": average(grid, pos.entry_price) if pos else "0",
            "liq_price": grid.price(pos.liquidation_price) if pos and pos.liquidation_price else "0",
            "mark_price": grid.price(mark) if mark else "0",
            "unrealised_pnl": money(pos.unrealized_pnl if pos else ZERO), "realised_pnl": "0",
            "history_pnl": "0", "last_close_pnl": "0", "realised_point": "0", "history_point": "0",
            "adl_ranking": 5, "pending_orders": 0, "mode": self._mode(side),
            "cross_leverage_limit": str(lever) if cross else "0", "update_time": int(now),
            "open_time": int(self.opened.get((market, side), now)) if pos else 0,
        }
        if push:
            row.update(time=int(now), time_ms=ms(now), update_id=1)
        return row

    def positions(self, now: float, symbol: str | None = None, *, decimal: bool = False,
                  holding: bool = True) -> list[dict[str, Any]]:
        rows = [self.position(p, p.market, p.side, now, decimal=decimal) for p in self._exchange.positions()
                if symbol is None or self.symbols.symbol(p.market) == symbol]
        if not holding:
            held = {r["contract"] for r in rows}
            single = self._exchange.position_mode() is PositionMode.ONEWAY
            for s in self.symbols.symbols():
                market = self.symbols.market(s)
                if s not in held and market is not None and (symbol is None or s == symbol) and single:
                    rows.append(self.position(None, market, PositionSide.LONG, now, decimal=decimal))
        return rows

    def account(self, bal: Balance, fees: dict[str, Decimal]) -> dict[str, Any]:
        """GET /futures/usdt/accounts: `total` is the wallet (deposits + PnL - fees + funding)."""
        dual = self._exchange.position_mode() is PositionMode.HEDGE
        return {
            "user": UID, "currency": bal.asset, "total": money(bal.total), "unrealised_pnl": money(bal.unrealized_pnl),
            "position_margin": money(bal.margin_in_use), "order_margin": "0", "available": money(bal.available),
            "point": "0", "bonus": "0", "in_dual_mode": dual, "enable_credit": False,
            "position_initial_margin": money(bal.margin_in_use), "maintenance_margin": "0",
            "enable_evolved_classic": True, "cross_initial_margin": "0", "cross_maintenance_margin": "0",
            "cross_order_margin": "0", "cross_unrealised_pnl": money(bal.unrealized_pnl),
            "cross_available": money(bal.available), "cross_margin_balance": money(bal.total + bal.unrealized_pnl),
            "isolated_position_margin": "0", "margin_mode": 0, "enable_tiered_mm": False,
            "history": {"dnw": "0", "pnl": money(fees.get("pnl", ZERO)), "fee": money(fees.get("fee", ZERO)),
                        "refr": "0", "fund": money(fees.get("fund", ZERO)), "point_dnw": "0", "point_fee": "0",
                        "point_refr": "0", "bonus_dnw": "0", "bonus_offset": "0"},
        }

    # --- price-triggered orders ---------------------------------------------------------------------

    def price_order(self, t: TriggerOrder) -> dict[str, Any]:
        symbol = self.symbols.symbol(t.market)
        grid = self.symbols.grid(symbol)
        size: int | str = 0 if t.qty is None else self._signed(symbol, t.side, t.qty, False)
        row: dict[str, Any] = {
            "initial": {"contract": symbol, "size": size,
                        "price": grid.price(t.order_price) if t.order_price is not None else "0",
                        "close": t.qty is None, "tif": "gtc" if t.order_price is not None else "ioc",
                        "text": t.client_id or "api", "reduce_only": t.reduce_only,
                        "is_reduce_only": t.reduce_only, "is_close": t.qty is None},
            "trigger": {"strategy_type": 0, "price_type": 1 if t.trigger_on is TriggerOn.MARK else 0,
                        "price": grid.price(t.trigger_price), "rule": 1 if t.rising else 2, "expiration": 0},
            "id": int(t.algo_id), "user": UID, "create_time": seconds(t.created),
            "finish_time": seconds(t.updated) if t.state is not TriggerState.LIVE else 0,
            "trade_id": int(t.child.order_id) if t.child else 0, "status": _TRIGGER_STATUS[t.state],
            "finish_as": _TRIGGER_FINISH.get(t.state, ""), "reason": "", "order_type": t.extra.get("order_type", ""),
            "me_order_id": int(t.child.order_id) if t.child else 0,
        }
        if t.state is TriggerState.LIVE:
            del row["finish_as"]
        return row
