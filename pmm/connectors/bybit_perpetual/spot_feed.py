"""`BybitSpotFeed`: Bybit v5 *spot* public market data as a pmm `MarketDataFeed`, for
`price_source: external_market` with `price_source_derivative: bybit` (no keys, no orders).

- Trading rules from `GET /v5/market/instruments-info?category=spot&symbol=…` (`prepare`): the spot
  shape (`lotSizeFilter.basePrecision`, `minOrderQty`, `minOrderAmt`; `priceFilter.tickSize`). An
  unlisted pair is a config error naming `price_source_market`.
- Order book: `orderbook.50.{symbol}` on `/v5/public/spot`, kept in sync by the linear feed's
  `book.BookSync` (the rules are the same on spot: snapshot, then `u` = previous `u` + 1; a gap
  resubscribes for a new snapshot; a disconnect freezes the book until the reconnection's snapshot).
- Trades: `publicTrade.{symbol}` (for `price_type: last_price`). Spot has no mark price or funding.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual import spot_constants as s
from pmm.connectors.bybit_perpetual.feed import BybitFeed
from pmm.connectors.bybit_perpetual.parse import dec_or_zero, to_symbol
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.connectors.common.payloads import Payload, dec
from pmm.core.clock import Clock
from pmm.core.model import TradingRules
from pmm.errors import ConfigError

__all__ = ["BybitSpotFeed", "parse_spot_trading_rules"]


def parse_spot_trading_rules(result: Payload, market: str) -> TradingRules:
    """instruments-info (category=spot) -> tick, size step (basePrecision), min size, min notional."""
    symbol = to_symbol(market)
    entry = next((i for i in result.get("list", ()) if i.get("symbol") == symbol), None)
    if entry is None:
        raise _unlisted(market)
    if entry.get("status") != c.INSTRUMENT_STATUS_TRADING:
        raise ConfigError(f"Bybit spot {symbol} is not trading (status {entry.get('status')}); choose another "
                          "`price_source_market`.")
    lot = entry["lotSizeFilter"]
    return TradingRules(
        market=market, base=str(entry.get("baseCoin") or market.split("-")[0]),
        quote=str(entry.get("quoteCoin") or market.split("-")[-1]), tick_size=dec(entry["priceFilter"]["tickSize"]),
        step_size=dec(lot["basePrecision"]), min_size=dec(lot["minOrderQty"]),
        min_notional=dec_or_zero(lot.get("minOrderAmt")), max_leverage=1)


def _unlisted(market: str) -> ConfigError:
    return ConfigError(f"Bybit spot does not list `{to_symbol(market)}` (`price_source_market` {market}). Use a "
                       "pair Bybit trades on spot, such as BTC-USDT, or another `price_source_derivative`.")


class BybitSpotFeed(BybitFeed):
    """Bybit spot public market data (see module docstring). `rest` needs no keys."""

    ws_path = s.WS_PUBLIC_SPOT_PATH
    stream_name = "spot"

    def __init__(self, rest: BybitRestClient, *, ws_url: str, clock: Clock, depth: int = s.ORDERBOOK_DEPTH,
                 **options: Any) -> None:
        super().__init__(rest, ws_url=ws_url, clock=clock, connector_id=s.SPOT_SOURCE_ID, depth=depth, **options)

    def __repr__(self) -> str:
        return f"BybitSpotFeed(rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    async def prepare(self, markets: Sequence[str]) -> None:
        """Load the spot trading rules of `markets` (one instruments-info request each). Idempotent. On
        a refusal the REST session it opened is closed again (nothing else may be holding it yet)."""
        try:
            for market in markets:
                if market not in self._rules:
                    self._rules[market] = parse_spot_trading_rules(await self._instrument(market), market)
                    self._symbols.add(market)
        except BaseException:
            await self._rest.close_if_unused()
            raise

    async def _instrument(self, market: str) -> Payload:
        try:
            return await self._rest.public(c.INSTRUMENTS_INFO_PATH, [("category", s.CATEGORY_SPOT),
                                                                      ("symbol", to_symbol(market))])
        except ConfigError:  # retCode 10029, "symbol invalid"
            raise _unlisted(market) from None

    def _topics(self, symbol: str) -> list[str]:
        return [self._book_topic(symbol), c.TOPIC_PUBLIC_TRADE.format(symbol=symbol)]

    async def _seed_funding(self, market: str) -> None:
        """Spot has no mark price or funding."""
