"""pmm market names <-> venue symbols, for the loopback venue servers.

pmm names a market "BTC-USDT"; each venue spells its symbol its own way (`symbol_of`, set by the
venue's subclass) and looks symbols up its own way (`normalize_symbol`: some venues accept any
case, others only the spelling they list).
"""

from __future__ import annotations

from collections.abc import Iterable

from pmm.connectors.common.numbers import Grid
from pmm.core.model import TradingRules


class ListedSymbols:
    """The markets a simulated venue lists: pmm market <-> venue symbol, and each symbol's number
    grid. The only place a server maps. Subclasses name the venue's spelling in `symbol_of`."""

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
        """The venue's symbol for a pmm market (each venue says how it spells it)."""
        raise NotImplementedError

    @staticmethod
    def normalize_symbol(symbol: str) -> str:
        """A symbol from a request as the venue looks it up (default: exactly as sent)."""
        return symbol

    def symbol(self, market: str) -> str:
        return self._to_symbol[market]

    def market(self, symbol: str) -> str | None:
        """The pmm market of a venue symbol, or None if the venue does not list it."""
        return self._to_market.get(self.normalize_symbol(symbol))

    def grid(self, symbol: str) -> Grid:
        return self._grids[symbol]

    def symbols(self) -> list[str]:
        return list(self._to_market)
