"""`BinanceFeed`: Binance USD-M public market data as a pmm `MarketDataFeed`.

- Trading rules from `GET /fapi/v1/exchangeInfo` (`prepare`, also done by `start`).
- Order book: `<symbol>@depth@100ms` on the `/public` route, kept in sync by `book.BookSync`
  with REST snapshots; any gap, disconnect or reconnect freezes the book (`BookResyncRequired`)
  until a fresh snapshot has been applied.
- Mark price, index price, funding rate and next funding time: `<symbol>@markPrice@1s` on the
  `/market` route, seeded from `GET /fapi/v1/premiumIndex` at start.
- Trades: `<symbol>@aggTrade` on the `/market` route.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from pmm.connectors.base import Emit
from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.book import BookSync
from pmm.connectors.binance_perpetual.parse import (
    BAD_PAYLOAD,
    SymbolMap,
    parse_depth_snapshot,
    parse_premium_index,
    parse_trading_rules,
    to_symbol,
)
from pmm.connectors.binance_perpetual.parse_events import (
    DepthUpdate,
    parse_depth_update,
    parse_mark_price,
    parse_trade,
)
from pmm.connectors.binance_perpetual.rest import BinanceRestClient, Sleep
from pmm.connectors.binance_perpetual.streams import BinanceWebSocket
from pmm.core.clock import Clock
from pmm.core.model import TradingRules
from pmm.errors import PmmError

log = logging.getLogger("pmm.binance.feed")


class BinanceFeed:
    # What the spot feed (spot_feed.py) replaces: the snapshot endpoint and the diff reader.
    depth_path: ClassVar[str] = c.DEPTH_PATH
    parse_depth: ClassVar[Callable[[Any, str, float], DepthUpdate]] = staticmethod(parse_depth_update)

    def __init__(self, rest: BinanceRestClient, *, ws_url: str, clock: Clock,
                 connector_id: str = c.CONNECTOR_ID, depth_limit: int = c.DEPTH_SNAPSHOT_LIMIT,
                 snapshot_retry_s: float = 1.0, ws_options: dict[str, Any] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.connector_id = connector_id
        self._rest = rest
        self._ws_url = ws_url.rstrip("/")
        self._clock = clock
        self._depth_limit = depth_limit
        self._snapshot_retry_s = snapshot_retry_s
        self._ws_options = ws_options or {}
        self._sleep = sleep
        self._rules: dict[str, TradingRules] = {}
        self._symbols = SymbolMap()
        self._books: dict[str, BookSync] = {}
        self._emit: Emit | None = None
        self._public: BinanceWebSocket | None = None
        self._market: BinanceWebSocket | None = None
        self._snapshot_wanted = asyncio.Event()
        self._snapshot_task: asyncio.Task[None] | None = None
        self.bad_messages = 0  # unreadable market-data messages dropped (each logged)

    def __repr__(self) -> str:
        return f"BinanceFeed({self.connector_id!r}, rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    # --- contract -------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        """Load the trading rules of `markets` (one exchangeInfo request). Idempotent."""
        missing = [m for m in markets if m not in self._rules]
        if not missing:
            return
        info = await self._rest.public("GET", c.EXCHANGE_INFO_PATH)
        for market in missing:
            self._rules[market] = parse_trading_rules(info, market)
            self._symbols.add(market)

    def trading_rules(self, market: str) -> TradingRules:
        rules = self._rules.get(market)
        if rules is None:
            raise RuntimeError(f"trading rules of {market} are not loaded: await BinanceFeed.prepare([{market!r}]) "
                               "before asking for them")
        return rules

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._rest.retain()
        await self.prepare(markets)
        self._emit = emit
        self._books = {m: BookSync(m, emit, self._clock) for m in markets}
        symbols = [to_symbol(m).lower() for m in markets]
        self._public = BinanceWebSocket(
            name="depth", connector_id=self.connector_id, url=self._ws_url + c.WS_PUBLIC_STREAM_PATH,
            on_message=self._on_public, emit=emit, clock=self._clock,
            subscriptions=[c.DEPTH_STREAM.format(symbol=s) for s in symbols],
            on_connected=self._on_depth_connected, on_disconnected=self._on_depth_disconnected,
            sleep=self._sleep, **self._ws_options)
        self._market = BinanceWebSocket(
            name="market", connector_id=self.connector_id, url=self._ws_url + c.WS_MARKET_STREAM_PATH,
            on_message=self._on_market, emit=emit, clock=self._clock,
            subscriptions=[stream.format(symbol=s) for s in symbols
                           for stream in (c.MARK_PRICE_STREAM, c.AGG_TRADE_STREAM)],
            sleep=self._sleep, **self._ws_options)
        for book in self._books.values():
            book.invalidate("starting: waiting for the first order book snapshot")
        self._snapshot_task = asyncio.get_running_loop().create_task(self._snapshot_loop(),
                                                                     name="binance-book-snapshots")
        self._public.start()
        self._market.start()
        for market in markets:
            await self._seed_funding(market)

    async def stop(self) -> None:
        for ws in (self._public, self._market):
            if ws is not None:
                await ws.stop()
        task, self._snapshot_task = self._snapshot_task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self._emit is not None:
            self._emit = None
            await self._rest.release()
        else:  # prepared (rules read) but never started: no session may stay open
            await self._rest.close_if_unused()

    # --- internals ------------------------------------------------------------------------------

    async def _seed_funding(self, market: str) -> None:
        try:
            payload = await self._rest.public("GET", c.PREMIUM_INDEX_PATH, [("symbol", to_symbol(market))])
        except PmmError as exc:
            log.warning("no initial funding info for %s (%s); waiting for the mark price stream", market, exc)
            return
        if self._emit is not None:
            self._emit(parse_premium_index(payload, market, self._clock.now()))

    def _on_depth_connected(self) -> None:
        for book in self._books.values():
            if not book.needs_snapshot:
                book.invalidate("depth stream reconnected")
        self._snapshot_wanted.set()

    def _on_depth_disconnected(self, reason: str) -> None:
        for book in self._books.values():
            book.invalidate(f"depth stream disconnected ({reason})")

    def _on_public(self, message: Any, recv_ts: float) -> None:
        if not isinstance(message, dict) or message.get("e") != c.EVENT_DEPTH_UPDATE:
            return
        symbol = message.get("s")
        book = self._books.get(self._symbols.market(symbol)) if isinstance(symbol, str) else None
        if book is None and isinstance(symbol, str):
            return  # another market's diff
        try:
            if book is None:
                raise ValueError(f"no symbol in a depth update ({symbol!r})")
            update = self.parse_depth(message, book.market, recv_ts)
        except BAD_PAYLOAD as exc:
            # The diff is lost, so the book is not trustworthy any more: resync it.
            self._bad_message("depth", exc)
            for stale in [book] if book is not None else list(self._books.values()):
                if not stale.needs_snapshot:
                    stale.invalidate(f"unreadable depth update ({exc})")
            self._snapshot_wanted.set()
            return
        book.on_update(update)
        if book.needs_snapshot:
            self._snapshot_wanted.set()

    def _on_market(self, message: Any, recv_ts: float) -> None:
        if not isinstance(message, dict) or self._emit is None:
            return
        kind = message.get("e")
        symbol = message.get("s", "")
        market = self._symbols.market(symbol) if isinstance(symbol, str) else None
        if market not in self._books:
            return
        try:
            if kind == c.EVENT_MARK_PRICE:
                event: Any = parse_mark_price(message, market, recv_ts)
            elif kind in (c.EVENT_AGG_TRADE, c.EVENT_TRADE):
                event = parse_trade(message, market, recv_ts)
            else:
                return
        except BAD_PAYLOAD as exc:
            self._bad_message(str(kind), exc)
            return
        self._emit(event)

    def _bad_message(self, what: str, exc: BaseException) -> None:
        self.bad_messages += 1
        log.warning("unreadable %s message from Binance (%s: %s); dropped (%d so far)", what, type(exc).__name__,
                    exc, self.bad_messages)

    async def _snapshot_loop(self) -> None:
        """Fetch a snapshot for every book that needs one, whenever asked (after a gap or connect)."""
        while True:
            await self._snapshot_wanted.wait()
            self._snapshot_wanted.clear()
            if self._public is None or not self._public.connected:
                continue  # the depth stream's connect callback asks again
            for book in list(self._books.values()):
                if book.needs_snapshot:
                    await self._fetch_snapshot(book)
            if any(b.needs_snapshot for b in self._books.values()):
                await self._sleep(self._snapshot_retry_s)
                self._snapshot_wanted.set()

    async def _fetch_snapshot(self, book: BookSync) -> None:
        params = [("symbol", to_symbol(book.market)), ("limit", str(self._depth_limit))]
        try:
            payload = await self._rest.public("GET", self.depth_path, params)
        except asyncio.CancelledError:
            raise
        except PmmError as exc:
            log.warning("order book snapshot of %s failed (%s); retrying", book.market, exc)
            return
        snapshot = parse_depth_snapshot(payload, book.market, self._clock.now())
        if book.on_snapshot(snapshot):
            log.info("order book of %s synced at update %d", book.market, snapshot.update_id)
