"""KuCoin words for the server's numbers, ids, symbols and lot sizes.

pmm names a market "BTC-USDT"; KuCoin names its perpetual "XBTUSDTM" (`spec.to_venue_symbol`).
Sizes on KuCoin's wire are lots: the server lists each contract with `multiplier` = the simulated
market's size step and `lotSize` 1, so one lot is one step and every simulated size is a whole
number of lots. KuCoin writes prices in order rows as strings but contract fields, book levels,
mark prices and rates as JSON numbers: `num` writes a Decimal as the JSON number with the same
digits (through its shortest float repr, which keeps them for the grid's few digits). Times are
integers of milliseconds (nanoseconds in `ts` of books, trades and order pushes).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal

from pmm.connectors.common.numbers import fixed, ms
from pmm.connectors.common.symbols import ListedSymbols
from pmm.connectors.kucoin_perpetual import spec
from pmm.core.model import Side

ZERO = Decimal(0)


def num(value: Decimal) -> int | float:
    """A Decimal as the JSON number KuCoin writes (an int when whole)."""
    if value == value.to_integral_value():
        return int(value)
    return float(format(value.normalize(), "f"))


def money(value: Decimal) -> str:
    return fixed(value, 8)


def ns(ts: float) -> int:
    return ms(ts) * 1_000_000


def id_maker(start: int) -> Callable[[], str]:
    """Ids as KuCoin writes them: strings of digits, increasing."""
    counter = itertools.count(start)
    return lambda: str(next(counter))


def trade_id(sim_trade_id: str) -> str:
    """The simulator's trade id ("F12") as KuCoin writes one: digits only."""
    digits = "".join(ch for ch in sim_trade_id if ch.isdigit())
    return str(1_794_100_000_000 + int(digits)) if digits else sim_trade_id


class KucoinSymbols(ListedSymbols):
    """pmm market <-> KuCoin symbol, each contract's grid, and lots <-> base units."""

    @staticmethod
    def symbol_of(market: str) -> str:
        return spec.to_venue_symbol(market)

    def multiplier(self, symbol: str) -> Decimal:
        return self.grid(symbol).rules.step_size

    def lots(self, symbol: str, base: Decimal) -> int:
        return int((base / self.multiplier(symbol)).to_integral_value())

    def base(self, symbol: str, lots: Decimal) -> Decimal:
        return lots * self.multiplier(symbol)


def side_wire(side: Side) -> str:
    return side.value  # "buy" / "sell"


def side_in(text: str | None) -> Side | None:
    return {"buy": Side.BUY, "sell": Side.SELL}.get(text or "")
