"""Account endpoints of the Bitget server (Bitget "Account", "Position"): the accounts list, one
account's settings, positions, leverage, margin mode, position mode, and the bills.

`set-leverage` changes the symbol's leverage (`holdSide` is accepted and applies to both sides:
the simulator keeps one leverage per market); above the contract's `maxLever` is 43050.
`set-margin-mode` and `set-position-mode` are refused with 45117 while something is open (the
simulator's rule, Bitget's code). Bills are newest first, filtered by `businessType` and
`symbol`, within `startTime`..`endTime` (30 days at most) and paged by `idLessThan`; a funding
bill's `cTime` is the funding time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.server.dialect import bitget_error
from pmm.connectors.bitget_perpetual.server.orders_in import OrderParser
from pmm.connectors.bitget_perpetual.server.trade import page
from pmm.connectors.bitget_perpetual.server.views import Views, margin_wire
from pmm.connectors.bitget_perpetual.server.wire import lower, pos_mode_wire
from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.ledger import Bill, Ledger
from pmm.connectors.common.server.wire import ParamError, WireRequest
from pmm.core.clock import Clock
from pmm.core.model import MarginMode, PositionMode
from pmm.errors import VenueSetupError
from pmm.sim.exchange import SimExchange

_MODES = {spec.POS_MODE_ONE_WAY: PositionMode.ONEWAY, spec.POS_MODE_HEDGE: PositionMode.HEDGE}
_MARGIN = {spec.MARGIN_CROSSED: MarginMode.CROSS, spec.MARGIN_ISOLATED: MarginMode.ISOLATED}


def _bill_ms(bill: Bill) -> int:
    return bill.funding.funding_time_ms if bill.funding is not None else ms(bill.ts)


class AccountHandlers:
    """The account's balances, positions, settings and bills."""

    def __init__(self, exchange: SimExchange, parser: OrderParser, views: Views, ledger: Ledger, clock: Clock,
                 on_settings: Callable[[str], None]) -> None:
        self._exchange = exchange
        self._parser = parser
        self._views = views
        self._ledger = ledger
        self._clock = clock
        self._on_settings = on_settings  # market -> push its positions after a change

    def _market(self, symbol: str) -> str:
        market = self._views.symbols.market(symbol)
        assert market is not None
        return market

    async def accounts(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        if fields.required("productType").upper() != spec.PRODUCT_TYPE:
            return []
        return self._views.accounts()

    async def account(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        symbol = self._parser.symbol(fields)
        market = self._market(symbol)
        coin = fields.required("marginCoin").upper()
        balance = next((b for b in self._exchange.balances() if b.asset == coin), None)
        if balance is None:
            raise bitget_error(40020, "marginCoin")
        lever = str(self._exchange.leverage(market))
        return {**self._views.account(balance), "crossedMarginLeverage": lever, "isolatedLongLever": lever,
                "isolatedShortLever": lever, "marginMode": margin_wire(self._exchange.margin_mode(market)),
                "posMode": pos_mode_wire(self._exchange.position_mode())}

    async def all_positions(self, req: WireRequest) -> list[dict[str, Any]]:
        self._parser.product_type(req.fields())
        return self._views.positions(self._clock.now())

    async def single_position(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        self._parser.product_type(fields)
        return self._views.positions(self._clock.now(), self._parser.symbol(fields))

    def _settings(self, symbol: str) -> dict[str, Any]:
        market = self._market(symbol)
        lever = str(self._exchange.leverage(market))
        return {"symbol": symbol, "marginCoin": spec.MARGIN_COIN, "longLeverage": lever, "shortLeverage": lever,
                "crossMarginLeverage": lever, "marginMode": margin_wire(self._exchange.margin_mode(market))}

    async def set_leverage(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        symbol = self._parser.symbol(fields)
        market = self._market(symbol)
        lever = fields.decimal("leverage", required=True)
        assert lever is not None
        if lever != lever.to_integral_value() or lever < 1:
            raise ParamError("leverage")
        if lower(fields.text("holdSide")) not in (None, "long", "short"):
            raise ParamError("holdSide")
        if lever > self._views.symbols.grid(symbol).rules.max_leverage:
            raise bitget_error(43050)
        try:
            self._exchange.set_leverage(market, int(lever))
        except VenueSetupError:
            raise bitget_error(40730) from None
        self._on_settings(market)
        return self._settings(symbol)

    async def set_margin_mode(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        symbol = self._parser.symbol(fields)
        market = self._market(symbol)
        mode = lower(fields.required("marginMode"))
        if mode not in _MARGIN:
            raise ParamError("marginMode")
        if self._exchange.margin_mode(market) is not _MARGIN[mode]:
            try:
                self._exchange.set_margin_mode(market, _MARGIN[mode])
            except VenueSetupError:
                raise bitget_error(45117) from None
            self._on_settings(market)
        return self._settings(symbol)

    async def set_position_mode(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        pos_mode = lower(fields.required("posMode"))
        if pos_mode not in _MODES:
            raise ParamError("posMode")
        try:
            self._exchange.set_position_mode(_MODES[pos_mode])
        except VenueSetupError:
            raise bitget_error(45117) from None
        return {"posMode": pos_mode}

    async def bills(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        self._parser.product_type(fields)
        symbol, business = fields.text("symbol"), fields.text("businessType")
        start, end = fields.integer("startTime"), fields.integer("endTime")
        if start is not None and end is not None and end - start > spec.BILL_SPAN_MS:
            raise bitget_error(40808, msg="Parameter verification exception the interval between startTime and "
                                          "endTime should be <= 30 days")
        rows = []
        for bill in reversed(self._ledger.bills):
            view = self._views.bill(bill)
            if (symbol is None or view["symbol"] == symbol.upper()) and (
                    business is None or view["businessType"] == business):
                rows.append((bill, view))
        got, end_id = page(rows, fields, lambda r: r[0].bill_id, lambda r: _bill_ms(r[0]), ms(self._clock.now()))
        return {"bills": [view for _, view in got], "endId": end_id or None}
