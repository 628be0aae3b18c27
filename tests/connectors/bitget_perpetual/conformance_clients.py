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

import json
import threading
from collections.abc import Callable
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import ccxt.pro as ccxtpro
import websockets
from websockets import exceptions as ws_exceptions
from websockets.protocol import State
from bitget_api_client.client import BitgetApiClient
from bitget_api_client.modules import websocket_client
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


class _AccountPushesBitget(ccxtpro.bitget):
    """ccxt.pro `bitget` that keeps the rows of the last `account` push as Bitget sent them. ccxt's
    balance keeps only `equity` (unrealised PnL included) as the total, and 4.5.70 drops the push
    itself (no `info`): the wallet, equity less `unrealizedPL`, is read from the rows."""

    account_rows: list[dict[str, Any]] | None = None

    def handle_balance(self, client: Any, message: Any) -> None:
        self.account_rows = message.get("data")
        super().handle_balance(client, message)


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
        ex = _AccountPushesBitget({"apiKey": API_KEY, "secret": API_SECRET, "password": API_PASSPHRASE,
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
        wallet = _wallet(self._ex.account_rows or [])
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


class _TeeConnection:
    """A websockets connection as bitget-api-client 0.1.8 expects one: with the `closed` flag that
    websockets 14 dropped (without it the client reconnects on every send and never reads), and
    every received frame also handed to the adapter (the client parses frames but passes them to
    no callback). Everything else is the connection itself."""

    def __init__(self, conn: Any, on_frame: Callable[[str], None]) -> None:
        self._conn = conn
        self._on_frame = on_frame

    @property
    def closed(self) -> bool:
        return self._conn.state is State.CLOSED

    async def recv(self) -> Any:
        frame = await self._conn.recv()
        self._on_frame(frame if isinstance(frame, str) else frame.decode())
        return frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


class BitgetApiClientAdapter(Streamed):
    """bitget-api-client 0.1.8: its async REST client (`client.contract.*`) and its WebSocketClient
    (connect, login, ping, subscribe) on a loop thread; the adapter keeps a local book from the
    `books` channel by Bitget's rule (a snapshot, then updates with a rising `seq`)."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._loop = LoopThread("bitget-api-client")
        self._api: Any = self._loop.run(self._create(server))
        self._lock = threading.Lock()
        self._levels: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
        self._seq: int | None = None
        self._logged_in = threading.Event()
        self._fill_ids: set[str] = set()
        self._sockets: list[Any] = []

    @staticmethod
    async def _create(server: ServerThread) -> Any:
        api = BitgetApiClient(API_KEY, API_SECRET, API_PASSPHRASE)
        api.base_url = server.rest_url
        return api

    def _call(self, coro: Any) -> Any:
        answer = self._loop.run(coro)
        assert answer["code"] == "00000", answer
        return answer["data"]

    @staticmethod
    def _order(raw: dict[str, Any]) -> OrderView:
        price = decimal(raw["price"]) if raw.get("price") else None
        return OrderView(raw["orderId"], raw["clientOid"] or None, Side(raw["side"]), price, decimal(raw["size"]),
                         STATUS[raw.get("state") or raw["status"]])

    @staticmethod
    def _position(raw: dict[str, Any]) -> PositionView:
        return PositionView(PositionSide(raw["holdSide"]), decimal(raw["total"]), decimal(raw["openPriceAvg"]))

    # --- streams (called on the sockets' loop) ------------------------------------------------------

    def _on_frame(self, text: str) -> None:
        if text == "pong":
            return
        try:
            self._handle(json.loads(text))
        except Exception as exc:  # noqa: BLE001 - reported by the next streamed_* read
            self.failure = exc

    def _handle(self, message: dict[str, Any]) -> None:
        event = message.get("event")
        if event == "error":
            raise AssertionError(f"the server refused a request: {message}")
        if event == "login":
            self._logged_in.set()
        if event is not None:
            return
        channel = message.get("arg", {}).get("channel")
        rows = message.get("data", [])
        if channel == "books":
            self._on_book(message["action"], rows[0])
        elif channel == "trade" and message.get("action") == "update":
            self.seen_trades.extend(TradeView(decimal(t["price"]), decimal(t["size"]), Side(t["side"])) for t in rows)
        elif channel == "orders":
            self.seen_orders.extend(self._order(r) for r in rows if r["instId"] == SYMBOL)
        elif channel == "fill":
            for r in rows:
                if r["symbol"] == SYMBOL and r["tradeId"] not in self._fill_ids:
                    self._fill_ids.add(r["tradeId"])
                    self.seen_fills.append(FillView(r["orderId"], Side(r["side"]), decimal(r["price"]),
                                                    decimal(r["baseVolume"])))
        elif channel == "positions":
            self.seen_positions.extend(self._position(p) for p in rows if p["instId"] == SYMBOL)
        elif channel == "account":
            wallet = _wallet(rows)
            if wallet is not None:
                self.seen_balance = wallet

    def _on_book(self, action: str, data: dict[str, Any]) -> None:
        """Bitget's rule: a snapshot resets the book; each update's `seq` is above the last one."""
        with self._lock:
            if action == "snapshot":
                self._levels = {"bids": {}, "asks": {}}
            elif self._seq is None or data["seq"] <= self._seq:
                raise AssertionError(f"books seq {data['seq']} after {self._seq}")
            self._seq = data["seq"]
            for side in ("bids", "asks"):
                for price, size in data[side]:
                    if decimal(size):
                        self._levels[side][decimal(price)] = decimal(size)
                    else:
                        self._levels[side].pop(decimal(price), None)
            bids: list[Level] = sorted(self._levels["bids"].items(), reverse=True)[:20]
            self.seen_book = (bids, sorted(self._levels["asks"].items())[:20])

    async def _connect(self, url: str) -> Any:
        """The library's WebSocketClient, its `websockets.connect` answering a `_TeeConnection`."""
        async def connect(target: str) -> _TeeConnection:
            return _TeeConnection(await websockets.connect(target), self._on_frame)

        websocket_client.ws_lib = SimpleNamespace(connect=connect, exceptions=ws_exceptions)  # type: ignore
        # (put back at close: the library's module keeps no other state)
        ws = websocket_client.WebSocketClient(url, API_KEY, API_SECRET, API_PASSPHRASE)
        await ws.connect()  # connects, logs in, starts its ping and receive tasks
        self._sockets.append(ws)
        return ws

    async def _subscribe(self, ws: Any, channels: list[tuple[str, str]], key: str = "instId") -> None:
        await ws.send_message({"op": "subscribe", "args": [
            {"instType": PRODUCT, "channel": channel, ("coin" if channel == "account" else key): target}
            for channel, target in channels]})

    def watch(self) -> None:
        public = self._loop.run(self._connect(self._server.server.public_ws_url))
        self._loop.run(self._subscribe(public, [("books", SYMBOL), ("trade", SYMBOL)]))
        self._logged_in.clear()
        private = self._loop.run(self._connect(self._server.server.private_ws_url))
        wait_until("bitget-api-client logged in", self._logged_in.is_set, bool)
        self._loop.run(self._subscribe(private, [(c, "default") for c in PRIVATE_CHANNELS]))
        wait_until("bitget-api-client's private channels subscribed",
                   lambda: _private_channels_subscribed(self._server), bool)

    # --- the scenario -------------------------------------------------------------------------------

    def load_markets(self) -> MarketView:
        [info] = self._call(self._api.contract.get_contract_config(PRODUCT, SYMBOL))
        tick = decimal(info["priceEndStep"]).scaleb(-int(info["pricePlace"]))
        return MarketView(tick, decimal(info["sizeMultiplier"]), decimal(info["minTradeNum"]))

    def set_leverage(self, leverage: int) -> int:
        answer = self._call(self._api.contract.change_leverage(SYMBOL, PRODUCT, QUOTE, leverage=str(leverage)))
        account = self._call(self._api.contract.get_single_account(SYMBOL, PRODUCT, QUOTE))
        assert answer["crossMarginLeverage"] == account["crossedMarginLeverage"], (answer, account)
        return int(account["crossedMarginLeverage"])

    def _read_back(self, order_id: str) -> OrderView:
        return self._order(self._call(self._api.contract.get_order_detail(SYMBOL, PRODUCT, orderId=order_id)))

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        placed = self._call(self._api.contract.place_order(SYMBOL, PRODUCT, "crossed", QUOTE, str(amount), side.value,
                                                           "limit", price=str(price), force="post_only",
                                                           clientOid=client_id))
        return self._read_back(placed["orderId"])

    def open_orders(self) -> list[OrderView]:
        data = self._call(self._api.contract.get_pending_orders(PRODUCT, symbol=SYMBOL))
        return [self._order(o) for o in data["entrustedList"] or []]

    def cancel(self, order_id: str) -> str:
        answer = self._call(self._api.contract.cancel_order(SYMBOL, PRODUCT, orderId=order_id, marginCoin=QUOTE))
        return answer["orderId"]

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        placed = self._call(self._api.contract.place_order(SYMBOL, PRODUCT, "crossed", QUOTE, str(amount), side.value,
                                                           "market", clientOid=client_id))
        return self._read_back(placed["orderId"])

    def positions(self) -> list[PositionView]:
        rows = self._call(self._api.contract.get_all_positions(PRODUCT, marginCoin=QUOTE))
        return [self._position(p) for p in rows if p["symbol"] == SYMBOL and decimal(p["total"])]

    def funding_rate(self) -> Decimal:
        [row] = self._call(self._api.contract.get_current_funding_rate(PRODUCT, symbol=SYMBOL))
        return decimal(row["fundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        # the library reads /api/v2/mix/account/account-bill (the documented path is .../bill)
        data = self._call(self._api.contract.get_account_bills(PRODUCT, marginCoin=QUOTE, limit="100"))
        return [FundingPaymentView(int(b["cTime"]), decimal(b["amount"])) for b in data["bills"]
                if b["businessType"] == "contract_settle_fee" and b["symbol"] == SYMBOL]

    def close(self) -> None:
        try:
            for ws in self._sockets:
                self._loop.run(ws.close())
            self._loop.run(self._api.close())
        finally:
            websocket_client.ws_lib = websockets
            self._loop.stop()


CLIENTS: dict[str, Callable[[ServerThread], RoundTripClient]] = {
    "ccxt-bitget": CcxtBitget,
    "bitget-api-client": BitgetApiClientAdapter,
}
