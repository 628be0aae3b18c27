"""OKX's independent clients for the conformance round trip (tests/connectors/conformance.py): ccxt's
`okx` (ccxt.pro: async REST and WebSocket) and the official python-okx (its `*API` REST classes,
and its asyncio `WsPublicAsync` / `WsPrivateAsync` on a loop of their own).

Redirects (reference/exchange_apis_more.md §L1): ccxt's `urls["api"]` is `{"rest", "ws"}`; python-okx
takes `domain` for REST and a URL per socket. python-okx's sockets connect with an SSL context,
which websockets refuses for ws://: each socket's factory is swapped for one that connects without
it (the client's own code is otherwise unchanged). Both log in with the account's passphrase.

OKX sizes are contracts (`ctVal` base units each): the adapters turn every size they read into base
units with the instrument's `ctVal`, and send contracts. OKX answers an order request with its ids
only; both adapters read the order back by id (`GET /api/v5/trade/order`), as a client must to see
the venue's view of it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro
import websockets
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
from okx import Account, PublicData, Trade
from okx.websocket.WebSocketFactory import WebSocketFactory
from okx.websocket.WsPrivateAsync import WsPrivateAsync
from okx.websocket.WsPublicAsync import WsPublicAsync
from venue_servers import API_KEY, API_PASSPHRASE, API_SECRET, ServerThread

from pmm.core.model import OrderStatus, PositionSide, Side

SYMBOL, CCXT_SYMBOL, QUOTE, MARGIN_MODE = "BTC-USDT-SWAP", "BTC/USDT:USDT", "USDT", "cross"
# OKX order `state` and ccxt's unified status.
STATUS = {"live": OrderStatus.OPEN, "partially_filled": OrderStatus.PARTIALLY_FILLED, "filled": OrderStatus.FILLED,
          "canceled": OrderStatus.CANCELLED, "mmp_canceled": OrderStatus.CANCELLED}
CCXT_STATUS = {"open": OrderStatus.OPEN, "closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED,
               "rejected": OrderStatus.REJECTED}
PRIVATE_CHANNELS = ("orders", "positions", "account")


def _private_channels_subscribed(server: ServerThread) -> bool:
    hub = server.server.hub

    def subscribed() -> set[str]:
        return {key[0] for conn in hub.clients for key in conn.subscriptions if isinstance(key, tuple)}

    return set(PRIVATE_CHANNELS) <= server.call(subscribed)


def _wallet(details: list[dict[str, Any]]) -> Decimal | None:
    """The quote asset's `cashBal` (deposits, realised PnL, fees, funding; `eq` adds unrealised PnL)."""
    return next((decimal(d["cashBal"]) for d in details if d["ccy"] == QUOTE), None)


