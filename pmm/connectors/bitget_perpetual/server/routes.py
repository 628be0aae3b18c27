"""The Bitget server's endpoints: path, method, handler, signed or public, and Bitget's request
limit (requests per second per endpoint, exchange_apis_more.md §J5; over it: code 429, HTTP 429).

Handlers are built here from the server's parts, so `app.py` stays the composition and this file
the list a reader checks against Bitget's docs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.server.account import AccountHandlers
from pmm.connectors.bitget_perpetual.server.market import MarketHandlers
from pmm.connectors.bitget_perpetual.server.orders_in import OrderParser
from pmm.connectors.bitget_perpetual.server.plan import PlanHandlers
from pmm.connectors.bitget_perpetual.server.trade import TradeHandlers
from pmm.connectors.bitget_perpetual.server.wire import id_maker
from pmm.connectors.common.fault_injector import SkewedClock
from pmm.connectors.common.server.kit_server import Handler, Route

if TYPE_CHECKING:
    from pmm.connectors.bitget_perpetual.server.app import BitgetServer

_1S = 1.0
SPOT_COINS_PATH = "/api/v2/spot/public/coins"
MARGIN_CURRENCIES_PATH = "/api/v2/margin/currencies"
# bitget-api-client reads its bills here (undocumented; the documented path is spec.BILL_PATH)
ACCOUNT_BILL_ALIAS_PATH = "/api/v2/mix/account/account-bill"

LIMITS: dict[str, tuple[int, float]] = {
    spec.SERVER_TIME_PATH: (20, _1S), spec.CONTRACTS_PATH: (20, _1S), spec.MERGE_DEPTH_PATH: (20, _1S),
    spec.TICKER_PATH: (20, _1S), spec.TICKERS_PATH: (20, _1S), spec.RECENT_FILLS_PATH: (20, _1S),
    spec.FILLS_HISTORY_MARKET_PATH: (10, _1S), spec.SYMBOL_PRICE_PATH: (20, _1S),
    spec.CURRENT_FUND_RATE_PATH: (20, _1S), spec.FUNDING_TIME_PATH: (20, _1S), spec.HISTORY_FUND_RATE_PATH: (20, _1S),
    spec.PLACE_ORDER_PATH: (10, _1S), spec.CANCEL_ORDER_PATH: (10, _1S), spec.BATCH_CANCEL_PATH: (10, _1S),
    spec.CANCEL_ALL_PATH: (10, _1S), spec.ORDER_DETAIL_PATH: (10, _1S), spec.ORDERS_PENDING_PATH: (10, _1S),
    spec.ORDERS_HISTORY_PATH: (10, _1S), spec.FILLS_PATH: (10, _1S), spec.FILL_HISTORY_PATH: (10, _1S),
    spec.PLACE_TPSL_PATH: (10, _1S),
    spec.PLACE_PLAN_PATH: (10, _1S), spec.CANCEL_PLAN_PATH: (10, _1S), spec.PLAN_PENDING_PATH: (10, _1S),
    spec.ACCOUNTS_PATH: (10, _1S), spec.ACCOUNT_PATH: (10, _1S), spec.ALL_POSITION_PATH: (5, _1S),
    spec.SINGLE_POSITION_PATH: (10, _1S), spec.SET_LEVERAGE_PATH: (5, _1S), spec.SET_MARGIN_MODE_PATH: (5, _1S),
    spec.SET_POSITION_MODE_PATH: (5, _1S), spec.BILL_PATH: (10, _1S),
}


def build(server: BitgetServer, limits: dict[str, tuple[int, float]] | None) -> list[Route]:
    parser = OrderParser(server.exchange, server.symbols, server.desk)
    market = MarketHandlers(server.symbols, server.streams, server.exchange.settings,
                            SkewedClock(server.clock, server.faults))
    trade = TradeHandlers(server.desk, parser, server.symbols, server.views, server.ledger, server.faults,
                          server.clock, server.new_order_id)
    plan = PlanHandlers(server.triggers, parser, server.views, server.clock, id_maker(1_400_000_000_000_000_000),
                        server.streams.last_price)
    account = AccountHandlers(server.exchange, parser, server.views, server.ledger, server.clock,
                              server.private.push_positions)
    public: list[tuple[str, str, Handler]] = [
        ("GET", spec.SERVER_TIME_PATH, market.time), ("GET", spec.CONTRACTS_PATH, market.contracts),
        ("GET", spec.MERGE_DEPTH_PATH, market.merge_depth), ("GET", spec.TICKER_PATH, market.ticker),
        ("GET", spec.TICKERS_PATH, market.tickers), ("GET", spec.RECENT_FILLS_PATH, market.fills),
        ("GET", spec.FILLS_HISTORY_MARKET_PATH, market.fills), ("GET", spec.SYMBOL_PRICE_PATH, market.symbol_price),
        ("GET", spec.CURRENT_FUND_RATE_PATH, market.current_fund_rate),
        ("GET", spec.FUNDING_TIME_PATH, market.funding_time),
        ("GET", spec.HISTORY_FUND_RATE_PATH, market.history_fund_rate),
        ("GET", SPOT_COINS_PATH, market.empty), ("GET", spec.SPOT_SYMBOLS_PATH, market.empty),
        ("GET", MARGIN_CURRENCIES_PATH, market.empty),
    ]
    signed: list[tuple[str, str, Handler]] = [
        ("POST", spec.PLACE_ORDER_PATH, trade.place), ("POST", spec.CANCEL_ORDER_PATH, trade.cancel),
        ("POST", spec.BATCH_CANCEL_PATH, trade.batch_cancel), ("POST", spec.CANCEL_ALL_PATH, trade.cancel_all),
        ("GET", spec.ORDER_DETAIL_PATH, trade.detail), ("GET", spec.ORDERS_PENDING_PATH, trade.pending),
        ("GET", spec.ORDERS_HISTORY_PATH, trade.history), ("GET", spec.FILLS_PATH, trade.fills),
        ("GET", spec.FILL_HISTORY_PATH, trade.fills),
        ("POST", spec.PLACE_PLAN_PATH, plan.place), ("POST", spec.CANCEL_PLAN_PATH, plan.cancel),
        ("POST", spec.PLACE_TPSL_PATH, plan.place_tpsl),
        ("GET", spec.PLAN_PENDING_PATH, plan.pending),
        ("GET", spec.ACCOUNTS_PATH, account.accounts), ("GET", spec.ACCOUNT_PATH, account.account),
        ("GET", spec.ALL_POSITION_PATH, account.all_positions),
        ("GET", spec.SINGLE_POSITION_PATH, account.single_position),
        ("POST", spec.SET_LEVERAGE_PATH, account.set_leverage),
        ("POST", spec.SET_MARGIN_MODE_PATH, account.set_margin_mode),
        ("POST", spec.SET_POSITION_MODE_PATH, account.set_position_mode), ("GET", spec.BILL_PATH, account.bills),
        ("GET", ACCOUNT_BILL_ALIAS_PATH, account.bills),
    ]
    table = limits or {}
    return ([Route(m, p, h, signed=False, limit=table.get(p)) for m, p, h in public]
            + [Route(m, p, h, signed=True, limit=table.get(p)) for m, p, h in signed])
