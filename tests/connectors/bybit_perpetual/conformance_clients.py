"""Bybit's independent clients for the conformance round trip (tests/connectors/conformance.py):
ccxt's `bybit` (ccxt.pro: async REST and WebSocket) and the official pybit (`HTTP`, and its threaded
`WebSocket`s, which keep their own merged order book).

Redirects (reference/exchange_apis.md §D2): ccxt's REST templates and WebSocket URLs are replaced;
pybit's HTTP takes `endpoint`, its WebSocket reads the module constants `PUBLIC_WSS` / `PRIVATE_WSS`
while it is built (set here only for the construction, then restored).

Bybit answers an order request with its ids only; both adapters read the order back by id
(`/v5/order/realtime?orderId=`), as a client must to see the venue's view of it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro
import pybit.unified_trading as pybit
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
from venue_servers import API_KEY, API_SECRET, ServerThread

from pmm.core.model import OrderStatus, PositionSide, Side

SYMBOL, CCXT_SYMBOL, CATEGORY, QUOTE = "BTCUSDT", "BTC/USDT:USDT", "linear", "USDT"
PUBLIC_PATH, PRIVATE_PATH = "/v5/public/linear", "/v5/private"
STATUS = {"New": OrderStatus.OPEN, "PartiallyFilled": OrderStatus.PARTIALLY_FILLED, "Filled": OrderStatus.FILLED,
          "Cancelled": OrderStatus.CANCELLED, "PartiallyFilledCanceled": OrderStatus.CANCELLED,
          "Rejected": OrderStatus.REJECTED,
          "open": OrderStatus.OPEN, "closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED,
          "rejected": OrderStatus.REJECTED}
SIDES = {"Buy": Side.BUY, "Sell": Side.SELL, "buy": Side.BUY, "sell": Side.SELL}
_PYBIT_URLS = threading.Lock()


def _private_topics_subscribed(server: ServerThread) -> bool:
    streams = server.server.ws
    return server.call(lambda: all(streams.has_private_subscribers(kind)
                                           for kind in ("order", "execution", "position", "wallet")))


class CcxtBybit(Streamed):
    """ccxt.pro `bybit`: REST calls and `watch_*` loops on one event loop of its own."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._loop = LoopThread("ccxt bybit")
        self._ex = self._loop.run(self._create(server))

    @staticmethod
    async def _create(server: ServerThread) -> Any:
        ex = ccxtpro.bybit({"apiKey": API_KEY, "secret": API_SECRET, "enableRateLimit": False,
                            "options": {"defaultType": "swap"}})
        for key in ("spot", "futures", "v2", "public", "private"):  # templates "https://api.{hostname}"
            ex.urls["api"][key] = server.rest_url
        ws = ex.urls["api"]["ws"]
        ws["public"]["linear"] = server.ws_url + PUBLIC_PATH
        ws["private"]["contract"] = ws["private"]["spot"]["unified"] = server.ws_url + PRIVATE_PATH
        return ex

    def _run(self, coro: Any) -> Any:
        return self._loop.run(coro)

    @staticmethod
    def _order(raw: dict[str, Any]) -> OrderView:
        price = raw["price"]
        return OrderView(raw["id"], raw["clientOrderId"], Side(raw["side"]), decimal(price) if price else None,
                         decimal(raw["amount"]), STATUS[raw["status"]])

    async def _forever(self, watch: Callable[[], Any], keep: Callable[[Any], None]) -> None:
        try:
            while True:
                keep(await watch())
        except Exception as exc:  # noqa: BLE001 - reported by the next streamed_* read
            self.failure = exc

    def _keep_balance(self, raw: dict[str, Any]) -> None:
        # ccxt's `total` is the equity (unrealised PnL included); the wallet balance is in `info`
        for coin in (coin for account in raw["info"] for coin in account["coin"]):
            if coin["coin"] == QUOTE:
                self.seen_balance = decimal(coin["walletBalance"])

    def load_markets(self) -> MarketView:
        market = self._run(self._ex.load_markets())[CCXT_SYMBOL]
        return MarketView(decimal(market["precision"]["price"]), decimal(market["precision"]["amount"]),
                          decimal(market["limits"]["amount"]["min"]))

    def watch(self) -> None:
        ex, spawn = self._ex, self._loop.spawn

        def book(raw: Any) -> None:
            self.seen_book = ([(decimal(p), decimal(q)) for p, q in raw["bids"][:20]],
                              [(decimal(p), decimal(q)) for p, q in raw["asks"][:20]])

        spawn(self._forever(lambda: ex.watch_order_book(CCXT_SYMBOL, 50), book))
        spawn(self._forever(lambda: ex.watch_trades(CCXT_SYMBOL), lambda raw: self.seen_trades.extend(
            TradeView(decimal(t["price"]), decimal(t["amount"]), Side(t["side"])) for t in raw)))
        spawn(self._forever(lambda: ex.watch_orders(CCXT_SYMBOL), lambda raw: self.seen_orders.extend(
            self._order(o) for o in raw)))
        spawn(self._forever(lambda: ex.watch_my_trades(CCXT_SYMBOL), lambda raw: self.seen_fills.extend(
            FillView(t["order"], Side(t["side"]), decimal(t["price"]), decimal(t["amount"])) for t in raw)))
        spawn(self._forever(lambda: ex.watch_positions([CCXT_SYMBOL]), lambda raw: self.seen_positions.extend(
            PositionView(PositionSide(p["side"]), decimal(p["contracts"]), decimal(p["entryPrice"]))
            for p in raw if p["contracts"])))
        spawn(self._forever(lambda: ex.watch_balance(), self._keep_balance))
        wait_until("ccxt's private topics subscribed", lambda: _private_topics_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        self._run(self._ex.set_leverage(leverage, CCXT_SYMBOL))  # Bybit answers an empty result
        return int(self._run(self._ex.fetch_leverage(CCXT_SYMBOL))["longLeverage"])

    def _read_back(self, order_id: str) -> OrderView:
        return self._order(self._run(self._ex.fetch_open_order(order_id, CCXT_SYMBOL)))

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
        return [PositionView(PositionSide(p["side"]), decimal(p["contracts"]), decimal(p["entryPrice"]))
                for p in self._run(self._ex.fetch_positions([CCXT_SYMBOL])) if p["contracts"]]

    def funding_rate(self) -> Decimal:
        return decimal(self._run(self._ex.fetch_funding_rate(CCXT_SYMBOL))["fundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        # ccxt reads Funding executions; their `execFee` is what the account paid (Bybit's sign)
        rows = self._run(self._ex.fetch_funding_history(CCXT_SYMBOL))
        return [FundingPaymentView(row["timestamp"], -decimal(row["amount"])) for row in rows]

    def close(self) -> None:
        try:
            self._run(self._ex.close())
        finally:
            self._loop.stop()


@contextmanager
def _pybit_urls(server: ServerThread) -> Iterator[None]:
    """pybit's documented WebSocket redirect: the module constants it reads in `WebSocket()`."""
    with _PYBIT_URLS:
        saved = pybit.PUBLIC_WSS, pybit.PRIVATE_WSS
        pybit.PUBLIC_WSS = server.ws_url + "/v5/public/{CHANNEL_TYPE}"
        pybit.PRIVATE_WSS = server.ws_url + PRIVATE_PATH
        try:
            yield
        finally:
            pybit.PUBLIC_WSS, pybit.PRIVATE_WSS = saved


def _register_subscriptions_before_sending(socket: pybit.WebSocket) -> None:
    """pybit 5.17 sends a subscription and only then files its `req_id`; an answer that comes back
    first (a loopback server on a loaded machine; never across the internet) raises KeyError in
    pybit's callback, which drops the socket and leaves the subscription hanging. File it first."""
    send = socket.ws.send

    def filed_then_sent(data: Any, *args: Any, **kwargs: Any) -> Any:
        message = json.loads(data) if isinstance(data, str) and data.startswith("{") else None
        if isinstance(message, dict) and message.get("op") == "subscribe" and message.get("req_id"):
            socket.subscriptions[message["req_id"]] = data
        return send(data, *args, **kwargs)

    socket.ws.send = filed_then_sent

    # The same race for data: pybit files a topic's callback after sending the subscription, so a
    # snapshot that comes back first finds no callback (KeyError, the socket dropped). Wait for it:
    # the subscribing thread files it microseconds after the send.
    get_callback = socket._get_callback

    def callback_when_filed(topic: str) -> Any:
        deadline = time.monotonic() + 5.0
        while topic not in socket.callback_directory and time.monotonic() < deadline:
            time.sleep(0.005)
        return get_callback(topic)

    socket._get_callback = callback_when_filed


class PybitBybit(Streamed):
    """pybit: `HTTP` for REST, a public and a private `WebSocket` (each with its own threads)."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._http = pybit.HTTP(testnet=False, api_key=API_KEY, api_secret=API_SECRET, timeout=10, max_retries=1)
        self._http.endpoint = server.rest_url
        self._sockets: list[pybit.WebSocket] = []

    @staticmethod
    def _order(raw: dict[str, Any]) -> OrderView:
        price = decimal(raw["price"])
        return OrderView(raw["orderId"], raw["orderLinkId"], SIDES[raw["side"]], price or None, decimal(raw["qty"]),
                         STATUS[raw["orderStatus"]])

    def _on_book(self, message: dict[str, Any]) -> None:
        data = message["data"]  # pybit's merged book, unordered
        self.seen_book = (sorted(((decimal(p), decimal(q)) for p, q in data["b"]), reverse=True)[:20],
                          sorted((decimal(p), decimal(q)) for p, q in data["a"])[:20])

    def _on_trades(self, message: dict[str, Any]) -> None:
        self.seen_trades.extend(TradeView(decimal(t["p"]), decimal(t["v"]), SIDES[t["S"]]) for t in message["data"])

    def _on_orders(self, message: dict[str, Any]) -> None:
        self.seen_orders.extend(self._order(o) for o in message["data"] if o["symbol"] == SYMBOL)

    def _on_executions(self, message: dict[str, Any]) -> None:
        self.seen_fills.extend(FillView(e["orderId"], SIDES[e["side"]], decimal(e["execPrice"]), decimal(e["execQty"]))
                               for e in message["data"] if e["execType"] == "Trade")

    def _on_positions(self, message: dict[str, Any]) -> None:
        self.seen_positions.extend(self._position(p) for p in message["data"] if p["symbol"] == SYMBOL
                                   and decimal(p["size"]))

    def _on_wallet(self, message: dict[str, Any]) -> None:
        for coin in (coin for account in message["data"] for coin in account["coin"]):
            if coin["coin"] == QUOTE:
                self.seen_balance = decimal(coin["walletBalance"])

    @staticmethod
    def _position(raw: dict[str, Any]) -> PositionView:
        side = PositionSide.LONG if raw["side"] == "Buy" else PositionSide.SHORT
        return PositionView(side, decimal(raw["size"]), decimal(raw["avgPrice"]))

    def load_markets(self) -> MarketView:
        [info] = self._http.get_instruments_info(category=CATEGORY, symbol=SYMBOL)["result"]["list"]
        lots = info["lotSizeFilter"]
        return MarketView(decimal(info["priceFilter"]["tickSize"]), decimal(lots["qtyStep"]),
                          decimal(lots["minOrderQty"]))

    def watch(self) -> None:
        # pybit's auth expires 1 s after it is signed by default: too short on a loaded machine. Its
        # reader thread notices exit() only when its select() times out (`ping_timeout`), so that is
        # short; `ping_interval` is longer than a round trip, so no ping can time out meanwhile.
        options = {"testnet": False, "retries": 3, "ping_interval": 60, "ping_timeout": 2}
        with _pybit_urls(self._server):
            public = pybit.WebSocket(channel_type=CATEGORY, **options)
            self._sockets.append(public)
            private = pybit.WebSocket(channel_type="private", api_key=API_KEY, api_secret=API_SECRET,
                                      private_auth_expire=30, **options)
            self._sockets.append(private)
        for socket in (public, private):
            _register_subscriptions_before_sending(socket)
        public.orderbook_stream(50, SYMBOL, self._on_book)
        public.trade_stream(SYMBOL, self._on_trades)
        private.order_stream(self._on_orders)
        private.execution_stream(self._on_executions)
        private.position_stream(self._on_positions)
        private.wallet_stream(self._on_wallet)
        wait_until("pybit's private topics subscribed", lambda: _private_topics_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        self._http.set_leverage(category=CATEGORY, symbol=SYMBOL, buyLeverage=str(leverage), sellLeverage=str(leverage))
        [row] = self._http.get_positions(category=CATEGORY, symbol=SYMBOL)["result"]["list"]
        return int(decimal(row["leverage"]))

    def _read_back(self, order_id: str) -> OrderView:
        [row] = self._http.get_open_orders(category=CATEGORY, symbol=SYMBOL, orderId=order_id)["result"]["list"]
        return self._order(row)

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        placed = self._http.place_order(category=CATEGORY, symbol=SYMBOL, side=side.value.title(), orderType="Limit",
                                        qty=str(amount), price=str(price), timeInForce="PostOnly",
                                        orderLinkId=client_id)["result"]
        return self._read_back(placed["orderId"])

    def open_orders(self) -> list[OrderView]:
        return [self._order(o) for o in self._http.get_open_orders(category=CATEGORY, symbol=SYMBOL)["result"]["list"]]

    def cancel(self, order_id: str) -> str:
        return self._http.cancel_order(category=CATEGORY, symbol=SYMBOL, orderId=order_id)["result"]["orderId"]

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        placed = self._http.place_order(category=CATEGORY, symbol=SYMBOL, side=side.value.title(),
                                        orderType="Market", qty=str(amount), orderLinkId=client_id)["result"]
        return self._read_back(placed["orderId"])

    def positions(self) -> list[PositionView]:
        rows = self._http.get_positions(category=CATEGORY, symbol=SYMBOL)["result"]["list"]
        return [self._position(p) for p in rows if decimal(p["size"])]

    def funding_rate(self) -> Decimal:
        [ticker] = self._http.get_tickers(category=CATEGORY, symbol=SYMBOL)["result"]["list"]
        return decimal(ticker["fundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        rows = self._http.get_transaction_log(accountType="UNIFIED", category=CATEGORY, type="SETTLEMENT")
        return [FundingPaymentView(int(row["transactionTime"]), decimal(row["funding"]))
                for row in rows["result"]["list"] if row["symbol"] == SYMBOL]

    def close(self) -> None:
        for socket in self._sockets:
            socket.exit()
        for socket in self._sockets:
            socket.wst.join(10)  # pybit's reader thread (`wst`)
            assert not socket.wst.is_alive(), "pybit's WebSocket thread did not end after exit()"


CLIENTS: dict[str, Callable[[ServerThread], RoundTripClient]] = {
    "ccxt-bybit": CcxtBybit,
    "pybit": PybitBybit,
}