class CcxtOkx(Streamed):
    """ccxt.pro `okx`: REST calls and `watch_*` loops on one event loop of its own."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._loop = LoopThread("ccxt okx")
        self._ex = self._loop.run(self._create(server))
        self._ct_val = Decimal(0)  # base units per contract, from load_markets
        self._fill_ids: set[str] = set()

    @staticmethod
    async def _create(server: ServerThread) -> Any:
        ex = ccxtpro.okx({"apiKey": API_KEY, "secret": API_SECRET, "password": API_PASSPHRASE,
                          "enableRateLimit": False, "options": {"defaultType": "swap"}})
        ex.urls["api"] = {"rest": server.rest_url, "ws": server.ws_url + "/ws/v5"}
        return ex

    def _run(self, coro: Any) -> Any:
        return self._loop.run(coro)

    def _base(self, contracts: Any) -> Decimal:
        return decimal(contracts) * self._ct_val

    def _contracts(self, base: Decimal) -> float:
        return float(base / self._ct_val)

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
        # A fill is known by its trade id: OKX repeats the latest fill's tradeId and fillSz on later
        # pushes of the same order, and ccxt may hand the same trade back from its cache.
        for t in raw:
            if t["id"] not in self._fill_ids:
                self._fill_ids.add(t["id"])
                self.seen_fills.append(FillView(t["order"], Side(t["side"]), decimal(t["price"]),
                                                self._base(t["amount"])))

    def _keep_balance(self, raw: dict[str, Any]) -> None:
        # ccxt's `total` is OKX's `eq` (unrealised PnL included); the wallet is `cashBal` in `info`
        for row in raw["info"]["data"]:
            wallet = _wallet(row["details"])
            if wallet is not None:
                self.seen_balance = wallet

    def _keep_book(self, raw: Any) -> None:
        self.seen_book = ([(decimal(p), self._base(q)) for p, q in raw["bids"][:20]],
                          [(decimal(p), self._base(q)) for p, q in raw["asks"][:20]])

    def load_markets(self) -> MarketView:
        market = self._run(self._ex.load_markets())[CCXT_SYMBOL]
        self._ct_val = decimal(market["contractSize"])
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
        spawn(self._forever(lambda: ex.watch_positions([CCXT_SYMBOL]), lambda raw: self.seen_positions.extend(
            self._position(p) for p in raw if p["contracts"])))
        spawn(self._forever(lambda: ex.watch_balance(), self._keep_balance))
        wait_until("ccxt's private channels subscribed", lambda: _private_channels_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        # ccxt hands back OKX's answer, which echoes the leverage set; the venue's view is read back
        [answer] = self._run(self._ex.set_leverage(leverage, CCXT_SYMBOL, {"mgnMode": MARGIN_MODE}))["data"]
        confirmed = self._run(self._ex.fetch_leverage(CCXT_SYMBOL, {"marginMode": MARGIN_MODE}))
        assert int(answer["lever"]) == int(confirmed["longLeverage"]), (answer, confirmed)
        return int(confirmed["longLeverage"])

    def _read_back(self, order_id: str) -> OrderView:
        return self._order(self._run(self._ex.fetch_order(order_id, CCXT_SYMBOL)))

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        placed = self._run(self._ex.create_order(CCXT_SYMBOL, "limit", side.value, self._contracts(amount),
                                                 float(price), {"postOnly": True, "clientOrderId": client_id}))
        return self._read_back(placed["id"])

    def open_orders(self) -> list[OrderView]:
        return [self._order(o) for o in self._run(self._ex.fetch_open_orders(CCXT_SYMBOL))]

    def cancel(self, order_id: str) -> str:
        return self._run(self._ex.cancel_order(order_id, CCXT_SYMBOL))["id"]

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        placed = self._run(self._ex.create_order(CCXT_SYMBOL, "market", side.value, self._contracts(amount), None,
                                                 {"clientOrderId": client_id}))
        return self._read_back(placed["id"])

    def positions(self) -> list[PositionView]:
        return [self._position(p) for p in self._run(self._ex.fetch_positions([CCXT_SYMBOL])) if p["contracts"]]

    def funding_rate(self) -> Decimal:
        return decimal(self._run(self._ex.fetch_funding_rate(CCXT_SYMBOL))["fundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        # ccxt reads the funding bills (type 8); `amount` is the bill's signed `balChg`
        rows = self._run(self._ex.fetch_funding_history(CCXT_SYMBOL))
        return [FundingPaymentView(row["timestamp"], decimal(row["amount"])) for row in rows]

    def close(self) -> None:
        try:
            self._run(self._ex.close())
        finally:
            self._loop.stop()


class _LoopbackFactory(WebSocketFactory):
    """python-okx's connection factory without its SSL context (the loopback server speaks ws://)."""

    async def connect(self) -> Any:
        self.websocket = await websockets.connect(self.url)
        return self.websocket


