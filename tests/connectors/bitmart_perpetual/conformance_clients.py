"""BitMart's independent clients for the conformance round trip (tests/connectors/conformance.py):
ccxt 4.5.70's `bitmart` (ccxt.pro: async REST and WebSocket; the last ccxt with BitMart, the one pmm
pins) and the official bitmart-python-sdk-api (`APIContract` over requests, `FuturesSocketClient`
over websocket-client threads).

Redirects (reference/exchange_apis_more.md §L1): ccxt's `urls["api"]` `spot` and `swap` (REST; its
market load reads the spot currency and symbol lists too) and `ws.swap.{public,private}`, with the
memo as `uid`; the SDK's `APIContract(url=...)` and `FuturesSocketClient(stream_url=...)`. ccxt signs
every private call (GETs over their query string); the SDK sends private GETs KEYED (the key alone)
and POSTs signed with the memo, and logs in with `{"action": "access"}`. The SDK's socket client
re-arms a `threading.Timer` for its ping forever, even after `stop()`: the adapter's subclass keeps
the timer so that `close()` can end it (the SDK's code is otherwise unchanged).

BitMart sizes are contracts (`contract_size` base units each): the adapters turn every size they
read into base units and send contracts. An order request is answered with its id only; the adapters
read the order back (`GET /contract/private/order`), as a client must to see the venue's view. A
finished order (`state` 4) is filled or canceled by its `deal_size`; ccxt calls both "closed".
ccxt reads the book from the legacy `futures/depth50` channel (a whole side per push) and fills from
the `last_trade` of `futures/order` pushes (it has no private trades channel for swaps).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro
from bitmart.api_contract import APIContract
from bitmart.websocket.futures_socket_client import FuturesSocketClient
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
from conformance_runtime import Level, LoopThread, decimal, wait_until
from venue_servers import API_KEY, API_PASSPHRASE, API_SECRET, ServerThread

from pmm.core.model import OrderStatus, PositionSide, Side

SYMBOL, CCXT_SYMBOL, QUOTE, OPEN_TYPE = "BTCUSDT", "BTC/USDT:USDT", "USDT", "cross"
DEPTH_TOPIC = f"futures/depthIncrease50:{SYMBOL}@200ms"
PRIVATE_TOPICS = ("futures/order", "futures/position", f"futures/asset:{QUOTE}")


def _status(row: dict[str, Any]) -> OrderStatus:
    """BitMart's `state` (1 approval, 2 open, 4 finished) read with `deal_size`."""
    size, dealt = decimal(row["size"]), decimal(row["deal_size"])
    if int(row["state"]) == 4:
        return OrderStatus.FILLED if dealt >= size else OrderStatus.CANCELLED
    return OrderStatus.PARTIALLY_FILLED if dealt else OrderStatus.OPEN


def _side(number: Any) -> Side:
    return Side.BUY if int(number) in (1, 2) else Side.SELL


def _wallet(row: dict[str, Any]) -> Decimal:
    """An asset row's wallet: available + frozen + position deposit (unrealized PnL apart)."""
    return sum((decimal(row[k]) for k in ("available_balance", "frozen_balance", "position_deposit")), Decimal(0))


