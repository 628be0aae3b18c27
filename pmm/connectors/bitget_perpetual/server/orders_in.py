"""A Bitget order request -> a `DeskOrder`, with Bitget's parameter rules, and the one table from
the simulator's refusal codes (pmm/sim/validation.py) to Bitget's codes.

Parameters (Bitget "Place Order"): `symbol` (any case), `productType` (USDT-FUTURES, any case),
`marginMode` (crossed | isolated), `marginCoin`, `size` in the base coin (a multiple of the size
step, at least `minTradeNum`, worth at least `minTradeUSDT`), `price` (limit orders, on the tick),
`side` (buy | sell), `tradeSide` (open | close: hedge mode only, where `side` names the position),
`orderType` (limit | market), `force` (gtc | ioc | fok | post_only, default gtc), `clientOid`
(letters, digits and -+_#, at most 50, unique among live orders), `reduceOnly` (YES | NO, one-way
mode only). Enums are read in any case (ccxt sends "GTC", "YES", "Close"); "" counts as absent.

Refusals that Bitget answers by accepting the order and canceling it at once (a post-only order
that would take, a market order with nothing to take) are `Refusal(None, cause)`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.server.dialect import bitget_error
from pmm.connectors.bitget_perpetual.server.wire import BitgetSymbols, lower
from pmm.connectors.common.server.desk_order import Cause, DeskOrder, Tif
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.wire import Fields, ParamError, WireError
from pmm.core.model import MarginMode, PositionMode, PositionSide, Side
from pmm.errors import VenueSetupError
from pmm.sim.exchange import SimExchange

_TIFS = {"gtc": Tif.GTC, "post_only": Tif.POST_ONLY, "fok": Tif.FOK, "ioc": Tif.IOC}
_MARGIN = {spec.MARGIN_CROSSED: MarginMode.CROSS, spec.MARGIN_ISOLATED: MarginMode.ISOLATED}


@dataclass(frozen=True, slots=True)
class Refusal:
    """What Bitget does with an order the simulator refused: a code, or accept-then-cancel (`code`
    None, with the cancel's cause)."""

    code: int | None
    param: str = ""
    cause: Cause = Cause.NONE


# Simulator refusal code -> Bitget. The only mapping; tested case by case.
REJECTIONS: dict[str, Refusal] = {
    "unknown_market": Refusal(40102),
    "duplicate_client_id": Refusal(45034),
    "invalid_amount": Refusal(40808, "size"),
    "off_step": Refusal(40808, "size"),
    "invalid_price": Refusal(40020, "price"),
    "off_tick": Refusal(45115),
    "position_side_mismatch": Refusal(40774),
    "below_min_size": Refusal(45111),
    "below_min_notional": Refusal(45110),
    "no_liquidity": Refusal(None, cause=Cause.UNFILLED),
    "reduce_only_rejected": Refusal(22002),
    "post_only_would_cross": Refusal(None, cause=Cause.POST_ONLY_CROSS),
    "insufficient_margin": Refusal(43012),
}
UNKNOWN_REFUSAL = Refusal(40808, "order")


def refusal(sim_code: str | None) -> Refusal:
    return REJECTIONS.get(sim_code or "", UNKNOWN_REFUSAL)


def refusal_error(ref: Refusal, symbols: BitgetSymbols | None = None, symbol: str = "") -> WireError:
    assert ref.code is not None
    if ref.code == 45115 and symbols is not None and symbol:
        return bitget_error(45115, format(symbols.grid(symbol).rules.tick_size.normalize(), "f"))
    if ref.code == 45110 and symbols is not None and symbol:
        return bitget_error(45110, format(symbols.grid(symbol).rules.min_notional.normalize(), "f"))
    return bitget_error(ref.code, ref.param)


class OrderParser:
    """Reads one order object into a `DeskOrder` (raises `ParamError` / `WireError`)."""

    def __init__(self, exchange: SimExchange, symbols: BitgetSymbols, desk: OrderDesk) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._desk = desk

    def symbol(self, fields: Fields, name: str = "symbol") -> str:
        """The listed symbol (upper case) of the request; 40034 for an unknown one."""
        text = fields.required(name)
        if self._symbols.market(text) is None:
            raise bitget_error(40034, name)
        return text.upper()

    @staticmethod
    def product_type(fields: Fields) -> None:
        if fields.required("productType").upper() != spec.PRODUCT_TYPE:
            raise bitget_error(40020, "productType")

    def size(self, fields: Fields, symbol: str, name: str = "size") -> Decimal:
        """A size in the base coin: positive, on the step, at least the minimum."""
        size = fields.decimal(name, required=True)
        assert size is not None
        rules = self._symbols.grid(symbol).rules
        if size <= 0:
            raise ParamError(name)
        if not rules.is_on_step(size):
            raise bitget_error(40808, msg=f"Parameter verification exception size checkBDScale error value={size} "
                                          f"checkScale={self._symbols.grid(symbol).qty_places}")
        if size < rules.min_size:
            raise bitget_error(45111)
        return size

    def sides(self, fields: Fields) -> tuple[Side, PositionSide, bool]:
        """(trade direction, position side, closing) from `side` / `tradeSide` / `reduceOnly`."""
        side_text = lower(fields.required("side"))
        if side_text not in ("buy", "sell"):
            raise ParamError("side")
        side = Side.BUY if side_text == "buy" else Side.SELL
        if self._exchange.position_mode() is PositionMode.ONEWAY:
            reduce_only = lower(fields.text("reduceOnly")) or "no"
            if reduce_only not in ("yes", "no"):
                raise ParamError("reduceOnly")
            return side, PositionSide.BOTH, reduce_only == "yes"
        trade_side = lower(fields.text("tradeSide"))
        if trade_side is None:
            raise ParamError("tradeSide", missing=True)
        if trade_side not in ("open", "close"):
            raise ParamError("tradeSide")
        position = PositionSide.LONG if side is Side.BUY else PositionSide.SHORT
        closing = trade_side == "close"
        trade = (Side.SELL if side is Side.BUY else Side.BUY) if closing else side
        return trade, position, closing

    def margin_mode(self, fields: Fields, market: str) -> str:
        """`marginMode`: the simulator keeps one margin mode per market; an order in the other mode
        switches it when nothing is open there, else it is refused (45117)."""
        text = lower(fields.required("marginMode"))
        if text not in _MARGIN:
            raise ParamError("marginMode")
        mode = _MARGIN[text]
        if self._exchange.margin_mode(market) is not mode:
            try:
                self._exchange.set_margin_mode(market, mode)
            except VenueSetupError:
                raise bitget_error(45117) from None
        return text

    def parse(self, fields: Fields, order_id: str) -> DeskOrder:
        symbol = self.symbol(fields)
        self.product_type(fields)
        market = self._symbols.market(symbol)
        assert market is not None
        if (fields.required("marginCoin")).upper() != spec.MARGIN_COIN:
            raise bitget_error(40020, "marginCoin")
        side, position_side, closing = self.sides(fields)
        order_type = lower(fields.required("orderType"))
        if order_type not in ("limit", "market"):
            raise ParamError("orderType")
        size = self.size(fields, symbol)
        price = None
        tif = Tif.IOC
        if order_type == "limit":
            price = fields.decimal("price", required=True)
            assert price is not None
            if price <= 0:
                raise ParamError("price")
            force = lower(fields.text("force")) or "gtc"
            if force not in _TIFS:
                raise ParamError("force")
            tif = _TIFS[force]
        client_id = fields.text("clientOid") or ""
        if client_id:
            if not spec.CLIENT_OID_PATTERN.match(client_id):
                raise bitget_error(40304) if len(client_id) > spec.CLIENT_OID_MAX_LEN else bitget_error(40402)
            if self._desk.live_client_id(client_id):
                raise bitget_error(45034)
        margin = self.margin_mode(fields, market)
        reduce_only = closing and position_side is PositionSide.BOTH
        order = DeskOrder(order_id=order_id, client_id=client_id, market=market, side=side, tif=tif, price=price,
                          qty=size, position_side=position_side, reduce_only=reduce_only)
        order.extra.update(marginMode=margin, leverage=self._exchange.leverage(market))
        return order
