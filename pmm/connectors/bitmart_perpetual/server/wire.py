"""BitMart words for the server's numbers, ids, symbols and contract sizes.

pmm names a market "BTC-USDT"; BitMart names its perpetual "BTCUSDT". Sizes on BitMart's wire are
contracts: the server lists each perpetual with `contract_size` = the simulated market's size step,
`vol_precision` 1 and `min_volume` = the minimum size in steps, so every simulated size is a whole
number of contracts. Prices and money go out as strings, times as integers of milliseconds (REST
trade queries take seconds), order ids as strings of digits (a new order's reply: a number).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.common.numbers import Grid, fixed, plain
from pmm.connectors.common.symbols import ListedSymbols
from pmm.core.model import PositionMode, PositionSide, Side

ZERO = Decimal(0)
_MONEY_PLACES = 8


def money(value: Decimal) -> str:
    """Computed amounts (fees, PnL, balances, margins) with 8 decimals."""
    return fixed(value, _MONEY_PLACES)


def average(grid: Grid, value: Decimal | None) -> str:
    """An average price: on the tick grid when it lies on it, else with 8 decimals at most; "0" for none."""
    if value is None:
        return "0"
    if grid.rules.is_on_tick(value):
        return grid.price(value)
    return plain(value.quantize(Decimal("1e-8")).normalize())


def id_maker(start: int) -> Callable[[], str]:
    """Ids as BitMart writes them: strings of digits, increasing."""
    counter = itertools.count(start)
    return lambda: str(next(counter))


def trade_id(sim_trade_id: str) -> str:
    """The simulator's trade id ("F12") as BitMart writes one: digits only."""
    digits = "".join(ch for ch in sim_trade_id if ch.isdigit())
    return str(1_140_000_000 + int(digits)) if digits else sim_trade_id


class BitmartSymbols(ListedSymbols):
    """pmm market <-> BitMart symbol, each perpetual's grid, and contracts <-> base units."""

    @staticmethod
    def symbol_of(market: str) -> str:
        return spec.to_venue_symbol(market)

    def contract_size(self, symbol: str) -> Decimal:
        return self.grid(symbol).rules.step_size

    def min_contracts(self, symbol: str) -> Decimal:
        rules = self.grid(symbol).rules
        return (rules.min_size / rules.step_size).to_integral_value(rounding=ROUND_CEILING)

    def contracts(self, symbol: str, base: Decimal) -> str:
        """Base units -> contracts as BitMart writes them (whole numbers when the size is on the step)."""
        return plain((base / self.contract_size(symbol)).normalize())

    def base(self, symbol: str, contracts: Decimal) -> Decimal:
        return contracts * self.contract_size(symbol)


def side_number(side: Side, position_side: PositionSide, mode: PositionMode, closing: bool) -> int:
    """An order's side number (spec.py): buy 1 / 2 (closing), sell 4 / 3 (closing)."""
    del position_side, mode  # the number reads the same in both modes; the mode says what it means
    if side is Side.BUY:
        return spec.SIDE_BUY_CLOSE if closing else spec.SIDE_BUY_OPEN
    return spec.SIDE_SELL_CLOSE if closing else spec.SIDE_SELL_OPEN


def position_mode_wire(mode: PositionMode) -> str:
    return spec.POSITION_MODE_HEDGE if mode is PositionMode.HEDGE else spec.POSITION_MODE_ONE_WAY
