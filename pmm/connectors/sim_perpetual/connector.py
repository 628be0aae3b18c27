"""`sim_perpetual`: the connector contract over the in-process simulated exchange.

The feed and the gateway are thin: the simulated exchange already speaks pmm's events. They exist
so the engine sees exactly the same contract a live venue offers (DESIGN.md §4), and so paper
trading can later pair a venue's real feed with `SimGateway`.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from pmm.connectors.base import Emit
from pmm.core.events import AccountEvent, FundingInfoUpdated, MarketEvent
from pmm.core.model import (
    Balance,
    ClientOrderId,
    FillReport,
    FundingPaymentReport,
    MarginMode,
    OrderReport,
    OrderRequest,
    Position,
    PositionMode,
    TradingRules,
)
from pmm.sim.exchange import SimExchange

CONNECTOR_ID = "sim_perpetual"


class SimFeed:
    def __init__(self, exchange: SimExchange, connector_id: str = CONNECTOR_ID) -> None:
        self.connector_id = connector_id
        self._exchange = exchange
        self._emit: Emit | None = None
        self._markets: set[str] = set()
        exchange.subscribe_public(self._on_public)

    async def prepare(self, markets: Sequence[str]) -> None:
        """Nothing to load: the simulated exchange knows its trading rules from the start."""

    async def start(self, markets: Sequence[str], emit: Emit) -> None:
        unknown = [m for m in markets if m not in self._exchange.markets()]
        if unknown:
            raise ValueError(f"the simulated venue has no market {unknown[0]}")
        self._markets = set(markets)
        self._emit = emit

    async def stop(self) -> None:
        self._emit = None

    def trading_rules(self, market: str) -> TradingRules:
        return self._exchange.trading_rules(market)

    def _on_public(self, event: MarketEvent) -> None:
        if isinstance(event, FundingInfoUpdated):
            market = event.info.market
        else:  # (ExternalPriceUpdated, a MarketEvent without a market, never comes from the sim exchange)
            market = event.market  # type: ignore[union-attr]
        if self._emit is not None and market in self._markets:
            self._emit(event)


class SimGateway:
    def __init__(self, exchange: SimExchange, connector_id: str = CONNECTOR_ID) -> None:
        self.connector_id = connector_id
        self.venue = connector_id
        self._exchange = exchange
        self._emit: Emit | None = None
        exchange.subscribe_private(self._on_private)

    async def prepare(self, markets: Sequence[str]) -> None:
        """Nothing to load: the simulated account's fee rates come from the config."""

    async def start(self, emit: Emit) -> None:
        self._emit = emit

    async def stop(self) -> None:
        self._emit = None

    def _on_private(self, event: AccountEvent) -> None:
        if self._emit is not None:
            self._emit(event)

    async def place_order(self, request: OrderRequest) -> None:
        self._exchange.submit_order(request)

    async def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        self._exchange.cancel_order(market, client_id)

    async def cancel_all(self, market: str) -> None:
        self._exchange.cancel_all(market)

    async def set_leverage(self, market: str, leverage: int) -> None:
        self._exchange.set_leverage(market, leverage)

    async def set_position_mode(self, mode: PositionMode) -> None:
        if self._exchange.position_mode() is not mode:
            self._exchange.set_position_mode(mode)

    async def set_margin_mode(self, market: str, mode: MarginMode) -> None:
        if self._exchange.margin_mode(market) is not mode:
            self._exchange.set_margin_mode(market, mode)

    async def balances(self) -> list[Balance]:
        return self._exchange.balances()

    async def positions(self) -> list[Position]:
        return self._exchange.positions()

    async def open_orders(self, market: str) -> list[OrderReport]:
        return self._exchange.open_orders(market)

    async def fills_since(self, ts: float, market: str) -> list[FillReport]:
        return self._exchange.fills_since(ts, market)

    async def funding_payments_since(self, ts: float, market: str) -> list[FundingPaymentReport]:
        return self._exchange.funding_payments_since(ts, market)

    def fee_rates(self, market: str) -> tuple[Decimal, Decimal]:
        settings = self._exchange.settings
        return settings.maker_fee, settings.taker_fee
