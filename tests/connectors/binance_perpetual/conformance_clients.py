"""Binance's independent clients for the conformance round trip (tests/connectors/conformance.py):
ccxt's `binanceusdm` (ccxt.pro: async REST and WebSocket) and the official
binance-futures-connector (REST, and its WebSocket client with the documented local-book sync).

Redirects (reference/exchange_apis.md §D2): every ccxt URL keeps its path on the loopback host;
the connector takes `base_url` and `stream_url`.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro
from binance.um_futures import UMFutures
from binance.websocket.um_futures.websocket_client import UMFuturesWebsocketClient
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

SYMBOL, CCXT_SYMBOL, QUOTE = "BTCUSDT", "BTC/USDT:USDT", "USDT"
# Binance order status (REST `status`, user stream `X`) and ccxt's unified status.
STATUS = {"NEW": OrderStatus.OPEN, "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED, "FILLED": OrderStatus.FILLED,
          "CANCELED": OrderStatus.CANCELLED, "EXPIRED": OrderStatus.CANCELLED, "REJECTED": OrderStatus.REJECTED,
          "open": OrderStatus.OPEN, "closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED,
          "expired": OrderStatus.CANCELLED, "rejected": OrderStatus.REJECTED}


def _user_stream_connected(server: ServerThread) -> bool:
    return server.call(lambda: server.server.ws.user_sockets() > 0)


def _position(amount: Decimal, entry: Any) -> PositionView:
    return PositionView(PositionSide.LONG if amount > 0 else PositionSide.SHORT, abs(amount), decimal(entry))


class CcxtBinance(Streamed):
    """ccxt.pro `binanceusdm`: REST calls and `watch_*` loops on one event loop of its own."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._loop = LoopThread("ccxt binanceusdm")
        self._ex = self._loop.run(self._create(server.rest_url, server.ws_url))

    @staticmethod
    async def _create(rest_url: str, ws_url: str) -> Any:
        # fetchCurrencies/fetchMargins off: no spot side-calls at load_markets (§0.4)
        ex = ccxtpro.binanceusdm({"apiKey": API_KEY, "secret": API_SECRET,
                                  "options": {"fetchCurrencies": False, "fetchMargins": False}})

        def redirect(node: Any) -> Any:
            if isinstance(node, dict):
                return {key: redirect(value) for key, value in node.items()}
            if isinstance(node, str):
                return re.sub(r"^wss://[^/]+", ws_url, re.sub(r"^https://[^/]+", rest_url, node))
            return node

        ex.urls["api"] = redirect(ex.urls["api"])
        return ex

    def _order(self, raw: dict[str, Any]) -> OrderView:
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
        total = raw.get(QUOTE, {}).get("total")  # ccxt's `total` is Binance's `wb` (option `wallet`)
        if total is not None:
            self.seen_balance = decimal(total)

    def load_markets(self) -> MarketView:
        market = self._loop.run(self._ex.load_markets())[CCXT_SYMBOL]
        return MarketView(decimal(market["precision"]["price"]), decimal(market["precision"]["amount"]),
                          decimal(market["limits"]["amount"]["min"]))

    def watch(self) -> None:
        ex, spawn = self._ex, self._loop.spawn

        def book(raw: Any) -> None:
            self.seen_book = ([(decimal(p), decimal(q)) for p, q in raw["bids"][:20]],
                         [(decimal(p), decimal(q)) for p, q in raw["asks"][:20]])

        spawn(self._forever(lambda: ex.watch_order_book(CCXT_SYMBOL), book))
        spawn(self._forever(lambda: ex.watch_trades(CCXT_SYMBOL), lambda raw: self.seen_trades.extend(
            TradeView(decimal(t["price"]), decimal(t["amount"]), Side(t["side"])) for t in raw)))
        spawn(self._forever(lambda: ex.watch_orders(CCXT_SYMBOL), lambda raw: self.seen_orders.extend(
            self._order(o) for o in raw)))
        spawn(self._forever(lambda: ex.watch_my_trades(CCXT_SYMBOL), lambda raw: self.seen_fills.extend(
            FillView(t["order"], Side(t["side"]), decimal(t["price"]), decimal(t["amount"])) for t in raw)))
        spawn(self._forever(lambda: ex.watch_positions([CCXT_SYMBOL]), lambda raw: self.seen_positions.extend(
            _position(decimal(p["contracts"]) * (1 if p["side"] == "long" else -1), p["entryPrice"])
            for p in raw if p["contracts"])))
        spawn(self._forever(lambda: ex.watch_balance(), self._keep_balance))
        wait_until("ccxt's user data stream connected", lambda: _user_stream_connected(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        return int(self._loop.run(self._ex.set_leverage(leverage, CCXT_SYMBOL))["leverage"])

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        return self._order(self._loop.run(self._ex.create_order(
            CCXT_SYMBOL, "limit", side.value, float(amount), float(price),
            {"postOnly": True, "clientOrderId": client_id})))

    def open_orders(self) -> list[OrderView]:
        return [self._order(o) for o in self._loop.run(self._ex.fetch_open_orders(CCXT_SYMBOL))]

    def cancel(self, order_id: str) -> str:
        return self._loop.run(self._ex.cancel_order(order_id, CCXT_SYMBOL))["id"]

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        return self._order(self._loop.run(self._ex.create_order(
            CCXT_SYMBOL, "market", side.value, float(amount), None, {"clientOrderId": client_id})))

    def positions(self) -> list[PositionView]:
        rows = self._loop.run(self._ex.fetch_positions([CCXT_SYMBOL]))
        return [_position(decimal(p["contracts"]) * (1 if p["side"] == "long" else -1), p["entryPrice"])
                for p in rows if p["contracts"]]

    def funding_rate(self) -> Decimal:
        return decimal(self._loop.run(self._ex.fetch_funding_rate(CCXT_SYMBOL))["fundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        rows = self._loop.run(self._ex.fetch_funding_history(CCXT_SYMBOL))
        return [FundingPaymentView(row["timestamp"], decimal(row["amount"])) for row in rows]

    def close(self) -> None:
        try:
            self._loop.run(self._ex.close())
        finally:
            self._loop.stop()


class ConnectorBinance(Streamed):
    """binance-futures-connector: `UMFutures` REST and two `UMFuturesWebsocketClient`s (market
    streams; the user data stream), keeping a local book by Binance's documented algorithm."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._rest = UMFutures(key=API_KEY, secret=API_SECRET, base_url=server.rest_url, timeout=10)
        self._lock = threading.Lock()
        self._diffs: list[dict[str, Any]] = []  # depth events before the snapshot
        self._levels: dict[str, dict[Decimal, Decimal]] | None = None
        self._last_u = 0
        self._chained = False  # the first diff after the snapshot is not chained by `pu`
        self._sockets: list[UMFuturesWebsocketClient] = []

    def _order(self, raw: dict[str, Any]) -> OrderView:
        price = decimal(raw["price"])
        return OrderView(str(raw["orderId"]), raw["clientOrderId"], Side(raw["side"].lower()), price or None,
                         decimal(raw["origQty"]), STATUS[raw["status"]])

    def _on_market(self, _: Any, text: str) -> None:
        event = json.loads(text)
        kind = event.get("e")
        if kind == "aggTrade":
            aggressor = Side.SELL if event["m"] else Side.BUY  # `m`: the buyer was the maker
            self.seen_trades.append(TradeView(decimal(event["p"]), decimal(event["q"]), aggressor))
        elif kind == "depthUpdate":
            with self._lock:
                if self._levels is None:
                    self._diffs.append(event)
                else:
                    self._apply(event)

    def _apply(self, event: dict[str, Any]) -> None:
        """One diff onto the local book: ids must chain (`pu` = previous `u`), else the book is broken."""
        assert self._levels is not None
        if event["u"] < self._last_u:
            return
        if self._chained and event["pu"] != self._last_u:
            self.failure = AssertionError(f"depth ids broke: pu {event['pu']} after u {self._last_u}")
            return
        self._chained = True
        for key, side in (("b", "bids"), ("a", "asks")):
            for price, qty in event[key]:
                if decimal(qty):
                    self._levels[side][decimal(price)] = decimal(qty)
                else:
                    self._levels[side].pop(decimal(price), None)
        self._last_u = event["u"]
        self._publish()

    def _publish(self) -> None:
        assert self._levels is not None
        self.seen_book = (sorted(self._levels["bids"].items(), reverse=True)[:20],
                          sorted(self._levels["asks"].items())[:20])

    def _on_user(self, _: Any, text: str) -> None:
        event = json.loads(text)
        if event.get("e") == "ORDER_TRADE_UPDATE":
            o = event["o"]
            side = Side(o["S"].lower())
            self.seen_orders.append(OrderView(str(o["i"]), o["c"], side, decimal(o["p"]) or None, decimal(o["q"]),
                                         STATUS[o["X"]]))
            if o["x"] == "TRADE":
                self.seen_fills.append(FillView(str(o["i"]), side, decimal(o["L"]), decimal(o["l"])))
        elif event.get("e") == "ACCOUNT_UPDATE":
            for row in event["a"]["B"]:
                if row["a"] == QUOTE:
                    self.seen_balance = decimal(row["wb"])
            self.seen_positions.extend(_position(decimal(p["pa"]), p["ep"]) for p in event["a"].get("P", [])
                                  if p["s"] == SYMBOL and decimal(p["pa"]))

    def load_markets(self) -> MarketView:
        [info] = [s for s in self._rest.exchange_info()["symbols"] if s["symbol"] == SYMBOL]
        filters = {f["filterType"]: f for f in info["filters"]}
        return MarketView(decimal(filters["PRICE_FILTER"]["tickSize"]), decimal(filters["LOT_SIZE"]["stepSize"]),
                          decimal(filters["LOT_SIZE"]["minQty"]))

    def watch(self) -> None:
        market = UMFuturesWebsocketClient(stream_url=self._server.ws_url, on_message=self._on_market)
        self._sockets.append(market)
        market.diff_book_depth(symbol=SYMBOL.lower(), speed=100)
        market.agg_trade(symbol=SYMBOL.lower())
        wait_until("a depth event before the snapshot", lambda: list(self._diffs), bool)
        snapshot = self._rest.depth(symbol=SYMBOL, limit=1000)
        with self._lock:
            self._levels = {side: {decimal(p): decimal(q) for p, q in snapshot[side]} for side in ("bids", "asks")}
            self._last_u = snapshot["lastUpdateId"]
            self._publish()
            # Binance's rule: drop u < lastUpdateId; the first applied event has U <= lastUpdateId <= u.
            pending = [e for e in self._diffs if e["u"] >= self._last_u]
            if pending and not pending[0]["U"] <= self._last_u:
                self.failure = AssertionError(f"first diff U {pending[0]['U']} after snapshot {self._last_u}")
            for event in pending:
                self._apply(event)
        key = self._rest.new_listen_key()["listenKey"]
        user = UMFuturesWebsocketClient(stream_url=self._server.ws_url, on_message=self._on_user)
        self._sockets.append(user)
        user.user_data(listen_key=key)
        wait_until("the connector's user data stream connected", lambda: _user_stream_connected(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        return int(self._rest.change_leverage(symbol=SYMBOL, leverage=leverage)["leverage"])

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        return self._order(self._rest.new_order(symbol=SYMBOL, side=side.value.upper(), type="LIMIT",
                                                timeInForce="GTX", quantity=str(amount), price=str(price),
                                                newClientOrderId=client_id, newOrderRespType="RESULT"))

    def open_orders(self) -> list[OrderView]:
        return [self._order(o) for o in self._rest.get_orders(symbol=SYMBOL)]

    def cancel(self, order_id: str) -> str:
        return str(self._rest.cancel_order(symbol=SYMBOL, orderId=int(order_id))["orderId"])

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        return self._order(self._rest.new_order(symbol=SYMBOL, side=side.value.upper(), type="MARKET",
                                                quantity=str(amount), newClientOrderId=client_id,
                                                newOrderRespType="RESULT"))

    def positions(self) -> list[PositionView]:
        return [_position(decimal(p["positionAmt"]), p["entryPrice"]) for p in self._rest.get_position_risk(
            symbol=SYMBOL) if decimal(p["positionAmt"])]

    def funding_rate(self) -> Decimal:
        return decimal(self._rest.mark_price(symbol=SYMBOL)["lastFundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        rows = self._rest.get_income_history(symbol=SYMBOL, incomeType="FUNDING_FEE")
        return [FundingPaymentView(row["time"], decimal(row["income"])) for row in rows]

    def close(self) -> None:
        for socket in self._sockets:
            socket.stop()  # sends a close frame and joins the reader thread


CLIENTS: dict[str, Callable[[ServerThread], RoundTripClient]] = {
    "ccxt-binanceusdm": CcxtBinance,
    "binance-futures-connector": ConnectorBinance,
}
