"""Fixtures and record factories for the store tests."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from pmm.core.model import ClientOrderId, ExchangeOrderId, Liquidity, PositionSide, Side, TradeId
from pmm.store.records import FillRecord, FundingRecord
from pmm.store.writer import StoreWriter

D = Decimal


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'pmm.sqlite'}"


@pytest.fixture
def writer(db_url: str) -> Iterator[StoreWriter]:
    w = StoreWriter(db_url)
    yield w
    w.close()


def _make_fill(
    trade_id: str = "t1",
    *,
    side: Side = Side.BUY,
    price: str = "65000.10",
    amount: str = "0.010",
    fee: str = "0.13",
    fee_asset: str = "USDT",
    realized: str = "0",
    ts: float = 1.0,
    market: str = "BTC-USDT",
    venue: str = "sim_perpetual",
    run_id: str = "run1",
    position_side: PositionSide = PositionSide.LONG,
) -> FillRecord:
    return FillRecord(
        venue=venue, run_id=run_id, trade_id=TradeId(trade_id), client_id=ClientOrderId(f"c-{trade_id}"),
        exchange_id=ExchangeOrderId(f"e-{trade_id}"), market=market, side=side, price=D(price),
        amount=D(amount), fee=D(fee), fee_asset=fee_asset, liquidity=Liquidity.MAKER,
        position_side=position_side, realized_pnl=D(realized), ts=ts,
    )  # fmt: skip


def _make_funding(
    funding_time_ms: int = 1_767_225_600_000,
    *,
    amount: str = "-0.09825",
    rate: str = "0.0001",
    position_amount: str = "0.015",
    mark_price: str = "65500",
    asset: str = "USDT",
    market: str = "BTC-USDT",
    venue: str = "sim_perpetual",
    run_id: str = "run1",
) -> FundingRecord:
    return FundingRecord(
        venue=venue, run_id=run_id, market=market, funding_time_ms=funding_time_ms, rate=D(rate),
        amount=D(amount), asset=asset, position_amount=D(position_amount), mark_price=D(mark_price),
    )  # fmt: skip


@pytest.fixture
def make_fill():  # type: ignore[no-untyped-def]
    """Factory: `make_fill("t1", side=Side.SELL, price="66000", ...)` -> FillRecord."""
    return _make_fill


@pytest.fixture
def make_funding():  # type: ignore[no-untyped-def]
    """Factory: `make_funding(funding_time_ms, amount="-0.1", ...)` -> FundingRecord."""
    return _make_funding
