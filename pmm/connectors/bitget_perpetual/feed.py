"""`BitgetFeed`: Bitget mix v2 public market data (USDT-M perpetuals) as a pmm `MarketDataFeed`.

- Trading rules from `GET /api/v2/mix/market/contracts?productType=USDT-FUTURES&symbol=…` (base
  units: Bitget sizes in the base coin).
- Order book: the `books` channel (a full snapshot, then `update`s). Each message carries `seq`,
  which increases (the docs promise no step of one), and a `checksum`: the signed CRC32 of the top
  25 levels as texts (`checksum.py`). An update whose `seq` is not above the last one is a repeat
  or an old frame and is dropped; an update whose checksum does not match the book after applying
  it (or an unreadable one) is a gap: the book freezes (`BookResyncRequired`) and the channel is
  resubscribed for a new snapshot; a disconnect freezes every book until the reconnection's
  snapshots arrive. A checksum of 0 is not checked (Bitget sends 0 where it computes none).
- Mark price, index price, funding rate and next funding time: the `ticker` channel, seeded from
  REST (`ticker`, `current-fund-rate`) at start.
- Trades: `trade`. Sizes everywhere in base units.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.checksum import TextBook
from pmm.connectors.bitget_perpetual.parse import BAD_PAYLOAD, Contract, funding_fields, ms_to_s, parse_trades
from pmm.connectors.bitget_perpetual.rest import BitgetRestClient
from pmm.connectors.bitget_perpetual.streams import BitgetSocket
from pmm.connectors.common.book_sync import BookSync
from pmm.connectors.common.payloads import book_levels
from pmm.connectors.common.rate_limits import Sleep
from pmm.core.clock import Clock
from pmm.core.events import BookDelta, BookSnapshot, FundingInfoUpdated
from pmm.core.model import FundingInfo, TradingRules
from pmm.errors import PmmError

log = logging.getLogger("pmm.bitget.feed")

_DEFAULT_INTERVAL_S = 8 * 3600.0
SNAPSHOT_WAIT_S = 10.0  # after a resubscription without a snapshot this long, reconnect instead


class BitgetFeed:
    # What the feed subscribes per market, and whether it follows mark / index / funding (spot has none).
    channels: tuple[str, ...] = (spec.CHANNEL_BOOKS, spec.CHANNEL_TRADE, spec.CHANNEL_TICKER)
    follows_funding = True

    def __init__(self, rest: BitgetRestClient, *, ws_url: str, clock: Clock, connector_id: str = spec.CONNECTOR_ID,
                 inst_type: str = spec.PRODUCT_TYPE, ws_options: dict[str, Any] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.connector_id = connector_id
        self._rest = rest
        self._ws_url = ws_url.rstrip("/")
        self._clock = clock
        self._inst_type = inst_type
        self._ws_options = ws_options or {}
        self._sleep = sleep
        self._rules: dict[str, TradingRules] = {}  # by market
        self._books: dict[str, BookSync] = {}
        self._texts: dict[str, TextBook] = {}
        self._funding: dict[str, dict[str, Any]] = {}
        self._emit: Emit | None = None
        self._ws: BitgetSocket | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.bad_messages = 0
        self.checksum_failures = 0

    def __repr__(self) -> str:
        return f"BitgetFeed({self.connector_id!r}, rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    @property
    def socket(self) -> BitgetSocket | None:
        return self._ws

    def book(self, market: str) -> BookSync:
        return self._books[market]

    # --- contract -------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        """Load the contracts (grids, minimums) of `markets`. Idempotent."""
        for market in markets:
            if market not in self._rules:
                self._rules[market] = await self._load_rules(market)

    async def _load_rules(self, market: str) -> TradingRules:
        contract: Contract = await self._rest.contract(market)
        return contract.rules()

    def trading_rules(self, market: str) -> TradingRules:
        rules = self._rules.get(market)
        if rules is None:
            raise RuntimeError(f"trading rules of {market} are not loaded: await {type(self).__name__}.prepare("
                               f"[{market!r}]) first")
        return rules

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        self._rest.retain()
        await self.prepare(markets)
        self._emit = emit
        self._books = {m: BookSync(m, emit, self._clock) for m in markets}
        self._texts = {m: TextBook() for m in markets}
        args: list[dict[str, str]] = []
        for market in markets:
            args += [self._arg(channel, market) for channel in self.channels]
        url = spec.ws_endpoint(self._ws_url, spec.WS_PUBLIC_PATH)
        self._ws = BitgetSocket(name="public", connector_id=self.connector_id, url=url, args=args,
                                on_message=self._on_message, emit=emit, clock=self._clock,
                                on_disconnected=self._on_disconnected, sleep=self._sleep, **self._ws_options)
        for book in self._books.values():
            book.invalidate("starting: waiting for the first order book snapshot")
        self._ws.start()
        if self.follows_funding:
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

    def _arg(self, channel: str, market: str) -> dict[str, str]:
        return {"instType": self._inst_type, "channel": channel, "instId": spec.to_venue_symbol(market)}

    async def _seed_funding(self, market: str) -> None:
        symbol = spec.to_venue_symbol(market)
        params = [("symbol", symbol), ("productType", spec.PRODUCT_TYPE)]
        for path in (spec.TICKER_PATH, spec.CURRENT_FUND_RATE_PATH):
            try:
                rows = await self._rest.public(path, params)
                for row in rows if isinstance(rows, list) else [rows]:
                    self._merge_funding(market, row, self._clock.now(), self._clock.now())
            except PmmError as exc:
                log.warning("no initial %s for %s (%s); waiting for the stream", path, market, exc)
            except BAD_PAYLOAD as exc:
                log.warning("unreadable %s answer for %s (%s); waiting for the stream", path, market, exc)

    def _on_disconnected(self, reason: str) -> None:
        for book in self._books.values():
            book.invalidate(f"public stream disconnected ({reason})")

    def _market_of(self, symbol: str) -> str | None:
        market = spec.from_venue_symbol(symbol)
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
            elif channel == spec.CHANNEL_TRADE:
                # A subscription's first push is a snapshot of recent trades: only new ones count.
                if message.get("action") != "snapshot":
                    for trade in parse_trades(message.get("data", ()), market, recv_ts):
                        self._emit(trade)
            elif channel == spec.CHANNEL_TICKER:
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
        book, texts = self._books[market], self._texts[market]
        (data,) = message["data"]
        action = message.get("action")
        seq = int(str(data["seq"]))
        bids, asks = data.get("bids", []), data.get("asks", [])
        levels_bids, levels_asks = book_levels(bids), book_levels(asks)
        ts = ms_to_s(data["ts"])
        if action == "snapshot":
            texts.reset(bids, asks)
            book.reset(BookSnapshot(market, levels_bids, levels_asks, seq, ts, recv_ts), seq)
            return
        if action != "update":
            raise ValueError(f"unknown Bitget book action {action!r}")
        if not book.live:
            return  # waiting for the snapshot the (re)subscription brings
        if seq <= book.last_seq:
            return  # a repeat or an older frame: already applied or overtaken
        texts.apply(bids, asks)
        expected = int(str(data.get("checksum", 0)))
        if expected != 0 and texts.checksum() != expected:
            self.checksum_failures += 1
            self._resync(market, f"order book checksum mismatch at seq {seq} (the book missed an update); "
                                 "resubscribing for a new snapshot")
            return
        book.advance(BookDelta(market, levels_bids, levels_asks, seq, ts, recv_ts) if bids or asks else None, seq)

    def _resync(self, market: str, reason: str) -> None:
        self._books[market].invalidate(reason)
        task = asyncio.get_running_loop().create_task(self._resubscribe(market))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resubscribe(self, market: str) -> None:
        arg = self._arg(spec.CHANNEL_BOOKS, market)
        if self._ws is None or not await self._ws.resubscribe([arg]):
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
