"""The OKX server's endpoints: path, method, handler, signed or public, and OKX's request limit
(requests per 2 s per endpoint, orders for the batch endpoints; exchange_apis_more.md §G7; over it:
50011, HTTP 429).

Handlers are built here from the server's parts, so `app.py` stays the composition and this file
the list a reader checks against OKX's docs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmm.connectors.common.fault_injector import SkewedClock
from pmm.connectors.common.server.kit_server import Handler, Route
from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.server.account import AccountHandlers
from pmm.connectors.okx_perpetual.server.algo import AlgoHandlers
from pmm.connectors.okx_perpetual.server.market import MarketHandlers
from pmm.connectors.okx_perpetual.server.orders_in import OrderParser
from pmm.connectors.okx_perpetual.server.queries import QueryHandlers
from pmm.connectors.okx_perpetual.server.trade import TradeHandlers
from pmm.connectors.okx_perpetual.server.wire import id_maker

if TYPE_CHECKING:
    from pmm.connectors.okx_perpetual.server.app import OkxServer

_2S = 2.0
ORDERS_HISTORY_ARCHIVE_PATH = spec.ORDERS_HISTORY_PATH + "-archive"
ALGO_HISTORY_PATH = "/api/v5/trade/orders-algo-history"
TICKERS_PATH = "/api/v5/market/tickers"
LEVERAGE_INFO_PATH = "/api/v5/account/leverage-info"

# Batch endpoints whose limit counts orders, not requests.
COUNTED_IN_ORDERS = frozenset({spec.BATCH_ORDERS_PATH, spec.CANCEL_BATCH_PATH, spec.CANCEL_ALGOS_PATH})

LIMITS: dict[str, tuple[int, float]] = {
    spec.SERVER_TIME_PATH: (10, _2S), spec.INSTRUMENTS_PATH: (20, _2S), spec.BOOKS_PATH: (40, _2S),
    spec.TICKER_PATH: (20, _2S), TICKERS_PATH: (20, _2S), spec.TRADES_PATH: (100, _2S),
    spec.MARK_PRICE_PATH: (10, _2S), spec.INDEX_TICKERS_PATH: (20, _2S), spec.FUNDING_RATE_PATH: (10, _2S),
    spec.FUNDING_RATE_HISTORY_PATH: (10, _2S), spec.ASSET_CURRENCIES_PATH: (6, 1.0),
    spec.ORDER_PATH: (60, _2S), spec.BATCH_ORDERS_PATH: (300, _2S), spec.CANCEL_ORDER_PATH: (60, _2S),
    spec.CANCEL_BATCH_PATH: (300, _2S), spec.AMEND_ORDER_PATH: (60, _2S), spec.ORDERS_PENDING_PATH: (60, _2S),
    spec.ORDERS_HISTORY_PATH: (40, _2S), ORDERS_HISTORY_ARCHIVE_PATH: (20, _2S), spec.FILLS_PATH: (60, _2S),
    spec.FILLS_HISTORY_PATH: (10, _2S), spec.CANCEL_ALL_AFTER_PATH: (1, 1.0), spec.ALGO_ORDER_PATH: (20, _2S),
    spec.CANCEL_ALGOS_PATH: (20, _2S), spec.ALGO_PENDING_PATH: (20, _2S), ALGO_HISTORY_PATH: (20, _2S),
    spec.BALANCE_PATH: (10, _2S), spec.POSITIONS_PATH: (10, _2S), spec.ACCOUNT_CONFIG_PATH: (5, _2S),
    spec.SET_POSITION_MODE_PATH: (5, _2S), spec.SET_LEVERAGE_PATH: (20, _2S), LEVERAGE_INFO_PATH: (20, _2S),
    spec.TRADE_FEE_PATH: (5, _2S), spec.BILLS_PATH: (5, 1.0), spec.BILLS_ARCHIVE_PATH: (5, _2S),
}


def build(server: OkxServer, limits: dict[str, tuple[int, float]] | None) -> list[Route]:
    parser = OrderParser(server.exchange, server.symbols, server.desk)
    market = MarketHandlers(server.symbols, server.streams, SkewedClock(server.clock, server.faults))
    trade = TradeHandlers(server.desk, parser, server.faults, server.clock, server.new_order_id, server.dead_man)
    queries = QueryHandlers(server.desk, server.ledger, server.views, server.clock)
    algo = AlgoHandlers(server.exchange, server.triggers, parser, server.views, server.clock,
                        id_maker(800_000_000_000_000_000), server.streams.last_price)
    account = AccountHandlers(server.exchange, parser, server.views, server.clock, server.private.push_positions)
    public: list[tuple[str, str, Handler]] = [
        ("GET", spec.SERVER_TIME_PATH, market.time), ("GET", spec.INSTRUMENTS_PATH, market.instruments),
        ("GET", spec.BOOKS_PATH, market.books), ("GET", spec.TICKER_PATH, market.ticker),
        ("GET", TICKERS_PATH, market.tickers), ("GET", spec.TRADES_PATH, market.trades),
        ("GET", spec.MARK_PRICE_PATH, market.mark_price), ("GET", spec.INDEX_TICKERS_PATH, market.index_tickers),
        ("GET", spec.FUNDING_RATE_PATH, market.funding_rate),
        ("GET", spec.FUNDING_RATE_HISTORY_PATH, market.funding_rate_history),
    ]
    signed: list[tuple[str, str, Handler]] = [
        ("GET", spec.ASSET_CURRENCIES_PATH, market.currencies),
        ("POST", spec.ORDER_PATH, trade.place), ("POST", spec.BATCH_ORDERS_PATH, trade.place_batch),
        ("POST", spec.CANCEL_ORDER_PATH, trade.cancel), ("POST", spec.CANCEL_BATCH_PATH, trade.cancel_batch),
        ("POST", spec.AMEND_ORDER_PATH, trade.amend), ("POST", spec.CANCEL_ALL_AFTER_PATH, trade.cancel_all_after),
        ("GET", spec.ORDER_PATH, queries.order), ("GET", spec.ORDERS_PENDING_PATH, queries.pending),
        ("GET", spec.ORDERS_HISTORY_PATH, queries.history), ("GET", ORDERS_HISTORY_ARCHIVE_PATH, queries.history),
        ("GET", spec.FILLS_PATH, queries.fills), ("GET", spec.FILLS_HISTORY_PATH, queries.fills_history),
        ("GET", spec.BILLS_PATH, queries.bills), ("GET", spec.BILLS_ARCHIVE_PATH, queries.bills_archive),
        ("POST", spec.ALGO_ORDER_PATH, algo.place), ("POST", spec.CANCEL_ALGOS_PATH, algo.cancel),
        ("GET", spec.ALGO_PENDING_PATH, algo.pending), ("GET", ALGO_HISTORY_PATH, algo.history),
        ("GET", spec.BALANCE_PATH, account.balance), ("GET", spec.POSITIONS_PATH, account.positions),
        ("GET", spec.ACCOUNT_CONFIG_PATH, account.config),
        ("POST", spec.SET_POSITION_MODE_PATH, account.set_position_mode),
        ("POST", spec.SET_LEVERAGE_PATH, account.set_leverage), ("GET", LEVERAGE_INFO_PATH, account.leverage_info),
        ("GET", spec.TRADE_FEE_PATH, account.trade_fee),
    ]
    table = limits or {}
    return ([Route(m, p, h, signed=False, limit=table.get(p)) for m, p, h in public]
            + [Route(m, p, h, signed=True, limit=table.get(p)) for m, p, h in signed])
