"""Account endpoints of the KuCoin server: the account overview, positions, leverage, margin mode,
position mode, funding history, and the private WebSocket token (`bullet-private`).

Cross leverage (`POST /api/v2/changeCrossUserLeverage {symbol, leverage}`) answers `true`; a
leverage that is not a whole number from 1 to the contract's maximum is 330008. Switching the
margin mode (`/api/v2/position/changeMarginMode`) or the position mode
(`/api/v2/position/switchPositionMode {positionMode: "0" one-way | "1" hedge}`) with orders or
positions open is 330011. The funding history answers `{dataList, hasMore}`, newest first, paged by
`offset` (the last row's `id`) and filtered by `startAt` / `endAt` (ms).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pmm.connectors.common.numbers import ms
from pmm.connectors.common.server.ledger import Ledger
from pmm.connectors.common.server.wire import ParamError, WireRequest
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.server.dialect import kucoin_error
from pmm.connectors.kucoin_perpetual.server.views import Views, margin_wire, num8
from pmm.connectors.kucoin_perpetual.server.wire import num
from pmm.core.clock import Clock
from pmm.core.model import MarginMode, PositionMode, PositionSide
from pmm.errors import VenueSetupError
from pmm.sim.exchange import SimExchange

_MARGIN = {spec.MARGIN_CROSS: MarginMode.CROSS, spec.MARGIN_ISOLATED: MarginMode.ISOLATED}
_MODES = {spec.POSITION_MODE_ONE_WAY: PositionMode.ONEWAY, spec.POSITION_MODE_HEDGE: PositionMode.HEDGE}


class AccountHandlers:
    def __init__(self, exchange: SimExchange, views: Views, ledger: Ledger, clock: Clock,
                 bullet: Callable[[bool], dict[str, Any]], on_settings: Callable[[str], None]) -> None:
        self._exchange = exchange
        self._views = views
        self._ledger = ledger
        self._clock = clock
        self._bullet = bullet
        self._on_settings = on_settings  # market -> push its position after a change

    def _market(self, symbol: str | None) -> str:
        market = self._views.symbols.market(symbol or "")
        if market is None:
            raise kucoin_error(100011)
        return market

    async def bullet_private(self, req: WireRequest) -> dict[str, Any]:
        return self._bullet(True)

    async def overview(self, req: WireRequest) -> dict[str, Any]:
        return self._views.account(req.query_params.get("currency") or "USDT")

    async def positions(self, req: WireRequest) -> list[dict[str, Any]]:
        currency = req.query_params.get("currency")
        rows = self._views.positions(self._clock.now())
        return [r for r in rows if currency is None or r["settleCurrency"] == currency]

    async def position(self, req: WireRequest) -> Any:
        symbol = req.fields().required("symbol")
        market = self._market(symbol)
        rows = self._views.positions(self._clock.now(), symbol)
        if self._exchange.position_mode() is PositionMode.HEDGE:
            return rows
        return rows[0] if rows else self._views.position(None, market, PositionSide.LONG, self._clock.now())

    async def cross_leverage(self, req: WireRequest) -> bool:
        fields = req.fields()
        market = self._market(fields.required("symbol"))
        leverage = fields.decimal("leverage", required=True)
        assert leverage is not None
        rules = self._views.symbols.grid(self._views.symbols.symbol(market)).rules
        if leverage != leverage.to_integral_value() or not 1 <= leverage <= rules.max_leverage:
            raise kucoin_error(330008)
        try:
            self._exchange.set_leverage(market, int(leverage))
        except VenueSetupError:
            raise kucoin_error(330008) from None
        self._on_settings(market)
        return True

    async def get_cross_leverage(self, req: WireRequest) -> dict[str, Any]:
        symbol = req.fields().required("symbol")
        return {"symbol": symbol, "leverage": str(self._exchange.leverage(self._market(symbol)))}

    async def margin_mode(self, req: WireRequest) -> dict[str, Any]:
        symbol = req.fields().required("symbol")
        return {"symbol": symbol, "marginMode": margin_wire(self._exchange.margin_mode(self._market(symbol)))}

    async def change_margin_mode(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = fields.required("symbol")
        market = self._market(symbol)
        mode = fields.choice("marginMode", tuple(_MARGIN))
        if mode is None:
            raise ParamError("marginMode", missing=True)
        if self._exchange.margin_mode(market) is not _MARGIN[mode]:
            try:
                self._exchange.set_margin_mode(market, _MARGIN[mode])
            except VenueSetupError:
                raise kucoin_error(330011) from None
            self._on_settings(market)
        return {"symbol": symbol, "marginMode": mode}

    async def position_mode(self, req: WireRequest) -> dict[str, Any]:
        hedge = self._exchange.position_mode() is PositionMode.HEDGE
        return {"positionMode": int(spec.POSITION_MODE_HEDGE if hedge else spec.POSITION_MODE_ONE_WAY)}

    async def switch_position_mode(self, req: WireRequest) -> dict[str, Any]:
        wanted = req.fields().required("positionMode")
        if wanted not in _MODES:
            raise ParamError("positionMode")
        if self._exchange.position_mode() is not _MODES[wanted]:
            try:
                self._exchange.set_position_mode(_MODES[wanted])
            except VenueSetupError:
                raise kucoin_error(330011) from None
        return {"positionMode": int(wanted)}

    async def funding_history(self, req: WireRequest) -> dict[str, Any]:
        fields = req.fields()
        symbol = fields.required("symbol")
        market = self._market(symbol)
        start, end, offset = fields.integer("startAt"), fields.integer("endAt"), fields.integer("offset")
        limit = min(100, max(1, fields.integer("maxCount", 10) or 10))
        forward = fields.boolean("forward", False)
        bills = [b for b in self._ledger.bills if b.funding is not None and b.market == market]
        if not forward:
            bills.reverse()
        rows = []
        for bill in bills:
            pay = bill.funding
            assert pay is not None
            bill_id = int(bill.bill_id)
            if offset is not None and (bill_id <= offset if forward else bill_id >= offset):
                continue
            if (start is not None and pay.funding_time_ms < start) or (end is not None and pay.funding_time_ms > end):
                continue
            rows.append(self._funding_row(symbol, bill_id, pay))
        return {"dataList": rows[:limit], "hasMore": len(rows) > limit}

    def _funding_row(self, symbol: str, bill_id: int, pay: Any) -> dict[str, Any]:
        lots = self._views.symbols.lots(symbol, abs(pay.position_amount))
        mode = margin_wire(self._exchange.margin_mode(pay.market))
        return {"id": bill_id, "symbol": symbol, "timePoint": pay.funding_time_ms, "fundingRate": num(pay.rate),
                "markPrice": num(pay.mark_price), "positionQty": lots if pay.position_amount >= 0 else -lots,
                "positionCost": num8(abs(pay.position_amount) * pay.mark_price), "funding": num(pay.amount),
                "settleCurrency": pay.asset,
                "context": f'{{"marginMode": "{mode}", "positionSide": "BOTH"}}', "marginMode": mode}

    async def account_mode(self, req: WireRequest) -> dict[str, Any]:
        """ccxt's unified-account probe: this account is a classic one."""
        return {"selfAccountMode": "CLASSIC", "ts": ms(self._clock.now())}
