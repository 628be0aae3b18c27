"""Wire formatting for the Bybit server: symbols, numbers, times and enums as Bybit spells them.

pmm names a market "BTC-USDT"; Bybit names the linear perpetual "BTCUSDT". `SymbolMap` is the one
place that translates between them. Book prices and sizes go out on the market's tick/step grid
(pmm.connectors.common.numbers.Grid); computed money with 8 decimals. Bybit sends timestamps in
REST lists and private streams as strings of milliseconds, and numbers always as strings. JSON is
written by `common/wire_json.dumps`.
"""

from __future__ import annotations

from decimal import Decimal

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.common.numbers import fixed, ms
from pmm.connectors.common.symbols import ListedSymbols
from pmm.core.model import PositionMode, PositionSide, Side

ZERO = Decimal(0)
_MONEY_PLACES = 8


def money(value: Decimal) -> str:
    """Computed amounts (fees, PnL, balances, margins) with 8 decimals."""
    return fixed(value, _MONEY_PLACES)


def ms_text(ts: float) -> str:
    """Milliseconds as the string Bybit sends in lists and private topics."""
    return str(ms(ts))


class SymbolMap(ListedSymbols):
    """pmm market <-> Bybit symbol, and each symbol's number grid. The only place that maps. Symbols
    are looked up exactly as sent (uppercase only, as Bybit wants it)."""

    @staticmethod
    def symbol_of(market: str) -> str:
        """ "BTC-USDT" -> "BTCUSDT" (the Bybit linear perpetual's name)."""
        return market.replace("-", "").upper()


# --- enums ----------------------------------------------------------------------------------------

_SIDES = {Side.BUY: c.SIDE_BUY, Side.SELL: c.SIDE_SELL}
_SIDES_IN = {wire: side for side, wire in _SIDES.items()}
_IDX = {PositionSide.BOTH: c.POSITION_IDX_ONEWAY, PositionSide.LONG: c.POSITION_IDX_HEDGE_BUY,
        PositionSide.SHORT: c.POSITION_IDX_HEDGE_SELL}
_IDX_IN = {idx: side for side, idx in _IDX.items()}


def side_wire(side: Side) -> str:
    return _SIDES[side]


def side_in(text: object) -> Side | None:
    """Bybit's "Buy" / "Sell" (case-sensitive, as the venue checks it)."""
    return _SIDES_IN.get(text) if isinstance(text, str) else None


def position_idx(side: PositionSide, mode: PositionMode) -> int:
    """0 in one-way mode; 1 (buy side = long) / 2 (sell side = short) in hedge mode."""
    return c.POSITION_IDX_ONEWAY if mode is PositionMode.ONEWAY else _IDX[side]


def position_side_in(idx: int) -> PositionSide | None:
    return _IDX_IN.get(idx)


def position_side_wire(side: PositionSide) -> str:
    """A position's `side`: "Buy" for long, "Sell" for short."""
    return c.SIDE_BUY if side is PositionSide.LONG else c.SIDE_SELL
