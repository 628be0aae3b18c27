"""Account endpoints of the Gate server (APIv4 "Futures"): the futures account, positions (one-way
and dual), leverage and margin mode, dual (hedge) mode.

Leverage is set with query parameters (`POST .../positions/{contract}/leverage?leverage=N`):
`leverage` N > 0 makes the position isolated at N; `leverage=0` makes it cross at
`cross_leverage_limit` (exchange_apis_more.md §0 item 4); above the contract's maximum is
LEVERAGE_TOO_HIGH. Switching margin mode or dual mode with a position or orders open is refused
(POSITION_HOLDING / ORDER_PENDING). Booleans arrive as `true` / `false` or as the official SDK
writes them, `True` / `False`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from pmm.connectors.common.server.wire import Fields, ParamError, WireRequest
from pmm.connectors.gate_io_perpetual.server.dialect import gate_error
from pmm.connectors.gate_io_perpetual.server.orders_in import OrderParser
from pmm.connectors.gate_io_perpetual.server.views import Views
from pmm.connectors.gate_io_perpetual.server.wire import decimal_sizes
from pmm.core.clock import Clock
from pmm.core.model import MarginMode, PositionMode, PositionSide
from pmm.errors import VenueSetupError
from pmm.sim.exchange import SimExchange


def flag(text: str | None, name: str) -> bool | None:
    if text is None:
        return None
    if text.lower() not in ("true", "false"):
        raise ParamError(name)
    return text.lower() == "true"


class AccountHandlers:
    """The account's balance, positions and settings."""

    def __init__(self, exchange: SimExchange, parser: OrderParser, views: Views, clock: Clock,
                 totals: dict[str, Decimal], on_settings: Callable[[str], None]) -> None:
        self._exchange = exchange
        self._parser = parser
        self._views = views
        self._clock = clock
        self._totals = totals  # the account's history (pnl, fee, fund) so far
        self._on_settings = on_settings  # market -> push its positions after a change

    def account_row(self) -> dict[str, Any]:
        quotes = {self._views.symbols.grid(s).rules.quote for s in self._views.symbols.symbols()}
        balance = next(b for b in self._exchange.balances() if b.asset in quotes)
        return self._views.account(balance, self._totals)

    async def accounts(self, req: WireRequest) -> dict[str, Any]:
        return self.account_row()

    async def positions(self, req: WireRequest) -> list[dict[str, Any]]:
        holding = flag(req.fields().text("holding"), "holding") or False
        return self._views.positions(self._clock.now(), decimal=decimal_sizes(req.headers), holding=holding)

    async def position(self, req: WireRequest) -> Any:
        symbol = self._parser.symbol(req.path.rstrip("/").rsplit("/", 1)[-1])
        rows = self._views.positions(self._clock.now(), symbol, decimal=decimal_sizes(req.headers), holding=False)
        if self._exchange.position_mode() is PositionMode.HEDGE and not req.path.rsplit("/", 3)[-3] == "dual_comp":
            raise gate_error("POSITION_DUAL_MODE")
        if self._exchange.position_mode() is PositionMode.HEDGE:
            return rows or [self._closed(symbol, side) for side in (PositionSide.LONG, PositionSide.SHORT)]
        return rows[0] if rows else self._closed(symbol, PositionSide.LONG)

    def _closed(self, symbol: str, side: PositionSide) -> dict[str, Any]:
        market = self._views.symbols.market(symbol)
        assert market is not None
        return self._views.position(None, market, side, self._clock.now())

    async def set_leverage(self, req: WireRequest) -> Any:
        symbol = self._parser.symbol(req.path.rstrip("/").rsplit("/", 2)[-2])
        market = self._views.symbols.market(symbol)
        assert market is not None
        query = Fields(req.query_params)  # Gate takes both as query parameters, the body is empty
        leverage = query.decimal("leverage", required=True)
        cross_limit = query.decimal("cross_leverage_limit")
        assert leverage is not None
        if leverage < 0 or leverage != leverage.to_integral_value():
            raise ParamError("leverage")
        mode = MarginMode.ISOLATED if leverage > 0 else MarginMode.CROSS
        lever = int(leverage) if leverage > 0 else int(cross_limit or self._exchange.leverage(market))
        max_leverage = self._views.symbols.grid(symbol).rules.max_leverage
        if lever > max_leverage:
            raise gate_error("LEVERAGE_TOO_HIGH")
        if lever < 1:
            raise gate_error("LEVERAGE_TOO_LOW")
        try:
            if self._exchange.margin_mode(market) is not mode:
                self._exchange.set_margin_mode(market, mode)
            self._exchange.set_leverage(market, lever)
        except VenueSetupError:
            raise gate_error("POSITION_HOLDING", "Margin mode cannot change while a position or orders are open") \
                from None
        self._on_settings(market)
        now = self._clock.now()
        rows = self._views.positions(now, symbol, decimal=decimal_sizes(req.headers), holding=False)
        if self._exchange.position_mode() is PositionMode.HEDGE:
            return rows or [self._closed(symbol, side) for side in (PositionSide.LONG, PositionSide.SHORT)]
        return rows[0] if rows else self._closed(symbol, PositionSide.LONG)

    async def set_dual_mode(self, req: WireRequest) -> dict[str, Any]:
        query = Fields(req.query_params)
        wanted = flag(query.text("dual_mode"), "dual_mode")
        if wanted is None:
            raise ParamError("dual_mode", missing=True)
        mode = PositionMode.HEDGE if wanted else PositionMode.ONEWAY
        if self._exchange.position_mode() is not mode:
            if any(self._exchange.open_orders()):
                raise gate_error("ORDER_PENDING")
            try:
                self._exchange.set_position_mode(mode)
            except VenueSetupError:
                raise gate_error("POSITION_HOLDING") from None
        return self.account_row()
