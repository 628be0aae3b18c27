"""The realized PnL of a streamed fill, which Gate's fill push does not carry.

Gate books a closing fill's PnL in the account book (`type=pnl`, with the fill's `trade_id`), so the
gateway asks for it before it passes a fill on, and the store's ledger matches the venue's wallet.
A fill that clearly adds to the position is not asked about: in one-way mode, one in the direction
of the position held (`held`, kept from the position pushes and reads); in dual mode, an order pmm
sent to open. While Gate does not answer (a 5xx, a rate limit, a refused IP) the read is retried
for up to `RETRY_S`, so the fill waits rather than being recorded without its PnL; past that the
error goes to the caller, which re-reads the account. A fill Gate pushes twice is recognised here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from decimal import Decimal

from pmm.connectors.common.account_gateway import PlacedOrder
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.gate_io_perpetual import history, spec
from pmm.connectors.gate_io_perpetual.parse import Contract, realized_by_trade
from pmm.connectors.gate_io_perpetual.rest import GateRestClient
from pmm.core.clock import Clock
from pmm.core.model import ZERO
from pmm.errors import ExchangeUnavailable, RateLimited

log = logging.getLogger("pmm.gate.gateway")

LOOKBACK_S = 120.0  # how far before a fill its account-book PnL row is looked for
RETRY_S = 90.0  # how long a fill waits for Gate to answer its PnL read
_SEEN_TRADES = 10_000


class FillPnl:
    def __init__(self, rest: GateRestClient, clock: Clock, sleep: Sleep = asyncio.sleep) -> None:
        self._rest = rest
        self._clock = clock
        self._sleep = sleep
        self.held: dict[str, Decimal] = {}  # market -> signed position (base units), one-way mode
        self._seen: deque[str] = deque(maxlen=_SEEN_TRADES)

    def seen(self, market: str, trade_id: str) -> bool:
        """True for a fill already passed on; else remembers it."""
        key = f"{market}/{trade_id}"
        if key in self._seen:
            return True
        self._seen.append(key)
        return False

    def may_close(self, market: str, size: Decimal, live: PlacedOrder | None, dual: bool) -> bool:
        """Whether a fill of signed `size` (contracts) may realize PnL (see module docstring)."""
        if dual:
            return live is None or live.request.reduce_only or live.position_side is None or \
                live.position_side.closing_side is live.request.side
        held = self.held.get(market, ZERO)
        return held == 0 or (held > 0) != (size > 0)

    async def realized(self, contract: Contract, trade_id: str, ts: float) -> dict[str, Decimal]:
        """{trade id: the PnL Gate booked for it}; empty for a fill that realized none."""
        waited, pause = 0.0, 0.5
        while True:
            try:
                rows = await history.account_book(self._rest, contract.name, spec.ACCOUNT_BOOK_PNL,
                                                  ts - LOOKBACK_S, self._clock.now(),
                                                  what=f"read the realized PnL of trade {trade_id}")
                return {k: v for k, v in realized_by_trade(rows).items() if k == trade_id}
            except (ExchangeUnavailable, RateLimited) as exc:
                if waited >= RETRY_S:
                    raise
                log.warning("the realized PnL of trade %s could not be read (%s); trying again in %.1f s",
                            trade_id, exc, pause)
                await self._sleep(pause)
                waited, pause = waited + pause, min(pause * 2, 8.0)
