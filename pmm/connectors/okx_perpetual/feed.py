"""`OkxFeed`: OKX v5 public swap market data as a pmm `MarketDataFeed`.

- Trading rules from `GET /api/v5/public/instruments?instType=SWAP&instId=…`, in base units (one
  lot of `ctVal` is the size step).
- Order book: the `books` channel (400-level snapshot, then 100 ms increments). Each increment's
  `prevSeqId` must equal the previous message's `seqId` (an unchanged book sends a heartbeat with
  `seqId == prevSeqId`; after maintenance `seqId` may drop once, still chained). Anything else is a
  gap: the book freezes (`BookResyncRequired`) and the channel is resubscribed for a new snapshot; a
  disconnect freezes every book until the reconnection's snapshots arrive. The values of `seqId` may
  jump (only the chain counts), and the last update repeated is dropped, not a gap. The checksum is fixed at
  0 by OKX and not used.
- Mark price (`mark-price`), index price (`index-tickers` on the index "BTC-USDT"), funding rate and
  next funding time (`funding-rate`), merged per market and seeded from REST at start.
- Trades: `trades`. Sizes everywhere in base units.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.common.book_sync import BookSync
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.parse import (
    BAD_PAYLOAD,
    Instrument,
    funding_fields,
    parse_book,
    parse_trades,
)
from pmm.connectors.okx_perpetual.rest import OkxRestClient
from pmm.connectors.okx_perpetual.streams import OkxSocket
from pmm.core.clock import Clock
from pmm.core.events import FundingInfoUpdated
from pmm.core.model import FundingInfo, TradingRules
from pmm.errors import PmmError

log = logging.getLogger("pmm.okx.feed")

_DEFAULT_INTERVAL_S = 8 * 3600.0
SNAPSHOT_WAIT_S = 10.0  # after a resubscription without a snapshot this long, reconnect instead


def _index_id(market: str) -> str:
    return market.upper()  # the index of BTC-USDT-SWAP is "BTC-USDT"


class OkxFeed:
    def __init__(self, rest: OkxRestClient, *, ws_url: str, clock: Clock, connector_id: str = spec.CONNECTOR_ID,
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
        self._ws: OkxSocket | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.bad_messages = 0

    def __repr__(self) -> str:
        return f"OkxFeed({self.connector_id!r}, rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    @property
    def socket(self) -> OkxSocket | None:
        return self._ws

    def book(self, market: str) -> BookSync:
        return self._books[market]

    # --- contract -------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        """Load the instruments (contract sizes) of `markets`. Idempotent."""
        for market in markets:
            if market not in self._instruments:
                self._instruments[market] = await self._rest.instrument(market)

    def trading_rules(self, market: str) -> TradingRules:
        inst = self._instruments.get(market)
        if inst is None:
            raise RuntimeError(f"trading rules of {market} are not loaded: await OkxFeed.prepare([{market!r}]) first")
        return inst.rules()

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._rest.retain()
        await self.prepare(markets)
        self._emit = emit
        self._books = {m: BookSync(m, emit, self._clock) for m in markets}
        args: list[dict[str, str]] = []
        for market in markets:
            inst_id = spec.to_venue_symbol(market)
            args += [self._book_arg(market), {"channel": spec.CHANNEL_TRADES, "instId": inst_id},
                     {"channel": spec.CHANNEL_MARK_PRICE, "instId": inst_id},
                     {"channel": spec.CHANNEL_FUNDING_RATE, "instId": inst_id},
                     {"channel": spec.CHANNEL_INDEX_TICKERS, "instId": _index_id(market)}]
        url = spec.ws_endpoint(self._ws_url, spec.WS_PUBLIC_PATH)
        self._ws = OkxSocket(name="public", connector_id=self.connector_id, url=url, args=args,
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

    @staticmethod
    def _book_arg(market: str) -> dict[str, str]:
        return {"channel": spec.CHANNEL_BOOKS, "instId": spec.to_venue_symbol(market)}

    async def _seed_funding(self, market: str) -> None:
        inst_id = spec.to_venue_symbol(market)
        reads = ((spec.MARK_PRICE_PATH, [("instType", spec.INST_TYPE), ("instId", inst_id)]),
                 (spec.INDEX_TICKERS_PATH, [("instId", _index_id(market))]),
                 (spec.FUNDING_RATE_PATH, [("instId", inst_id)]))
        for path, params in reads:
            try:
                rows = await self._rest.public(path, params)
                for row in rows:
                    self._merge_funding(market, row, self._clock.now(), self._clock.now())
            except PmmError as exc:
                log.warning("no initial %s for %s (%s); waiting for the stream", path, market, exc)
            except BAD_PAYLOAD as exc:
                log.warning("unreadable %s answer for %s (%s); waiting for the stream", path, market, exc)

    def _on_disconnected(self, reason: str) -> None:
        for book in self._books.values():
            book.invalidate(f"public stream disconnected ({reason})")

    def _market_of(self, inst_id: str) -> str | None:
        market = spec.from_venue_symbol(inst_id)
        return market if market in self._books else None

    def _on_message(self, message: dict[str, Any], recv_ts: float) -> None:
        if self._emit is None:
            return
        arg = message.get("arg") or {}
        channel, market = arg.get("channel"), self._market_of(str(arg.get("instId") or ""))
        if market is None:
            return
        try:
            if channel == spec.CHANNEL_BOOKS:
                self._on_book(market, message, recv_ts)
            elif channel == spec.CHANNEL_TRADES:
                for trade in parse_trades(message, self._instruments[market], recv_ts):
                    self._emit(trade)
            elif channel in (spec.CHANNEL_MARK_PRICE, spec.CHANNEL_INDEX_TICKERS, spec.CHANNEL_FUNDING_RATE):
                for row in message.get("data", ()):
                    ts = int(str(row.get("ts") or 0)) / 1000 or recv_ts
                    self._merge_funding(market, row, ts, recv_ts)
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); dropped (%d so far)", channel, type(exc).__name__, exc,
                        self.bad_messages)
            if channel == spec.CHANNEL_BOOKS:
                self._resync(market, f"unreadable order book message ({exc})")

    def _on_book(self, market: str, message: dict[str, Any], recv_ts: float) -> None:
        book = self._books[market]
        frame = parse_book(message, self._instruments[market], recv_ts)
        if frame.is_snapshot:
            book.reset(frame.snapshot(), frame.seq_id)
        elif not book.live:
            return  # waiting for the snapshot the (re)subscription brings
        elif frame.seq_id == book.last_seq and frame.prev_seq_id != frame.seq_id:
            return  # the last update once more (a seqId names one message): already applied
        elif frame.prev_seq_id != book.last_seq:
            self._resync(market, f"order book gap: prevSeqId {frame.prev_seq_id} after seqId {book.last_seq}; "
                                 "resubscribing for a new snapshot")
        else:
            book.advance(frame.delta() if frame.bids or frame.asks else None, frame.seq_id)

    def _resync(self, market: str, reason: str) -> None:
        self._books[market].invalidate(reason)
        task = asyncio.get_running_loop().create_task(self._resubscribe(market))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resubscribe(self, market: str) -> None:
        if self._ws is None or not await self._ws.resubscribe([self._book_arg(market)]):
            log.info("could not resubscribe the book of %s now; the reconnection brings a new snapshot", market)
            return
        await self._sleep(SNAPSHOT_WAIT_S)
        if not self._books[market].live and self._ws.connected:
            await self._ws.reconnect(f"no book snapshot of {market} {SNAPSHOT_WAIT_S:g} s after resubscribing")

    def _merge_funding(self, market: str, row: dict[str, Any], ts: float, recv_ts: float) -> None:
        state = self._funding.setdefault(market, {})
        state.update(funding_fields(row))
        if self._emit is None or any(k not in state for k in ("mark", "index", "rate", "next_ts")):
            return
        info = FundingInfo(market, state["mark"], state["index"], state["rate"], state["next_ts"],
                           state.get("interval_s", _DEFAULT_INTERVAL_S))
        self._emit(FundingInfoUpdated(info, ts, recv_ts))
