"""BitMEX words for the server's numbers, ids, symbols and contract sizes.

pmm names a market "BTC-USDT"; BitMEX names its linear perpetual "XBTUSDT" (`spec.to_venue_symbol`).
Sizes on BitMEX's wire are contracts: the server lists each perpetual with `lotSize` 1000 and
`underlyingToPositionMultiplier` = 1000 / the simulated market's size step (1000000 for a step of
0.001 BTC, as the real XBTUSDT), so one lot is one step and every simulated size is a whole number of
lots. Prices and sizes go out as JSON numbers (written digit for digit from Decimal, never through a
float), money as integers in millionths of USDT (`USDt`), times as ISO-8601 text with milliseconds,
order and execution ids as UUIDs. (`money`: where the simulated account's 8 decimals hold a fraction of a
millionth, the figure keeps it.)
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.parse import s_to_iso
from pmm.connectors.common.symbols import ListedSymbols

ZERO = Decimal(0)
LOT = Decimal(1000)   # contracts per size step
ACCOUNT = 2_840_711   # the simulated account's number (BitMEX rows carry `account`)
_NUMBER = re.compile(r'"\\u0000n:(-?[0-9]+(?:\.[0-9]+)?(?:E[-+]?[0-9]+)?)"')


def dumps(data: Any) -> str:
    """Compact JSON in which every Decimal is the JSON number it is (BitMEX writes prices and sizes
    as numbers)."""
    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return "\0n:" + format(value, "f")
        if isinstance(value, dict):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [mark(v) for v in value]
        return value
    return _NUMBER.sub(r"\1", json.dumps(mark(data), separators=(",", ":")))


def iso(ts: float) -> str:
    return s_to_iso(ts)


def money(value: Decimal) -> int | Decimal:
    """USDT -> BitMEX's millionths (USDt). BitMEX's figures are whole millionths; the simulated account
    books 8 decimals, so a figure with a fraction of a millionth keeps it (written as a JSON number with
    a fraction) rather than be rounded away from the account it reports."""
    scaled = value * spec.MARGIN_SCALE
    return int(scaled) if scaled == scaled.to_integral_value() else scaled.normalize()


def uuid_maker(prefix: int) -> Callable[[], str]:
    """Ids as BitMEX writes order and execution ids (UUIDs), increasing."""
    counter = itertools.count(1)

    def make() -> str:
        n = next(counter)
        high, mid, low = (n >> 48) & 0xFFFF, (n >> 36) & 0xFFF, (n >> 24) & 0xFFF
        return f"{prefix:08x}-{high:04x}-4{mid:03x}-8{low:03x}-{n & 0xFFFFFFFFFFFF:012x}"
    return make


def match_id(sim_trade_id: str) -> str:
    """The simulator's trade id ("F12") as BitMEX writes a `trdMatchID` (a UUID)."""
    digits = "".join(ch for ch in sim_trade_id if ch.isdigit()) or "0"
    return f"00000000-006d-1000-0000-{int(digits):012x}"


def side_wire(buy: bool) -> str:
    return "Buy" if buy else "Sell"


class BitmexSymbols(ListedSymbols):
    """pmm market <-> BitMEX symbol, each perpetual's grid, and contracts <-> base units."""

    @staticmethod
    def symbol_of(market: str) -> str:
        return spec.to_venue_symbol(market)

    def multiplier(self, symbol: str) -> Decimal:
        return (LOT / self.grid(symbol).rules.step_size).normalize()

    def contracts(self, symbol: str, base: Decimal) -> int:
        return int((base * self.multiplier(symbol)).to_integral_value(rounding=ROUND_HALF_EVEN))

    def base(self, symbol: str, contracts: Decimal) -> Decimal:
        return contracts / self.multiplier(symbol)

    def price(self, symbol: str, value: Decimal) -> Decimal:
        """A price as BitMEX writes it: on the tick grid when it lies on it."""
        return Decimal(self.grid(symbol).price(value)) if self.grid(symbol).rules.is_on_tick(value) \
            else value.quantize(Decimal("1e-8")).normalize()

    def level_id(self, symbol: str, price: Decimal) -> int:
        """orderBookL2's `id` of a price: fixed for the price, so an update never moves a level."""
        index = self.symbols().index(symbol)
        ticks = int(price / self.grid(symbol).rules.tick_size)
        return (index + 1) * 10**10 - ticks


class BitmexSpotSymbols(BitmexSymbols):
    """The spot pairs ("XBT_USDT") of a spot market-data server (a price source)."""

    @staticmethod
    def symbol_of(market: str) -> str:
        return spec.to_spot_symbol(market)
