"""`BybitFeed`: Bybit v5 linear public market data as a pmm `MarketDataFeed`.

- Trading rules from `GET /v5/market/instruments-info?category=linear&symbol=…` (`prepare`, also
  done by `start`), with the instrument's funding interval.
- Order book: `orderbook.{depth}.{symbol}` on `/v5/public/linear`, kept in sync by `BookSync`
  (below): snapshots (and `u=1`) reset it, a gap freezes it (`BookResyncRequired`) and the topic is
  resubscribed for a fresh snapshot; a disconnect freezes every book until the reconnection's
  snapshots arrive.
- Mark price, index price, funding rate and next funding time: `tickers.{symbol}` (snapshot then
  deltas that carry only what changed, merged here), seeded from `GET /v5/market/tickers` at start.
- Trades: `publicTrade.{symbol}`.

`BookSync`: one market's book sync, by Bybit's rules (docs "Orderbook", reference/exchange_apis.md §B5):

1. The first message after subscribing is a `snapshot`. Any later `snapshot` resets the book, and
   so does a message with `u == 1` (the service restarted and is sending fresh data).
2. A `delta` must carry `u == previous u + 1`. Anything else is a gap: the book is discarded
   (`BookResyncRequired`, quotes freeze) and the feed resubscribes the topic for a fresh snapshot.
3. Deltas before the first snapshot (or after a gap, before the next snapshot) are dropped.

`seq` (the cross sequence, comparable across depths and with the REST snapshot) is kept as
`last_seq` for cross-stream ordering. This class is pure bookkeeping: it emits `BookSnapshot`,
`BookDelta` and `BookResyncRequired` (the engine applies them to its `pmm.core.book.OrderBook`)
and says whether the feed must resubscribe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from pmm.connectors.base import Emit
from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.parse import (
    BAD_PAYLOAD,
    SymbolMap,
    ms_to_s,
    parse_funding_interval_s,
    parse_rest_ticker,
    parse_ticker,
    parse_trading_rules,
    to_symbol,
)
from pmm.connectors.bybit_perpetual.parse_events import (
    OrderbookFrame,
    merge_ticker,
    parse_orderbook,
    parse_public_trades,
)
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.connectors.bybit_perpetual.streams import BybitWebSocket, Sleep
from pmm.connectors.common.book_sync import BookSync as CommonBookSync
from pmm.connectors.common.symbols import listed_examples
from pmm.core.clock import Clock
from pmm.core.model import TradingRules
from pmm.errors import ConfigError, OrderError, PmmError

log = logging.getLogger("pmm.bybit.feed")
book_log = logging.getLogger("pmm.bybit.book")


class BookSync(CommonBookSync):
    """Sequence checking for one market's book: the kit's bookkeeping (`common/book_sync.py`) with
    Bybit's `u` rule; `last_seq` is the cross sequence `seq`."""

    def __init__(self, market: str, emit: Emit, clock: Clock) -> None:
        super().__init__(market, emit, clock)
        self.last_update_id = 0

    def on_frame(self, frame: OrderbookFrame) -> bool:
        """Apply one orderbook message. True when the feed must resubscribe for a new snapshot."""
        if frame.is_snapshot:
            if frame.update_id == 1 and self.live and self.last_update_id > 1:
                book_log.info("book of %s: u=1 snapshot, the venue's book service restarted; reset", self.market)
            self.last_update_id = frame.update_id
            self.reset(frame.snapshot(), frame.seq)
            return False
        if not self.live:
            return False  # waiting for the snapshot the (re)subscription brings
        expected = self.last_update_id + 1
        if frame.update_id != expected:
            self.invalidate(f"orderbook gap: u={frame.update_id} after u={self.last_update_id} "
                            f"(expected {expected}); resubscribing for a new snapshot")
            return True
        self.last_update_id = frame.update_id
        self.advance(frame.delta(), max(self.last_seq, frame.seq))
        return False


