"""Wire formatting for the Binance server: symbols, numbers, times and enums as Binance spells them.

pmm names a market "BTC-USDT"; Binance names the same perpetual "BTCUSDT". `SymbolMap` is the one
place that translates between them. Numbers go out as strings: book prices and sizes on the
market's tick/step grid (so a level's price string is identical in the REST snapshot and in every
diff), computed money (fees, PnL, margins) with 8 decimals as Binance shows them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.core.model import MarginMode, PositionMode, PositionSide, Side, TradingRules

_Q8 = Decimal("0.00000001")


def ms(ts: float) -> int:
    """Float seconds since the epoch -> integer milliseconds (Binance's time unit)."""
    return int(round(ts * 1000))


def plain(value: Decimal) -> str:
    """A Decimal as a plain string, never in exponent notation ("1E+1" -> "10")."""
    text = format(value, "f")
    return "0" if text in ("-0", "") else text


def money(value: Decimal) -> str:
    """Computed amounts (fees, PnL, balances, margins) with 8 decimals, as Binance shows them."""
    return plain(value.quantize(_Q8, rounding=ROUND_HALF_UP))


def dumps(data: Any) -> str:
    """Compact JSON; a Decimal that slipped through unformatted is a bug, not a float."""

    def refuse(obj: Any) -> Any:
        raise TypeError(f"{type(obj).__name__} is not JSON-ready: format it as a string first")

    return json.dumps(data, separators=(",", ":"), default=refuse)


def parse_decimal(text: str) -> Decimal | None:
    """A finite Decimal from a request parameter ("25000", "25000.0", "0.01"), or None."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        return None
    return value if value.is_finite() else None


def decimals_of(step: Decimal) -> int:
    """How many decimals a grid step shows: 0.1 -> 1, 0.5 -> 1, 0.001 -> 3, 10 -> 0."""
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


class Grid:
    """Formats one market's prices and sizes with the decimals of its tick and step."""

    __slots__ = ("rules", "price_places", "qty_places", "_price_exp", "_qty_exp")

    def __init__(self, rules: TradingRules) -> None:
        self.rules = rules
        self.price_places = decimals_of(rules.tick_size)
        self.qty_places = decimals_of(rules.step_size)
        self._price_exp = Decimal(1).scaleb(-self.price_places)
        self._qty_exp = Decimal(1).scaleb(-self.qty_places)

    @staticmethod
    def _fixed(value: Decimal, exp: Decimal) -> str:
        fixed = value.quantize(exp)
        # Never round a value that is off the grid: show it exactly instead.
        return plain(fixed if fixed == value else value)

    def price(self, value: Decimal) -> str:
        return self._fixed(value, self._price_exp)

    def qty(self, value: Decimal) -> str:
        return self._fixed(value, self._qty_exp)

    def levels(self, levels: Iterable[tuple[Decimal, Decimal]]) -> list[list[str]]:
        return [[self.price(p), self.qty(s)] for p, s in levels]


class SymbolMap:
    """pmm market <-> Binance symbol, and each symbol's number grid. The only place that maps."""

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
        """ "BTC-USDT" -> "BTCUSDT" (the Binance perpetual's name)."""
        return market.replace("-", "").upper()

    def symbol(self, market: str) -> str:
        return self._to_symbol[market]

    def market(self, symbol: str) -> str | None:
        """The pmm market of a Binance symbol (any case), or None if the venue does not list it."""
        return self._to_market.get(symbol.upper())

    def grid(self, symbol: str) -> Grid:
        return self._grids[symbol]

    def symbols(self) -> list[str]:
        return list(self._to_market)


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


def signed_amount(amount: Decimal, side: PositionSide) -> Decimal:
    return -amount if side is PositionSide.SHORT else amount
