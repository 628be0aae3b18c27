"""`BitmartFeed`: BitMart Futures V2 public market data as a pmm `MarketDataFeed`.

- Trading rules from `GET /contract/public/details?symbol=…`, in base units (one `vol_precision`
  step of `contract_size` is the size step).
- Order book: `futures/depthIncrease50:<symbol>@100ms` (a snapshot on subscribe, then updates of
  absolute volumes, 0 deleting a level). BitMart's rule (§K6): an update whose `version` is not
  above the book's is old and dropped; `version == book + 1` is applied; anything further is a
  gap: the book freezes (`BookResyncRequired`) and a `request` for the same topic brings a fresh
  snapshot (the socket is replaced when none comes). A disconnect freezes every book until the
  reconnection's snapshots arrive.
- Mark and index price (`futures/ticker`), funding rate and next funding time
  (`futures/fundingRate`), merged per market and seeded from REST at start (funding-rate).
- Trades: `futures/trade`. Sizes everywhere in base units.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.parse import BAD_PAYLOAD, Instrument, funding_fields, parse_book, parse_trades
from pmm.connectors.bitmart_perpetual.rest import BitmartRestClient
from pmm.connectors.bitmart_perpetual.streams import BitmartSocket
from pmm.connectors.common.book_sync import BookSync
from pmm.connectors.common.rate_limits import Sleep
from pmm.core.clock import Clock
from pmm.core.events import FundingInfoUpdated
from pmm.core.model import FundingInfo, TradingRules
from pmm.errors import PmmError

log = logging.getLogger("pmm.bitmart.feed")

SNAPSHOT_WAIT_S = 10.0  # after a snapshot request without an answer this long, reconnect instead


class BitmartFeed:
    def __init__(self, rest: BitmartRestClient, *, ws_url: str, clock: Clock, connector_id: str = spec.CONNECTOR_ID,
                 ws_options: dict[str, Any] | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.connector_id = connector_id
        self._rest = rest
        self._ws_url = ws_url.rstrip("/")
        self._clock = clock
        self._ws_options = ws_options or {}
        self._sleep = sleep
        self._instruments: dict[str, Instrument] = {}  # by market
        self._books: dict[str, BookSync] = {}
        self._funding: dict[str, dict[str, Any]] = {}
        self._emit: Emit | None = None
        self._ws: BitmartSocket | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.bad_messages = 0

    def __repr__(self) -> str:
        return f"BitmartFeed({self.connector_id!r}, rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    @property
    def socket(self) -> BitmartSocket | None:
        return self._ws

    def book(self, market: str) -> BookSync:
        return self._books[market]

    # --- contract -------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        """Load the contract details (contract sizes) of `markets`. Idempotent."""
        for market in markets:
            if market not in self._instruments:
                self._instruments[market] = await self._rest.instrument(market)

    def trading_rules(self, market: str) -> TradingRules:
        inst = self._instruments.get(market)
        if inst is None:
            raise RuntimeError(f"trading rules of {market} are not loaded: await BitmartFeed.prepare([{market!r}]) "
                               "first")
        return inst.rules()

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._rest.retain()
        await self.prepare(markets)
        self._emit = emit
        self._books = {m: BookSync(m, emit, self._clock) for m in markets}
        topics: list[str] = []
        for market in markets:
            symbol = spec.to_venue_symbol(market)
            topics += [spec.depth_topic(symbol), spec.topic(spec.CHANNEL_TRADE, symbol),
                       spec.topic(spec.CHANNEL_TICKER, symbol), spec.topic(spec.CHANNEL_FUNDING, symbol)]
        url = spec.ws_endpoint(self._ws_url, spec.WS_PUBLIC_PATH)
        self._ws = BitmartSocket(name="public", connector_id=self.connector_id, url=url, topics=topics,
                                 on_message=self._on_message, emit=emit, clock=self._clock,
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

    # --- internals ------------------------------------------------------------------------------

    async def _seed_funding(self, market: str) -> None:
        symbol = spec.to_venue_symbol(market)
        try:
            data = await self._rest.public(spec.FUNDING_RATE_PATH, [("symbol", symbol)])
            self._merge_funding(market, data, self._clock.now(), self._clock.now())
        except PmmError as exc:
            log.warning("no initial funding rate for %s (%s); waiting for the stream", market, exc)
        except BAD_PAYLOAD as exc:
            log.warning("unreadable funding-rate answer for %s (%s); waiting for the stream", market, exc)

    def _on_disconnected(self, reason: str) -> None:
        for book in self._books.values():
            book.invalidate(f"public stream disconnected ({reason})")

    def _on_message(self, message: dict[str, Any], recv_ts: float) -> None:
        if self._emit is None:
            return
        group = str(message.get("group") or "")
        channel, _, rest = group.partition(":")
        market = spec.from_venue_symbol(rest.partition("@")[0])
        if market not in self._books:
            return
        try:
            data = message["data"]
            if channel == spec.CHANNEL_DEPTH:
                self._on_book(market, data, recv_ts)
            elif channel == spec.CHANNEL_TRADE:
                for trade in parse_trades(data if isinstance(data, list) else [data], self._instruments[market],
                                          recv_ts):
                    self._emit(trade)
            elif channel in (spec.CHANNEL_TICKER, spec.CHANNEL_FUNDING):
                ts = int(str(data.get("ts") or 0)) / 1000 or recv_ts
                self._merge_funding(market, data, ts, recv_ts)
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); dropped (%d so far)", channel, type(exc).__name__, exc,
                        self.bad_messages)
            if channel == spec.CHANNEL_DEPTH:
                self._resync(market, f"unreadable order book message ({exc})")

    def _on_book(self, market: str, data: dict[str, Any], recv_ts: float) -> None:
        book = self._books[market]
        frame = parse_book(data, self._instruments[market], recv_ts)
        if frame.is_snapshot:
            book.reset(frame.snapshot(), frame.version)
        elif not book.live:
            return  # waiting for the snapshot the request (or the reconnection) brings
        elif frame.version <= book.last_seq:
            return  # an old update: BitMart says discard it
        elif frame.version != book.last_seq + 1:
            self._resync(market, f"order book gap: version {frame.version} after {book.last_seq}; requesting a "
                                 "new snapshot")
        else:
            book.advance(frame.delta() if frame.bids or frame.asks else None, frame.version)

    def _resync(self, market: str, reason: str) -> None:
        self._books[market].invalidate(reason)
        task = asyncio.get_running_loop().create_task(self._request_snapshot(market))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _request_snapshot(self, market: str) -> None:
        topic = spec.depth_topic(spec.to_venue_symbol(market))
        if self._ws is None or not await self._ws.request([topic]):
            log.info("could not request a book snapshot of %s now; the reconnection brings one", market)
            return
        await self._sleep(SNAPSHOT_WAIT_S)
        if not self._books[market].live and self._ws.connected:
            await self._ws.reconnect(f"no book snapshot of {market} {SNAPSHOT_WAIT_S:g} s after requesting one")

    def _merge_funding(self, market: str, row: dict[str, Any], ts: float, recv_ts: float) -> None:
        state = self._funding.setdefault(market, {})
        state.update(funding_fields(row))
        if self._emit is None or any(k not in state for k in ("mark", "index", "rate", "next_ts")):
            return
        interval = state.get("interval_s") or self._instruments[market].funding_interval_s
        info = FundingInfo(market, state["mark"], state["index"], state["rate"], state["next_ts"], interval)
        self._emit(FundingInfoUpdated(info, ts, recv_ts))
