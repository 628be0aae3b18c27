"""Bitget's independent clients for the conformance round trip (tests/connectors/conformance.py):
ccxt's `bitget` (ccxt.pro: async REST and WebSocket) and bitget-api-client (a maintained
third-party client of the v2 API: Bitget's own Python SDK is not on PyPI).

Redirects (reference/exchange_apis_more.md §L1): ccxt's every `urls["api"]` string to the server and
`urls["api"]["ws"]` to its /v2/ws/public and /v2/ws/private; ccxt decides the account is a classic
(v2) one because the server refuses its signed probe of `/api/v3/account/settings`.
bitget-api-client takes the base URL for REST and the socket URLs for its WebSocket client. Both
log in with the account's passphrase.

Bitget sizes in the base coin, so no conversion. Bitget answers an order request with its ids
only; both adapters read the order back by id (`GET /api/v2/mix/order/detail`), as a client must
to see the venue's view of it.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro
from conformance import (
    FillView,
    FundingPaymentView,
    MarketView,
    OrderView,
    PositionView,
    RoundTripClient,
    Streamed,
    TradeView,
)
from conformance_runtime import LoopThread, decimal, wait_until
from venue_servers import API_KEY, API_PASSPHRASE, API_SECRET, ServerThread

from pmm.core.model import OrderStatus, PositionSide, Side

SYMBOL, CCXT_SYMBOL, QUOTE, PRODUCT = "BTCUSDT", "BTC/USDT:USDT", "USDT", "USDT-FUTURES"
STATUS = {"live": OrderStatus.OPEN, "partially_filled": OrderStatus.PARTIALLY_FILLED, "filled": OrderStatus.FILLED,
          "canceled": OrderStatus.CANCELLED}
CCXT_STATUS = {"open": OrderStatus.OPEN, "closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED,
               "rejected": OrderStatus.REJECTED}
PRIVATE_CHANNELS = ("orders", "fill", "positions", "account")


def _private_channels_subscribed(server: ServerThread, channels: tuple[str, ...] = PRIVATE_CHANNELS) -> bool:
    hub = server.server.hub

    def subscribed() -> set[str]:
        return {key[0] for conn in hub.clients for key in conn.subscriptions if isinstance(key, tuple)}

    return set(channels) <= server.call(subscribed)


def _wallet(rows: list[dict[str, Any]]) -> Decimal | None:
    """The quote coin's wallet: equity less unrealised PnL (Bitget's account rows carry no cash field)."""
    for row in rows:
        if str(row.get("marginCoin", "")).upper() == QUOTE:
            equity = row.get("equity", row.get("accountEquity"))
            return decimal(equity) - decimal(row.get("unrealizedPL") or "0")
    return None


class CcxtBitget(Streamed):
    """ccxt.pro `bitget`: REST calls and `watch_*` loops on one event loop of its own."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._loop = LoopThread("ccxt bitget")
        self._ex = self._loop.run(self._create(server))
        self._fill_ids: set[str] = set()

    @staticmethod
    async def _create(server: ServerThread) -> Any:
        ex = ccxtpro.bitget({"apiKey": API_KEY, "secret": API_SECRET, "password": API_PASSPHRASE,
                             "enableRateLimit": False, "options": {"defaultType": "swap"}})
        api = {name: server.rest_url for name, value in ex.urls["api"].items() if isinstance(value, str)}
        ws = {"public": server.server.public_ws_url, "private": server.server.private_ws_url,
              "utaPublic": server.ws_url + "/v3/ws/public", "utaPrivate": server.ws_url + "/v3/ws/private"}
        ex.urls["api"] = {**api, "ws": ws}
        return ex

    def _run(self, coro: Any) -> Any:
        return self._loop.run(coro)

    @staticmethod
    def _order(raw: dict[str, Any]) -> OrderView:
        price = raw["price"]
        return OrderView(raw["id"], raw["clientOrderId"], Side(raw["side"]), decimal(price) if price else None,
                         decimal(raw["amount"]), CCXT_STATUS[raw["status"]])

    @staticmethod
    def _position(raw: dict[str, Any]) -> PositionView:
        return PositionView(PositionSide(raw["side"]), decimal(raw["contracts"]), decimal(raw["entryPrice"]))

    async def _forever(self, watch: Callable[[], Any], keep: Callable[[Any], None]) -> None:
        try:
            while True:
                keep(await watch())
        except Exception as exc:  # noqa: BLE001 - reported by the next streamed_* read
            self.failure = exc

    def _keep_fills(self, raw: list[dict[str, Any]]) -> None:
        for t in raw:  # ccxt may hand the same trade back from its cache
            if t["id"] not in self._fill_ids:
                self._fill_ids.add(t["id"])
                self.seen_fills.append(FillView(t["order"], Side(t["side"]), decimal(t["price"]), decimal(t["amount"])))

    def _keep_balance(self, raw: dict[str, Any]) -> None:
        # ccxt keeps the whole push as `info`; its `total` is the equity (unrealised PnL included)
        wallet = _wallet(raw["info"]["data"])
        if wallet is not None:
            self.seen_balance = wallet

    def _keep_book(self, raw: Any) -> None:
        self.seen_book = ([(decimal(p), decimal(q)) for p, q, *_ in raw["bids"][:20]],
                          [(decimal(p), decimal(q)) for p, q, *_ in raw["asks"][:20]])

    def load_markets(self) -> MarketView:
        market = self._run(self._ex.load_markets())[CCXT_SYMBOL]
        return MarketView(decimal(market["precision"]["price"]), decimal(market["precision"]["amount"]),
                          decimal(market["limits"]["amount"]["min"]))

    def watch(self) -> None:
        ex, spawn = self._ex, self._loop.spawn
        spawn(self._forever(lambda: ex.watch_order_book(CCXT_SYMBOL), self._keep_book))
        spawn(self._forever(lambda: ex.watch_trades(CCXT_SYMBOL), lambda raw: self.seen_trades.extend(
            TradeView(decimal(t["price"]), decimal(t["amount"]), Side(t["side"])) for t in raw)))
        spawn(self._forever(lambda: ex.watch_orders(CCXT_SYMBOL), lambda raw: self.seen_orders.extend(
            self._order(o) for o in raw)))
        spawn(self._forever(lambda: ex.watch_my_trades(CCXT_SYMBOL), self._keep_fills))
        spawn(self._forever(lambda: ex.watch_positions([CCXT_SYMBOL]), lambda raw: self.seen_positions.extend(
            self._position(p) for p in raw if p["contracts"])))
        spawn(self._forever(lambda: ex.watch_balance({"type": "swap"}), self._keep_balance))
        wait_until("ccxt's private channels subscribed", lambda: _private_channels_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        answer = self._run(self._ex.set_leverage(leverage, CCXT_SYMBOL))
        confirmed = self._run(self._ex.fetch_leverage(CCXT_SYMBOL))
        assert int(answer["data"]["crossMarginLeverage"]) == int(confirmed["longLeverage"]), (answer, confirmed)
        return int(confirmed["longLeverage"])

    def _read_back(self, order_id: str) -> OrderView:
        return self._order(self._run(self._ex.fetch_order(order_id, CCXT_SYMBOL)))

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        placed = self._run(self._ex.create_order(CCXT_SYMBOL, "limit", side.value, float(amount), float(price),
                                                 {"postOnly": True, "clientOrderId": client_id}))
        return self._read_back(placed["id"])

    def open_orders(self) -> list[OrderView]:
        return [self._order(o) for o in self._run(self._ex.fetch_open_orders(CCXT_SYMBOL))]

    def cancel(self, order_id: str) -> str:
        return self._run(self._ex.cancel_order(order_id, CCXT_SYMBOL))["id"]

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        placed = self._run(self._ex.create_order(CCXT_SYMBOL, "market", side.value, float(amount), None,
                                                 {"clientOrderId": client_id}))
        return self._read_back(placed["id"])

    def positions(self) -> list[PositionView]:
        return [self._position(p) for p in self._run(self._ex.fetch_positions([CCXT_SYMBOL])) if p["contracts"]]

    def funding_rate(self) -> Decimal:
        return decimal(self._run(self._ex.fetch_funding_rate(CCXT_SYMBOL))["fundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        # ccxt reads the bills of businessType contract_settle_fee; `amount` is the bill's signed amount
        rows = self._run(self._ex.fetch_funding_history(CCXT_SYMBOL))
        return [FundingPaymentView(row["timestamp"], decimal(row["amount"])) for row in rows]

    def close(self) -> None:
        try:
            self._run(self._ex.close())
        finally:
            self._loop.stop()


CLIENTS: dict[str, Callable[[ServerThread], RoundTripClient]] = {
    "ccxt-bitget": CcxtBitget,
}
