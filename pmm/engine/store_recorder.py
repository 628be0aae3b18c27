"""Recorder backed by the store's background writer: every call only enqueues a record."""

from __future__ import annotations

from typing import Any

from pmm.core.events import FundingPaymentReceived, OrderFilled
from pmm.core.model import Position, PositionSide
from pmm.engine.tracker import TrackedOrder
from pmm.store.records import (
    FillRecord,
    FundingRecord,
    Heartbeat,
    OrderChanged,
    PositionSnapshot,
    SimAccountSnapshot,
    StatusSnapshot,
)
from pmm.store.writer import StoreWriter


class StoreRecorder:
    def __init__(self, writer: StoreWriter, venue: str, run_id: str) -> None:
        self._writer = writer
        self._venue = venue
        self._run_id = run_id

    def order_changed(self, order: TrackedOrder) -> None:
        req = order.request
        self._writer.submit(OrderChanged(
            client_id=req.client_id, run_id=self._run_id, venue=self._venue, market=req.market, side=req.side,
            order_type=req.order_type, price=req.price, amount=req.amount, filled=order.filled,
            status=order.status, purpose=req.purpose, level=req.level, position_action=req.position_action,
            position_side=req.position_side, reduce_only=req.reduce_only, exchange_id=order.exchange_id,
            created_ts=order.created_ts, updated_ts=order.updated_ts, last_reason=order.last_reason or None,
        ))

    def fill(self, event: OrderFilled) -> None:
        self._writer.submit(FillRecord.from_event(self._venue, self._run_id, event))

    def funding(self, event: FundingPaymentReceived) -> None:
        self._writer.submit(FundingRecord.from_event(self._venue, self._run_id, event))

    def position(self, market: str, side: PositionSide, position: Position | None, ts: float) -> None:
        if position is None:
            record = PositionSnapshot.flat(self._venue, self._run_id, market, side, ts)
        else:
            record = PositionSnapshot.from_position(self._venue, self._run_id, position, ts)
        self._writer.submit(record)

    def status(self, payload: dict[str, Any], ts: float) -> None:
        self._writer.submit(StatusSnapshot.build(self._run_id, ts, payload))

    def venue_state(self, state: dict[str, Any], ts: float) -> None:
        self._writer.submit(SimAccountSnapshot.build(self._venue, ts, state))

    def heartbeat(self, ts: float) -> None:
        self._writer.submit(Heartbeat(self._run_id, ts))
