"""`BinanceSpotFeed`: Binance *spot* public market data as a pmm `MarketDataFeed`, for
`price_source: external_market` with `price_source_derivative: binance` (no keys, no orders).

- Trading rules from `GET /api/v3/exchangeInfo?symbol=…` (`prepare`): an unlisted pair is a config
  error naming `price_source_market`.
- Order book: `<symbol>@depth@100ms` on the spot stream host, kept in sync with REST snapshots
  (`GET /api/v3/depth`) by `SpotBookSync`: spot's sequence rule, not futures' `pu`. After the
  snapshot, events with `u <= lastUpdateId` are dropped and the first one applied must have
  `U <= lastUpdateId + 1 <= u`; from then on each event's `U` must be the previous `u` + 1. A gap, a
  disconnect or a reconnect freezes the book (`BookResyncRequired`) until a new snapshot is applied.
- Trades: `<symbol>@trade` (for `price_type: last_price`). Spot has no mark price or funding.

The reconnecting socket, the snapshot loop and the buffering are the futures feed's
(`feed.BinanceFeed`, `book.BookSync`); what differs is the wire: paths, hosts and the diff's ids.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.binance_perpetual import spot_constants as s
from pmm.connectors.binance_perpetual.book import BookSync
from pmm.connectors.binance_perpetual.feed import BinanceFeed
from pmm.connectors.binance_perpetual.parse import ms_to_s, to_symbol
from pmm.connectors.binance_perpetual.parse_events import DepthUpdate, parse_trade
from pmm.connectors.binance_perpetual.rest import BinanceRestClient
from pmm.connectors.binance_perpetual.streams import BinanceWebSocket
from pmm.connectors.common.payloads import BAD_PAYLOAD, Payload, book_levels, dec
from pmm.core.clock import Clock
from pmm.core.events import BookDelta
from pmm.core.model import ZERO, TradingRules
from pmm.errors import ConfigError

__all__ = ["BinanceSpotFeed", "SpotBookSync", "parse_spot_depth_update", "parse_spot_trading_rules"]

_SPOT_MAX_LEVERAGE = 1  # a spot market has no leverage; the field is the perpetual's


def parse_spot_depth_update(payload: Payload, market: str, recv_ts: float) -> DepthUpdate:
    """A spot diff event (`U`, `u`, no `pu`). Spot events follow each other without a hole, so the
    event before this one ended at `U - 1`: that is what the book sync compares with."""
    first_id, final_id = int(payload["U"]), int(payload["u"])
    if first_id > final_id:
        raise ValueError(f"inconsistent depth update ids U={first_id} u={final_id}")
    delta = BookDelta(market, book_levels(payload.get("b", ())), book_levels(payload.get("a", ())), final_id,
                      ms_to_s(payload["E"]), recv_ts)
    return DepthUpdate(first_id, final_id, first_id - 1, delta)


def parse_spot_trading_rules(exchange_info: Payload, market: str) -> TradingRules:
    """Tick from PRICE_FILTER, step and minimum size from LOT_SIZE, minimum notional from NOTIONAL
    (or the older MIN_NOTIONAL)."""
    symbol = to_symbol(market)
    entry = next((e for e in exchange_info.get("symbols", []) if e.get("symbol") == symbol), None)
    if entry is None:
        raise _unlisted(market)
    if entry.get("status", s.STATUS_TRADING) != s.STATUS_TRADING:
        raise ConfigError(f"Binance spot {symbol} is not trading (status {entry.get('status')}); choose another "
                          "`price_source_market`.")
    filters = {f["filterType"]: f for f in entry.get("filters", [])}
    try:
        price_filter, lot = filters[s.FILTER_PRICE], filters[s.FILTER_LOT_SIZE]
    except KeyError as exc:
        raise ConfigError(f"Binance spot exchangeInfo for {symbol} lacks the {exc.args[0]} filter.") from None
    notional = filters.get(s.FILTER_NOTIONAL) or filters.get(s.FILTER_MIN_NOTIONAL)
    return TradingRules(
        market=market, base=entry.get("baseAsset", market.split("-")[0]),
        quote=entry.get("quoteAsset", market.split("-")[-1]), tick_size=dec(price_filter["tickSize"]),
        step_size=dec(lot["stepSize"]), min_size=dec(lot["minQty"]),
        min_notional=dec(notional["minNotional"]) if notional else ZERO, max_leverage=_SPOT_MAX_LEVERAGE)


def _unlisted(market: str) -> ConfigError:
    return ConfigError(f"Binance spot does not list `{to_symbol(market)}` (`price_source_market` {market}). Use a "
                       "pair Binance trades on spot, such as BTC-USDT, or another `price_source_derivative`.")


class SpotBookSync(BookSync):
    """`BookSync` with spot's wording of a gap (the rule itself is the same comparison, see
    `parse_spot_depth_update`)."""

    def _gap_reason(self, update: DepthUpdate) -> str:
        return (f"depth gap: U={update.first_id} but the previous u was {self.last_update_id} "
                f"(expected U={self.last_update_id + 1})")


class BinanceSpotFeed(BinanceFeed):
    """Binance spot public market data (see module docstring). `rest` needs no keys."""

    depth_path = s.DEPTH_PATH
    parse_depth = staticmethod(parse_spot_depth_update)

    def __init__(self, rest: BinanceRestClient, *, ws_url: str, clock: Clock,
                 depth_limit: int = s.DEPTH_SNAPSHOT_LIMIT, **options: Any) -> None:
        super().__init__(rest, ws_url=ws_url, clock=clock, connector_id=s.SPOT_SOURCE_ID, depth_limit=depth_limit,
                         **options)

    def __repr__(self) -> str:
        return f"BinanceSpotFeed(rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    async def prepare(self, markets: Sequence[str]) -> None:
        """Load the spot trading rules of `markets` (one exchangeInfo request each). Idempotent. On a
        refusal the REST session it opened is closed again (nothing else may be holding it yet)."""
        try:
            for market in markets:
                if market not in self._rules:
                    self._rules[market] = parse_spot_trading_rules(await self._exchange_info(market), market)
                    self._symbols.add(market)
        except BaseException:
            await self._rest.close_if_unused()
            raise

    async def _exchange_info(self, market: str) -> Payload:
        try:
            return await self._rest.public("GET", s.EXCHANGE_INFO_PATH, [("symbol", to_symbol(market))])
        except ConfigError:  # -1121 "Invalid symbol."
            raise _unlisted(market) from None

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._rest.retain()
        await self.prepare(markets)
        self._emit = emit
        self._books = {m: SpotBookSync(m, emit, self._clock) for m in markets}
        symbols = [to_symbol(m).lower() for m in markets]
        self._public = BinanceWebSocket(
            name="spot", connector_id=self.connector_id, url=self._ws_url + s.WS_RAW_PATH,
            on_message=self._on_public, emit=emit, clock=self._clock,
            subscriptions=[stream.format(symbol=sym) for sym in symbols
                           for stream in (s.DEPTH_STREAM, s.TRADE_STREAM)],
            on_connected=self._on_depth_connected, on_disconnected=self._on_depth_disconnected,
            sleep=self._sleep, **self._ws_options)
        for book in self._books.values():
            book.invalidate("starting: waiting for the first order book snapshot")
        self._snapshot_task = asyncio.get_running_loop().create_task(self._snapshot_loop(),
                                                                     name="binance-spot-book-snapshots")
        self._public.start()

    def _on_public(self, message: Any, recv_ts: float) -> None:
        if not isinstance(message, dict) or message.get("e") != s.EVENT_TRADE:
            super()._on_public(message, recv_ts)  # depth diffs (anything else is ignored there)
            return
        symbol = message.get("s")
        market = self._symbols.market(symbol) if isinstance(symbol, str) else None
        if market not in self._books or self._emit is None:
            return
        try:
            trade = parse_trade(message, market, recv_ts)
        except BAD_PAYLOAD as exc:
            self._bad_message("trade", exc)
            return
        self._emit(trade)
