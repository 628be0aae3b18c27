"""`POST /fapi/v1/countdownCancelAll`: Binance's dead-man switch, one per symbol, each the kit's
`DeadManSwitch` (`common/server/dead_man.py`) over the order desk.

Arming it with `countdownTime` (ms) cancels every open order of the symbol unless the countdown is
armed again before it runs out; `countdownTime=0` disarms it. Binance recommends re-arming it
regularly (e.g. every 10 s with a 120 s countdown), which is what a bot's heartbeat does.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.binance_perpetual.server.auth import RawParams
from pmm.connectors.binance_perpetual.server.market import symbol_param
from pmm.connectors.binance_perpetual.server.wire import SymbolMap
from pmm.connectors.common.server.dead_man import DeadManSwitch
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.core.clock import Clock


class CountdownCancelAll:
    def __init__(self, clock: Clock, desk: OrderDesk, symbols: SymbolMap) -> None:
        self._clock = clock
        self._desk = desk
        self._symbols = symbols
        self.switches: dict[str, DeadManSwitch] = {}  # symbol -> its countdown

    async def arm(self, params: RawParams) -> Any:
        symbol = symbol_param(params, self._symbols)
        countdown_ms = params.integer("countdownTime", 0) or 0
        switch = self.switches.get(symbol)
        if switch is None:
            switch = self.switches[symbol] = DeadManSwitch(self._clock, self._desk, market=self._symbols.market(symbol),
                                                           name=f"countdownCancelAll for {symbol}")
        switch.arm(countdown_ms / 1000)
        return {"symbol": symbol, "countdownTime": str(countdown_ms)}

    def armed(self) -> list[str]:
        """The symbols whose countdown runs."""
        return [symbol for symbol, switch in self.switches.items() if switch.deadline is not None]

    @property
    def fired(self) -> list[str]:
        """The symbols whose countdown ran out, once per time (for tests)."""
        return [symbol for symbol, switch in self.switches.items() for _ in range(switch.fired)]

    def on_tick(self, now: float) -> None:
        for switch in self.switches.values():
            switch.on_tick(now)
