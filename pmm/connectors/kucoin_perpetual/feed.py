"""`KucoinFeed`: KuCoin Futures public market data as a pmm `MarketDataFeed`.

- Trading rules from `GET /api/v1/contracts/{symbol}`, in base units (one lot of `multiplier` is
  the size step and the minimum).
- Order book: `/contractMarket/level2:{symbol}` sends one level's new absolute size per message,
  each message's `sequence` one more than the last. Sync (KuCoin's rule): buffer the messages, read
  `GET /api/v1/level2/snapshot` (it has `sequence`), drop buffered messages at or below it, apply
  the rest in order. Afterwards a message whose sequence is not the last + 1 is a gap: the book
  freezes (`BookResyncRequired`) and is read again the same way; a repeated sequence is dropped.
  A (re)connection syncs every book again.
- Trades: `/contractMarket/execution:{symbol}` (subject `match`).
- Mark, index, funding rate: `/contract/instrument:{symbol}` (subjects `mark.index.price`,
  `funding.rate`), seeded from `GET /api/v1/mark-price/{symbol}/current` and
  `GET /api/v1/funding-rate/{symbol}/current` (whose `fundingTime` is the next settlement, in ms).
  `/contract/announcement:{symbol}` `funding.end` names the settlement that just happened; the next
  one is a funding interval (`granularity`) later. (The contract's `nextFundingRateTime` is a
  countdown in ms, not a timestamp; the feed does not use it.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.common.book_sync import BookSync
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.parse import (
    BAD_PAYLOAD,
    Instrument,
    Level2Change,
    book_side,
    dec,
    ms_to_s,
    ns_to_s,
    parse_execution,
    parse_level2,
)
from pmm.connectors.kucoin_perpetual.rest import KucoinRestClient, path_of
from pmm.connectors.kucoin_perpetual.streams import KucoinSocket
from pmm.core.clock import Clock
from pmm.core.events import BookDelta, BookSnapshot, FundingInfoUpdated
from pmm.core.model import FundingInfo, Side, TradingRules
from pmm.errors import PmmError

log = logging.getLogger("pmm.kucoin.feed")

_DEFAULT_INTERVAL_S = 8 * 3600.0
RESYNC_RETRY_S = 1.0


class KucoinFeed:
    def __init__(self, rest: KucoinRestClient, *, clock: Clock, ws_url: str | None = None,
                 connector_id: str = spec.CONNECTOR_ID, ws_options: dict[str, Any] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.connector_id = connector_id
        self._rest = rest
        self._ws_url = ws_url
        self._clock = clock
        self._ws_options = ws_options or {}
        self._sleep = sleep
        self._instruments: dict[str, Instrument] = {}  # by market
        self._books: dict[str, BookSync] = {}
        self._buffers: dict[str, list[Level2Change]] = {}  # markets being synced -> changes held back
        self._funding: dict[str, dict[str, Any]] = {}
        self._emit: Emit | None = None
        self._ws: KucoinSocket | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.bad_messages = 0

    def __repr__(self) -> str:
        return f"KucoinFeed({self.connector_id!r}, rest={self._rest.base_url!r})"

    @property
    def socket(self) -> KucoinSocket | None:
        return self._ws

    def book(self, market: str) -> BookSync:
        return self._books[market]

    # --- contract -------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        for market in markets:
            if market not in self._instruments:
                self._instruments[market] = await self._rest.instrument(market)

    def trading_rules(self, market: str) -> TradingRules:
        inst = self._instruments.get(market)
        if inst is None:
            raise RuntimeError(f"trading rules of {market} are not loaded: await KucoinFeed.prepare([{market!r}]) "
                               "first")
        return inst.rules()

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._rest.retain()
        await self.prepare(markets)
        self._emit = emit
        self._books = {m: BookSync(m, emit, self._clock) for m in markets}
        topics = []
        for market in markets:
            symbol = spec.to_venue_symbol(market)
            topics += [f"{t}:{symbol}" for t in (spec.TOPIC_LEVEL2, spec.TOPIC_EXECUTION, spec.TOPIC_INSTRUMENT,
                                                 spec.TOPIC_ANNOUNCEMENT)]
        self._ws = KucoinSocket(name="public", connector_id=self.connector_id, rest=self._rest, private=False,
                                topics=topics, on_message=self._on_message, emit=emit, clock=self._clock,
                                ws_url=self._ws_url, on_connected=self._on_connected,
                                on_disconnected=self._on_disconnected, sleep=self._sleep, **self._ws_options)
        for book in self._books.values():
            book.invalidate("starting: waiting for the first order book snapshot")
        for market in markets:
            await self._seed_funding(market)
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

    # --- the book ---------------------------------------------------------------------------------

    def _on_connected(self) -> None:
        for market in self._books:
            self._resync(market, None)

    def _on_disconnected(self, reason: str) -> None:
        for book in self._books.values():
            book.invalidate(f"public stream disconnected ({reason})")

    def _resync(self, market: str, reason: str | None) -> None:
        """Freeze the book and read it again (the changes that arrive meanwhile are held back)."""
        if reason is not None:
            self._books[market].invalidate(reason)
        if market in self._buffers:
            return  # a sync is under way; it applies what is held back
        self._buffers[market] = []
        task = asyncio.get_running_loop().create_task(self._sync(market))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sync(self, market: str) -> None:
        inst = self._instruments[market]
        try:
            while self._emit is not None:
                try:
                    data = await self._rest.public(spec.LEVEL2_SNAPSHOT_PATH, [("symbol", inst.symbol)])
                    if self._apply_snapshot(market, data):
                        return
                except (PmmError, *BAD_PAYLOAD) as exc:
                    log.warning("order book snapshot of %s failed (%s); trying again", market, exc)
                await self._sleep(RESYNC_RETRY_S)
        finally:
            self._buffers.pop(market, None)

    def _apply_snapshot(self, market: str, data: dict[str, Any]) -> bool:
        """Apply a REST snapshot and the changes held back after it; False when they do not join
        up (a change is missing between the snapshot and the stream): read the snapshot again."""
        inst = self._instruments[market]
        sequence = int(data["sequence"])
        held = [c for c in self._buffers.get(market, []) if c.sequence > sequence]
        expected = sequence + 1
        for change in held:
            if change.sequence != expected:
                log.info("snapshot %d of %s does not join the stream (next change %d); reading it again", sequence,
                         market, change.sequence)
                self._buffers[market] = []
                return False
            expected += 1
        now = self._clock.now()
        ts = ns_to_s(data.get("ts") or 0) or now
        book = self._books[market]
        bids, asks = book_side(data.get("bids") or (), inst), book_side(data.get("asks") or (), inst)
        book.reset(BookSnapshot(market, bids, asks, sequence, ts, now), sequence)
        for change in held:
            self._apply_change(market, change, now)
        return True

    def _apply_change(self, market: str, change: Level2Change, recv_ts: float) -> None:
        level = ((change.price, change.size),)
        bids, asks = (level, ()) if change.side is Side.BUY else ((), level)
        self._books[market].advance(BookDelta(market, bids, asks, change.sequence, change.ts or recv_ts, recv_ts),
                                    change.sequence)

    def _on_level2(self, market: str, data: dict[str, Any], recv_ts: float) -> None:
        change = parse_level2(data, self._instruments[market])
        buffer = self._buffers.get(market)
        if buffer is not None:
            buffer.append(change)
            return
        book = self._books[market]
        if not book.live:
            return
        if change.sequence <= book.last_seq:
            return  # already applied
        if change.sequence != book.last_seq + 1:
            self._resync(market, f"order book gap: sequence {change.sequence} after {book.last_seq}; reading a new "
                                 "snapshot")
            self._buffers[market].append(change)
            return
        self._apply_change(market, change, recv_ts)

    # --- messages -------------------------------------------------------------------------------

    def _market_of(self, topic: str) -> str | None:
        market = spec.from_venue_symbol(topic.rpartition(":")[2])
        return market if market in self._books else None

    def _on_message(self, message: dict[str, Any], recv_ts: float) -> None:
        if self._emit is None:
            return
        topic = str(message.get("topic") or "")
        data = message.get("data") or {}
        market = self._market_of(topic) or self._market_of(":" + str(data.get("symbol", "")))
        if market is None:
            return
        prefix = topic.partition(":")[0]
        try:
            if prefix == spec.TOPIC_LEVEL2:
                self._on_level2(market, data, recv_ts)
            elif prefix == spec.TOPIC_EXECUTION:
                self._emit(parse_execution(data, self._instruments[market], recv_ts))
            elif prefix in (spec.TOPIC_INSTRUMENT, spec.TOPIC_ANNOUNCEMENT):
                self._on_instrument(market, str(message.get("subject")), data, recv_ts)
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); dropped (%d so far)", topic, type(exc).__name__, exc,
                        self.bad_messages)
            if prefix == spec.TOPIC_LEVEL2:
                self._resync(market, f"unreadable order book message ({exc})")

    def _on_instrument(self, market: str, subject: str, data: dict[str, Any], recv_ts: float) -> None:
        state = self._funding.setdefault(market, {})
        ts = ms_to_s(data.get("timestamp") or 0) or recv_ts
        if subject == "mark.index.price":
            state.update(mark=dec(data["markPrice"]), index=dec(data["indexPrice"]))
        elif subject == "funding.rate":
            state["rate"] = dec(data["fundingRate"])
            if data.get("granularity"):
                state["interval_s"] = int(data["granularity"]) / 1000
        elif subject == "funding.end":
            state["next_ts"] = ms_to_s(data["fundingTime"]) + state.get("interval_s", _DEFAULT_INTERVAL_S)
        else:
            return
        next_ts = state.get("next_ts")
        while next_ts is not None and ts >= next_ts:  # a settlement passed without its announcement
            next_ts += state.get("interval_s", _DEFAULT_INTERVAL_S)
            state["next_ts"] = next_ts
        self._emit_funding(market, ts, recv_ts)

    async def _seed_funding(self, market: str) -> None:
        symbol = spec.to_venue_symbol(market)
        state = self._funding.setdefault(market, {})
        try:
            mark = await self._rest.public(path_of(spec.MARK_PRICE_PATH, symbol=symbol))
            state.update(mark=dec(mark["value"]), index=dec(mark["indexPrice"]))
            funding = await self._rest.public(path_of(spec.FUNDING_RATE_PATH, symbol=symbol))
            state.update(rate=dec(funding["value"]), next_ts=ms_to_s(funding["fundingTime"]),
                         interval_s=int(funding.get("granularity") or 0) / 1000 or _DEFAULT_INTERVAL_S)
        except PmmError as exc:
            log.warning("no initial mark price or funding rate for %s (%s); waiting for the stream", market, exc)
        except BAD_PAYLOAD as exc:
            log.warning("unreadable mark price or funding answer for %s (%s); waiting for the stream", market, exc)
        now = self._clock.now()
        self._emit_funding(market, now, now)

    def _emit_funding(self, market: str, ts: float, recv_ts: float) -> None:
        state = self._funding.get(market, {})
        if self._emit is None or any(k not in state for k in ("mark", "index", "rate", "next_ts")):
            return
        rate: Decimal = state["rate"]
        info = FundingInfo(market, state["mark"], state["index"], rate, state["next_ts"],
                           state.get("interval_s", _DEFAULT_INTERVAL_S))
        self._emit(FundingInfoUpdated(info, ts, recv_ts))
