"""`KucoinSpotFeed`: KuCoin *spot* public market data as a pmm `MarketDataFeed`, for
`price_source: external_market` with `price_source_derivative: kucoin` (no keys, no orders).

- Trading rules from `GET /api/v2/symbols/{symbol}` (`priceIncrement`, `baseIncrement`,
  `baseMinSize`, `minFunds`); a pair KuCoin does not list is a config error naming
  `price_source_market`. Spot symbols are pmm's markets ("BTC-USDT").
- Order book: `/market/level2:{symbol}` (subject `trade.l2update`) carries changes
  `[price, size, sequence]` (absolute size, 0 removes) between `sequenceStart` and `sequenceEnd`.
  KuCoin's rule: buffer, read `GET /api/v1/market/orderbook/level2_100` (its `sequence`), apply
  the changes past it; afterwards a message whose `sequenceStart` is past the last sequence + 1 is
  a gap, and the book is read again (the book freezes meanwhile).
- Trades: `/market/match:{symbol}`. Spot has no mark price or funding.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.common.book_sync import BookSync
from pmm.connectors.common.payloads import BAD_PAYLOAD, Payload, dec
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.parse import dec_or_zero, side_of
from pmm.connectors.kucoin_perpetual.rest import KucoinRestClient, path_of
from pmm.connectors.kucoin_perpetual.streams import KucoinSocket
from pmm.core.clock import Clock
from pmm.core.events import BookDelta, BookSnapshot, Trade
from pmm.core.model import TradeId, TradingRules
from pmm.errors import ConfigError, OrderError, PmmError

log = logging.getLogger("pmm.kucoin.spot")

SYMBOL_PATH = "/api/v2/symbols/{symbol}"
ORDERBOOK_PATH = "/api/v1/market/orderbook/level2_100"
RESYNC_RETRY_S = 1.0


def parse_spot_rules(row: Payload, market: str) -> TradingRules:
    if row.get("symbol") != spec.to_spot_symbol(market):
        raise _unlisted(market)
    if row.get("enableTrading") is False:
        raise ConfigError(f"KuCoin spot {row.get('symbol')} is not trading; choose another `price_source_market`.")
    return TradingRules(market=market, base=str(row["baseCurrency"]), quote=str(row["quoteCurrency"]),
                        tick_size=dec(row["priceIncrement"]), step_size=dec(row["baseIncrement"]),
                        min_size=dec(row["baseMinSize"]), min_notional=dec_or_zero(row.get("minFunds")),
                        max_leverage=1)


def _unlisted(market: str) -> ConfigError:
    return ConfigError(f"KuCoin spot does not list `{spec.to_spot_symbol(market)}` (`price_source_market` {market}). "
                       "Use a pair KuCoin trades on spot, such as BTC-USDT, or another `price_source_derivative`.")


def _levels(rows: Any) -> tuple[tuple[Decimal, Decimal], ...]:
    return tuple((dec(row[0]), dec(row[1])) for row in rows or ())


class KucoinSpotFeed:
    """KuCoin spot public market data (see module docstring). `rest` needs no keys."""

    def __init__(self, rest: KucoinRestClient, *, clock: Clock, ws_url: str | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.connector_id = spec.SPOT_FEED_ID
        self._rest = rest
        self._clock = clock
        self._ws_url = ws_url
        self._sleep = sleep
        self._rules: dict[str, TradingRules] = {}
        self._books: dict[str, BookSync] = {}
        self._buffers: dict[str, list[dict[str, Any]]] = {}
        self._emit: Emit | None = None
        self._ws: KucoinSocket | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.bad_messages = 0

    def __repr__(self) -> str:
        return f"KucoinSpotFeed(rest={self._rest.base_url!r})"

    def book(self, market: str) -> BookSync:
        return self._books[market]

    async def prepare(self, markets: Sequence[str]) -> None:
        try:
            for market in markets:
                if market not in self._rules:
                    try:
                        row = await self._rest.public(path_of(SYMBOL_PATH, symbol=spec.to_spot_symbol(market)))
                    except (ConfigError, OrderError):  # 400100 "Unsupported trading pair."
                        raise _unlisted(market) from None
                    self._rules[market] = parse_spot_rules(row or {}, market)
        except BaseException:
            await self._rest.close_if_unused()
            raise

    def trading_rules(self, market: str) -> TradingRules:
        rules = self._rules.get(market)
        if rules is None:
            raise RuntimeError(f"trading rules of {market} are not loaded: await KucoinSpotFeed.prepare first")
        return rules

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._rest.retain()
        await self.prepare(markets)
        self._emit = emit
        self._books = {m: BookSync(m, emit, self._clock) for m in markets}
        topics = [f"{t}:{spec.to_spot_symbol(m)}" for m in markets for t in (spec.TOPIC_SPOT_LEVEL2,
                                                                             spec.TOPIC_SPOT_MATCH)]
        self._ws = KucoinSocket(name="spot", connector_id=self.connector_id, rest=self._rest, private=False,
                                topics=topics, on_message=self._on_message, emit=emit, clock=self._clock,
                                ws_url=self._ws_url, on_connected=self._on_connected,
                                on_disconnected=self._on_disconnected, sleep=self._sleep)
        for book in self._books.values():
            book.invalidate("starting: waiting for the first order book snapshot")
        self._ws.start()

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

    # --- the book -------------------------------------------------------------------------------

    def _on_connected(self) -> None:
        for market in self._books:
            self._resync(market, None)

    def _on_disconnected(self, reason: str) -> None:
        for book in self._books.values():
            book.invalidate(f"spot stream disconnected ({reason})")

    def _resync(self, market: str, reason: str | None) -> None:
        if reason is not None:
            self._books[market].invalidate(reason)
        if market in self._buffers:
            return
        self._buffers[market] = []
        task = asyncio.get_running_loop().create_task(self._sync(market))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sync(self, market: str) -> None:
        try:
            while self._emit is not None:
                try:
                    data = await self._rest.public(ORDERBOOK_PATH, [("symbol", spec.to_spot_symbol(market))])
                    if self._apply_snapshot(market, data):
                        return
                except (PmmError, *BAD_PAYLOAD) as exc:
                    log.warning("spot order book snapshot of %s failed (%s); trying again", market, exc)
                await self._sleep(RESYNC_RETRY_S)
        finally:
            self._buffers.pop(market, None)

    def _apply_snapshot(self, market: str, data: dict[str, Any]) -> bool:
        sequence = int(data["sequence"])
        held = [m for m in self._buffers.get(market, []) if int(m["sequenceEnd"]) > sequence]
        if held and int(held[0]["sequenceStart"]) > sequence + 1:
            self._buffers[market] = []
            return False  # the stream starts after the snapshot: a change is missing between them
        now = self._clock.now()
        book = self._books[market]
        book.reset(BookSnapshot(market, _levels(data.get("bids")), _levels(data.get("asks")), sequence,
                                int(data.get("time") or 0) / 1000 or now, now), sequence)
        for message in held:
            if not self._apply(market, message, now):
                return False
        return True

    def _apply(self, market: str, data: dict[str, Any], recv_ts: float) -> bool:
        """Apply one l2update to a live book; False on a gap."""
        book = self._books[market]
        start, end = int(data["sequenceStart"]), int(data["sequenceEnd"])
        if end <= book.last_seq:
            return True  # already applied
        if start > book.last_seq + 1:
            return False
        changes = data.get("changes") or {}
        bids = tuple((dec(r[0]), dec(r[1])) for r in changes.get("bids", ()) if int(r[2]) > book.last_seq)
        asks = tuple((dec(r[0]), dec(r[1])) for r in changes.get("asks", ()) if int(r[2]) > book.last_seq)
        ts = int(data.get("time") or 0) / 1000 or recv_ts
        book.advance(BookDelta(market, bids, asks, end, ts, recv_ts) if bids or asks else None, end)
        return True

    def _on_message(self, message: dict[str, Any], recv_ts: float) -> None:
        if self._emit is None:
            return
        topic = str(message.get("topic") or "")
        prefix, _, symbol = topic.partition(":")
        market = symbol if symbol in self._books else None
        if market is None:
            return
        data = message.get("data") or {}
        try:
            if prefix == spec.TOPIC_SPOT_LEVEL2:
                buffer = self._buffers.get(market)
                if buffer is not None:
                    buffer.append(data)
                elif self._books[market].live and not self._apply(market, data, recv_ts):
                    self._resync(market, f"spot order book gap: sequenceStart {data['sequenceStart']} after "
                                         f"{self._books[market].last_seq}; reading a new snapshot")
                    self._buffers[market].append(data)
            elif prefix == spec.TOPIC_SPOT_MATCH:
                self._emit(Trade(market, TradeId(str(data["tradeId"])), dec(data["price"]), dec(data["size"]),
                                 side_of(data["side"]), int(str(data["time"])) / 1e9, recv_ts))
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); dropped", topic, type(exc).__name__, exc)
            if prefix == spec.TOPIC_SPOT_LEVEL2:
                self._resync(market, f"unreadable spot order book message ({exc})")
