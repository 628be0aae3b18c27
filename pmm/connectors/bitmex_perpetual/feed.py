"""`BitmexFeed`: BitMEX public market data of linear USDT perpetuals as a pmm `MarketDataFeed`.

- Trading rules from `GET /api/v1/instrument?symbol=…`, in base units (one `lotSize` of contracts is
  the size step and the minimum).
- Order book: the `orderBookL2` table (full depth). Its `partial` is the book; `insert`, `update` and
  `delete` rows name levels by (symbol, id, side), and an update never moves a level's price. There
  are no sequence numbers: a row that does not fit the book held (an update or delete of an unknown
  level, an insert of a known one) is a gap, so the book freezes (`BookResyncRequired`) and the topic
  is resubscribed for a new partial; a disconnect freezes every book until the reconnection's
  partials arrive. Messages before a partial are dropped.
- Mark price, index price (`indicativeSettlePrice`), funding rate, next funding time and interval:
  the `instrument` table (partial, then updates of the fields that changed), seeded from REST.
- Trades: the `trade` table. Sizes everywhere in base units.
- `spot=True`: the same tables of BitMEX's spot pair (`XBT_USDT`), a price source: no funding.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.parse import BAD_PAYLOAD, Instrument, funding_fields, iso_to_s, parse_trades
from pmm.connectors.bitmex_perpetual.rest import BitmexRestClient
from pmm.connectors.bitmex_perpetual.streams import BitmexSocket
from pmm.connectors.bitmex_perpetual.tables import BookTable, TableGap
from pmm.connectors.common.book_sync import BookSync
from pmm.connectors.common.rate_limits import Sleep
from pmm.core.clock import Clock
from pmm.core.events import BookDelta, BookSnapshot, FundingInfoUpdated
from pmm.core.model import FundingInfo, TradingRules
from pmm.errors import PmmError

log = logging.getLogger("pmm.bitmex.feed")

_DEFAULT_INTERVAL_S = 8 * 3600.0
SNAPSHOT_WAIT_S = 10.0  # after a resubscription without a partial this long, reconnect instead


def book_topic(symbol: str) -> str:
    return f"{spec.TABLE_BOOK}:{symbol}"


class BitmexFeed:
    def __init__(self, rest: BitmexRestClient, *, ws_url: str, clock: Clock, connector_id: str = spec.CONNECTOR_ID,
                 ws_options: dict[str, Any] | None = None, sleep: Sleep = asyncio.sleep,
                 spot: bool = False) -> None:
        self.connector_id = connector_id
        self.spot = spot  # the spot pairs (XBT_USDT, a price source) instead of the perpetuals
        self._to_symbol = spec.to_spot_symbol if spot else spec.to_venue_symbol
        self._to_market = spec.from_spot_symbol if spot else spec.from_venue_symbol
        self._rest = rest
        self._ws_url = ws_url.rstrip("/")
        self._clock = clock
        self._ws_options = ws_options or {}
        self._sleep = sleep
        self._instruments: dict[str, Instrument] = {}  # by market
        self._books: dict[str, BookSync] = {}
        self._tables: dict[str, BookTable] = {}
        self._funding: dict[str, dict[str, Any]] = {}
        self._emit: Emit | None = None
        self._ws: BitmexSocket | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._seq = 0  # BitMEX numbers nothing: each applied message gets the next number
        self.bad_messages = 0

    def __repr__(self) -> str:
        return f"BitmexFeed({self.connector_id!r}, rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    @property
    def socket(self) -> BitmexSocket | None:
        return self._ws

    def book(self, market: str) -> BookSync:
        return self._books[market]

    # --- contract -------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        """Load the instruments (contract sizes) of `markets`. Idempotent."""
        for market in markets:
            if market not in self._instruments:
                self._instruments[market] = await (self._rest.spot_instrument(market) if self.spot
                                                   else self._rest.instrument(market))

    def trading_rules(self, market: str) -> TradingRules:
        inst = self._instruments.get(market)
        if inst is None:
            raise RuntimeError(f"trading rules of {market} are not loaded: await BitmexFeed.prepare([{market!r}]) "
                               "first")
        return inst.rules()

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._rest.retain()
        await self.prepare(markets)
        self._emit = emit
        self._books = {m: BookSync(m, emit, self._clock) for m in markets}
        self._tables = {m: BookTable(self._instruments[m]) for m in markets}
        topics: list[str] = []
        for market in markets:
            symbol = self._to_symbol(market)
            topics += [book_topic(symbol), f"{spec.TABLE_TRADE}:{symbol}", f"{spec.TABLE_INSTRUMENT}:{symbol}"]
        self._ws = BitmexSocket(name="public", connector_id=self.connector_id, url=spec.ws_endpoint(self._ws_url),
                                topics=topics, on_message=self._on_message, emit=emit, clock=self._clock,
                                on_disconnected=self._on_disconnected, sleep=self._sleep, **self._ws_options)
        for book in self._books.values():
            book.invalidate("starting: waiting for the first order book partial")
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
        try:
            rows = await self._rest.public(spec.INSTRUMENT_PATH, [("symbol", self._to_symbol(market))])
            for row in rows:
                self._merge_funding(market, row, self._clock.now(), self._clock.now())
        except PmmError as exc:
            log.warning("no initial funding info for %s (%s); waiting for the stream", market, exc)
        except BAD_PAYLOAD as exc:
            log.warning("unreadable instrument answer for %s (%s); waiting for the stream", market, exc)

    def _on_disconnected(self, reason: str) -> None:
        for market, book in self._books.items():
            self._tables[market].reset()
            book.invalidate(f"public stream disconnected ({reason})")

    def _on_message(self, message: dict[str, Any], recv_ts: float) -> None:
        if self._emit is None:
            return
        table = message.get("table")
        by_market: dict[str, list[dict[str, Any]]] = {}
        for row in message.get("data") or ():
            market = self._to_market(str(row.get("symbol") or ""))
            if market in self._books:
                by_market.setdefault(market, []).append(row)
        if message.get("action") == "partial" and table == spec.TABLE_BOOK:
            symbol = str((message.get("filter") or {}).get("symbol") or "")
            market = self._to_market(symbol)
            if market in self._books:
                by_market.setdefault(market, [])  # an empty book is still the book
        for market, rows in by_market.items():
            try:
                if table == spec.TABLE_BOOK:
                    self._on_book(market, str(message.get("action")), rows, recv_ts)
                elif table == spec.TABLE_TRADE and message.get("action") in ("partial", "insert"):
                    if message.get("action") == "insert":  # the partial repeats trades already printed
                        for trade in parse_trades(rows, self._instruments[market], recv_ts):
                            self._emit(trade)
                elif table == spec.TABLE_INSTRUMENT:
                    for row in rows:
                        ts = iso_to_s(row["timestamp"]) if row.get("timestamp") else recv_ts
                        self._merge_funding(market, row, ts, recv_ts)
            except TableGap as exc:
                self._resync(market, f"{exc}; resubscribing for a new partial")
            except BAD_PAYLOAD as exc:
                self.bad_messages += 1
                log.warning("unreadable %s message (%s: %s); dropped (%d so far)", table, type(exc).__name__, exc,
                            self.bad_messages)
                if table == spec.TABLE_BOOK:
                    self._resync(market, f"unreadable order book message ({exc})")

    def _on_book(self, market: str, action: str, rows: list[dict[str, Any]], recv_ts: float) -> None:
        book, table = self._books[market], self._tables[market]
        ts = max((iso_to_s(r["timestamp"]) for r in rows if r.get("timestamp")), default=recv_ts)
        self._seq += 1
        if action == "partial":
            bids, asks = table.snapshot(rows)
            book.reset(BookSnapshot(market, bids, asks, self._seq, ts, recv_ts), self._seq)
        elif not table.ready or not book.live:
            return  # waiting for the partial the (re)subscription brings
        else:
            bids, asks = table.change(action, rows)
            book.advance(BookDelta(market, bids, asks, self._seq, ts, recv_ts) if bids or asks else None, self._seq)

    def _resync(self, market: str, reason: str) -> None:
        self._tables[market].reset()
        self._books[market].invalidate(reason)
        task = asyncio.get_running_loop().create_task(self._resubscribe(market))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resubscribe(self, market: str) -> None:
        topic = book_topic(self._to_symbol(market))
        if self._ws is None or not await self._ws.resubscribe([topic]):
            log.info("could not resubscribe the book of %s now; the reconnection brings a new partial", market)
            return
        await self._sleep(SNAPSHOT_WAIT_S)
        if not self._books[market].live and self._ws.connected:
            await self._ws.reconnect(f"no book partial of {market} {SNAPSHOT_WAIT_S:g} s after resubscribing")

    def _merge_funding(self, market: str, row: dict[str, Any], ts: float, recv_ts: float) -> None:
        state = self._funding.setdefault(market, {})
        state.update(funding_fields(row))
        if self._emit is None or any(k not in state for k in ("mark", "index", "rate", "next_ts")):
            return
        info = FundingInfo(market, state["mark"], state["index"], state["rate"], state["next_ts"],
                           state.get("interval_s", _DEFAULT_INTERVAL_S))
        self._emit(FundingInfoUpdated(info, ts, recv_ts))
