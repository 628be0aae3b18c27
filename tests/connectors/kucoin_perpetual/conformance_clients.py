"""KuCoin's independent clients for the conformance round trip (tests/connectors/conformance.py):
ccxt's `kucoinfutures` (ccxt.pro: async REST and WebSocket) and KuCoin's official
kucoin-universal-sdk (its REST services and its WebSocket services on threads of their own).

Redirects (reference/exchange_apis_more.md §L1): ccxt takes every REST base in `urls["api"]`
(`options.uta` False: a classic account, no `/api/ua/v1/account/mode` probe); the SDK takes the
futures, spot and broker endpoints in its `ClientOption`. Both learn the WebSocket endpoint from the
server's bullet answer (`encrypt` false, ws:// on loopback). ccxt's `watch_positions` reads the
unified-account push service, so the adapter watches the classic `/contract/position:` topic with
`watch_position`.

KuCoin sizes are lots (`multiplier` base units each): the adapters turn every size they read into
base units with the contract's multiplier, and send lots. KuCoin answers an order request with its
ids only; both adapters read the order back by id, as a client must to see the venue's view of it.
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

SYMBOL, CCXT_SYMBOL, QUOTE = "XBTUSDTM", "BTC/USDT:USDT", "USDT"
CCXT_STATUS = {"open": OrderStatus.OPEN, "closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED,
               "rejected": OrderStatus.REJECTED}
PRIVATE_TOPICS = ("/contractMarket/tradeOrders", "/contract/position", "/contractAccount/wallet")


def _private_topics_subscribed(server: ServerThread) -> bool:
    hub = server.server.hub

    def subscribed() -> set[str]:
        return {key[0] for conn in hub.clients for key in conn.subscriptions if isinstance(key, tuple)}

    return set(PRIVATE_TOPICS) <= server.call(subscribed)


def _redirect(urls: Any, base: str) -> Any:
    """Every REST base URL of ccxt's `urls["api"]` pointed at the server (the WebSocket ones kept)."""
    if isinstance(urls, dict):
        return {k: v if k == "ws" else _redirect(v, base) for k, v in urls.items()}
    return base if isinstance(urls, str) else urls


