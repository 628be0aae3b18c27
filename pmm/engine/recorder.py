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


class RecorderFanOut:
    """Tells several recorders the same thing, in order (the store's, then e.g. the metrics')."""

    def __init__(self, *recorders: Recorder) -> None:
        self._recorders = recorders

    def order_changed(self, order: Any) -> None:
        for recorder in self._recorders:
            recorder.order_changed(order)

    def fill(self, event: OrderFilled) -> None:
        for recorder in self._recorders:
            recorder.fill(event)

    def funding(self, event: FundingPaymentReceived) -> None:
        for recorder in self._recorders:
            recorder.funding(event)

    def position(self, market: str, side: PositionSide, position: Position | None, ts: float) -> None:
        for recorder in self._recorders:
            recorder.position(market, side, position, ts)

    def status(self, payload: dict[str, Any], ts: float) -> None:
        for recorder in self._recorders:
            recorder.status(payload, ts)

    def venue_state(self, state: dict[str, Any], ts: float) -> None:
        for recorder in self._recorders:
            recorder.venue_state(state, ts)

    def heartbeat(self, ts: float) -> None:
        for recorder in self._recorders:
            recorder.heartbeat(ts)
