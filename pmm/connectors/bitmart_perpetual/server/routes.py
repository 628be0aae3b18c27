"""The BitMart server's endpoints: path, method, handler, auth kind and BitMart's request limit
(requests per 2 s; exchange_apis_more.md §K5; over it: 30013, HTTP 429). Private GETs are KEYED,
POSTs SIGNED (both go through `dialect.verify`; ccxt signs its GETs too). ccxt 4.5.70's `bitmart`
(the ccxt pmm pins) also reads the spot currency and symbol lists with its markets: served, empty.

Handlers are built here from the server's parts, so `app.py` stays the composition and this file
the list a reader checks against BitMart's docs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.server.account import AccountHandlers
from pmm.connectors.bitmart_perpetual.server.market import MarketHandlers
from pmm.connectors.bitmart_perpetual.server.orders_in import OrderParser
from pmm.connectors.bitmart_perpetual.server.trade import TradeHandlers
from pmm.connectors.bitmart_perpetual.spot_feed import SYMBOLS_DETAILS_PATH
from pmm.connectors.common.fault_injector import SkewedClock
from pmm.connectors.common.server.kit_server import Handler, Route

if TYPE_CHECKING:
    from pmm.connectors.bitmart_perpetual.server.app import BitmartServer

_2S = 2.0

LIMITS: dict[str, tuple[int, float]] = {
    spec.SERVER_TIME_PATH: (12, _2S), spec.DETAILS_PATH: (12, _2S), spec.DEPTH_PATH: (12, _2S),
    spec.FUNDING_RATE_PATH: (12, _2S), spec.FUNDING_RATE_HISTORY_PATH: (12, _2S), spec.MARKET_TRADE_PATH: (12, _2S),
    spec.SUBMIT_ORDER_PATH: (24, _2S), spec.CANCEL_ORDER_PATH: (40, _2S), spec.CANCEL_ORDERS_PATH: (2, _2S),
    spec.CANCEL_ALL_AFTER_PATH: (4, _2S), spec.SUBMIT_PLAN_ORDER_PATH: (24, _2S),
    spec.CANCEL_PLAN_ORDER_PATH: (40, _2S), spec.CURRENT_PLAN_ORDER_PATH: (50, _2S), spec.ORDER_PATH: (50, _2S),
    spec.OPEN_ORDERS_PATH: (50, _2S), spec.ORDER_HISTORY_PATH: (6, _2S), spec.TRADES_PATH: (6, _2S),
    spec.TRANSACTION_HISTORY_PATH: (6, _2S), spec.ASSETS_PATH: (12, _2S), spec.POSITION_PATH: (6, _2S),
    spec.POSITION_V2_PATH: (6, _2S), spec.SUBMIT_LEVERAGE_PATH: (24, _2S), spec.SET_POSITION_MODE_PATH: (2, _2S),
    spec.GET_POSITION_MODE_PATH: (2, _2S), spec.TRADE_FEE_PATH: (2, _2S),
}


def build(server: BitmartServer, limits: dict[str, tuple[int, float]] | None) -> list[Route]:
    parser = OrderParser(server.exchange, server.symbols, server.desk)
    market = MarketHandlers(server.symbols, server.streams, SkewedClock(server.clock, server.faults))
    trade = TradeHandlers(server.desk, parser, server.faults, server.clock, server.new_order_id, server.dead_man_of,
                          server.triggers, server.views)
    account = AccountHandlers(server.exchange, server.desk, server.ledger, parser, server.views, server.clock,
                              server.private.push_positions)
    public: list[tuple[str, str, Handler]] = [
        ("GET", spec.SERVER_TIME_PATH, market.time), ("GET", spec.DETAILS_PATH, market.details),
        ("GET", spec.DEPTH_PATH, market.depth), ("GET", spec.FUNDING_RATE_PATH, market.funding_rate),
        ("GET", spec.FUNDING_RATE_HISTORY_PATH, market.funding_rate_history),
        ("GET", spec.MARKET_TRADE_PATH, market.market_trades),
        ("GET", spec.CURRENCIES_PATH, market.currencies), ("GET", SYMBOLS_DETAILS_PATH, market.spot_symbols),
    ]
    private: list[tuple[str, str, Handler]] = [
        ("POST", spec.SUBMIT_ORDER_PATH, trade.submit), ("POST", spec.CANCEL_ORDER_PATH, trade.cancel),
        ("POST", spec.CANCEL_ORDERS_PATH, trade.cancel_all),
        ("POST", spec.CANCEL_ALL_AFTER_PATH, trade.cancel_all_after),
        ("POST", spec.SUBMIT_PLAN_ORDER_PATH, trade.submit_plan),
        ("POST", spec.CANCEL_PLAN_ORDER_PATH, trade.cancel_plan),
        ("GET", spec.CURRENT_PLAN_ORDER_PATH, trade.current_plans),
        ("GET", spec.ORDER_PATH, account.order), ("GET", spec.OPEN_ORDERS_PATH, account.open_orders),
        ("GET", spec.ORDER_HISTORY_PATH, account.order_history), ("GET", spec.TRADES_PATH, account.trades),
        ("GET", spec.TRANSACTION_HISTORY_PATH, account.transactions), ("GET", spec.ASSETS_PATH, account.assets),
        ("GET", spec.POSITION_PATH, account.positions), ("GET", spec.POSITION_V2_PATH, account.positions),
        ("GET", spec.TRADE_FEE_PATH, account.fee_rate),
        ("POST", spec.SUBMIT_LEVERAGE_PATH, account.submit_leverage),
        ("POST", spec.SET_POSITION_MODE_PATH, account.set_position_mode),
        ("GET", spec.GET_POSITION_MODE_PATH, account.get_position_mode),
    ]
    table = limits or {}
    return ([Route(m, p, h, signed=False, limit=table.get(p)) for m, p, h in public]
            + [Route(m, p, h, signed=True, limit=table.get(p)) for m, p, h in private])
