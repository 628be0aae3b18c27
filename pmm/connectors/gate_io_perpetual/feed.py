"""`GateFeed`: Gate USDT perpetual public market data as a pmm `MarketDataFeed`.

- Trading rules from `GET /futures/usdt/contracts/{contract}`, in base units (one contract of
  `quanto_multiplier` is the size step).
- Order book: `futures.order_book_update` (`[contract, "100ms", "100"]`), synced as Gate documents
  it (exchange_apis_more.md §H6): pushes are buffered while `GET /order_book?with_id=true&limit=100`
  is read; pushes with `u` < id+1 are dropped; the first one applied must span id+1
  (`U` <= id+1 <= `u`), and a buffer that starts after id+1 means the snapshot is too old, so it is
  read again; from then on each push must start at the previous `u` + 1. Anything else is a gap:
  the book freezes (`BookResyncRequired`) and is rebuilt the same way. A push with `full: true` is a
  whole book and replaces it. A disconnect freezes every book until the reconnection's rebuild.
  Empty pushes still advance the id.
- Mark price, index price and funding rate from `futures.tickers`; next funding time and interval
  from the contract (read at start, again once the funding time has passed).
- Trades: `futures.trades` (the size's sign is the taker's side). Sizes everywhere in base units.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.common.book_sync import BookSync
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.parse import (
    BAD_PAYLOAD,
    BookUpdate,
    Contract,
    contract_funding,
    parse_book_snapshot,
    parse_book_update,
    parse_trades,
    ticker_funding,
)
from pmm.connectors.gate_io_perpetual.rest import GateRestClient
from pmm.connectors.gate_io_perpetual.streams import GateSocket, Sub
from pmm.core.clock import Clock
from pmm.core.events import BookSnapshot, FundingInfoUpdated, Trade
from pmm.core.model import FundingInfo, TradingRules
from pmm.errors import PmmError

log = logging.getLogger("pmm.gate.feed")

_DEFAULT_INTERVAL_S = 8 * 3600.0
SNAPSHOT_RETRY_S = 1.0  # between two snapshot reads that did not fit the stream
MAX_BUFFERED = 5_000  # pushes kept while a snapshot is read


class _Book:
    """One market's sync state: the book's validity, and the pushes waiting for a snapshot."""

    def __init__(self, sync: BookSync) -> None:
        self.sync = sync
        self.buffer: list[tuple[BookUpdate, float]] = []
        self.rebuilding: asyncio.Task[None] | None = None


class GateFeed:
    def __init__(self, rest: GateRestClient, *, ws_url: str, clock: Clock, connector_id: str = spec.CONNECTOR_ID,
                 ws_options: dict[str, Any] | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.connector_id = connector_id
        self._rest = rest
        self._ws_url = spec.ws_endpoint(ws_url, connector_id)
        self._clock = clock
        self._ws_options = ws_options or {}
        self._sleep = sleep
        self._contracts: dict[str, Contract] = {}  # by market
        self._books: dict[str, _Book] = {}
        self._funding: dict[str, dict[str, Any]] = {}
        self._emit: Emit | None = None
        self._ws: GateSocket | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.bad_messages = 0

    def __repr__(self) -> str:
        return f"GateFeed({self.connector_id!r}, rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    @property
    def socket(self) -> GateSocket | None:
        return self._ws

    def book(self, market: str) -> BookSync:
        return self._books[market].sync

    # --- contract -------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        """Load the contracts (contract sizes) of `markets`. Idempotent."""
        for market in markets:
            if market not in self._contracts:
                self._contracts[market] = await self._rest.contract(market)

    def trading_rules(self, market: str) -> TradingRules:
        contract = self._contracts.get(market)
        if contract is None:
            raise RuntimeError(f"trading rules of {market} are not loaded: await GateFeed.prepare([{market!r}]) first")
        return contract.rules()

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._rest.retain()
        await self.prepare(markets)
        self._emit = emit
        self._books = {m: _Book(BookSync(m, emit, self._clock)) for m in markets}
        subs = [sub for market in markets for sub in self._subscriptions(spec.to_venue_symbol(market))]
        self._ws = GateSocket(name="public", connector_id=self.connector_id, url=self._ws_url, subs=subs,
                              on_message=self._on_message, emit=emit, clock=self._clock,
                              on_connected=self._on_connected, on_disconnected=self._on_disconnected,
                              sleep=self._sleep, ping_channel=self.ping_channel, **self._ws_options)
        for book in self._books.values():
            book.sync.invalidate("starting: waiting for the first order book snapshot")
        self._ws.start()
        for market in markets:
            await self._read_contract_funding(market)

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

    # --- what the spot feed changes (spot_feed.py) -----------------------------------------------

    book_channel, trades_channel, ping_channel = spec.CHANNEL_BOOK_UPDATE, spec.CHANNEL_TRADES, spec.CHANNEL_PING

    def _subscriptions(self, name: str) -> list[Sub]:
        return [Sub(spec.CHANNEL_BOOK_UPDATE, (name, spec.BOOK_INTERVAL, str(spec.BOOK_LEVELS))),
                Sub(spec.CHANNEL_TRADES, (name,)), Sub(spec.CHANNEL_TICKERS, (name,))]

    async def _read_snapshot(self, contract: Contract) -> tuple[int, BookSnapshot]:
        body = await self._rest.public(spec.ORDER_BOOK_PATH, [
            ("contract", contract.name), ("limit", str(spec.BOOK_LEVELS)), ("with_id", "true")])
        return parse_book_snapshot(body, contract, self._clock.now())

    def _book_update(self, result: dict[str, Any], contract: Contract, recv_ts: float) -> BookUpdate:
        return parse_book_update(result, contract, recv_ts)

    def _trades(self, result: Any, recv_ts: float) -> list[Trade]:
        trades: list[Trade] = []
        for row in result if isinstance(result, list) else []:
            market = self._market_of(row.get("contract"))
            if market is not None:
                trades += parse_trades([row], self._contracts[market], recv_ts)
        return trades

    # --- internals ------------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _read_contract_funding(self, market: str) -> None:
        try:
            row = await self._rest.public(f"{spec.CONTRACTS_PATH}/{spec.to_venue_symbol(market)}")
            self._merge_funding(market, contract_funding(row), self._clock.now(), self._clock.now())
        except PmmError as exc:
            log.warning("no funding time for %s (%s); trying again with the next ticker", market, exc)
        except BAD_PAYLOAD as exc:
            log.warning("unreadable contract of %s (%s); trying again with the next ticker", market, exc)

    def _on_connected(self) -> None:
        for market in self._books:
            self._rebuild(market, None)

    def _on_disconnected(self, reason: str) -> None:
        for book in self._books.values():
            book.sync.invalidate(f"public stream disconnected ({reason})")
            book.buffer.clear()

    def _market_of(self, contract: object) -> str | None:
        market = spec.from_venue_symbol(str(contract or ""))
        return market if market in self._books else None

    def _on_message(self, message: dict[str, Any], recv_ts: float) -> None:
        if self._emit is None:
            return
        channel, result = message.get("channel"), message.get("result")
        market: str | None = None
        try:
            if channel == self.book_channel and isinstance(result, dict):
                market = self._market_of(result.get("s"))
                if market is not None:
                    self._on_book(market, self._book_update(result, self._contracts[market], recv_ts), recv_ts)
            elif channel == self.trades_channel:
                for trade in self._trades(result, recv_ts):
                    self._emit(trade)
            elif channel == spec.CHANNEL_TICKERS and isinstance(result, list):
                for row in result:
                    market = self._market_of(row.get("contract"))
                    if market is not None:
                        ts = int(str(message.get("time_ms") or 0)) / 1000 or recv_ts
                        self._merge_funding(market, ticker_funding(row), ts, recv_ts)
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); dropped (%d so far)", channel, type(exc).__name__, exc,
                        self.bad_messages)
            if channel == self.book_channel and market is not None:
                self._rebuild(market, f"unreadable order book message ({exc})")

    def _on_book(self, market: str, update: BookUpdate, recv_ts: float) -> None:
        book = self._books[market]
        if update.full:
            book.buffer.clear()
            book.sync.reset(update.snapshot(market, recv_ts), update.last)
            return
        if not book.sync.live:
            if len(book.buffer) < MAX_BUFFERED:
                book.buffer.append((update, recv_ts))
            return
        if update.last <= book.sync.last_seq:
            return  # already applied (the same push again)
        if update.first > book.sync.last_seq + 1:
            self._rebuild(market, f"order book gap: update {update.first}..{update.last} after {book.sync.last_seq}; "
                                  "reading a new snapshot")
            book.buffer.append((update, recv_ts))
            return
        book.sync.advance(update.delta(market, recv_ts) if update.bids or update.asks else None, update.last)

    def _rebuild(self, market: str, reason: str | None) -> None:
        """Freeze the book and read a snapshot to rebuild it from (one read at a time)."""
        book = self._books[market]
        if reason is not None:
            book.sync.invalidate(reason)
        book.buffer.clear()
        if book.rebuilding is None or book.rebuilding.done():
            book.rebuilding = self._spawn(self._snapshot(market))

    async def _snapshot(self, market: str) -> None:
        book, contract = self._books[market], self._contracts[market]
        while self._ws is not None and self._ws.connected:
            try:
                snap_id, snapshot = await self._read_snapshot(contract)
            except (PmmError, *BAD_PAYLOAD) as exc:
                log.warning("order book snapshot of %s failed (%s); trying again", market, exc)
                await self._sleep(SNAPSHOT_RETRY_S)
                continue
            if book.sync.live:
                return  # a full push rebuilt it meanwhile
            pending = [(u, ts) for u, ts in book.buffer if u.last >= snap_id + 1]
            if pending and pending[0][0].first > snap_id + 1:
                log.info("order book snapshot of %s (id %d) is older than the stream (%d); reading it again",
                         market, snap_id, pending[0][0].first)
                await self._sleep(SNAPSHOT_RETRY_S / 4)
                continue
            book.buffer.clear()
            book.sync.reset(snapshot, snap_id)
            for update, recv_ts in pending:
                self._on_book(market, update, recv_ts)
            return

    def _merge_funding(self, market: str, fields: dict[str, object], ts: float, recv_ts: float) -> None:
        state = self._funding.setdefault(market, {})
        state.update(fields)
        next_ts = state.get("next_ts")
        if isinstance(next_ts, float) and next_ts <= self._clock.now():
            # The funding time passed: the next one is an interval later (re-read to be sure).
            state["next_ts"] = next_ts + float(state.get("interval_s", _DEFAULT_INTERVAL_S))  # type: ignore[arg-type]
            if self._emit is not None and not state.get("reading"):
                state["reading"] = True
                self._spawn(self._reread(market))
        if self._emit is None or any(k not in state for k in ("mark", "index", "rate", "next_ts")):
            return
        info = FundingInfo(market, state["mark"], state["index"], state["rate"], state["next_ts"],
                           state.get("interval_s", _DEFAULT_INTERVAL_S))
        self._emit(FundingInfoUpdated(info, ts, recv_ts))

    async def _reread(self, market: str) -> None:
        try:
            await self._read_contract_funding(market)
        finally:
            self._funding.get(market, {}).pop("reading", None)
