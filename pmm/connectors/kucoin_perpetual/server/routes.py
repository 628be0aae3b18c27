"""The KuCoin server's endpoints: method, path, handler, signed or public. Fixed paths come before
the `{orderId}` ones (aiohttp matches in order). KuCoin counts requests per account in one futures
pool (2,000 per 30 s at VIP0, weighted per endpoint; §I5); the server counts each request as 1
(`app.py` answers the `gw-ratelimit-*` headers and refuses with 429000 past the pool).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmm.connectors.common.fault_injector import SkewedClock
from pmm.connectors.common.server.kit_server import Handler, Route
from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.server.account import AccountHandlers
from pmm.connectors.kucoin_perpetual.server.market import MarketHandlers
from pmm.connectors.kucoin_perpetual.server.orders import OrderHandlers

if TYPE_CHECKING:
    from pmm.connectors.kucoin_perpetual.server.app import KucoinServer

# What independent clients read while loading markets (ccxt: spot, margin, HF and UTA lists).
SIDE_CALLS = ("/api/v3/currencies", "/api/v3/margin/symbols", "/api/v1/isolated/symbols", "/api/v1/hf/accounts/opened",
              "/api/v2/symbols", "/api/v1/currencies")
SIGNED_SIDE_CALLS = ("/api/v3/margin/symbols", "/api/v1/isolated/symbols", "/api/v1/hf/accounts/opened")
ACCOUNT_MODE_PATH = "/api/ua/v1/account/mode"


def build(server: KucoinServer) -> list[Route]:
    # The venue's clock as it tells it (`/api/v1/timestamp`): skewed with the signature check's.
    market = MarketHandlers(server.exchange, server.symbols, server.streams, SkewedClock(server.clock, server.faults),
                            server.bullet)
    orders = OrderHandlers(server.exchange, server.symbols, server.desk, server.triggers, server.ledger, server.views,
                           server.faults, server.clock, server.new_order_id, server.streams.last_price)
    account = AccountHandlers(server.exchange, server.views, server.ledger, server.clock, server.bullet,
                              server.private.push_position)
    public: list[tuple[str, str, Handler]] = [
        ("GET", spec.SERVER_TIME_PATH, market.time), ("GET", "/api/v1/status", market.status),
        ("POST", spec.BULLET_PUBLIC_PATH, market.bullet_public),
        ("GET", spec.CONTRACTS_ACTIVE_PATH, market.contracts),
        ("GET", "/api/v1/contracts/{symbol}", market.contract_of),
        ("GET", spec.LEVEL2_SNAPSHOT_PATH, market.snapshot), ("GET", "/api/v1/level2/depth20", market.depth),
        ("GET", "/api/v1/level2/depth100", market.depth), ("GET", spec.TICKER_PATH, market.ticker),
        ("GET", "/api/v1/allTickers", market.tickers), ("GET", spec.TRADE_HISTORY_PATH, market.trade_history),
        ("GET", "/api/v1/mark-price/{symbol}/current", market.mark_price),
        ("GET", "/api/v1/funding-rate/{symbol}/current", market.funding_rate),
        ("GET", spec.FUNDING_RATES_PATH, market.funding_rates),
        *(("GET", path, market.empty_list) for path in SIDE_CALLS if path not in SIGNED_SIDE_CALLS),
    ]
    signed: list[tuple[str, str, Handler]] = [
        ("POST", spec.BULLET_PRIVATE_PATH, account.bullet_private), ("POST", "/api/v2/bullet-private",
                                                                     account.bullet_private),
        ("GET", ACCOUNT_MODE_PATH, account.account_mode),
        *(("GET", path, market.empty_list) for path in SIGNED_SIDE_CALLS),
        ("POST", spec.ORDERS_PATH, orders.place), ("GET", spec.ORDERS_PATH, orders.orders),
        ("DELETE", spec.ORDERS_PATH, orders.cancel_all), ("DELETE", spec.CANCEL_ALL_V3_PATH, orders.cancel_all),
        ("GET", "/api/v1/orders/byClientOid", orders.order_by_client_oid),
        ("GET", "/api/v1/orders/client-order/{clientOid}", orders.order_by_client_oid),
        ("DELETE", "/api/v1/orders/client-order/{clientOid}", orders.cancel_by_client_oid),
        ("GET", "/api/v1/orders/{orderId}", orders.order_by_id), ("DELETE", "/api/v1/orders/{orderId}",
                                                                  orders.cancel_by_id),
        ("GET", spec.STOP_ORDERS_PATH, orders.stop_orders), ("DELETE", spec.STOP_ORDERS_PATH, orders.cancel_all_stops),
        ("GET", spec.FILLS_PATH, orders.fills), ("GET", "/api/v1/recentFills", orders.recent_fills),
        ("GET", spec.ACCOUNT_OVERVIEW_PATH, account.overview), ("GET", spec.POSITIONS_PATH, account.positions),
        ("GET", spec.POSITION_PATH, account.position),
        ("POST", spec.CROSS_LEVERAGE_PATH, account.cross_leverage),
        ("GET", spec.GET_CROSS_LEVERAGE_PATH, account.get_cross_leverage),
        ("GET", spec.MARGIN_MODE_PATH, account.margin_mode),
        ("POST", spec.CHANGE_MARGIN_MODE_PATH, account.change_margin_mode),
        ("GET", spec.POSITION_MODE_PATH, account.position_mode),
        ("POST", spec.SWITCH_POSITION_MODE_PATH, account.switch_position_mode),
        ("GET", spec.FUNDING_HISTORY_PATH, account.funding_history),
    ]
    return ([Route(m, p, h, signed=False) for m, p, h in public]
            + [Route(m, p, h, signed=True) for m, p, h in signed])
