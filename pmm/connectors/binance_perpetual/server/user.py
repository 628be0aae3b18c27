"""User data stream of the Binance server: listenKeys and the account events built from the
simulator's private events (exchange_apis.md §A6).

- ORDER_TRADE_UPDATE for every order change: x=NEW on acceptance, TRADE per fill (l, z, L, n, N,
  rp, t, m), CANCELED when the client cancelled, EXPIRED (with `er`) when the venue did, and
  CALCULATED for liquidation fills (client id `autoclose-...`).
- ACCOUNT_UPDATE after each fill (reason ORDER: the balance and the touched positions) and after
  each funding settlement (reason FUNDING_FEE: the balance only for cross positions, plus the
  isolated position for isolated ones), built when the simulator's BalanceUpdated closes the group.
- ACCOUNT_CONFIG_UPDATE when leverage changes; listenKeyExpired when a key lapses.

One account: every connection holding a live listenKey gets every event.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.constants import ErrorCode as E
from pmm.connectors.binance_perpetual.server.codes import api_error
from pmm.connectors.binance_perpetual.server import orders as views
from pmm.connectors.binance_perpetual.server.orders import BinanceOrders
from pmm.connectors.binance_perpetual.server.wire import (
    SymbolMap,
    margin_type_lower,
    money,
    position_side_wire,
    side_wire,
    trade_number,
)
from pmm.connectors.common.numbers import ms
from pmm.core.clock import Clock
from pmm.connectors.common.server.desk_order import DeskOrder
from pmm.core.events import (
    AccountEvent,
    BalanceUpdated,
    FundingPaymentReceived,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    PositionUpdated,
)
from pmm.core.model import ZERO, Liquidity, MarginMode, Side
from pmm.sim.exchange import SimExchange

_KEY_ALPHABET = string.ascii_letters + string.digits


@dataclass(slots=True)
class _Key:
    key: str
    expires: float


class ListenKeys:
    """The account's listenKey: POST returns the live key (extended) or a new one; PUT extends;
    DELETE closes; a key not kept alive for `ttl_s` lapses with a listenKeyExpired event."""

    def __init__(self, clock: Clock, ttl_s: float, on_expired: Callable[[str, float], None],
                 on_closed: Callable[[str], None]) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._on_expired = on_expired
        self._on_closed = on_closed
        self._live: _Key | None = None

    def is_active(self, key: str) -> bool:
        return self._live is not None and self._live.key == key

    def create(self) -> str:
        now = self._clock.now()
        if self._live is None:
            self._live = _Key("".join(secrets.choice(_KEY_ALPHABET) for _ in range(64)), now + self._ttl_s)
        else:
            self._live.expires = now + self._ttl_s
        return self._live.key

    def keepalive(self, key: str | None) -> str:
        live = self._live
        if live is None or (key is not None and key != live.key):
            raise api_error(E.INVALID_LISTEN_KEY)
        live.expires = self._clock.now() + self._ttl_s
        return live.key

    def delete(self, key: str | None) -> None:
        live = self._live
        if live is None or (key is not None and key != live.key):
            raise api_error(E.INVALID_LISTEN_KEY)
        self._live = None
        self._on_closed(live.key)

    def expire(self, key: str | None = None) -> int:
        live = self._live
        if live is None or (key is not None and key != live.key):
            return 0
        self._live = None
        self._on_expired(live.key, self._clock.now())
        return 1

    def on_tick(self, now: float) -> None:
        if self._live is not None and now >= self._live.expires:
            self.expire()


class UserStreams:
    """Turns the desk's order events and the simulator's account events into user-data events."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap, orders: BinanceOrders,
                 publish: Callable[[str, dict[str, Any]], None]) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._orders = orders
        self._publish = publish
        self._realized: dict[tuple[str, str], Decimal] = {}  # (symbol, ps) -> accumulated realized
        self._reason: str | None = None
        self._funding: FundingPaymentReceived | None = None
        self._positions: dict[tuple[str, str], dict[str, Any]] = {}

    def on_order_event(self, event: AccountEvent | None, order: DeskOrder | None) -> None:
        """The desk's listener: every private event, after the order it concerns changed."""
        match event:
            case OrderAccepted() if order is not None:
                self._emit_order(order, c.EXEC_NEW, event.ts, None)
            case OrderCancelled() if order is not None:
                execution = c.EXEC_CANCELED if views.status(order) == c.STATUS_CANCELED else c.EXEC_EXPIRED
                self._emit_order(order, execution, event.ts, None)
            case OrderFilled():
                ps = position_side_wire(event.position_side, self._exchange.position_mode())
                key = (self._symbols.symbol(event.market), ps)
                self._realized[key] = self._realized.get(key, ZERO) + event.realized_pnl
                self._emit_order(order, c.EXEC_TRADE if order is not None else c.EXEC_CALCULATED, event.ts, event)
                self._begin(c.ACCOUNT_UPDATE_REASON_ORDER)
            case FundingPaymentReceived():
                self._begin(c.ACCOUNT_UPDATE_REASON_FUNDING_FEE)
                self._funding = event
            case PositionUpdated():
                self._add_position(event)
            case BalanceUpdated():
                self._flush_account(event)
            case _:
                pass

    def publish_leverage(self, symbol: str, leverage: int, now: float) -> None:
        self._publish(c.EVENT_ACCOUNT_CONFIG_UPDATE, {
            "e": c.EVENT_ACCOUNT_CONFIG_UPDATE, "E": ms(now), "T": ms(now), "ac": {"s": symbol, "l": leverage},
        })

    # --- ORDER_TRADE_UPDATE ---------------------------------------------------------------------

    def _emit_order(self, order: DeskOrder | None, execution: str, ts: float, fill: OrderFilled | None) -> None:
        if order is None:
            if fill is None:
                return
            fields = self._liquidation_order(fill)
        else:
            fields = self._order_fields(order, execution, ts, fill)
        event = {"e": c.EVENT_ORDER_TRADE_UPDATE, "E": ms(ts), "T": ms(ts), "o": fields}
        self._publish(c.EVENT_ORDER_TRADE_UPDATE, event)

    def _order_fields(self, order: DeskOrder, execution: str, ts: float, fill: OrderFilled | None) -> dict[str, Any]:
        grid = self._symbols.grid(self._orders.symbol(order))
        kind = views.order_type(order)
        return {
            "s": self._orders.symbol(order), "c": order.client_id, "S": side_wire(order.side), "o": kind,
            "f": views.time_in_force(order), "q": grid.qty(order.qty),
            "p": grid.price(order.price) if order.price else "0",
            "ap": money(order.avg_price) if order.avg_price is not None else "0", "sp": "0",
            "x": execution, "X": views.status(order), "i": int(order.order_id),
            "l": grid.qty(fill.amount) if fill else "0", "z": grid.qty(order.cum_qty),
            "L": grid.price(fill.price) if fill else "0",
            "N": fill.fee_asset if fill else grid.rules.quote, "n": money(fill.fee) if fill else "0",
            "T": ms(ts), "t": trade_number(fill.trade_id) if fill else 0,
            "b": money(self._orders.open_notional(order.market, Side.BUY)),
            "a": money(self._orders.open_notional(order.market, Side.SELL)),
            "m": bool(fill and fill.liquidity is Liquidity.MAKER), "R": order.reduce_only, "wt": "CONTRACT_PRICE",
            "ot": kind, "ps": order.position_side.value.upper(), "cp": False, "AP": "0", "cr": "0",
            "rp": money(fill.realized_pnl) if fill else "0", "pP": False, "si": 0, "ss": 0, "V": "NONE",
            "pm": "NONE", "gtd": 0, "er": views.expiry_reason(order),
        }

    def _liquidation_order(self, fill: OrderFilled) -> dict[str, Any]:
        symbol = self._symbols.symbol(fill.market)
        grid = self._symbols.grid(symbol)
        qty, price = grid.qty(fill.amount), grid.price(fill.price)
        return {
            "s": symbol, "c": f"{c.LIQUIDATION_CLIENT_ID_PREFIX}{ms(fill.ts)}", "S": side_wire(fill.side),
            "o": c.ORDER_TYPE_LIQUIDATION, "f": c.TIF_IOC, "q": qty, "p": price, "ap": price, "sp": "0",
            "x": c.EXEC_CALCULATED, "X": c.STATUS_FILLED, "i": int(fill.exchange_id), "l": qty, "z": qty, "L": price,
            "N": fill.fee_asset, "n": money(fill.fee), "T": ms(fill.ts), "t": trade_number(fill.trade_id),
            "b": "0", "a": "0", "m": False, "R": False, "wt": "CONTRACT_PRICE", "ot": c.ORDER_TYPE_LIQUIDATION,
            "ps": position_side_wire(fill.position_side, self._exchange.position_mode()), "cp": False, "AP": "0",
            "cr": "0",
            "rp": money(fill.realized_pnl), "pP": False, "si": 0, "ss": 0, "V": "NONE", "pm": "NONE", "gtd": 0,
            "er": c.EXPIRY_NONE,
        }

    # --- ACCOUNT_UPDATE -------------------------------------------------------------------------

    def _begin(self, reason: str) -> None:
        if self._reason is None:
            self._reason = reason
            self._positions = {}
            self._funding = None

    def _add_position(self, event: PositionUpdated) -> None:
        if self._reason is None:
            return
        mode = self._exchange.position_mode()
        symbol = self._symbols.symbol(event.market)
        ps = position_side_wire(event.side, mode)
        pos = event.position
        margin_mode = pos.margin_mode if pos is not None else self._exchange.margin_mode(event.market)
        if self._reason == c.ACCOUNT_UPDATE_REASON_FUNDING_FEE and margin_mode is not MarginMode.ISOLATED:
            return  # cross funding: the balance only (docs)
        grid = self._symbols.grid(symbol)
        isolated = margin_mode is MarginMode.ISOLATED
        self._positions[(symbol, ps)] = {
            "s": symbol,
            "pa": grid.qty(pos.signed_amount) if pos is not None else "0",
            "ep": money(pos.entry_price) if pos is not None else "0",
            "bep": money(pos.entry_price) if pos is not None else "0",
            "cr": money(self._realized.get((symbol, ps), ZERO)),
            "up": money(pos.unrealized_pnl) if pos is not None else "0",
            "mt": margin_type_lower(margin_mode),
            "iw": money(pos.margin) if pos is not None and isolated else "0",
            "ps": ps,
        }

    def _flush_account(self, event: BalanceUpdated) -> None:
        if self._reason is None:
            return
        balance = event.balance
        isolated = sum(
            (p.margin for p in self._exchange.positions()
             if p.margin_mode is MarginMode.ISOLATED and self._symbols.grid(self._symbols.symbol(p.market)).rules.quote
             == balance.asset),
            ZERO,
        )
        change = self._funding.amount if self._funding is not None else ZERO
        update: dict[str, Any] = {
            "m": self._reason,
            "B": [{"a": balance.asset, "wb": money(balance.total), "cw": money(balance.total - isolated),
                   "bc": money(change)}],
        }
        if self._positions or self._reason != c.ACCOUNT_UPDATE_REASON_FUNDING_FEE:
            update["P"] = list(self._positions.values())  # cross funding: no P at all (docs)
        when = ms(event.ts)
        self._publish(c.EVENT_ACCOUNT_UPDATE, {"e": c.EVENT_ACCOUNT_UPDATE, "E": when, "T": when, "a": update})
        self._reason, self._funding, self._positions = None, None, {}
