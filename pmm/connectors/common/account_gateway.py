"""What a venue's `OrderGateway` does the same way on every venue (DESIGN.md §4).

- Events go out through the engine's `emit` (dropped before `start` and after `stop`); background
  jobs run as tasks that `stop` ends; the shared REST session is released at `stop`.
- The markets the gateway touched are tracked; the first touch reads the market's fee rates in the
  background (`fee_rates` answers the venue's defaults until then).
- A position pushed by the stream that is older (by the venue's own timestamp) than one already
  passed on for the same market and side is dropped: a stream may deliver frames out of order, and
  the older frame would otherwise overwrite the newer position for good.
- After account events may have been missed (the private stream reconnected, a message could not
  be read), `_resync` re-reads positions and balances and settles the orders the gateway believes
  live: one the venue no longer lists gets its missed fills, then ends.

A venue's gateway subclasses `AccountGateway`, calls `super().__init__` first, sets `_symbols`, and
supplies `_load_fees(market)`, `_live_orders()` and the `OrderGateway` reads the resync uses
(`positions`, `balances`, `open_orders`, `fills_since`). What it places, how it reads its stream and
how it names things stay in the venue's `gateway.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from pmm.connectors.base import Emit
from pmm.connectors.common.rest_session import SharedRestSession
from pmm.core.clock import Clock
from pmm.core.events import BalanceUpdated, OrderCancelled, OrderFilled, PositionUpdated
from pmm.core.model import (
    Balance,
    ClientOrderId,
    ExchangeOrderId,
    FillReport,
    OrderReport,
    OrderRequest,
    Position,
    PositionSide,
)
from pmm.errors import PmmError

Sleep = Callable[[float], Awaitable[None]]


class _Symbols(Protocol):
    def add(self, market: str) -> str: ...
    def market(self, symbol: str) -> str: ...


@dataclass
class PlacedOrder:
    """What the gateway remembers about an order it placed, to rebuild missed events."""

    request: OrderRequest
    placed_ts: float
    position_side: PositionSide | None = None  # None: the side each fill report carries
    exchange_id: ExchangeOrderId | None = None
    filled: Decimal = Decimal(0)
    trade_ids: set[str] = field(default_factory=set)


class AccountGateway:
    """The venue-neutral half of an `OrderGateway` (see module docstring)."""

    _symbols: _Symbols

    def __init__(self, rest: SharedRestSession, *, connector_id: str, venue: str | None, clock: Clock,
                 sleep: Sleep, log: logging.Logger, default_fees: tuple[Decimal, Decimal]) -> None:
        self.connector_id = connector_id
        self.venue = venue or connector_id
        self._rest = rest
        self._clock = clock
        self._sleep = sleep
        self._log = log
        self._default_fees = default_fees
        self._markets: list[str] = []  # markets this gateway has touched, in that order
        self._fees: dict[str, tuple[Decimal, Decimal]] = {}
        self._balances: dict[str, Balance] = {}
        self._emit: Emit | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        # The venue timestamp of the last streamed position per (market, side): older frames are stale.
        self._position_ts: dict[tuple[str, PositionSide], float] = {}
        self.stale_positions = 0  # streamed positions dropped as older than one already passed on
        self.bad_messages = 0  # unreadable account messages dropped (each logged, each followed by a resync)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.connector_id!r}, rest={self._rest!r})"

    # --- what the venue supplies ----------------------------------------------------------------

    async def _load_fees(self, market: str) -> None:
        """Read the account's fee rates of `market` into `_fees` (the defaults if that fails)."""
        raise NotImplementedError

    def _live_orders(self) -> dict[ClientOrderId, PlacedOrder]:
        """The orders the gateway believes live, by client id (a resync ends the vanished ones)."""
        raise NotImplementedError

    async def positions(self) -> list[Position]:
        raise NotImplementedError

    async def balances(self) -> list[Balance]:
        raise NotImplementedError

    async def open_orders(self, market: str) -> list[OrderReport]:
        raise NotImplementedError

    async def fills_since(self, ts: float, market: str) -> list[FillReport]:
        raise NotImplementedError

    # --- events, tasks, the REST session --------------------------------------------------------

    def _emit_event(self, event: Any) -> None:
        if self._emit is not None:
            self._emit(event)

    def _emit_streamed_position(self, event: PositionUpdated) -> None:
        """Pass on a position the stream pushed, unless the venue stamped it before the last one."""
        key = (event.market, event.side)
        last = self._position_ts.get(key)
        if last is not None and event.ts < last:
            self.stale_positions += 1
            self._log.info("dropped a %s %s position stamped %.3f: the venue already reported one stamped %.3f "
                           "(frames arrived out of order)", event.market, event.side, event.ts, last)
            return
        self._position_ts[key] = event.ts
        self._emit_event(event)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _end_tasks(self, *others: asyncio.Task[Any] | None) -> None:
        """Cancel every spawned task (and `others`) and wait until they are done."""
        tasks = [*self._tasks, *(task for task in others if task is not None)]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _leave_rest(self) -> None:
        """Stop emitting; release the shared REST session (close it if `start` never took it)."""
        if self._emit is not None:
            self._emit = None
            await self._rest.release()
        else:
            await self._rest.close_if_unused()

    # --- markets and fees -----------------------------------------------------------------------

    def _track(self, market: str) -> str:
        """The market's symbol; the first time, also start reading its fee rates."""
        symbol = self._symbols.add(market)
        if market not in self._markets:
            self._markets.append(market)
            if market not in self._fees and self._emit is not None:
                self._spawn(self._load_fees(market))
        return symbol

    def fee_rates(self, market: str) -> tuple[Decimal, Decimal]:
        """(maker, taker); the venue's defaults until the account's fee rates are read."""
        return self._fees.get(market, self._default_fees)

    def _markets_in_use(self) -> list[str]:
        """The markets a resync reports positions for, in the order it reports them."""
        return list(self._markets)

    # --- resync after missed account events -----------------------------------------------------

    async def _resync(self, reason: str) -> None:
        """Re-read what account events may have been missed: positions, balances, our live orders."""
        self._log.info("re-reading the account: %s", reason)
        try:
            positions = await self.positions()
            balances = await self.balances()
            now = self._clock.now()
            held = {(p.market, p.side): p for p in positions}
            for market in self._markets_in_use():
                for side in (PositionSide.LONG, PositionSide.SHORT):
                    self._emit_event(PositionUpdated(market, side, held.get((market, side)), now, now))
            for balance in balances:
                self._emit_event(BalanceUpdated(balance, now, now))
            await self._settle_live_orders()
        except PmmError as exc:
            self._log.warning("re-reading the account failed (%s); the engine's reconciliation will settle it", exc)

    async def _settle_live_orders(self) -> None:
        """Orders we think are live but the venue no longer lists: emit their missed fills and end."""
        orders = self._live_orders()
        accepted = {cid: live for cid, live in orders.items() if live.exchange_id is not None}
        for market in {live.request.market for live in accepted.values()}:
            open_ids = {r.client_id for r in await self.open_orders(market)}
            gone = [live for live in accepted.values() if live.request.market == market
                    and live.request.client_id not in open_ids]
            if not gone:
                continue
            fills = await self.fills_since(min(live.placed_ts for live in gone) - 1.0, market)
            for live in gone:
                request = live.request
                for f in sorted((f for f in fills if f.client_id == request.client_id), key=lambda f: f.ts):
                    if f.trade_id in live.trade_ids:
                        continue
                    live.trade_ids.add(f.trade_id)
                    live.filled += f.amount
                    now = self._clock.now()
                    self._emit_event(OrderFilled(
                        f.client_id, f.exchange_id, f.trade_id, f.market, f.side, request.order_type, f.price,
                        f.amount, request.amount - live.filled, f.fee, f.fee_asset, f.liquidity,
                        f.position_side if live.position_side is None else live.position_side, f.realized_pnl,
                        f.ts, now))
                orders.pop(request.client_id, None)
                if live.filled < request.amount:
                    now = self._clock.now()
                    self._emit_event(OrderCancelled(request.client_id, live.exchange_id, market, now, now))
