"""A BitMart order request -> a `DeskOrder`, with BitMart's parameter rules, and the one table from
the simulator's refusal codes (pmm/sim/validation.py) to BitMart's codes.

Parameters (Futures V2 "Submit Order"): `symbol`, `client_order_id` (letters and digits, at most
32, unique among live orders: 40048 / 40049 / 40050), `type` limit (default) | market, `side` 1-4
(its meaning by position mode, spec.py; 40041), `mode` 1 GTC (default) | 2 FOK | 3 IOC | 4 Maker
Only, `price` (limit orders), `size` a whole number of contracts (40007; below `min_volume` 40044),
`leverage`, `open_type` cross | isolated (40045). Numbers may come as JSON numbers or strings (ccxt
sends `size` as a number, `price` and `leverage` as strings). Plan orders add `trigger_price`,
`executive_price`, `price_way` 1 up | 2 down, `price_type` 1 last | 2 fair.

Refusals BitMart answers by accepting the order and canceling it at once (a Maker Only order that
would take, a market order with nothing to take) are `Refusal(None, cause)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.server.dialect import bitmart_error, param_error
from pmm.connectors.bitmart_perpetual.server.wire import BitmartSymbols
from pmm.connectors.common.server.desk_order import Cause, DeskOrder, Tif
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.wire import Fields
from pmm.core.model import MarginMode, PositionMode, PositionSide, Side
from pmm.errors import VenueSetupError
from pmm.sim.exchange import SimExchange

_ALNUM = re.compile(r"^[A-Za-z0-9]+$")
_TIFS = {spec.MODE_GTC: Tif.GTC, spec.MODE_FOK: Tif.FOK, spec.MODE_IOC: Tif.IOC, spec.MODE_MAKER_ONLY: Tif.POST_ONLY}
_OPEN_TYPES = {spec.OPEN_TYPE_CROSS: MarginMode.CROSS, spec.OPEN_TYPE_ISOLATED: MarginMode.ISOLATED}


@dataclass(frozen=True, slots=True)
class Refusal:
    """What BitMart does with an order the simulator refused: a code, or accept-then-cancel."""

    code: int | None
    cause: Cause = Cause.NONE


# Simulator refusal code -> BitMart. The only mapping; tested case by case.
REJECTIONS: dict[str, Refusal] = {
    "unknown_market": Refusal(40034),
    "duplicate_client_id": Refusal(40050),
    "invalid_amount": Refusal(40007),
    "off_step": Refusal(40043),
    "invalid_price": Refusal(40007),
    "off_tick": Refusal(40043),
    "position_side_mismatch": Refusal(40041),
    "below_min_size": Refusal(40044),
    "below_min_notional": Refusal(40044),
    "no_liquidity": Refusal(None, Cause.UNFILLED),
    "reduce_only_rejected": Refusal(40020),
    "post_only_would_cross": Refusal(None, Cause.POST_ONLY_CROSS),
    "insufficient_margin": Refusal(40027),
}
UNKNOWN_REFUSAL = Refusal(40011)


def refusal(sim_code: str | None) -> Refusal:
    return REJECTIONS.get(sim_code or "", UNKNOWN_REFUSAL)


class OrderParser:
    """Reads one order object into a `DeskOrder` (raises `WireError`)."""

    def __init__(self, exchange: SimExchange, symbols: BitmartSymbols, desk: OrderDesk) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._desk = desk

    def symbol(self, fields: Fields) -> str:
        symbol = fields.text("symbol")
        if symbol is None:
            raise param_error("symbol", missing=True)
        if self._symbols.market(symbol) is None:
            raise bitmart_error(40034)
        return symbol

    def contracts(self, fields: Fields, symbol: str) -> Decimal:
        size = fields.decimal("size")
        if size is None:
            raise param_error("size", missing=True)
        if size <= 0 or size != size.to_integral_value():
            raise param_error("size")
        if size < self._symbols.min_contracts(symbol):
            raise bitmart_error(40044)
        return self._symbols.base(symbol, size)

    def side(self, fields: Fields) -> tuple[Side, PositionSide, bool]:
        """(side, position side, reduce-only) of the side number in the account's position mode."""
        number = fields.integer("side")
        if number not in (1, 2, 3, 4):
            raise bitmart_error(40041)
        side = Side.BUY if number in (spec.SIDE_BUY_OPEN, spec.SIDE_BUY_CLOSE) else Side.SELL
        closing = number in (spec.SIDE_BUY_CLOSE, spec.SIDE_SELL_CLOSE)
        if self._exchange.position_mode() is PositionMode.ONEWAY:
            return side, PositionSide.BOTH, closing
        long_side = number in (spec.SIDE_BUY_OPEN, spec.SIDE_SELL_CLOSE)
        return side, PositionSide.LONG if long_side else PositionSide.SHORT, False

    def client_id(self, fields: Fields, taken: set[str]) -> str:
        client_id = fields.text("client_order_id") or ""
        if client_id:
            if not _ALNUM.match(client_id):
                raise bitmart_error(40048)
            if len(client_id) > spec.CLIENT_ORDER_ID_MAX_LEN:
                raise bitmart_error(40049)
            if client_id in taken or self._desk.live_client_id(client_id):
                raise bitmart_error(40050)
            taken.add(client_id)
        return client_id

    def parse(self, fields: Fields, order_id: str, taken: set[str]) -> DeskOrder:
        symbol = self.symbol(fields)
        market = self._symbols.market(symbol)
        assert market is not None
        order_type = fields.text("type") or "limit"
        if order_type not in ("limit", "market"):
            raise bitmart_error(40042)
        side, position_side, reduce_only = self.side(fields)
        mode = fields.integer("mode", spec.MODE_GTC)
        if mode not in _TIFS:
            raise param_error("mode")
        qty = self.contracts(fields, symbol)
        price = None
        if order_type == "limit":
            price = fields.decimal("price")
            if price is None:
                raise param_error("price", missing=True)
            if price <= 0:
                raise param_error("price")
            if not self._symbols.grid(symbol).rules.is_on_tick(price):
                raise bitmart_error(40043)
        self._settings(market, fields)
        client_id = self.client_id(fields, taken)
        order = DeskOrder(order_id=order_id, client_id=client_id, market=market, side=side,
                          tif=_TIFS[mode] if price is not None else Tif.IOC, price=price, qty=qty,
                          position_side=position_side, reduce_only=reduce_only)
        order.extra.update({"type": order_type, "side": fields.integer("side"), "mode": mode,
                            "open_type": self._open_type(market), "leverage": self._exchange.leverage(market)})
        return order

    def _open_type(self, market: str) -> str:
        isolated = self._exchange.margin_mode(market) is MarginMode.ISOLATED
        return spec.OPEN_TYPE_ISOLATED if isolated else spec.OPEN_TYPE_CROSS

    def _settings(self, market: str, fields: Fields) -> None:
        """`leverage` and `open_type` sent with an order become the market's (one of each per market
        in the simulator): refused while something is open there in another margin mode."""
        leverage = fields.decimal("leverage")
        if leverage is not None:
            if leverage != leverage.to_integral_value() or leverage < 1:
                raise bitmart_error(40030 if leverage < 1 else 40040)
            if leverage > self._symbols.grid(self._symbols.symbol(market)).rules.max_leverage:
                raise bitmart_error(40029)
        open_type = fields.text("open_type")
        try:
            if open_type is not None:
                if open_type not in _OPEN_TYPES:
                    raise bitmart_error(40045)
                if self._exchange.margin_mode(market) is not _OPEN_TYPES[open_type]:
                    self._exchange.set_margin_mode(market, _OPEN_TYPES[open_type])
            if leverage is not None and int(leverage) != self._exchange.leverage(market):
                self._exchange.set_leverage(market, int(leverage))
        except VenueSetupError:
            raise bitmart_error(40045, f"The order open type is invalid: the simulated account trades {market} in "
                                       f"{self._exchange.margin_mode(market).value} margin at "
                                       f"{self._exchange.leverage(market)}x while it has a position or open orders "
                                       "there") from None


def plan_trigger(fields: Fields) -> tuple[Decimal, Decimal | None, bool, bool]:
    """(trigger price, limit price or None, rising?, on the fair (mark) price?) of a plan order."""
    trigger = fields.decimal("trigger_price")
    if trigger is None or trigger <= 0:
        raise param_error("trigger_price", missing=trigger is None)
    way, price_type = fields.integer("price_way"), fields.integer("price_type", spec.PRICE_TYPE_LAST)
    if way not in (spec.PRICE_WAY_UP, spec.PRICE_WAY_DOWN):
        raise param_error("price_way", missing=way is None)
    if price_type not in (spec.PRICE_TYPE_LAST, spec.PRICE_TYPE_FAIR):
        raise param_error("price_type")
    limit = fields.decimal("executive_price") if (fields.text("type") or "limit") == "limit" else None
    if (fields.text("type") or "limit") == "limit" and limit is None:
        raise param_error("executive_price", missing=True)
    return trigger, limit, way == spec.PRICE_WAY_UP, price_type == spec.PRICE_TYPE_FAIR

