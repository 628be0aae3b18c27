"""KuCoin's independent clients for the conformance round trip (tests/connectors/conformance.py):
ccxt's `kucoinfutures` (ccxt.pro: async REST and WebSocket) and KuCoin's official
kucoin-universal-sdk (its REST services and its WebSocket services on threads of their own).

Redirects (reference/exchange_apis_more.md §L1): ccxt takes every REST base in `urls["api"]` (it
probes `/api/ua/v1/account/mode` at load, and the server answers a classic account); the SDK takes the
futures, spot and broker endpoints in its `ClientOption`. Both learn the WebSocket endpoint from the
server's bullet answer (`encrypt` false, ws:// on loopback). ccxt's `watch_positions` reads the
unified-account push service, so the adapter watches the classic `/contract/position:` topic with
`watch_position`.

KuCoin sizes are lots (`multiplier` base units each): the adapters turn every size they read into
base units with the contract's multiplier, and send lots. KuCoin answers an order request with its
ids only; both adapters read the order back by id, as a client must to see the venue's view of it.
"""

from __future__ import annotations

import threading
import time
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
from kucoin_universal_sdk.api import DefaultClient
from kucoin_universal_sdk.generate.futures.fundingfees import (
    GetCurrentFundingRateReqBuilder,
    GetPrivateFundingHistoryReqBuilder,
)
from kucoin_universal_sdk.generate.futures.market import GetFullOrderBookReqBuilder, GetSymbolReqBuilder
from kucoin_universal_sdk.generate.futures.order import (
    AddOrderReq,
    AddOrderReqBuilder,
    CancelOrderByIdReqBuilder,
    GetOrderByOrderIdReqBuilder,
    GetOrderListReq,
    GetOrderListReqBuilder,
)
from kucoin_universal_sdk.generate.futures.positions import (
    GetCrossMarginLeverageReqBuilder,
    GetPositionListReqBuilder,
    ModifyMarginLeverageReqBuilder,
    SwitchMarginModeReq,
    SwitchMarginModeReqBuilder,
)
from kucoin_universal_sdk.model import ClientOptionBuilder, TransportOptionBuilder, WebSocketClientOptionBuilder
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
                                    "enableRateLimit": False})
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
        # from `/api/v2/getCrossUserLeverage` through ccxt's raw endpoint: 4.5.70's `fetch_leverage` is
        # the unified-account one, which cannot parse the futures answer
        self._run(self._ex.set_margin_mode("cross", CCXT_SYMBOL))
        self._run(self._ex.set_leverage(leverage, CCXT_SYMBOL))
        confirmed = self._run(self._ex.futuresPrivateGetGetCrossUserLeverage({"symbol": SYMBOL}))
        return int(confirmed["data"]["leverage"])

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


def _num(value: Any) -> Decimal:
    """The SDK's models hold KuCoin's JSON numbers as floats: back to the digits the wire had."""
    return decimal(str(value)) if isinstance(value, float) else decimal(value)


