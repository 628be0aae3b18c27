"""Gate words for the server's numbers, ids, symbols and contract sizes.

pmm names a market "BTC-USDT"; Gate names its USDT perpetual "BTC_USDT". Sizes on Gate's wire are
contracts: the server lists each contract with `quanto_multiplier` = the simulated market's size
step and `order_size_min` = the minimum size in steps, so every simulated size is a whole number of
contracts. REST sizes are integers, or decimal strings when the request says
`X-Gate-Size-Decimal: 1`; pushes carry integers. Prices and money are strings (prices on the tick
grid, money with 8 decimals), times are seconds (`create_time`, with a fraction) or milliseconds
(`*_ms`), order ids are numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from decimal import ROUND_CEILING, Decimal

from pmm.connectors.common.numbers import Grid, fixed, plain
from pmm.connectors.common.symbols import ListedSymbols
from pmm.connectors.gate_io_perpetual import spec

ZERO = Decimal(0)
_MONEY_PLACES = 8
Size = int | str


def money(value: Decimal) -> str:
    """Computed amounts (fees, PnL, balances, margins) with 8 decimals."""
    return fixed(value, _MONEY_PLACES)


def average(grid: Grid, value: Decimal) -> str:
    if grid.rules.is_on_tick(value):
        return grid.price(value)
    return plain(value.quantize(Decimal("1e-8")).normalize())


def seconds(ts: float) -> float:
    """A time in seconds with millisecond precision, as Gate's `create_time`."""
    return round(ts, 3)


def ms(ts: float) -> int:
    return int(round(ts * 1000))


def id_maker(start: int) -> Callable[[], str]:
    counter = itertools.count(start)
    return lambda: str(next(counter))


def trade_id(sim_trade_id: str) -> str:
    """The simulator's trade id ("F12") as Gate writes one: digits only."""
    digits = "".join(ch for ch in sim_trade_id if ch.isdigit())
    return str(300_000_000 + int(digits)) if digits else sim_trade_id


def decimal_sizes(headers: Mapping[str, str]) -> bool:
    return headers.get(spec.SIZE_DECIMAL_HEADER, "") == "1"


class GateSymbols(ListedSymbols):
    """pmm market <-> Gate contract, each contract's grid, and contracts <-> base units."""

    @staticmethod
    def symbol_of(market: str) -> str:
        return spec.to_venue_symbol(market)

    def multiplier(self, symbol: str) -> Decimal:
        return self.grid(symbol).rules.step_size

    def min_contracts(self, symbol: str) -> Decimal:
        rules = self.grid(symbol).rules
        return (rules.min_size / rules.step_size).to_integral_value(rounding=ROUND_CEILING)

    def contracts(self, symbol: str, base: Decimal) -> Decimal:
        return (base / self.multiplier(symbol)).normalize()

    def size(self, symbol: str, base: Decimal, *, decimal: bool = False) -> Size:
        """Base units -> a Gate size (signed as given): an integer, or a decimal string."""
        contracts = self.contracts(symbol, base)
        if decimal or contracts != contracts.to_integral_value():
            return plain(contracts)
        return int(contracts)

    def base(self, symbol: str, contracts: Decimal) -> Decimal:
        return contracts * self.multiplier(symbol)
