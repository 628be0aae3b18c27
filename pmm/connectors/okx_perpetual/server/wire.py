"""OKX words for the server's numbers, ids, symbols and contract sizes.

pmm names a market "BTC-USDT"; OKX names its USDT swap "BTC-USDT-SWAP" (`spec.to_venue_symbol`).
Sizes on OKX's wire are contracts: the server lists each swap with `ctVal` = the simulated market's
size step, `lotSz` 1 and `minSz` = the minimum size in steps, so one lot is one step and every
simulated size is a whole number of contracts. Numbers go out as strings (prices on the tick grid,
contracts as integers, money with 8 decimals), times as strings of milliseconds, ids as strings of
digits. An answer is `{"code": "0", "msg": "", "data": [...]}`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from decimal import ROUND_CEILING, Decimal
from typing import Any

from pmm.connectors.common.numbers import Grid, fixed, ms, plain
from pmm.connectors.common.symbols import ListedSymbols
from pmm.connectors.okx_perpetual import spec
from pmm.core.model import PositionMode, PositionSide, Side

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
    """Ids as OKX writes them: strings of digits, increasing (orders, trades, bills, algos)."""
    counter = itertools.count(start)
    return lambda: str(next(counter))


def trade_id(sim_trade_id: str) -> str:
    """The simulator's trade id ("F12") as OKX writes one: digits only."""
    digits = "".join(ch for ch in sim_trade_id if ch.isdigit())
    return str(500_000_000 + int(digits)) if digits else sim_trade_id


class Body(dict[str, Any]):
    """A whole answer a handler built itself (batch results, inTime/outTime): sent as it is."""


class OkxSymbols(ListedSymbols):
    """pmm market <-> OKX instId, each swap's grid, and contracts <-> base units."""

    @staticmethod
    def symbol_of(market: str) -> str:
        return spec.to_venue_symbol(market)

    def ct_val(self, symbol: str) -> Decimal:
        return self.grid(symbol).rules.step_size

    def min_contracts(self, symbol: str) -> Decimal:
        rules = self.grid(symbol).rules
        return (rules.min_size / rules.step_size).to_integral_value(rounding=ROUND_CEILING)

    def contracts(self, symbol: str, base: Decimal) -> str:
        """Base units -> contracts as OKX writes them (whole numbers when the size is on the step)."""
        return plain((base / self.ct_val(symbol)).normalize())

    def base(self, symbol: str, contracts: Decimal) -> Decimal:
        return contracts * self.ct_val(symbol)


def side_wire(side: Side) -> str:
    return side.value  # "buy" / "sell", as OKX spells them


def side_in(text: str | None) -> Side | None:
    return {"buy": Side.BUY, "sell": Side.SELL}.get(text or "")


def pos_side_wire(side: PositionSide, mode: PositionMode) -> str:
    """`net` in net mode; `long` / `short` in long/short mode."""
    return "net" if mode is PositionMode.ONEWAY else side.value


def pos_mode_wire(mode: PositionMode) -> str:
    return spec.POS_MODE_NET if mode is PositionMode.ONEWAY else spec.POS_MODE_HEDGE


def flag(value: bool) -> str:
    return "true" if value else "false"
