"""Wire formatting for the Binance server: symbols, money and enums as Binance spells them.

pmm names a market "BTC-USDT"; Binance names the same perpetual "BTCUSDT". `SymbolMap` is the one
place that translates between them (any case is accepted, as Binance does). Numbers go out as
strings: book prices and sizes on the market's tick/step grid (`common/numbers.py`, so a level's
price string is identical in the REST snapshot and in every diff), computed money (fees, PnL,
margins) with 8 decimals as Binance shows them. JSON is written by `common/wire_json.dumps`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.common.numbers import plain
from pmm.connectors.common.symbols import ListedSymbols
from pmm.core.model import MarginMode, PositionMode, PositionSide, Side

_Q8 = Decimal("0.00000001")


def money(value: Decimal) -> str:
    """Computed amounts (fees, PnL, balances, margins) with 8 decimals, as Binance shows them (a
    negative amount that rounds to zero keeps its sign: "-0.00000000")."""
    return plain(value.quantize(_Q8, rounding=ROUND_HALF_UP))


class SymbolMap(ListedSymbols):
    """pmm market <-> Binance symbol, and each symbol's number grid. The only place that maps."""

    @staticmethod
    def symbol_of(market: str) -> str:
        """ "BTC-USDT" -> "BTCUSDT" (the Binance perpetual's name)."""
        return market.replace("-", "").upper()

    @staticmethod
    def normalize_symbol(symbol: str) -> str:
        """Binance accepts a symbol in any case."""
        return symbol.upper()


# --- enums ----------------------------------------------------------------------------------------

_SIDES = {Side.BUY: c.SIDE_BUY, Side.SELL: c.SIDE_SELL}
_SIDES_IN = {c.SIDE_BUY: Side.BUY, c.SIDE_SELL: Side.SELL}
_POSITION_SIDES = {
    PositionSide.BOTH: c.POSITION_SIDE_BOTH,
    PositionSide.LONG: c.POSITION_SIDE_LONG,
    PositionSide.SHORT: c.POSITION_SIDE_SHORT,
}
_POSITION_SIDES_IN = {wire: side for side, wire in _POSITION_SIDES.items()}


def side_wire(side: Side) -> str:
    return _SIDES[side]


def side_in(text: str) -> Side | None:
    return _SIDES_IN.get(text.upper())


def position_side_wire(side: PositionSide, mode: PositionMode) -> str:
    """One-way accounts show every position as BOTH; hedge accounts as LONG / SHORT."""
    return c.POSITION_SIDE_BOTH if mode is PositionMode.ONEWAY else _POSITION_SIDES[side]


def position_side_in(text: str) -> PositionSide | None:
    return _POSITION_SIDES_IN.get(text.upper())


def margin_type_lower(mode: MarginMode) -> str:
    """Positions and ACCOUNT_UPDATE spell margin types "cross" / "isolated"."""
    return c.MARGIN_TYPE_ISOLATED_LOWER if mode is MarginMode.ISOLATED else c.MARGIN_TYPE_CROSS_LOWER


def trade_number(trade_id: str) -> int:
    """The sim's trade ids ("F12") as Binance's integer trade ids (12)."""
    digits = "".join(ch for ch in trade_id if ch.isdigit())
    return int(digits) if digits else 0
