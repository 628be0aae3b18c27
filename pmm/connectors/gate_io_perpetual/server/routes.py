"""The Gate server's endpoints: path, method, handler, signed or public, and Gate's request limit
(exchange_apis_more.md §H5: public 200 per 10 s per endpoint, order placement 100 per second,
cancels 200 per second, other private endpoints 200 per 10 s; over it: TOO_MANY_REQUESTS, HTTP 429).

Futures paths name the settle currency: `usdt`, or `USDT` as the official SDK writes it; both are
served. Handlers are built here from the server's parts, so `app.py` stays the composition and
this file the list a reader checks against Gate's docs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmm.connectors.common.fault_injector import SkewedClock
from pmm.connectors.common.server.kit_server import Handler, Route
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.server.account import AccountHandlers
from pmm.connectors.gate_io_perpetual.server.market import MarketHandlers
from pmm.connectors.gate_io_perpetual.server.orders_in import OrderParser
from pmm.connectors.gate_io_perpetual.server.price_orders import PriceOrderHandlers
from pmm.connectors.gate_io_perpetual.server.trade import TradeHandlers
from pmm.connectors.gate_io_perpetual.server.wire import id_maker

if TYPE_CHECKING:
    from pmm.connectors.gate_io_perpetual.server.app import GateServer

PUBLIC_LIMIT = (200, 10.0)
PRIVATE_LIMIT = (200, 10.0)
PLACE_LIMIT = (100, 1.0)
CANCEL_LIMIT = (200, 1.0)
# Endpoints whose success is 201 Created (a new order, a new price-triggered order).
CREATED_TAILS = ("/orders", "/price_orders")
# The lists ccxt reads with its markets, answered empty: the simulated venue has USDT perpetuals only.
CCXT_MARKET_LISTS = ("/spot/currencies", "/spot/currency_pairs", "/margin/currency_pairs", "/futures/btc/contracts",
                     "/delivery/usdt/contracts", "/delivery/btc/contracts", "/options/underlyings")


def futures_paths(tail: str) -> list[str]:
    """A futures path for both spellings of the settle currency."""
    return [f"{spec.API}/futures/{settle}{tail}" for settle in (spec.SETTLE, spec.SETTLE.upper())]


def build(server: GateServer, limits: bool) -> list[Route]:
    parser = OrderParser(server.exchange, server.symbols, server.desk)
    market = MarketHandlers(server.exchange, server.symbols, server.streams, SkewedClock(server.clock, server.faults))
    trade = TradeHandlers(server.desk, parser, server.ledger, server.views, server.faults, server.clock,
                          server.new_order_id, server.dead_man)
    account = AccountHandlers(server.exchange, parser, server.views, server.clock, server.private.totals,
                              server.private.push_positions)
    stops = PriceOrderHandlers(server.exchange, server.triggers, parser, server.views, server.clock,
                               id_maker(58_000_000))
    public: list[tuple[str, str, Handler]] = [
        ("GET", spec.SERVER_TIME_PATH, market.time),
        *[("GET", f"{spec.API}{path}", market.empty) for path in CCXT_MARKET_LISTS],
        *[("GET", p, market.contracts) for p in futures_paths("/contracts")],
        *[("GET", p, market.contract) for p in futures_paths("/contracts/{contract}")],
        *[("GET", p, market.order_book) for p in futures_paths("/order_book")],
        *[("GET", p, market.trades) for p in futures_paths("/trades")],
        *[("GET", p, market.tickers) for p in futures_paths("/tickers")],
        *[("GET", p, market.funding_rate) for p in futures_paths("/funding_rate")],
    ]
    signed: list[tuple[str, str, Handler, tuple[int, float]]] = [
        ("GET", spec.ACCOUNT_DETAIL_PATH, market.account_detail, PRIVATE_LIMIT),
    ]
    for method, tail, handler, limit in (
        ("POST", "/orders", trade.place, PLACE_LIMIT), ("GET", "/orders", trade.orders, PRIVATE_LIMIT),
        ("DELETE", "/orders", trade.cancel_all, CANCEL_LIMIT),
        ("GET", "/orders/{order_id}", trade.order, PRIVATE_LIMIT),
        ("DELETE", "/orders/{order_id}", trade.cancel, CANCEL_LIMIT),
        ("POST", "/countdown_cancel_all", trade.countdown_cancel_all, PRIVATE_LIMIT),
        ("GET", "/my_trades", trade.my_trades, PRIVATE_LIMIT),
        ("GET", "/my_trades_timerange", trade.my_trades_timerange, PRIVATE_LIMIT),
        ("GET", "/account_book", trade.account_book, PRIVATE_LIMIT),
        ("GET", "/accounts", account.accounts, PRIVATE_LIMIT), ("GET", "/positions", account.positions, PRIVATE_LIMIT),
        ("GET", "/positions/{contract}", account.position, PRIVATE_LIMIT),
        ("GET", "/dual_comp/positions/{contract}", account.position, PRIVATE_LIMIT),
        ("POST", "/positions/{contract}/leverage", account.set_leverage, PRIVATE_LIMIT),
        ("POST", "/dual_comp/positions/{contract}/leverage", account.set_leverage, PRIVATE_LIMIT),
        ("POST", "/dual_mode", account.set_dual_mode, PRIVATE_LIMIT),
        ("POST", "/price_orders", stops.place, PLACE_LIMIT), ("GET", "/price_orders", stops.listed, PRIVATE_LIMIT),
        ("DELETE", "/price_orders", stops.cancel_all, CANCEL_LIMIT),
        ("GET", "/price_orders/{order_id}", stops.one, PRIVATE_LIMIT),
        ("DELETE", "/price_orders/{order_id}", stops.cancel, CANCEL_LIMIT),
    ):
        signed += [(method, path, handler, limit) for path in futures_paths(tail)]
    return ([Route(m, p, h, signed=False, limit=PUBLIC_LIMIT if limits else None) for m, p, h in public]
            + [Route(m, p, h, signed=True, limit=lim if limits else None) for m, p, h, lim in signed])
