"""`POST /fapi/v1/countdownCancelAll`: Binance's dead-man switch, served over the simulated venue.

Arming it with `countdownTime` (ms) cancels every open order of the symbol unless the countdown is
armed again before it runs out; `countdownTime=0` disarms it. Binance recommends re-arming it
regularly (e.g. every 10 s with a 120 s countdown), which is what a bot's heartbeat does.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from pmm.connectors.binance_perpetual.server.market import int_param, symbol_param
from pmm.connectors.binance_perpetual.server.trade import TradeHandlers
from pmm.connectors.binance_perpetual.server.wire import SymbolMap

log = logging.getLogger("pmm.binance.server")


class CountdownCancelAll:
    def __init__(self, trade: TradeHandlers, symbols: SymbolMap) -> None:
        self._trade = trade
        self._symbols = symbols
        self._timers: dict[str, asyncio.Task[None]] = {}
        self.fired: list[str] = []  # symbols whose countdown ran out (for tests)

    async def arm(self, params: Any) -> Any:
        symbol = symbol_param(params, self._symbols)
        assert symbol is not None
        countdown_ms = int_param(params, "countdownTime", 0) or 0
        previous = self._timers.pop(symbol, None)
        if previous is not None:
            previous.cancel()
        if countdown_ms > 0:
            self._timers[symbol] = asyncio.get_running_loop().create_task(
                self._expire(symbol, params, countdown_ms / 1000))
        return {"symbol": symbol, "countdownTime": str(countdown_ms)}

    async def _expire(self, symbol: str, params: Any, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._timers.pop(symbol, None)
        self.fired.append(symbol)
        log.warning("countdownCancelAll for %s ran out: cancelling all its open orders", symbol)
        await self._trade.cancel_all(params)

    def close(self) -> None:
        for task in self._timers.values():
            task.cancel()
        self._timers.clear()
