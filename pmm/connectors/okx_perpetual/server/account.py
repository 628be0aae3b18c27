"""Account endpoints of the OKX server (docs-v5 "Trading account"): balance, positions, account
configuration, position mode, leverage (set and read) and fee rates.

The simulated account is in Futures mode (`acctLv` 2) with a user id, trade permission and the
simulator's position mode. `set-position-mode` with orders or positions open is 59000.
`set-leverage` takes `lever` as a string or a JSON number (ccxt sends a number); a leverage that
is not a whole number from 1 to the market's maximum is 59102 / 51000; its `mgnMode` becomes the
market's margin mode (59000 while something is open there in the other mode). The answer echoes
`{lever, mgnMode, instId, posSide}`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pmm.connectors.common.numbers import plain
from pmm.connectors.common.server.wire import ParamError, WireRequest
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.server.dialect import okx_error
from pmm.connectors.okx_perpetual.server.orders_in import OrderParser
from pmm.connectors.okx_perpetual.server.private import UID
from pmm.connectors.okx_perpetual.server.views import Views
from pmm.connectors.okx_perpetual.server.wire import ms_text, pos_mode_wire
from pmm.core.clock import Clock
from pmm.core.model import MarginMode, PositionMode
from pmm.errors import VenueSetupError
from pmm.sim.exchange import SimExchange

_MODES = {spec.POS_MODE_NET: PositionMode.ONEWAY, spec.POS_MODE_HEDGE: PositionMode.HEDGE}
_MARGIN = {spec.MGN_MODE_CROSS: MarginMode.CROSS, spec.MGN_MODE_ISOLATED: MarginMode.ISOLATED}


class AccountHandlers:
    """The account's balances, positions and settings."""

    def __init__(self, exchange: SimExchange, parser: OrderParser, views: Views, clock: Clock,
                 on_settings: Callable[[str], None]) -> None:
        self._exchange = exchange
        self._parser = parser
        self._views = views
        self._clock = clock
        self._on_settings = on_settings  # market -> push its positions after a change

    async def balance(self, req: WireRequest) -> list[dict[str, Any]]:
        wanted = req.fields().text("ccy")
        return [self._views.balance(self._clock.now(), set(wanted.split(",")) if wanted else None)]

    async def positions(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        if fields.text("instType") not in (None, spec.INST_TYPE):
            return []
        inst_ids, pos_ids = fields.text("instId"), fields.text("posId")
        rows = self._views.positions(self._clock.now())
        return [r for r in rows if (inst_ids is None or r["instId"] in inst_ids.split(","))
                and (pos_ids is None or r["posId"] in pos_ids.split(","))]

    async def config(self, req: WireRequest) -> list[dict[str, Any]]:
        quotes = sorted({self._views.symbols.grid(s).rules.quote for s in self._views.symbols.symbols()})
        return [{
            "acctLv": "2", "acctStpMode": "cancel_maker", "autoLoan": False, "ctIsoMode": "automatic",
            "enableSpotBorrow": False, "greeksType": "PA", "feeType": "0", "ip": "", "type": "0", "kycLv": "3",
            "label": "pmm-sim", "level": "Lv1", "levelTmp": "", "liquidationGear": "-1", "mainUid": UID,
            "mgnIsoMode": "automatic", "opAuth": "1", "perm": "read_only,trade",
            "posMode": pos_mode_wire(self._exchange.position_mode()), "roleType": "0",
            "spotBorrowAutoRepay": False, "spotOffsetType": "", "spotRoleType": "0", "spotTraderInsts": [],
            "stgyType": "0", "traderInsts": [], "uid": UID, "settleCcy": quotes[0] if quotes else "USDT",
            "settleCcyList": quotes,
        }]

    async def set_position_mode(self, req: WireRequest) -> list[dict[str, Any]]:
        pos_mode = req.fields().required("posMode")
        if pos_mode not in _MODES:
            raise ParamError("posMode")
        try:
            self._exchange.set_position_mode(_MODES[pos_mode])
        except VenueSetupError:
            raise okx_error(59000) from None
        return [{"posMode": pos_mode}]

    async def set_leverage(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        if fields.text("instId") is None:
            raise okx_error(51000, "Parameter instId error: the pmm OKX simulator sets leverage per instrument "
                                   "(instId), not per currency")
        symbol = self._parser.symbol(fields)
        market = self._views.symbols.market(symbol)
        assert market is not None
        lever = fields.decimal("lever", required=True)
        assert lever is not None
        mgn_mode = fields.required("mgnMode")
        if mgn_mode not in _MARGIN:
            raise ParamError("mgnMode")
        if lever != lever.to_integral_value() or lever < 1:
            raise ParamError("lever")
        if lever > self._views.symbols.grid(symbol).rules.max_leverage:
            raise okx_error(59102)
        try:
            if self._exchange.margin_mode(market) is not _MARGIN[mgn_mode]:
                self._exchange.set_margin_mode(market, _MARGIN[mgn_mode])
            self._exchange.set_leverage(market, int(lever))
        except VenueSetupError:
            raise okx_error(59000) from None
        self._on_settings(market)
        return [{"lever": plain(lever.normalize()), "mgnMode": mgn_mode, "instId": symbol,
                 "posSide": fields.text("posSide") or "net"}]

    async def leverage_info(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        mgn_mode = fields.required("mgnMode")
        rows = []
        for symbol in fields.required("instId").split(","):
            market = self._views.symbols.market(symbol)
            if market is None:
                raise okx_error(51001)
            sides = ("net",) if self._exchange.position_mode() is PositionMode.ONEWAY else ("long", "short")
            rows += [{"instId": symbol, "mgnMode": mgn_mode, "posSide": side,
                      "lever": str(self._exchange.leverage(market))} for side in sides]
        return rows

    async def trade_fee(self, req: WireRequest) -> list[dict[str, Any]]:
        fields = req.fields()
        fields.required("instType")
        settings = self._exchange.settings
        maker, taker = plain(-settings.maker_fee), plain(-settings.taker_fee)  # negative = charged
        return [{"category": "1", "delivery": "", "exercise": "", "instType": fields.text("instType"),
                 "level": "Lv1", "maker": maker, "makerU": maker, "makerUSDC": maker, "taker": taker,
                 "takerU": taker, "takerUSDC": taker, "ruleType": "normal", "ts": ms_text(self._clock.now()),
                 "fiat": []}]