class UniversalSdk(Streamed):
    """kucoin-universal-sdk: its REST services (signing with key version 3) and its futures
    WebSocket services (public: level2 increments and executions; private: orders, position,
    balance), each on threads of its own. The SDK gives book increments only: the adapter keeps the
    book as KuCoin says a client must (REST snapshot, then the increments past its sequence)."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        ws_option = WebSocketClientOptionBuilder().build()
        option = (ClientOptionBuilder().set_key(API_KEY).set_secret(API_SECRET).set_passphrase(API_PASSPHRASE)
                  .set_spot_endpoint(server.rest_url).set_futures_endpoint(server.rest_url)
                  .set_broker_endpoint(server.rest_url).set_transport_option(TransportOptionBuilder().build())
                  .set_websocket_client_option(ws_option).build())
        self._client = DefaultClient(option)
        futures = self._client.rest_service().get_futures_service()
        self._market, self._orders = futures.get_market_api(), futures.get_order_api()
        self._positions, self._funding = futures.get_positions_api(), futures.get_funding_fees_api()
        self._account = self._client.rest_service().get_account_service().get_account_api()
        self._multiplier = Decimal(0)
        self._lock = threading.Lock()
        self._book: tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]] | None = None
        self._book_seq = 0
        self._held: list[Any] = []
        self._public: Any = None
        self._private: Any = None
        self._fill_ids: set[str] = set()

    def _base(self, lots: Any) -> Decimal:
        return decimal(lots) * self._multiplier

    def _view(self, raw: Any) -> OrderView:
        status = OrderStatus.OPEN if raw.is_active else (
            OrderStatus.FILLED if raw.filled_size == raw.size else OrderStatus.CANCELLED)
        return OrderView(raw.id, raw.client_oid, Side(_value(raw.side)), decimal(raw.price) if raw.price else None,
                         self._base(raw.size), status)

    def load_markets(self) -> MarketView:
        raw = self._market.get_symbol(GetSymbolReqBuilder().set_symbol(SYMBOL).build())
        self._multiplier = _num(raw.multiplier)
        return MarketView(_num(raw.tick_size), self._base(raw.lot_size), self._base(raw.lot_size))

    # --- streams ----------------------------------------------------------------------------------

    def _guard(self, keep: Callable[[Any], None]) -> Callable[[str, str, Any], None]:
        def callback(topic: str, subject: str, data: Any) -> None:
            try:
                keep(data)
            except Exception as exc:  # noqa: BLE001 - reported by the next streamed_* read
                self.failure = exc
        return callback

    def _apply(self, change: Any) -> None:
        assert self._book is not None
        price, side, size = change.change.split(",")
        levels = self._book[0 if side == "buy" else 1]
        if decimal(size) == 0:
            levels.pop(decimal(price), None)
        else:
            levels[decimal(price)] = self._base(size)
        self._book_seq = change.sequence

    def _publish_book(self) -> None:
        assert self._book is not None
        bids, asks = self._book
        self.seen_book = (sorted(bids.items(), reverse=True)[:20], sorted(asks.items())[:20])

    def _keep_increment(self, data: Any) -> None:
        with self._lock:
            if self._book is None:
                self._held.append(data)
                return
            if data.sequence <= self._book_seq:
                return
            if data.sequence != self._book_seq + 1:
                raise AssertionError(f"level2 gap: {data.sequence} after {self._book_seq}")
            self._apply(data)
            self._publish_book()

    def _load_book(self) -> None:
        snap = self._market.get_full_order_book(GetFullOrderBookReqBuilder().set_symbol(SYMBOL).build())
        with self._lock:
            self._book = ({_num(p): self._base(q) for p, q in snap.bids},
                          {_num(p): self._base(q) for p, q in snap.asks})
            self._book_seq = snap.sequence
            for change in self._held:
                if change.sequence > self._book_seq:
                    self._apply(change)
            self._held = []
            self._publish_book()

    def _keep_order(self, data: Any) -> None:
        kind = _value(data.type)
        status = {"open": OrderStatus.OPEN, "match": OrderStatus.PARTIALLY_FILLED, "update": OrderStatus.OPEN,
                  "filled": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED}[kind]
        self.seen_orders.append(OrderView(data.order_id, data.client_oid, Side(_value(data.side)),
                                          decimal(data.price) if data.price else None, self._base(data.size), status))
        if kind == "match" and data.trade_id not in self._fill_ids:
            self._fill_ids.add(data.trade_id)
            self.seen_fills.append(FillView(data.order_id, Side(_value(data.side)), decimal(data.match_price),
                                            self._base(data.match_size)))

    def _keep_position(self, data: Any) -> None:
        if data.current_qty:
            side = PositionSide.LONG if data.current_qty > 0 else PositionSide.SHORT
            self.seen_positions.append(PositionView(side, self._base(abs(data.current_qty)),
                                                    _num(data.avg_entry_price)))

    def _keep_balance(self, data: Any) -> None:
        if data.currency == QUOTE:
            self.seen_balance = decimal(data.wallet_balance)

    def watch(self) -> None:
        ws = self._client.ws_service()
        self._public, self._private = ws.new_futures_public_ws(), ws.new_futures_private_ws()
        self._public.start()
        self._public.orderbook_increment(SYMBOL, self._guard(self._keep_increment))
        self._public.execution(SYMBOL, self._guard(lambda t: self.seen_trades.append(
            TradeView(decimal(t.price), self._base(t.size), Side(t.side)))))
        self._private.start()
        self._private.order(SYMBOL, self._guard(self._keep_order))
        self._private.position(SYMBOL, self._guard(self._keep_position))
        self._private.balance(self._guard(self._keep_balance))
        wait_until("the SDK's private topics subscribed", lambda: _private_topics_subscribed(self._server), bool)
        wait_until("a level2 change to sync the book on", lambda: self._held or self.failure, bool)
        self._load_book()

    # --- REST -------------------------------------------------------------------------------------

    def set_leverage(self, leverage: int) -> int:
        self._positions.switch_margin_mode(SwitchMarginModeReqBuilder().set_symbol(SYMBOL).set_margin_mode(
            SwitchMarginModeReq.MarginModeEnum.CROSS).build())
        answer = self._positions.modify_margin_leverage(
            ModifyMarginLeverageReqBuilder().set_symbol(SYMBOL).set_leverage(str(leverage)).build())
        assert answer.data is True
        confirmed = self._positions.get_cross_margin_leverage(
            GetCrossMarginLeverageReqBuilder().set_symbol(SYMBOL).build())
        return int(confirmed.leverage)

    def _read_back(self, order_id: str) -> OrderView:
        return self._view(self._orders.get_order_by_order_id(GetOrderByOrderIdReqBuilder().set_order_id(
            order_id).build()))

    def _place(self, builder: Any) -> OrderView:
        placed = self._orders.add_order(builder.set_symbol(SYMBOL).set_margin_mode(
            AddOrderReq.MarginModeEnum.CROSS).build())
        return self._read_back(placed.order_id)

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        return self._place(AddOrderReqBuilder().set_client_oid(client_id).set_side(AddOrderReq.SideEnum(side.value))
                           .set_type(AddOrderReq.TypeEnum.LIMIT).set_price(str(price)).set_post_only(True)
                           .set_size(int(amount / self._multiplier)).set_leverage(7))

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        return self._place(AddOrderReqBuilder().set_client_oid(client_id).set_side(AddOrderReq.SideEnum(side.value))
                           .set_type(AddOrderReq.TypeEnum.MARKET).set_size(int(amount / self._multiplier))
                           .set_leverage(7))

    def open_orders(self) -> list[OrderView]:
        listed = self._orders.get_order_list(GetOrderListReqBuilder().set_status(
            GetOrderListReq.StatusEnum.ACTIVE).set_symbol(SYMBOL).build())
        return [self._view(o) for o in listed.items]

    def cancel(self, order_id: str) -> str:
        answer = self._orders.cancel_order_by_id(CancelOrderByIdReqBuilder().set_order_id(order_id).build())
        [cancelled] = answer.cancelled_order_ids
        return cancelled

    def positions(self) -> list[PositionView]:
        rows = self._positions.get_position_list(GetPositionListReqBuilder().set_currency(QUOTE).build()).data
        return [PositionView(PositionSide.LONG if p.current_qty > 0 else PositionSide.SHORT,
                             self._base(abs(p.current_qty)), _num(p.avg_entry_price))
                for p in rows if p.symbol == SYMBOL and p.current_qty]

    def funding_rate(self) -> Decimal:
        return _num(self._funding.get_current_funding_rate(
            GetCurrentFundingRateReqBuilder().set_symbol(SYMBOL).build()).value)

    def funding_payments(self) -> list[FundingPaymentView]:
        now_ms = int(time.time() * 1000) + 60_000
        answer = self._funding.get_private_funding_history(
            GetPrivateFundingHistoryReqBuilder().set_symbol(SYMBOL).set_start_at(now_ms - 3_600_000)
            .set_end_at(now_ms).set_reverse(True).set_forward(False).set_max_count(100).build())
        return [FundingPaymentView(row.time_point, _num(row.funding)) for row in answer.data_list]

    def close(self) -> None:
        # The SDK's stop joins each socket's threads (its keep-alive may be in a ping write bounded by
        # pingTimeout, 10 s): stopping the two sockets one after the other could take twice that.
        stops = [threading.Thread(target=ws.stop, daemon=True) for ws in (self._public, self._private)
                 if ws is not None]
        for stop in stops:
            stop.start()
        for stop in stops:
            stop.join()


def _value(enum_or_text: Any) -> str:
    return str(getattr(enum_or_text, "value", enum_or_text))


CLIENTS: dict[str, Callable[[ServerThread], RoundTripClient]] = {
    "ccxt kucoinfutures": CcxtKucoinFutures,
    "kucoin-universal-sdk": UniversalSdk,
}
