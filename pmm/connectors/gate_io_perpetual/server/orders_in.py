"""A Gate order request -> a `DeskOrder`, with Gate's parameter rules, and the one table from the
simulator's refusal codes (pmm/sim/validation.py) to Gate's labels.

Parameters (APIv4 "Create a futures order"): `contract`, `size` (whole contracts, signed: + buy,
- sell; 0 only with `close: true` or `auto_size` close_long / close_short, which close the whole
position), `price` ("0" with `tif` ioc is a market order), `tif` gtc | ioc | poc | fok, `text`
("t-" + at most 28 of [0-9A-Za-z_.-], or absent), `reduce_only`, `close`, `auto_size`, `iceberg`
(0 only). Numbers may come as JSON numbers or strings, booleans as JSON or as text.

In dual (hedge) mode the size's sign is the side and `reduce_only` (or `close`) says the order
closes: a buy that closes works on the short side, a sell that closes on the long side.
"""

from __future__ import annotations

import re
from decimal import Decimal

from pmm.connectors.common.server.desk_order import DeskOrder, Tif
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.connectors.common.server.wire import Fields, ParamError, WireError
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.server.dialect import gate_error
from pmm.connectors.gate_io_perpetual.server.wire import GateSymbols
from pmm.core.model import ZERO, PositionMode, PositionSide, Side
from pmm.sim.exchange import SimExchange

_TEXT = re.compile(rf"^t-[0-9A-Za-z_.\-]{{1,{spec.TEXT_MAX_BODY}}}$")
_TIFS = {"gtc": Tif.GTC, "ioc": Tif.IOC, "poc": Tif.POST_ONLY, "fok": Tif.FOK}

# Simulator refusal code -> Gate's label. The only mapping; tested case by case.
REJECTIONS: dict[str, str] = {
    "unknown_market": "CONTRACT_NOT_FOUND",
    "duplicate_client_id": "INVALID_CLIENT_ORDER_ID",
    "invalid_amount": "INVALID_PARAM_VALUE",
    "off_step": "INVALID_PARAM_VALUE",
    "invalid_price": "INVALID_PRICE",
    "off_tick": "INVALID_PRICE",
    "position_side_mismatch": "INVALID_PARAM_VALUE",
    "below_min_size": "SIZE_TOO_SMALL",
    "below_min_notional": "SIZE_TOO_SMALL",
    "no_liquidity": "",  # accepted, then finished "ioc" with nothing filled
    "reduce_only_rejected": "REDUCE_EXCEEDED",
    "post_only_would_cross": "ORDER_POC_IMMEDIATE",
    "insufficient_margin": "INSUFFICIENT_AVAILABLE",
}
UNKNOWN_REFUSAL = "INVALID_PARAM_VALUE"


def refusal(sim_code: str | None) -> str:
    """Gate's label for a simulator refusal ("" when Gate accepts the order and finishes it)."""
    return REJECTIONS.get(sim_code or "", UNKNOWN_REFUSAL)


class OrderParser:
    """Reads one order object into a `DeskOrder` (raises `ParamError` / `WireError`)."""

    def __init__(self, exchange: SimExchange, symbols: GateSymbols, desk: OrderDesk) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._desk = desk

    def symbol(self, name: str | None) -> str:
        if name is None:
            raise ParamError("contract", missing=True)
        if self._symbols.market(name) is None:
            raise gate_error("CONTRACT_NOT_FOUND")
        return name

    def size(self, fields: Fields, symbol: str, name: str = "size") -> Decimal:
        """Signed contracts -> signed base units: whole contracts only."""
        size = fields.decimal(name) or ZERO
        if size != size.to_integral_value():
            raise gate_error("INVALID_PARAM_VALUE", f"Invalid parameter value: {name} must be whole contracts")
        if size and abs(size) < self._symbols.min_contracts(symbol):
            raise gate_error("SIZE_TOO_SMALL")
        return self._symbols.base(symbol, size)

    def parse(self, fields: Fields, order_id: str) -> DeskOrder:
        symbol = self.symbol(fields.text("contract"))
        market = self._symbols.market(symbol)
        assert market is not None
        signed = self.size(fields, symbol)
        close = fields.boolean("close") or fields.text("auto_size") in ("close_long", "close_short")
        qty, side = abs(signed), Side.BUY if signed > 0 else Side.SELL
        if signed == 0:
            if not close:
                raise gate_error("INVALID_PARAM_VALUE", "Invalid parameter value: size")
            side, qty = self._closing_all(market, fields)
        tif_text = fields.text("tif") or "gtc"
        if tif_text not in _TIFS:
            raise ParamError("tif")
        price = fields.decimal("price", required=True)
        assert price is not None
        if price < 0:
            raise ParamError("price")
        market_order = price == 0
        if market_order and tif_text not in ("ioc", "fok"):
            raise gate_error("INVALID_PARAM_VALUE", "Invalid parameter value: a market order (price 0) needs tif ioc")
        text = fields.text("text") or ""
        if text and not _TEXT.match(text):
            raise gate_error("INVALID_CLIENT_ORDER_ID" if text.startswith("t-") else "INVALID_PARAM_VALUE",
                             "text must be t- followed by at most 28 of 0-9 A-Z a-z _ . -")
        if text and self._desk.live_client_id(text):
            raise gate_error("INVALID_CLIENT_ORDER_ID", "Client order ID is in use by an open order")
        if (fields.integer("iceberg") or 0) != 0:
            raise gate_error("INVALID_PARAM_VALUE", "Invalid parameter value: iceberg orders are not served by the "
                                                    "pmm Gate simulator")
        reduce_only = fields.boolean("reduce_only") or close
        position_side = PositionSide.BOTH
        if self._exchange.position_mode() is PositionMode.HEDGE:
            position_side = PositionSide.SHORT if (side is Side.BUY) == reduce_only else PositionSide.LONG
            reduce_only_flag = False  # a hedge-mode close is closing by its side
        else:
            reduce_only_flag = reduce_only
        order = DeskOrder(order_id=order_id, client_id=text, market=market, side=side, tif=_TIFS[tif_text],
                          price=None if market_order else price, qty=qty, position_side=position_side,
                          reduce_only=reduce_only_flag)
        order.extra["reduce_only"] = reduce_only
        if not text:
            order.extra["text"] = "api"
        return order

    def _closing_all(self, market: str, fields: Fields) -> tuple[Side, Decimal]:
        """`size` 0 with close: the whole position (auto_size names the side in dual mode)."""
        auto = fields.text("auto_size")
        held = [p for p in self._exchange.positions() if p.market == market]
        if auto == "close_long":
            held = [p for p in held if p.side is PositionSide.LONG]
        elif auto == "close_short":
            held = [p for p in held if p.side is PositionSide.SHORT]
        if not held:
            raise gate_error("REDUCE_EXCEEDED", "No position to close")
        pos = held[0]
        return (Side.SELL if pos.side is PositionSide.LONG else Side.BUY), pos.amount


def refusal_error(label: str) -> WireError:
    return gate_error(label)
