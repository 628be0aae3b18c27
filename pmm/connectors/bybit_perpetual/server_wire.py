"""Wire formatting for the Bybit server: symbols, numbers, times and enums as Bybit spells them.

pmm names a market "BTC-USDT"; Bybit names the linear perpetual "BTCUSDT". `SymbolMap` is the one
place that translates between them. Book prices and sizes go out on the market's tick/step grid
(pmm.connectors.common.numbers.Grid); computed money with 8 decimals. Bybit sends timestamps in
REST lists and private streams as strings of milliseconds, and numbers always as strings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.common.numbers import Grid, fixed, ms
from pmm.core.model import PositionMode, PositionSide, Side, TradingRules

ZERO = Decimal(0)
_MONEY_PLACES = 8


def money(value: Decimal) -> str:
    """Computed amounts (fees, PnL, balances, margins) with 8 decimals."""
    return fixed(value, _MONEY_PLACES)


def ms_text(ts: float) -> str:
    """Milliseconds as the string Bybit sends in lists and private topics."""
    return str(ms(ts))


def dumps(data: Any) -> str:
    """Compact JSON; a Decimal that slipped through unformatted is a bug, not a float."""

    def refuse(obj: Any) -> Any:
        raise TypeError(f"{type(obj).__name__} is not JSON-ready: format it as a string first")

    return json.dumps(data, separators=(",", ":"), default=refuse)


class SymbolMap:
    """pmm market <-> Bybit symbol, and each symbol's number grid. The only place that maps."""

    def __init__(self, rules: Iterable[TradingRules]) -> None:
        self._to_symbol: dict[str, str] = {}
        self._to_market: dict[str, str] = {}
        self._grids: dict[str, Grid] = {}
        for rule in rules:
            symbol = self.symbol_of(rule.market)
            self._to_symbol[rule.market] = symbol
            self._to_market[symbol] = rule.market
            self._grids[symbol] = Grid(rule)

    @staticmethod
    def symbol_of(market: str) -> str:
        """ "BTC-USDT" -> "BTCUSDT" (the Bybit linear perpetual's name)."""
        return market.replace("-", "").upper()

    def symbol(self, market: str) -> str:
        return self._to_symbol[market]

    def market(self, symbol: str) -> str | None:
        """The pmm market of a Bybit symbol, or None if the venue does not list it (uppercase only,
        as Bybit wants it)."""
        return self._to_market.get(symbol)

    def grid(self, symbol: str) -> Grid:
        return self._grids[symbol]

    def symbols(self) -> list[str]:
        return list(self._to_market)


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
