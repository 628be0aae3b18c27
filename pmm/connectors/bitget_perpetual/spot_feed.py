"""`BitgetSpotFeed`: Bitget *spot* public market data as a pmm `MarketDataFeed`, for
`price_source: external_market` with `price_source_derivative: bitget` (no keys, no orders).

- Trading rules from `GET /api/v2/spot/public/symbols?symbol=…` (`prepare`): tick 10^-pricePrecision,
  size step 10^-quantityPrecision, `minTradeAmount` (at least one step), `minTradeUSDT`. An unlisted
  or offline pair is a config error naming `price_source_market`.
- Order book and trades: `books` and `trade` with `instType` SPOT on `/v2/ws/public`, kept by the
  futures feed's rules (a snapshot, then updates with a rising `seq` and the CRC32 checksum of the
  top 25 levels; a mismatch resubscribes). Spot has no mark price or funding.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.feed import BitgetFeed
from pmm.connectors.bitget_perpetual.parse import dec_or_zero
from pmm.connectors.bitget_perpetual.rest import BitgetRestClient
from pmm.connectors.common.payloads import Payload, dec
from pmm.core.clock import Clock
from pmm.core.model import TradingRules
from pmm.errors import ConfigError, OrderError

UNKNOWN_PARAMETER = 40034

__all__ = ["BitgetSpotFeed", "parse_spot_rules"]


def parse_spot_rules(rows: list[Payload], market: str) -> TradingRules:
    """spot/public/symbols rows -> tick, size step, minimum size and notional of `market`."""
    symbol = spec.to_venue_symbol(market)
    row = next((r for r in rows if str(r.get("symbol")).upper() == symbol), None)
    if row is None:
        raise ConfigError(f"Bitget spot does not list `{symbol}` (`price_source_market` {market}). Use a pair Bitget "
                          "trades on spot, such as BTC-USDT, or another `price_source_derivative`.")
    if row.get("status") != "online":
        raise ConfigError(f"Bitget spot {symbol} is not trading (status {row.get('status')}); choose another "
                          "`price_source_market`.")
    tick = dec("1").scaleb(-int(str(row["pricePrecision"])))
    step = dec("1").scaleb(-int(str(row["quantityPrecision"])))
    base, _, quote = market.partition("-")
    return TradingRules(market, str(row.get("baseCoin") or base), str(row.get("quoteCoin") or quote), tick, step,
                        max(step, dec_or_zero(row.get("minTradeAmount"))), dec_or_zero(row.get("minTradeUSDT")), 1)


class BitgetSpotFeed(BitgetFeed):
    """Bitget spot public market data (see module docstring). `rest` needs no keys."""

    channels = (spec.CHANNEL_BOOKS, spec.CHANNEL_TRADE)
    follows_funding = False

    def __init__(self, rest: BitgetRestClient, *, ws_url: str, clock: Clock, **options: Any) -> None:
        super().__init__(rest, ws_url=ws_url, clock=clock, connector_id=spec.SPOT_FEED_ID,
                         inst_type=spec.SPOT_INST_TYPE, **options)

    def __repr__(self) -> str:
        return f"BitgetSpotFeed(rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    async def _load_rules(self, market: str) -> TradingRules:
        """The pair's spot rules; on a refusal the REST session it opened is closed again (nothing
        else may be holding it yet)."""
        try:
            try:
                rows = await self._rest.public(spec.SPOT_SYMBOLS_PATH, [("symbol", spec.to_venue_symbol(market))])
            except OrderError as exc:
                if exc.code != str(UNKNOWN_PARAMETER):
                    raise
                rows = []  # 40034 "Parameter symbol does not exist": Bitget spot does not list it
            return parse_spot_rules(list(rows or []), market)
        except BaseException:
            await self._rest.close_if_unused()
            raise
