"""Bitget words for the server's numbers, ids and symbols.

pmm names a market "BTC-USDT"; Bitget names its USDT-M perpetual "BTCUSDT" and reads symbols in
any case ("btcusdt" in its own examples). Sizes are in the base coin (no contracts). Numbers go
out as strings (prices on the tick grid, sizes on the step grid, money with 8 decimals), times as
strings of milliseconds (`requestTime` and the top-level `ts` of pushes as numbers), ids as
strings of digits. Enums arrive in any case from clients (ccxt sends "GTC", "YES", "Close").
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import Decimal

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.common.numbers import Grid, fixed, ms, plain
from pmm.connectors.common.symbols import ListedSymbols
from pmm.core.model import PositionMode

ZERO = Decimal(0)
_MONEY_PLACES = 8


def money(value: Decimal) -> str:
    """Computed amounts (fees, PnL, balances, margins) with 8 decimals."""
    return fixed(value, _MONEY_PLACES)


def average(grid: Grid, value: Decimal) -> str:
    """An average price: on the tick grid when it lies on it, else with 8 decimals at most."""
    if grid.rules.is_on_tick(value):
        return grid.price(value)
    return plain(value.quantize(Decimal("1e-8")).normalize())


def ms_text(ts: float) -> str:
    return str(ms(ts))


def id_maker(start: int) -> Callable[[], str]:
    """Ids as Bitget writes them: strings of digits, increasing (orders, trades, bills)."""
    counter = itertools.count(start)
    return lambda: str(next(counter))


def trade_id(sim_trade_id: str) -> str:
    """The simulator's trade id ("F12") as Bitget writes one: digits only."""
    digits = "".join(ch for ch in sim_trade_id if ch.isdigit())
    return str(1_300_000_000_000_000_000 + int(digits)) if digits else sim_trade_id


class BitgetSymbols(ListedSymbols):
    """pmm market <-> Bitget symbol (looked up in any case), and each symbol's grid."""

    @staticmethod
    def symbol_of(market: str) -> str:
        return spec.to_venue_symbol(market)

    @staticmethod
    def normalize_symbol(symbol: str) -> str:
        return symbol.upper()


def pos_mode_wire(mode: PositionMode) -> str:
    return spec.POS_MODE_ONE_WAY if mode is PositionMode.ONEWAY else spec.POS_MODE_HEDGE


def lower(text: str | None) -> str | None:
    return text.lower() if text is not None else None