class PythonOkx(Streamed):
    """python-okx: the REST `*API` classes (httpx clients) and two asyncio sockets on a loop thread,
    keeping a local book from the `books` channel by OKX's documented `seqId` chaining."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        creds = {"api_key": API_KEY, "api_secret_key": API_SECRET, "passphrase": API_PASSPHRASE, "flag": "0",
                 "domain": server.rest_url, "debug": False}
        self._public = PublicData.PublicAPI(flag="0", domain=server.rest_url, debug=False)
        self._account = Account.AccountAPI(**creds)
        self._trade = Trade.TradeAPI(**creds)
        self._loop: LoopThread | None = None
        self._sockets: list[Any] = []
        self._lock = threading.Lock()
        self._levels: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
        self._seq: int | None = None
        self._ct_val = Decimal(0)
        self._logged_in = threading.Event()

    @staticmethod
    def _ok(answer: dict[str, Any]) -> list[dict[str, Any]]:
        assert answer["code"] == "0", answer
        return answer["data"]

    def _base(self, contracts: Any) -> Decimal:
        return decimal(contracts) * self._ct_val

    def _order(self, raw: dict[str, Any]) -> OrderView:
        price = decimal(raw["px"]) if raw["px"] else None
        return OrderView(raw["ordId"], raw["clOrdId"] or None, Side(raw["side"]), price, self._base(raw["sz"]),
                         STATUS[raw["state"]])

    def _position(self, raw: dict[str, Any]) -> PositionView:
        contracts = decimal(raw["pos"])  # net mode: signed
        side = PositionSide(raw["posSide"]) if raw["posSide"] in ("long", "short") else (
            PositionSide.LONG if contracts > 0 else PositionSide.SHORT)
        return PositionView(side, abs(contracts) * self._ct_val, decimal(raw["avgPx"]))

    # --- streams (called on the sockets' loop) ------------------------------------------------------

    def _on_message(self, text: str) -> None:
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
        if event is not None:  # login, subscribe, channel-conn-count answers
            return
        channel = message.get("arg", {}).get("channel")
        rows = message.get("data", [])
        if channel == "books":
            self._on_book(message["action"], rows[0])
        elif channel == "trades":
            self.seen_trades.extend(TradeView(decimal(t["px"]), self._base(t["sz"]), Side(t["side"])) for t in rows)
        elif channel == "orders":
            for row in (r for r in rows if r["instId"] == SYMBOL):
                self.seen_orders.append(self._order(row))
                if row["fillSz"] and decimal(row["fillSz"]):  # a push per fill: this fill's price and size
                    self.seen_fills.append(FillView(row["ordId"], Side(row["side"]), decimal(row["fillPx"]),
                                                    self._base(row["fillSz"])))
        elif channel == "positions":
            self.seen_positions.extend(self._position(p) for p in rows if p["instId"] == SYMBOL and decimal(p["pos"]))
        elif channel == "account":
            for row in rows:
                wallet = _wallet(row["details"])
                if wallet is not None:
                    self.seen_balance = wallet

    def _on_book(self, action: str, data: dict[str, Any]) -> None:
        """OKX's rule: a snapshot resets the book; each update's `prevSeqId` is the last `seqId`."""
        with self._lock:
            if action == "snapshot":
                if data["prevSeqId"] != -1:
                    raise AssertionError(f"a books snapshot with prevSeqId {data['prevSeqId']}, not -1")
                self._levels = {"bids": {}, "asks": {}}
            elif data["prevSeqId"] != self._seq:
                raise AssertionError(f"books seqId chain broke: prevSeqId {data['prevSeqId']} after {self._seq}")
            self._seq = data["seqId"]
            for side in ("bids", "asks"):
                for price, size, *_ in data[side]:
                    if decimal(size):
                        self._levels[side][decimal(price)] = self._base(size)
                    else:
                        self._levels[side].pop(decimal(price), None)
            bids: list[Level] = sorted(self._levels["bids"].items(), reverse=True)[:20]
            self.seen_book = (bids, sorted(self._levels["asks"].items())[:20])

    # --- the scenario -------------------------------------------------------------------------------

    def load_markets(self) -> MarketView:
        [info] = self._ok(self._public.get_instruments(instType="SWAP", instId=SYMBOL))
        self._ct_val = decimal(info["ctVal"])
        return MarketView(decimal(info["tickSz"]), self._base(info["lotSz"]), self._base(info["minSz"]))

    async def _open_sockets(self) -> None:
        public = WsPublicAsync(url=self._server.server.public_ws_url)
        private = WsPrivateAsync(apiKey=API_KEY, passphrase=API_PASSPHRASE, secretKey=API_SECRET,
                                 url=self._server.server.private_ws_url)
        for ws in (public, private):
            ws.factory = _LoopbackFactory(ws.url)
            await ws.connect()
            self._sockets.append(ws)
            ws.callback = self._on_message
            assert self._loop is not None
            self._loop.spawn(ws.consume())
        await public.subscribe([{"channel": "books", "instId": SYMBOL}, {"channel": "trades", "instId": SYMBOL}],
                               self._on_message)
        # python-okx's private subscribe() sleeps 5 s after its login: log in, await the answer, then send
        await private.login()

    async def _subscribe_private(self) -> None:
        await self._sockets[1].send("subscribe", [{"channel": "orders", "instType": "SWAP", "instId": SYMBOL},
                                                  {"channel": "positions", "instType": "SWAP", "instId": SYMBOL},
                                                  {"channel": "account", "ccy": QUOTE}])

    def watch(self) -> None:
        self._loop = LoopThread("python-okx sockets")
        self._loop.run(self._open_sockets())
        wait_until("python-okx logged in", self._logged_in.is_set, bool)
        self._loop.run(self._subscribe_private())
        wait_until("python-okx's private channels subscribed",
                   lambda: _private_channels_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        [answer] = self._ok(self._account.set_leverage(lever=str(leverage), mgnMode=MARGIN_MODE, instId=SYMBOL))
        [row] = self._ok(self._account.get_leverage(mgnMode=MARGIN_MODE, instId=SYMBOL))
        assert answer["lever"] == row["lever"], (answer, row)
        return int(decimal(row["lever"]))

    def _read_back(self, order_id: str) -> OrderView:
        [row] = self._ok(self._trade.get_order(instId=SYMBOL, ordId=order_id))
        return self._order(row)

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        [placed] = self._ok(self._trade.place_order(instId=SYMBOL, tdMode=MARGIN_MODE, side=side.value,
                                                    ordType="post_only", sz=str(amount / self._ct_val),
                                                    px=str(price), clOrdId=client_id))
        return self._read_back(placed["ordId"])

    def open_orders(self) -> list[OrderView]:
        return [self._order(o) for o in self._ok(self._trade.get_order_list(instType="SWAP", instId=SYMBOL))]

    def cancel(self, order_id: str) -> str:
        [row] = self._ok(self._trade.cancel_order(instId=SYMBOL, ordId=order_id))
        return row["ordId"]

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        [placed] = self._ok(self._trade.place_order(instId=SYMBOL, tdMode=MARGIN_MODE, side=side.value,
                                                    ordType="market", sz=str(amount / self._ct_val),
                                                    clOrdId=client_id))
        return self._read_back(placed["ordId"])

    def positions(self) -> list[PositionView]:
        rows = self._ok(self._account.get_positions(instType="SWAP", instId=SYMBOL))
        return [self._position(p) for p in rows if decimal(p["pos"])]

    def funding_rate(self) -> Decimal:
        [row] = self._ok(self._public.get_funding_rate(instId=SYMBOL))
        return decimal(row["fundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        rows = self._ok(self._account.get_account_bills(instType="SWAP", type="8"))
        return [FundingPaymentView(int(row["ts"]), decimal(row["balChg"])) for row in rows if row["instId"] == SYMBOL]

    def close(self) -> None:
        try:
            if self._loop is not None:
                for ws in self._sockets:
                    self._loop.run(ws.stop())
                self._loop.stop()
        finally:
            for api in (self._public, self._account, self._trade):
                api.close()


CLIENTS: dict[str, Callable[[ServerThread], RoundTripClient]] = {
    "ccxt-okx": CcxtOkx,
    "python-okx": PythonOkx,
}
