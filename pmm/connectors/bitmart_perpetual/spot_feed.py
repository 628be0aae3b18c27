"""`BitmartSpotFeed`: BitMart *spot* public market data as a pmm `MarketDataFeed`, for
`price_source: external_market` with `price_source_derivative: bitmart` (no keys, no orders).

- Trading rules from `GET /spot/v1/symbols/details` (`prepare`): tick 10^-`price_max_precision`,
  size step and minimum `base_min_size`, minimum notional the larger of `min_buy_amount` /
  `min_sell_amount`. A pair not listed or not `trading` is a config error naming
  `price_source_market`.
- Order book: `spot/depth50:<BASE_QUOTE>` on the spot host's `/api?protocol=1.1`: every push is the
  whole top 50 (`{"table": "spot/depth50", "data": [{asks, bids, ms_t, symbol}]}`, sizes in the
  base asset), so each one is a snapshot; a disconnect freezes the book until the next one.
- Trades: `spot/trade:<BASE_QUOTE>` (`price`, `size`, `side` of the taker, `s_t` / `ms_t`).
- Spot has no mark price or funding.

The spot socket speaks `{"op": "subscribe"}` and answers `{"event": "subscribe", "topic"}`; its
host compresses frames (raw DEFLATE), which `streams.py` inflates. Shapes from BitMart's spot docs
and ccxt 4.5.70 (reference/exchange_apis_more.md §K; not confirmed against the live venue).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

from pmm.connectors.base import Emit
from pmm.connectors.bitmart_perpetual.parse import BAD_PAYLOAD, dec_or_zero
from pmm.connectors.bitmart_perpetual.rest import BitmartRestClient
from pmm.connectors.bitmart_perpetual.streams import SPOT, BitmartSocket
from pmm.connectors.common.book_sync import BookSync
from pmm.connectors.common.payloads import Payload, dec
from pmm.connectors.common.rate_limits import Sleep
from pmm.core.clock import Clock
from pmm.core.events import BookSnapshot, Trade
from pmm.core.model import Side, TradeId, TradingRules
from pmm.errors import ConfigError

log = logging.getLogger("pmm.bitmart.spot")

SPOT_SOURCE_ID: Final = "bitmart"
SPOT_REST_URL: Final = "https://api-cloud.bitmart.com"
SPOT_WS_URL: Final = "wss://ws-manager-compress.bitmart.com"
SPOT_WS_PATH: Final = "/api?protocol=1.1"
SYMBOLS_DETAILS_PATH: Final = "/spot/v1/symbols/details"
BOOKS_PATH: Final = "/spot/quotation/v3/books"
DEPTH_CHANNEL: Final = "spot/depth50"
TRADE_CHANNEL: Final = "spot/trade"


def spot_symbol(market: str) -> str:
    """pmm's "BTC-USDT" -> BitMart spot's "BTC_USDT"."""
    return market.upper().replace("-", "_")


def parse_spot_rules(data: Payload, market: str) -> TradingRules:
    symbol = spot_symbol(market)
    row = next((r for r in data.get("symbols", ()) if r.get("symbol") == symbol), None)
    if row is None:
        raise ConfigError(f"BitMart spot does not list `{symbol}` (`price_source_market` {market}). Use a pair "
                          "BitMart trades on spot, such as BTC-USDT, or another `price_source_derivative`.")
    if row.get("trade_status") != "trading":
        raise ConfigError(f"BitMart spot {symbol} is not trading (trade_status {row.get('trade_status')}); choose "
                          "another `price_source_market`.")
    base, _, quote = market.partition("-")
    size = dec(row["base_min_size"])
    notional = max(dec_or_zero(row.get("min_buy_amount")), dec_or_zero(row.get("min_sell_amount")))
    return TradingRules(market, str(row.get("base_currency") or base), str(row.get("quote_currency") or quote),
                        Decimal(1).scaleb(-int(row["price_max_precision"])), size, size, notional, 1)


def _levels(rows: Any) -> tuple[tuple[Decimal, Decimal], ...]:
    levels = tuple((dec(r[0]), dec(r[1])) for r in rows)
    for price, size in levels:
        if price <= 0 or size < 0:
            raise ValueError(f"impossible order book level: price {price}, size {size}")
    return levels


class BitmartSpotFeed:
    """BitMart spot public market data (see module docstring). `rest` needs no keys."""

    def __init__(self, rest: BitmartRestClient, *, ws_url: str, clock: Clock, sleep: Sleep = asyncio.sleep,
                 ws_options: dict[str, Any] | None = None) -> None:
        self.connector_id = SPOT_SOURCE_ID
        self._rest = rest
        self._ws_url = ws_url.rstrip("/")
        self._clock = clock
        self._sleep = sleep
        self._ws_options = ws_options or {}
        self._rules: dict[str, TradingRules] = {}
        self._books: dict[str, BookSync] = {}
        self._markets: dict[str, str] = {}  # spot symbol -> market
        self._emit: Emit | None = None
        self._ws: BitmartSocket | None = None
        self.bad_messages = 0

    def __repr__(self) -> str:
        return f"BitmartSpotFeed(rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    @property
    def socket(self) -> BitmartSocket | None:
        return self._ws

    async def prepare(self, markets: Sequence[str]) -> None:
        try:
            for market in markets:
                if market not in self._rules:
                    data = await self._rest.public(SYMBOLS_DETAILS_PATH)
                    self._rules[market] = parse_spot_rules(data, market)
                    self._markets[spot_symbol(market)] = market
        except BaseException:
            await self._rest.close_if_unused()
            raise

    def trading_rules(self, market: str) -> TradingRules:
        rules = self._rules.get(market)
        if rules is None:
            raise RuntimeError(f"trading rules of {market} are not loaded: await BitmartSpotFeed.prepare first")
        return rules

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._rest.retain()
        await self.prepare(markets)
        self._emit = emit
        self._books = {m: BookSync(m, emit, self._clock) for m in markets}
        topics = [f"{channel}:{spot_symbol(m)}" for m in markets for channel in (DEPTH_CHANNEL, TRADE_CHANNEL)]
        url = self._ws_url if "?" in self._ws_url else self._ws_url + SPOT_WS_PATH
        self._ws = BitmartSocket(name="spot", connector_id=SPOT_SOURCE_ID, url=url, topics=topics,
                                 on_message=self._on_message, emit=emit, clock=self._clock, words=SPOT,
                                 on_disconnected=self._on_disconnected, sleep=self._sleep, **self._ws_options)
        for book in self._books.values():
            book.invalidate("starting: waiting for the first order book snapshot")
        self._ws.start()

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.stop()
        if self._emit is not None:
            self._emit = None
            await self._rest.release()

    def _on_disconnected(self, reason: str) -> None:
        for book in self._books.values():
            book.invalidate(f"spot stream disconnected ({reason})")

    def _on_message(self, message: dict[str, Any], recv_ts: float) -> None:
        if self._emit is None:
            return
        table = message.get("table")
        try:
            for row in message.get("data") or ():
                market = self._markets.get(str(row.get("symbol")))
                if market is None or market not in self._books:
                    continue
                if table == DEPTH_CHANNEL:
                    book = self._books[market]
                    ts = int(str(row.get("ms_t") or 0)) / 1000 or recv_ts
                    book.reset(BookSnapshot(market, _levels(row.get("bids", ())), _levels(row.get("asks", ())),
                                            book.last_seq + 1, ts, recv_ts), book.last_seq + 1)
                elif table == TRADE_CHANNEL:
                    ts = int(str(row.get("ms_t") or int(str(row["s_t"])) * 1000)) / 1000
                    side = Side.BUY if row["side"] == "buy" else Side.SELL
                    trade_id = TradeId(f"{row['symbol']}-{row.get('ms_t') or row['s_t']}-{row['price']}")
                    self._emit(Trade(market, trade_id, dec(row["price"]), dec(row["size"]), side, ts, recv_ts))
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); dropped (%d so far)", table, type(exc).__name__, exc,
                        self.bad_messages)
