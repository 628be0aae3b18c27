"""An OKX order request -> a `DeskOrder`, with OKX's parameter rules, and the one table from the
simulator's refusal codes (pmm/sim/validation.py) to OKX's `sCode`s.

Parameters (docs-v5 "Place order"): `instId`, `tdMode` (cross | isolated), `side`, `ordType`
(limit | market | post_only | fok | ioc | optimal_limit_ioc), `sz` in contracts (a whole number of
`lotSz`, at least `minSz`), `px` (not for market orders), `posSide` (net mode: omitted or `net`;
long/short mode: `long` / `short`, required), `reduceOnly` (bool or "true"/"false"; net mode only,
closes in long/short mode are reduce-only anyway), `clOrdId` (alphanumeric, at most 32, unique
among live orders), `tag`. "" and null count as absent (python-okx sends them).

Refusals that OKX answers by accepting the order and canceling it at once (a post-only order that
would take, a market order with nothing to take) are `Refusal(None, cause)`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from pmm.connectors.common.server.desk_order import Cause, DeskOrder, Tif
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.wire import Fields, ParamError, WireError
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.server.dialect import okx_error
from pmm.connectors.okx_perpetual.server.wire import OkxSymbols, side_in
from pmm.core.book import OrderBook
from pmm.core.model import MarginMode, PositionMode, PositionSide
from pmm.errors import VenueSetupError
from pmm.sim.exchange import SimExchange

_CL_ORD_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_TIFS = {"limit": Tif.GTC, "post_only": Tif.POST_ONLY, "fok": Tif.FOK, "ioc": Tif.IOC, "market": Tif.IOC,
         "optimal_limit_ioc": Tif.IOC}
_MARKET_TYPES = ("market", "optimal_limit_ioc")


@dataclass(frozen=True, slots=True)
class Refusal:
    """What OKX does with an order the simulator refused: an sCode, or accept-then-cancel (`code`
    None, with the cancel's cause)."""

    code: int | None
    param: str = ""
    cause: Cause = Cause.NONE


# Simulator refusal code -> OKX. The only mapping; tested case by case.
REJECTIONS: dict[str, Refusal] = {
    "unknown_market": Refusal(51001),
    "duplicate_client_id": Refusal(51016),
    "invalid_amount": Refusal(51000, "sz"),
    "off_step": Refusal(51121),
    "invalid_price": Refusal(51000, "px"),
    "off_tick": Refusal(51000, "px"),
    "position_side_mismatch": Refusal(51000, "posSide"),
    "below_min_size": Refusal(51020),
    "below_min_notional": Refusal(51020),
    "no_liquidity": Refusal(None, cause=Cause.UNFILLED),
    "reduce_only_rejected": Refusal(51169),
    "post_only_would_cross": Refusal(None, cause=Cause.POST_ONLY_CROSS),
    "insufficient_margin": Refusal(51008, "USDT"),
}
UNKNOWN_REFUSAL = Refusal(51000, "order")


def refusal(sim_code: str | None) -> Refusal:
    return REJECTIONS.get(sim_code or "", UNKNOWN_REFUSAL)


def refusal_error(ref: Refusal) -> WireError:
    assert ref.code is not None
    return okx_error(ref.code, param0=ref.param)


class OrderParser:
    """Reads one order object into a `DeskOrder` (raises `ParamError` / `WireError`)."""

    def __init__(self, exchange: SimExchange, symbols: OkxSymbols, desk: OrderDesk) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._desk = desk

    def book(self, market: str) -> OrderBook:
        return self._exchange.book(market)

    def symbol(self, fields: Fields) -> str:
        symbol = fields.required("instId")
        if self._symbols.market(symbol) is None:
            raise okx_error(51001)
        return symbol

    def contracts(self, fields: Fields, symbol: str, name: str = "sz") -> Decimal:
        """A size in contracts -> base units: a whole number of lots, at least `minSz`."""
        sz = fields.decimal(name, required=True)
        assert sz is not None
        if sz <= 0:
            raise ParamError(name)
        if sz != sz.to_integral_value():
            raise okx_error(51121)
        if sz < self._symbols.min_contracts(symbol):
            raise okx_error(51020)
        return self._symbols.base(symbol, sz)

    def parse(self, fields: Fields, order_id: str, taken: set[str]) -> DeskOrder:
        """`taken`: client ids used earlier in the same batch (unique among them too)."""
        symbol = self.symbol(fields)
        market = self._symbols.market(symbol)
        assert market is not None
        td_mode = fields.required("tdMode")
        if td_mode not in (spec.MGN_MODE_CROSS, spec.MGN_MODE_ISOLATED):
            raise ParamError("tdMode")
        side = side_in(fields.required("side"))
        if side is None:
            raise ParamError("side")
        ord_type = fields.required("ordType")
        if ord_type not in _TIFS:
            raise ParamError("ordType")
        qty = self.contracts(fields, symbol)
        price = None if ord_type in _MARKET_TYPES else fields.decimal("px", required=True)
        if price is not None and price <= 0:
            raise ParamError("px")
        position_side = self.position_side(fields)
        reduce_only = fields.boolean("reduceOnly") and position_side is PositionSide.BOTH
        client_id = fields.text("clOrdId") or ""
        if client_id:
            if not _CL_ORD_ID.match(client_id):
                raise ParamError("clOrdId")
            if client_id in taken or self._desk.live_client_id(client_id):
                raise okx_error(51016)
            taken.add(client_id)
        tag = fields.text("tag") or ""
        if fields.raw.get("attachAlgoOrds") not in (None, [], ""):
            raise okx_error(51000, "Parameter attachAlgoOrds error: attached TP/SL orders are not served by the "
                                   "pmm OKX simulator; place them with /api/v5/trade/order-algo")
        self._margin_mode(market, td_mode)
        order = DeskOrder(order_id=order_id, client_id=client_id, market=market, side=side, tif=_TIFS[ord_type],
                          price=price, qty=qty, position_side=position_side, reduce_only=reduce_only)
        order.extra.update({"ordType": ord_type, "tdMode": td_mode, "tag": tag,
                            "lever": self._exchange.leverage(market)})
        return order

    def position_side(self, fields: Fields) -> PositionSide:
        pos_side = fields.text("posSide")
        if self._exchange.position_mode() is PositionMode.ONEWAY:
            if pos_side not in (None, "net"):
                raise ParamError("posSide")
            return PositionSide.BOTH
        if pos_side == "long":
            return PositionSide.LONG
        if pos_side == "short":
            return PositionSide.SHORT
        raise ParamError("posSide")

    def _margin_mode(self, market: str, td_mode: str) -> None:
        """The simulator keeps one margin mode per market: an order in the other mode switches it
        when nothing is open there, else it is refused."""
        mode = MarginMode.CROSS if td_mode == spec.MGN_MODE_CROSS else MarginMode.ISOLATED
        if self._exchange.margin_mode(market) is mode:
            return
        try:
            self._exchange.set_margin_mode(market, mode)
        except VenueSetupError:
            raise okx_error(51000, f"Parameter tdMode error: the simulated account trades {market} in "
                                   f"{self._exchange.margin_mode(market).value} margin while it has a position "
                                   "or open orders there") from None