class CcxtBitmart(Streamed):
    """ccxt.pro `bitmart` (4.5.70): REST calls and `watch_*` loops on one event loop of its own."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._loop = LoopThread("ccxt bitmart")
        self._ex = self._loop.run(self._create(server))
        self._contract_size = Decimal(0)  # base units per contract, from load_markets
        self._fill_ids: set[str] = set()

    @staticmethod
    async def _create(server: ServerThread) -> Any:
        ex = ccxtpro.bitmart({"apiKey": API_KEY, "secret": API_SECRET, "uid": API_PASSPHRASE,
                              "enableRateLimit": False, "options": {"defaultType": "swap"}})
        ex.urls["api"] = {"spot": server.rest_url, "swap": server.rest_url,
                          "ws": {"swap": {"public": server.server.public_ws_url,
                                          "private": server.server.private_ws_url}}}
        return ex

    def _run(self, coro: Any) -> Any:
        return self._loop.run(coro)

    def _base(self, contracts: Any) -> Decimal:
        return decimal(contracts) * self._contract_size

    def _contracts(self, base: Decimal) -> int:
        return int(base / self._contract_size)

    def _order(self, raw: dict[str, Any], short: OrderStatus = OrderStatus.CANCELLED) -> OrderView:
        """ccxt's order; "closed" is BitMart's state 4 (REST) or a match push (`action` 1), filled when
        all is dealt, else `short`: canceled (REST) or partly filled (a push)."""
        status = {"open": OrderStatus.OPEN, "canceled": OrderStatus.CANCELLED}.get(raw["status"])
        if raw["status"] == "closed":
            status = OrderStatus.FILLED if raw["filled"] >= raw["amount"] else short
        assert status is not None, raw
        price = decimal(raw["price"]) if raw["type"] == "limit" else None
        return OrderView(raw["id"], raw["clientOrderId"] or None, Side(raw["side"]), price,
                         self._base(raw["amount"]), status)

    def _position(self, raw: dict[str, Any]) -> PositionView:
        return PositionView(PositionSide(raw["side"]), self._base(raw["contracts"]), decimal(raw["entryPrice"]))

    async def _forever(self, watch: Callable[[], Any], keep: Callable[[Any], None]) -> None:
        try:
            while True:
                keep(await watch())
        except Exception as exc:  # noqa: BLE001 - reported by the next streamed_* read
            self.failure = exc

    def _keep_orders(self, raw: list[dict[str, Any]]) -> None:
        for order in raw:
            self.seen_orders.append(self._order(order, OrderStatus.PARTIALLY_FILLED))
            for trade in order["trades"] or []:  # a match push's `last_trade`, known by its id
                if trade["id"] not in self._fill_ids:
                    self._fill_ids.add(trade["id"])
                    self.seen_fills.append(FillView(order["id"], Side(order["side"]), decimal(trade["price"]),
                                                    self._base(trade["amount"])))

    def _keep_balance(self, raw: dict[str, Any]) -> None:
        # ccxt's `total` is available + frozen; the wallet adds the position deposit, read from `info`:
        # a `futures/asset:USDT` push, or the assets-detail answer of ccxt's REST snapshot
        info = raw["info"]
        rows = info["data"] if isinstance(info["data"], list) else [info["data"]]
        for row in rows:
            if row["currency"] == QUOTE:
                self.seen_balance = _wallet(row)

    def _keep_book(self, raw: Any) -> None:
        self.seen_book = ([(decimal(p), self._base(q)) for p, q in raw["bids"][:20]],
                          [(decimal(p), self._base(q)) for p, q in raw["asks"][:20]])

    def load_markets(self) -> MarketView:
        market = self._run(self._ex.load_markets())[CCXT_SYMBOL]
        self._contract_size = decimal(market["contractSize"])
        return MarketView(decimal(market["precision"]["price"]), self._base(market["precision"]["amount"]),
                          self._base(market["limits"]["amount"]["min"]))

    def watch(self) -> None:
        ex, spawn = self._ex, self._loop.spawn
        spawn(self._forever(lambda: ex.watch_order_book(CCXT_SYMBOL), self._keep_book))
        spawn(self._forever(lambda: ex.watch_trades(CCXT_SYMBOL), lambda raw: self.seen_trades.extend(
            TradeView(decimal(t["price"]), self._base(t["amount"]), Side(t["side"])) for t in raw)))
        spawn(self._forever(lambda: ex.watch_orders(CCXT_SYMBOL), self._keep_orders))
        spawn(self._forever(lambda: ex.watch_positions([CCXT_SYMBOL]), lambda raw: self.seen_positions.extend(
            self._position(p) for p in raw if p["contracts"])))
        spawn(self._forever(lambda: ex.watch_balance(), self._keep_balance))
        wait_until("ccxt's private topics subscribed", lambda: _private_topics_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        answer = self._run(self._ex.set_leverage(leverage, CCXT_SYMBOL, {"marginMode": OPEN_TYPE}))
        assert answer["data"]["open_type"] == OPEN_TYPE, answer
        return int(answer["data"]["leverage"])

    def _read_back(self, order_id: str) -> OrderView:
        return self._order(self._run(self._ex.fetch_order(order_id, CCXT_SYMBOL)))

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        placed = self._run(self._ex.create_order(CCXT_SYMBOL, "limit", side.value, self._contracts(amount),
                                                 float(price), {"postOnly": True, "clientOrderId": client_id}))
        return self._read_back(placed["id"])

    def open_orders(self) -> list[OrderView]:
        return [self._order(o) for o in self._run(self._ex.fetch_open_orders(CCXT_SYMBOL))]

    def cancel(self, order_id: str) -> str:
        self._run(self._ex.cancel_order(order_id, CCXT_SYMBOL))  # BitMart answers {}: read the order back
        order = self._read_back(order_id)
        assert order.status is OrderStatus.CANCELLED, order
        return order.order_id

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        placed = self._run(self._ex.create_order(CCXT_SYMBOL, "market", side.value, self._contracts(amount), None,
                                                 {"clientOrderId": client_id}))
        return self._read_back(placed["id"])

    def positions(self) -> list[PositionView]:
        return [self._position(p) for p in self._run(self._ex.fetch_positions([CCXT_SYMBOL])) if p["contracts"]]

    def funding_rate(self) -> Decimal:
        return decimal(self._run(self._ex.fetch_funding_rate(CCXT_SYMBOL))["fundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        # ccxt reads the transaction history's funding flow (flow_type 3); `amount` is signed
        rows = self._run(self._ex.fetch_funding_history(CCXT_SYMBOL))
        return [FundingPaymentView(row["timestamp"], decimal(row["amount"])) for row in rows]

    def close(self) -> None:
        try:
            self._run(self._ex.close())
        finally:
            self._loop.stop()


class _Socket(FuturesSocketClient):
    """The SDK's socket client with its ping timer kept, so that closing ends it."""

    _timer: threading.Timer | None = None
    _closed = False

    def start_send_ping(self) -> None:
        if self._closed:
            return
        self.ping()
        self._timer = threading.Timer(self.ping_interval, self.start_send_ping)
        self._timer.daemon = True
        self._timer.start()

    def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
        self.stop()