class CcxtKucoinFutures(Streamed):
    """ccxt.pro `kucoinfutures`: REST calls and `watch_*` loops on one event loop of its own."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._loop = LoopThread("ccxt kucoinfutures")
        self._ex = self._loop.run(self._create(server))
        self._multiplier = Decimal(0)
        self._fill_ids: set[str] = set()

    @staticmethod
    async def _create(server: ServerThread) -> Any:
        ex = ccxtpro.kucoinfutures({"apiKey": API_KEY, "secret": API_SECRET, "password": API_PASSPHRASE,
                                    "enableRateLimit": False, "options": {"uta": False}})
        ex.urls["api"] = _redirect(ex.urls["api"], server.rest_url)
        return ex

    def _run(self, coro: Any) -> Any:
        return self._loop.run(coro)

    def _base(self, lots: Any) -> Decimal:
        return decimal(lots) * self._multiplier

    def _lots(self, base: Decimal) -> float:
        return float(base / self._multiplier)

    def _order(self, raw: dict[str, Any]) -> OrderView:
        price = raw["price"]
        return OrderView(raw["id"], raw["clientOrderId"], Side(raw["side"]), decimal(price) if price else None,
                         self._base(raw["amount"]), CCXT_STATUS[raw["status"]])

    def _position(self, raw: dict[str, Any]) -> PositionView:
        return PositionView(PositionSide(raw["side"]), self._base(raw["contracts"]), decimal(raw["entryPrice"]))

    async def _forever(self, watch: Callable[[], Any], keep: Callable[[Any], None]) -> None:
        try:
            while True:
                keep(await watch())
        except Exception as exc:  # noqa: BLE001 - reported by the next streamed_* read
            self.failure = exc

    def _keep_fills(self, raw: list[dict[str, Any]]) -> None:
        for t in raw:
            if t["id"] not in self._fill_ids:
                self._fill_ids.add(t["id"])
                self.seen_fills.append(FillView(t["order"], Side(t["side"]), decimal(t["price"]),
                                                self._base(t["amount"])))

    def _keep_positions(self, raw: Any) -> None:
        # the first answer is the REST snapshot (a list), the pushes one position each
        rows = [raw] if isinstance(raw, dict) else list(raw or [])
        self.seen_positions.extend(self._position(p) for p in rows if p.get("contracts"))

    def _keep_balance(self, raw: dict[str, Any]) -> None:
        # ccxt's `total` is the equity; the wallet balance is `walletBalance` in `info`
        info = raw.get("info") or {}
        data = info.get("data", info)
        if isinstance(data, dict) and data.get("currency") == QUOTE and data.get("walletBalance") is not None:
            self.seen_balance = decimal(data["walletBalance"])

    def _keep_book(self, raw: Any) -> None:
        self.seen_book = ([(decimal(p), self._base(q)) for p, q in raw["bids"][:20]],
                          [(decimal(p), self._base(q)) for p, q in raw["asks"][:20]])

    def load_markets(self) -> MarketView:
        market = self._run(self._ex.load_markets())[CCXT_SYMBOL]
        self._multiplier = decimal(market["contractSize"])
        return MarketView(decimal(market["precision"]["price"]), self._base(market["precision"]["amount"]),
                          self._base(market["limits"]["amount"]["min"]))

    def watch(self) -> None:
        ex, spawn = self._ex, self._loop.spawn
        spawn(self._forever(lambda: ex.watch_order_book(CCXT_SYMBOL), self._keep_book))
        spawn(self._forever(lambda: ex.watch_trades(CCXT_SYMBOL), lambda raw: self.seen_trades.extend(
            TradeView(decimal(t["price"]), self._base(t["amount"]), Side(t["side"])) for t in raw)))
        spawn(self._forever(lambda: ex.watch_orders(CCXT_SYMBOL), lambda raw: self.seen_orders.extend(
            self._order(o) for o in raw)))
        spawn(self._forever(lambda: ex.watch_my_trades(CCXT_SYMBOL), self._keep_fills))
        spawn(self._forever(lambda: ex.watch_position(CCXT_SYMBOL), self._keep_positions))
        spawn(self._forever(lambda: ex.watch_balance(), self._keep_balance))
        wait_until("ccxt's private topics subscribed", lambda: _private_topics_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        # ccxt sets the cross leverage (`/api/v2/changeCrossUserLeverage`); the venue's view is read back
        self._run(self._ex.set_margin_mode("cross", CCXT_SYMBOL))
        self._run(self._ex.set_leverage(leverage, CCXT_SYMBOL))
        confirmed = self._run(self._ex.fetch_leverage(CCXT_SYMBOL))
        return int(confirmed["longLeverage"])

    def _read_back(self, order_id: str) -> OrderView:
        return self._order(self._run(self._ex.fetch_order(order_id, CCXT_SYMBOL)))

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        placed = self._run(self._ex.create_order(CCXT_SYMBOL, "limit", side.value, self._lots(amount), float(price),
                                                 {"postOnly": True, "clientOrderId": client_id,
                                                  "marginMode": "cross"}))
        return self._read_back(placed["id"])

    def open_orders(self) -> list[OrderView]:
        return [self._order(o) for o in self._run(self._ex.fetch_open_orders(CCXT_SYMBOL))]

    def cancel(self, order_id: str) -> str:
        answer = self._run(self._ex.cancel_order(order_id, CCXT_SYMBOL))
        [cancelled] = answer["info"]["data"]["cancelledOrderIds"]
        return str(cancelled)

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        placed = self._run(self._ex.create_order(CCXT_SYMBOL, "market", side.value, self._lots(amount), None,
                                                 {"clientOrderId": client_id, "marginMode": "cross"}))
        return self._read_back(placed["id"])

    def positions(self) -> list[PositionView]:
        return [self._position(p) for p in self._run(self._ex.fetch_positions([CCXT_SYMBOL])) if p["contracts"]]

    def funding_rate(self) -> Decimal:
        return decimal(self._run(self._ex.fetch_funding_rate(CCXT_SYMBOL))["fundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        rows = self._run(self._ex.fetch_funding_history(CCXT_SYMBOL))
        return [FundingPaymentView(row["timestamp"], decimal(row["amount"])) for row in rows]

    def close(self) -> None:
        try:
            self._run(self._ex.close())
        finally:
            self._loop.stop()


CLIENTS: dict[str, Callable[[ServerThread], RoundTripClient]] = {
    "ccxt kucoinfutures": CcxtKucoinFutures,
}
