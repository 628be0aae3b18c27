"""The engine's outlet to persistence. The store-backed implementation lives in pmm.engine.store_recorder."""

from __future__ import annotations

from typing import Any, Protocol

from pmm.core.events import FundingPaymentReceived, OrderFilled
from pmm.core.model import Position, PositionSide


class Recorder(Protocol):
    def order_changed(self, order: Any) -> None: ...
    def fill(self, event: OrderFilled) -> None: ...
    def funding(self, event: FundingPaymentReceived) -> None: ...
    def position(self, market: str, side: PositionSide, position: Position | None, ts: float) -> None: ...
    def status(self, payload: dict[str, Any], ts: float) -> None: ...
    def venue_state(self, state: dict[str, Any], ts: float) -> None: ...
    def heartbeat(self, ts: float) -> None: ...


class NullRecorder:
    """Records nothing: for tests that only look at behaviour."""

    def order_changed(self, order: Any) -> None:
        pass

    def fill(self, event: OrderFilled) -> None:
        pass

    def funding(self, event: FundingPaymentReceived) -> None:
        pass

    def position(self, market: str, side: PositionSide, position: Position | None, ts: float) -> None:
        pass

    def status(self, payload: dict[str, Any], ts: float) -> None:
        pass

    def venue_state(self, state: dict[str, Any], ts: float) -> None:
        pass

    def heartbeat(self, ts: float) -> None:
        pass