class BybitFeed:
    # What the spot feed (spot_feed.py) replaces: the public socket's path and name, and its topics.
    ws_path: ClassVar[str] = c.WS_PUBLIC_LINEAR_PATH
    stream_name: ClassVar[str] = "public"

    def __init__(self, rest: BybitRestClient, *, ws_url: str, clock: Clock, connector_id: str = c.CONNECTOR_ID,
                 depth: int = c.ORDERBOOK_DEPTH, ws_options: dict[str, Any] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        if depth not in c.ORDERBOOK_DEPTHS:
            raise ValueError(f"Bybit linear order book depth must be one of {c.ORDERBOOK_DEPTHS}, was {depth}")
        self.connector_id = connector_id
        self._rest = rest
        self._ws_url = ws_url.rstrip("/")
        self._clock = clock
        self._depth = depth
        self._ws_options = ws_options or {}
        self._sleep = sleep
        self._rules: dict[str, TradingRules] = {}
        self._intervals: dict[str, float] = {}
        self._symbols = SymbolMap()
        self._books: dict[str, BookSync] = {}
        self._tickers: dict[str, dict[str, Any]] = {}
        self._emit: Emit | None = None
        self._ws: BybitWebSocket | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.bad_messages = 0  # unreadable market-data messages dropped (each logged)

    def __repr__(self) -> str:
        return f"BybitFeed({self.connector_id!r}, rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    @property
    def socket(self) -> BybitWebSocket | None:
        return self._ws

    def book(self, market: str) -> BookSync:
        return self._books[market]

    # --- contract -------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        """Load the trading rules of `markets` (one instruments-info request each). Idempotent."""
        for market in markets:
            if market in self._rules:
                continue
            result = await self._instrument_info(market)
            self._rules[market] = parse_trading_rules(result, market)
            self._intervals[market] = parse_funding_interval_s(result, market)
            self._symbols.add(market)

    def trading_rules(self, market: str) -> TradingRules:
        rules = self._rules.get(market)
        if rules is None:
            raise RuntimeError(f"trading rules of {market} are not loaded: await BybitFeed.prepare([{market!r}]) "
                               "before asking for them")
        return rules

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._rest.retain()
        await self.prepare(markets)
        self._emit = emit
        self._books = {m: BookSync(m, emit, self._clock) for m in markets}
        topics = [topic for market in markets for topic in self._topics(to_symbol(market))]
        self._ws = BybitWebSocket(
            name=self.stream_name, connector_id=self.connector_id, url=self._ws_url + self.ws_path,
            on_message=self._on_message, emit=emit, clock=self._clock, topics=topics,
            on_disconnected=self._on_disconnected, sleep=self._sleep, **self._ws_options)
        for book in self._books.values():
            book.invalidate("starting: waiting for the first order book snapshot")
        self._ws.start()
        for market in markets:
            await self._seed_funding(market)

    async def stop(self) -> None:
        if self._ws is not None:
            await self._ws.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._emit is not None:
            self._emit = None
            await self._rest.release()
        else:  # prepared (rules read) but never started: no session may stay open
            await self._rest.close_if_unused()

    # --- internals ------------------------------------------------------------------------------

    def _topics(self, symbol: str) -> list[str]:
        return [self._book_topic(symbol), c.TOPIC_TICKERS.format(symbol=symbol),
                c.TOPIC_PUBLIC_TRADE.format(symbol=symbol)]

    async def _instrument_info(self, market: str) -> dict[str, Any]:
        """instruments-info of `market`; a market Bybit does not list is a ConfigError naming ones it does."""
        symbol = to_symbol(market)
        try:
            result = await self._rest.public(c.INSTRUMENTS_INFO_PATH, [
                ("category", c.CATEGORY_LINEAR), ("symbol", symbol)])
        except OrderError as exc:  # retCode 10001 "params error: symbol invalid"
            if exc.code != str(int(c.RetCode.PARAM_ERROR)):
                raise
            result = {}
        if any(row.get("symbol") == symbol for row in result.get("list", ())):
            return dict(result)
        listed = await self._rest.public(c.INSTRUMENTS_INFO_PATH, [
            ("category", c.CATEGORY_LINEAR), ("status", c.INSTRUMENT_STATUS_TRADING), ("limit", "1000")])
        markets = (f"{row.get('baseCoin')}-{row.get('quoteCoin')}" for row in listed.get("list", ())
                   if row.get("contractType") == c.CONTRACT_TYPE_LINEAR_PERPETUAL)
        raise ConfigError(f"Bybit has no linear perpetual `{symbol}` for `market` {market}. Set `market` to one it "
                          f"lists: {listed_examples(markets, market)}.")

    def _book_topic(self, symbol: str) -> str:
        return c.TOPIC_ORDERBOOK.format(depth=self._depth, symbol=symbol)

    async def _seed_funding(self, market: str) -> None:
        try:
            result = await self._rest.public(c.TICKERS_PATH, [("category", c.CATEGORY_LINEAR),
                                                              ("symbol", to_symbol(market))])
        except PmmError as exc:
            log.warning("no initial funding info for %s (%s); waiting for the tickers stream", market, exc)
            return
        event = parse_rest_ticker(result, market, self._clock.now(), self._intervals[market])
        if event is not None and self._emit is not None:
            self._emit(event)

    def _on_disconnected(self, reason: str) -> None:
        for book in self._books.values():
            book.invalidate(f"public stream disconnected ({reason})")
        self._tickers.clear()  # the reconnection starts with ticker snapshots again

    def _on_message(self, message: Any, recv_ts: float) -> None:
        if not isinstance(message, dict) or self._emit is None:
            return
        topic = str(message.get("topic") or "")
        try:
            if topic.startswith(c.TOPIC_ORDERBOOK_PREFIX):
                self._on_orderbook(topic, message, recv_ts)
            elif topic.startswith(c.TOPIC_TICKERS_PREFIX):
                self._on_ticker(topic, message, recv_ts)
            elif topic.startswith(c.TOPIC_PUBLIC_TRADE_PREFIX):
                for trade in parse_public_trades(message, self._symbols.market, recv_ts):
                    if trade.market in self._books:
                        self._emit(trade)
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); dropped (%d so far)", topic, type(exc).__name__, exc,
                        self.bad_messages)
            if topic.startswith(c.TOPIC_ORDERBOOK_PREFIX):
                self._resync(topic, f"unreadable order book message ({exc})")

    def _on_orderbook(self, topic: str, message: dict[str, Any], recv_ts: float) -> None:
        symbol = topic.rsplit(".", 1)[-1]
        book = self._books.get(self._symbols.market(symbol))
        if book is None:
            return
        if book.on_frame(parse_orderbook(message, book.market, recv_ts)):
            self._spawn(self._resubscribe(topic))

    def _resync(self, topic: str, reason: str) -> None:
        book = self._books.get(self._symbols.market(topic.rsplit(".", 1)[-1]))
        if book is not None:
            book.invalidate(reason)
            self._spawn(self._resubscribe(topic))

    async def _resubscribe(self, topic: str) -> None:
        if self._ws is None:
            return
        if not await self._ws.resubscribe([topic]):
            log.info("could not resubscribe %s now; the reconnection brings a new snapshot", topic)

    def _on_ticker(self, topic: str, message: dict[str, Any], recv_ts: float) -> None:
        symbol = topic[len(c.TOPIC_TICKERS_PREFIX):]
        market = self._symbols.market(symbol)
        if market not in self._books or self._emit is None:
            return
        merged = merge_ticker(self._tickers.get(symbol), message)
        self._tickers[symbol] = merged
        ts = ms_to_s(message.get("ts") or 0) or recv_ts
        event = parse_ticker(merged, market, ts, recv_ts, self._intervals.get(market, 8 * 3600.0))
        if event is not None:
            self._emit(event)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
