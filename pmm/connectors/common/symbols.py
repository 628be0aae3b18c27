"""pmm market names <-> venue symbols.

pmm names a market "BTC-USDT"; each venue spells its symbol its own way, which the venue's subclass
says (`symbol_of` / `to_symbol`). Two views of the mapping:

    ListedSymbols   a loopback venue server's listed markets, with each symbol's number grid; a
                    venue looks symbols up its own way (`normalize_symbol`: any case, or exact)
    MarketSymbols   a client's markets in use, falling back to a split on a known quote asset
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


class MarketSymbols:
    """A client's view: venue symbol -> pmm market for the markets in use, else a split on a known
    quote asset ("ETHUSDT" -> "ETH-USDT"), else the symbol itself. Subclasses name the venue's
    spelling in `to_symbol` and its quote assets in `quote_assets`."""

    quote_assets: tuple[str, ...] = ()

    def __init__(self, markets: Iterable[str] = ()) -> None:
        self._markets: dict[str, str] = {}
        for market in markets:
            self.add(market)

    @staticmethod
    def to_symbol(market: str) -> str:
        """The venue's symbol for a pmm market (each venue says how it spells it)."""
        raise NotImplementedError

    def add(self, market: str) -> str:
        symbol = self.to_symbol(market)
        self._markets[symbol] = market
        return symbol

    def market(self, symbol: str) -> str:
        known = self._markets.get(symbol)
        if known is not None:
            return known
        for quote in self.quote_assets:
            if symbol.endswith(quote) and len(symbol) > len(quote):
                return f"{symbol[:-len(quote)]}-{quote}"
        return symbol

    __call__ = market


def listed_examples(listed: Iterable[str], wanted: str, limit: int = 5) -> str:
    """What a "no such market" message suggests: markets the venue does list (pmm names), those
    with `wanted`'s quote asset first, e.g. "BTC-USDT, ETH-USDT, SOL-USDT (12 in all)"."""
    markets = sorted(set(listed))
    if not markets:
        return "none (the venue lists no trading market of this kind)"
    quote = wanted.rsplit("-", 1)[-1]
    ranked = sorted(markets, key=lambda m: (m.rsplit("-", 1)[-1] != quote, m))
    shown = ", ".join(ranked[:limit])
    return shown if len(markets) <= limit else f"{shown} ({len(markets)} in all)"
