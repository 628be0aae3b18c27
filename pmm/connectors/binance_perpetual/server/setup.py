"""Account settings and the user-data-stream key of the Binance server: leverage, margin type,
position mode (one-way / hedge) and listenKey POST / PUT / DELETE (exchange_apis.md §A3, §A6).

Refusals carry Binance's codes: -4028 bad leverage, -4046 / -4059 "no need to change", -4047 /
-4048 margin type blocked by open orders / a position, -4067 / -4068 the same for position mode.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.constants import ErrorCode as E
from pmm.connectors.binance_perpetual.server.auth import RawParams
from pmm.connectors.binance_perpetual.server.codes import api_error, invalid, missing
from pmm.connectors.binance_perpetual.server.market import symbol_param
from pmm.connectors.binance_perpetual.server.orders import BinanceOrders
from pmm.connectors.binance_perpetual.server.user import ListenKeys, UserStreams
from pmm.connectors.binance_perpetual.server.wire import SymbolMap
from pmm.core.clock import Clock
from pmm.core.model import MarginMode, PositionMode
from pmm.errors import VenueSetupError
from pmm.sim.exchange import SimExchange

_SUCCESS = {"code": 200, "msg": "success"}
_MAX_NOTIONAL = "1000000000"


class SetupHandlers:
    """Leverage, margin type, position mode and listenKey endpoints."""

    def __init__(self, exchange: SimExchange, symbols: SymbolMap, desk: BinanceOrders, users: UserStreams,
                 keys: ListenKeys, clock: Clock) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._desk = desk
        self._users = users
        self._keys = keys
        self._clock = clock

    def _market(self, params: RawParams) -> tuple[str, str]:
        symbol = symbol_param(params, self._symbols)
        market = self._symbols.market(symbol)
        assert market is not None
        return symbol, market

    async def leverage(self, params: RawParams) -> Any:
        symbol, market = self._market(params)
        text = params.get("leverage")
        if text is None:
            raise missing("leverage")
        try:
            leverage = int(text)
        except ValueError:
            raise api_error(E.INVALID_LEVERAGE, leverage=text) from None
        try:
            self._exchange.set_leverage(market, leverage)
        except VenueSetupError:
            raise api_error(E.INVALID_LEVERAGE, leverage=text) from None
        self._users.publish_leverage(symbol, leverage, self._clock.now())
        return {"leverage": leverage, "maxNotionalValue": _MAX_NOTIONAL, "symbol": symbol}

    async def margin_type(self, params: RawParams) -> Any:
        symbol, market = self._market(params)
        text = (params.get("marginType") or "").upper()
        modes = {c.MARGIN_TYPE_ISOLATED: MarginMode.ISOLATED, c.MARGIN_TYPE_CROSSED: MarginMode.CROSS}
        if not text:
            raise missing("marginType")
        if text not in modes:
            raise invalid("marginType")
        mode = modes[text]
        if mode is self._exchange.margin_mode(market):
            raise api_error(E.NO_NEED_TO_CHANGE_MARGIN_TYPE)
        if self._desk.open_orders(symbol):
            raise api_error(E.THERE_EXISTS_OPEN_ORDERS)
        if any(p.market == market for p in self._exchange.positions()):
            raise api_error(E.THERE_EXISTS_QUANTITY)
        self._exchange.set_margin_mode(market, mode)
        return dict(_SUCCESS)

    async def set_position_mode(self, params: RawParams) -> Any:
        dual = params.flag("dualSidePosition")
        if dual is None:
            raise missing("dualSidePosition")
        mode = PositionMode.HEDGE if dual else PositionMode.ONEWAY
        if mode is self._exchange.position_mode():
            raise api_error(E.NO_NEED_TO_CHANGE_POSITION_SIDE)
        if self._desk.open_orders():
            raise api_error(E.POSITION_SIDE_CHANGE_EXISTS_OPEN_ORDERS)
        if self._exchange.positions():
            raise api_error(E.POSITION_SIDE_CHANGE_EXISTS_QUANTITY)
        self._exchange.set_position_mode(mode)
        return dict(_SUCCESS)

    async def get_position_mode(self, params: RawParams) -> Any:
        return {"dualSidePosition": self._exchange.position_mode() is PositionMode.HEDGE}

    async def new_listen_key(self, params: RawParams) -> Any:
        return {"listenKey": self._keys.create()}

    async def keepalive_listen_key(self, params: RawParams) -> Any:
        return {"listenKey": self._keys.keepalive(params.get(c.WS_LISTEN_KEY_PARAM))}

    async def close_listen_key(self, params: RawParams) -> Any:
        self._keys.delete(params.get(c.WS_LISTEN_KEY_PARAM))
        return {}