def _private_topics_subscribed(server: ServerThread) -> bool:
    hub = server.server.hub

    def subscribed() -> set[str]:
        return {key for conn in hub.clients for key in conn.subscriptions if isinstance(key, str)}

    return set(PRIVATE_TOPICS) <= server.call(subscribed)


class BitmartSdk(Streamed):
    """bitmart-python-sdk-api: `APIContract` for REST, two `FuturesSocketClient`s for the streams."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._api = APIContract(API_KEY, API_SECRET, API_PASSPHRASE, url=server.rest_url, timeout=(5, 10))
        self._contract_size = Decimal(0)
        self._lock = threading.Lock()
        self._levels: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
        self._version: int | None = None
        self._logged_in = threading.Event()
        self._sockets: list[_Socket] = []

    def _ok(self, answer: tuple[dict[str, Any], dict[str, str]], *, limited: bool = True) -> Any:
        body, limits = answer
        if body.get("code") != 1000:
            raise AssertionError(f"BitMart refused a request: {body}")
        if limited:  # the SDK reads BitMart's rate-limit headers into its second value
            assert set(limits) == {"Remaining", "Limit", "Reset", "Mode"}, limits
            assert int(limits["Remaining"]) <= int(limits["Limit"]), limits  # Remaining counts USED requests
        return body["data"]

    def _base(self, contracts: Any) -> Decimal:
        return decimal(contracts) * self._contract_size

    def _order(self, row: dict[str, Any]) -> OrderView:
        price = decimal(row["price"]) if row.get("type") == "limit" else None
        return OrderView(str(row["order_id"]), row["client_order_id"] or None, _side(row["side"]), price,
                         self._base(row["size"]), _status(row))

    # --- streams (called on the SDK's socket threads) -----------------------------------------------

    def _on_message(self, message: dict[str, Any]) -> None:
        try:
            self._handle(message)
        except Exception as exc:  # noqa: BLE001 - reported by the next streamed_* read
            self.failure = exc

    def _handle(self, message: dict[str, Any]) -> None:
        action = message.get("action")
        if action == "access":
            if message.get("success") is not True:
                raise AssertionError(f"the server refused the login: {message}")
            self._logged_in.set()
            return
        if action is not None:
            if message.get("success") is False:
                raise AssertionError(f"the server refused a request: {message}")
            return
        group, data = message.get("group"), message.get("data")
        if group == DEPTH_TOPIC:
            self._on_book(data)
        elif group == f"futures/trade:{SYMBOL}":
            self.seen_trades.extend(TradeView(decimal(t["deal_price"]), self._base(t["deal_vol"]),
                                              Side.SELL if t["m"] else Side.BUY) for t in data)
        elif group == "futures/order":
            for item in data:
                row = item["order"]
                self.seen_orders.append(self._order(row))
                trade = row.get("last_trade")
                if item["action"] == 1 and trade:
                    self.seen_fills.append(FillView(str(row["order_id"]), _side(row["side"]),
                                                    decimal(trade["fillPrice"]), self._base(trade["fillQty"])))
        elif group == "futures/position":
            self.seen_positions.extend(
                PositionView(PositionSide.LONG if p["position_type"] == 1 else PositionSide.SHORT,
                             self._base(p["hold_volume"]), decimal(p["hold_avg_price"]))
                for p in data if p["symbol"] == SYMBOL and decimal(p["hold_volume"]))
        elif group == f"futures/asset:{QUOTE}":
            self.seen_balance = _wallet(data)

    def _on_book(self, data: dict[str, Any]) -> None:
        """BitMart's rule: a snapshot resets the book; each update's version is the last one + 1."""
        with self._lock:
            if data["type"] == "snapshot":
                self._levels = {"bids": {}, "asks": {}}
            elif self._version is None or data["version"] != self._version + 1:
                raise AssertionError(f"depth version {data['version']} after {self._version}")
            self._version = data["version"]
            for side in ("bids", "asks"):
                for level in data[side]:
                    if decimal(level["vol"]):
                        self._levels[side][decimal(level["price"])] = self._base(level["vol"])
                    else:
                        self._levels[side].pop(decimal(level["price"]), None)
            bids: list[Level] = sorted(self._levels["bids"].items(), reverse=True)[:20]
            self.seen_book = (bids, sorted(self._levels["asks"].items())[:20])

    # --- the scenario -------------------------------------------------------------------------------

    def load_markets(self) -> MarketView:
        data = self._ok(self._api.get_details(SYMBOL), limited=False)
        [row] = [r for r in data["symbols"] if r["symbol"] == SYMBOL]
        self._contract_size = decimal(row["contract_size"])
        return MarketView(decimal(row["price_precision"]), self._base(row["vol_precision"]),
                          self._base(row["min_volume"]))

    def watch(self) -> None:
        public = _Socket(stream_url=self._server.server.public_ws_url, on_message=self._on_message)
        self._sockets.append(public)
        public.subscribe([DEPTH_TOPIC, f"futures/trade:{SYMBOL}"])
        private = _Socket(stream_url=self._server.server.private_ws_url, on_message=self._on_message,
                          api_key=API_KEY, api_secret_key=API_SECRET, api_memo=API_PASSPHRASE)
        self._sockets.append(private)
        private.login(timeout=0)
        wait_until("the SDK logged in", self._logged_in.is_set, bool)
        private.subscribe(list(PRIVATE_TOPICS))
        wait_until("the SDK's private topics subscribed", lambda: _private_topics_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        data = self._ok(self._api.post_submit_leverage(SYMBOL, OPEN_TYPE, str(leverage)))
        return int(data["leverage"])

    def _read_back(self, order_id: Any) -> OrderView:
        return self._order(self._ok(self._api.get_order(SYMBOL, str(order_id))))

    def _contracts(self, amount: Decimal) -> int:
        return int(amount / self._contract_size)

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        placed = self._ok(self._api.post_submit_order(SYMBOL, client_order_id=client_id, type="limit",
                                                      side=1 if side is Side.BUY else 4, leverage="7",
                                                      open_type=OPEN_TYPE, mode=4, price=str(price),
                                                      size=self._contracts(amount)))
        return self._read_back(placed["order_id"])

    def open_orders(self) -> list[OrderView]:
        return [self._order(r) for r in self._ok(self._api.get_open_order(SYMBOL))]

    def cancel(self, order_id: str) -> str:
        self._ok(self._api.post_cancel_order(SYMBOL, order_id=order_id))  # answers {}: read the order back
        order = self._read_back(order_id)
        assert order.status is OrderStatus.CANCELLED, order
        return order.order_id

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        placed = self._ok(self._api.post_submit_order(SYMBOL, client_order_id=client_id, type="market",
                                                      side=1 if side is Side.BUY else 4, leverage="7",
                                                      open_type=OPEN_TYPE, size=self._contracts(amount)))
        return self._read_back(placed["order_id"])

    def positions(self) -> list[PositionView]:
        return [PositionView(PositionSide.LONG if p["position_type"] == 1 else PositionSide.SHORT,
                             self._base(p["current_amount"]), decimal(p["entry_price"]))
                for p in self._ok(self._api.get_position(SYMBOL)) if decimal(p["current_amount"])]

    def funding_rate(self) -> Decimal:
        return decimal(self._ok(self._api.get_funding_rate(SYMBOL))["rate_value"])

    def funding_payments(self) -> list[FundingPaymentView]:
        rows = self._ok(self._api.get_transaction_history(SYMBOL, flow_type=3))
        return [FundingPaymentView(int(r["time"]), decimal(r["amount"])) for r in rows if r["type"] == "Funding Fee"]

    def close(self) -> None:
        for socket in self._sockets:
            socket.close()
        self._api.session.close()


CLIENTS: dict[str, Callable[[ServerThread], RoundTripClient]] = {
    "bitmart-python-sdk-api": BitmartSdk,
    "ccxt-bitmart": CcxtBitmart,
}
