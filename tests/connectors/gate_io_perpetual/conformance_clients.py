"""Gate's independent clients for the conformance round trip (tests/connectors/conformance.py): ccxt's
`gate` (ccxt.pro: async REST and WebSocket) and Gate's official SDKs, `gate-api` (REST) with
`gate-ws` (the futures WebSocket, asyncio).

Redirects (reference/exchange_apis_more.md §L1): ccxt's every `urls["api"]["public" | "private"]`
leaf -> `<server>/api/v4`, its socket `urls["api"]["swap"]["usdt"]` -> `<server>/v4/ws/usdt`, and the
account's user id as `uid` (its private channels name it); gate-api takes
`Configuration(host=<server>/api/v4)`, gate-ws `Configuration(host=<server>/v4/ws/usdt)`.

Gate sizes are contracts (`quanto_multiplier` base units each): the adapters turn every size they
read into base units with the contract's multiplier, and send contracts.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt.pro as ccxtpro
import gate_api
import gate_ws
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
from gate_ws.futures import (
    FuturesBalanceChannel,
    FuturesOrderBookUpdateChannel,
    FuturesOrderChannel,
    FuturesPositionsChannel,
    FuturesPublicTradeChannel,
    FuturesUserTradesChannel,
)
from venue_servers import API_KEY, API_SECRET, ServerThread

from pmm.core.model import OrderStatus, PositionSide, Side

CONTRACT, CCXT_SYMBOL, SETTLE, QUOTE = "BTC_USDT", "BTC/USDT:USDT", "usdt", "USDT"
UID = "10000"  # the simulated account's user id (server/views.py)
WS_PATH = "/v4/ws/usdt"
CCXT_STATUS = {"open": OrderStatus.OPEN, "closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED,
               "rejected": OrderStatus.REJECTED}
PRIVATE_CHANNELS = ("futures.orders", "futures.usertrades", "futures.positions", "futures.balances")


def _private_channels_subscribed(server: ServerThread) -> bool:
    hub = server.server.hub

    def subscribed() -> set[str]:
        return {key[0] for conn in hub.clients for key in conn.subscriptions if isinstance(key, tuple)}

    return set(PRIVATE_CHANNELS) <= server.call(subscribed)


def _status(row: Any) -> OrderStatus:
    """Gate's order `status` and `finish_as` -> pmm's status."""
    status, finish_as = row["status"], row.get("finish_as")
    if status == "open":
        return OrderStatus.OPEN
    return OrderStatus.FILLED if finish_as == "filled" else OrderStatus.CANCELLED


class _LoopbackGate(ccxtpro.gate):
    """ccxt.pro `gate` whose sockets are all USDT-perpetual ones. ccxt files a `futures.positions`
    push under the market type it reads from the socket's host name (the "fx" of `fx-ws.gateio.ws`);
    the loopback host 127.0.0.1 names none, so without this every push would be filed as spot."""

    def get_market_type_by_url(self, url: str) -> str:
        return "swap"


class CcxtGate(Streamed):
    """ccxt.pro `gate`: REST calls and `watch_*` loops on one event loop of its own."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._loop = LoopThread("ccxt gate")
        self._ex = self._loop.run(self._create(server))
        self._multiplier = Decimal(0)  # base units per contract, from load_markets
        self._fill_ids: set[str] = set()

    @staticmethod
    async def _create(server: ServerThread) -> Any:
        ex = _LoopbackGate({"apiKey": API_KEY, "secret": API_SECRET, "uid": UID, "enableRateLimit": False,
                           "options": {"defaultType": "swap"}})
        for part in ("public", "private"):
            ex.urls["api"][part] = {name: f"{server.rest_url}/api/v4" for name in ex.urls["api"][part]}
        ex.urls["api"]["swap"] = {"usdt": server.ws_url + WS_PATH, "btc": server.ws_url + "/v4/ws/btc"}
        return ex

    def _run(self, coro: Any) -> Any:
        return self._loop.run(coro)

    def _base(self, contracts: Any) -> Decimal:
        return decimal(contracts) * self._multiplier

    def _contracts(self, base: Decimal) -> float:
        return float(base / self._multiplier)

    def _order(self, raw: dict[str, Any]) -> OrderView:
        price, text = raw["price"], raw["clientOrderId"] or ""
        return OrderView(str(raw["id"]), text[2:] if text.startswith("t-") else None, Side(raw["side"]),
                         decimal(price) if price else None, self._base(raw["amount"]), CCXT_STATUS[raw["status"]])

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
                self.seen_fills.append(FillView(str(t["order"]), Side(t["side"]), decimal(t["price"]),
                                                self._base(t["amount"])))

    def _keep_balance(self, raw: dict[str, Any]) -> None:
        # ccxt's futures.balances rows carry Gate's wallet `balance` after each change
        if raw.get(QUOTE, {}).get("total") is not None:
            self.seen_balance = decimal(raw[QUOTE]["total"])

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
        spawn(self._forever(lambda: ex.watch_positions([CCXT_SYMBOL]), lambda raw: self.seen_positions.extend(
            self._position(p) for p in raw if p["contracts"])))
        spawn(self._forever(lambda: ex.watch_balance({"type": "swap", "settle": SETTLE}), self._keep_balance))
        wait_until("ccxt's private channels subscribed", lambda: _private_channels_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        # ccxt sends `leverage=N` (isolated at N); the venue's view is read back from the position
        self._run(self._ex.set_leverage(leverage, CCXT_SYMBOL))
        position = self._run(self._ex.fetch_position(CCXT_SYMBOL))
        return int(decimal(position["info"]["leverage"]))

    def _read_back(self, order_id: str) -> OrderView:
        return self._order(self._run(self._ex.fetch_order(order_id, CCXT_SYMBOL)))

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        placed = self._run(self._ex.create_order(CCXT_SYMBOL, "limit", side.value, self._contracts(amount),
                                                 float(price), {"postOnly": True, "clientOrderId": client_id}))
        return self._read_back(placed["id"])

    def open_orders(self) -> list[OrderView]:
        return [self._order(o) for o in self._run(self._ex.fetch_open_orders(CCXT_SYMBOL))]

    def cancel(self, order_id: str) -> str:
        return str(self._run(self._ex.cancel_order(order_id, CCXT_SYMBOL))["id"])

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        placed = self._run(self._ex.create_order(CCXT_SYMBOL, "market", side.value, self._contracts(amount), None,
                                                 {"clientOrderId": client_id}))
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


class GateApiSdk(Streamed):
    """Gate's official SDKs: `gate_api.FuturesApi` (REST) and `gate_ws` (the futures socket, asyncio, on
    a loop thread), keeping a local book from `futures.order_book_update` by Gate's documented id
    rule: the REST snapshot's `id` + 1 must fall in the first update's [U, u], then U = last u + 1."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        config = gate_api.Configuration(host=f"{server.rest_url}/api/v4", key=API_KEY, secret=API_SECRET)
        self._api = gate_api.ApiClient(config)
        self._futures = gate_api.FuturesApi(self._api)
        self._loop: LoopThread | None = None
        self._conn: Any = None
        self._lock = threading.Lock()
        self._levels: dict[str, dict[Decimal, Decimal]] = {"b": {}, "a": {}}
        self._book_id: int | None = None
        self._pending: list[dict[str, Any]] = []
        self._multiplier = Decimal(0)

    def _base(self, contracts: Any) -> Decimal:
        return (contracts if isinstance(contracts, Decimal) else decimal(contracts)) * self._multiplier

    def _order(self, raw: Any) -> OrderView:
        size = decimal(raw.size)
        text = raw.text or ""
        return OrderView(str(raw.id), text[2:] if text.startswith("t-") else None,
                         Side.BUY if size > 0 else Side.SELL, decimal(raw.price) if decimal(raw.price) else None,
                         self._base(abs(size)), _status({"status": raw.status, "finish_as": raw.finish_as}))

    # --- streams (called on the socket's loop) ------------------------------------------------------

    def _guard(self, handle: Callable[[Any], None]) -> Callable[[Any, Any], None]:
        def callback(conn: Any, response: Any) -> None:
            try:
                if response.error:
                    raise AssertionError(f"the server refused a request: {response.error}")
                handle(response.result)
            except Exception as exc:  # noqa: BLE001 - reported by the next streamed_* read
                self.failure = exc
        return callback

    def _on_book(self, result: Any) -> None:
        if not isinstance(result, dict) or "U" not in result:
            return  # the subscribe answer
        with self._lock:
            if self._book_id is None:
                self._pending.append(result)
                return
            self._apply(result)

    def _apply(self, update: dict[str, Any]) -> None:
        assert self._book_id is not None
        if update["u"] < self._book_id + 1:
            return
        if update["U"] > self._book_id + 1:
            raise AssertionError(f"order_book_update id chain broke: U {update['U']} after {self._book_id}")
        self._book_id = update["u"]
        for side in ("b", "a"):
            for level in update[side]:
                price, size = decimal(level["p"]), decimal(level["s"])
                if size:
                    self._levels[side][price] = self._base(size)
                else:
                    self._levels[side].pop(price, None)
        self._publish()

    def _publish(self) -> None:
        bids: list[Level] = sorted(self._levels["b"].items(), reverse=True)[:20]
        self.seen_book = (bids, sorted(self._levels["a"].items())[:20])

    def _on_trades(self, result: Any) -> None:
        if isinstance(result, list):
            self.seen_trades.extend(TradeView(decimal(t["price"]), self._base(abs(decimal(t["size"]))),
                                              Side.BUY if decimal(t["size"]) > 0 else Side.SELL) for t in result)

    def _on_orders(self, result: Any) -> None:
        for row in result if isinstance(result, list) else []:
            size = decimal(row["size"])
            text = row.get("text") or ""
            self.seen_orders.append(OrderView(str(row["id"]), text[2:] if text.startswith("t-") else None,
                                              Side.BUY if size > 0 else Side.SELL,
                                              decimal(row["price"]) if decimal(row["price"]) else None,
                                              self._base(abs(size)), _status(row)))

    def _on_fills(self, result: Any) -> None:
        for row in result if isinstance(result, list) else []:
            size = decimal(row["size"])
            self.seen_fills.append(FillView(str(row["order_id"]), Side.BUY if size > 0 else Side.SELL,
                                            decimal(row["price"]), self._base(abs(size))))

    def _on_positions(self, result: Any) -> None:
        for row in result if isinstance(result, list) else []:
            size = decimal(row["size"])
            if size:
                self.seen_positions.append(PositionView(PositionSide.LONG if size > 0 else PositionSide.SHORT,
                                                        self._base(abs(size)), decimal(row["entry_price"])))

    def _on_balances(self, result: Any) -> None:
        for row in result if isinstance(result, list) else []:
            if str(row.get("currency", QUOTE)).upper() == QUOTE:
                self.seen_balance = decimal(row["balance"])

    # --- the scenario -------------------------------------------------------------------------------

    def load_markets(self) -> MarketView:
        contract = self._futures.get_futures_contract(SETTLE, CONTRACT)
        self._multiplier = decimal(contract.quanto_multiplier)
        return MarketView(decimal(contract.order_price_round), self._multiplier,
                          self._base(contract.order_size_min))

    async def _open(self) -> None:
        config = gate_ws.Configuration(app="futures", settle=SETTLE, host=self._server.ws_url + WS_PATH,
                                       api_key=API_KEY, api_secret=API_SECRET)
        self._conn = gate_ws.Connection(config)
        channels = [
            (FuturesOrderBookUpdateChannel, [CONTRACT, "100ms", "20"], self._on_book),
            (FuturesPublicTradeChannel, [CONTRACT], self._on_trades),
            (FuturesOrderChannel, [UID, CONTRACT], self._on_orders),
            (FuturesUserTradesChannel, [UID, CONTRACT], self._on_fills),
            (FuturesPositionsChannel, [UID, CONTRACT], self._on_positions),
            (FuturesBalanceChannel, [UID], self._on_balances),
        ]
        for channel, payload, handle in channels:
            channel(self._conn, self._guard(handle)).subscribe(payload)
        assert self._loop is not None
        self._loop.spawn(self._conn.run())

    def _snapshot(self) -> None:
        book = self._futures.list_futures_order_book(SETTLE, CONTRACT, limit=20, with_id=True)
        with self._lock:
            self._levels = {"b": {decimal(x.p): self._base(x.s) for x in book.bids},
                            "a": {decimal(x.p): self._base(x.s) for x in book.asks}}
            self._book_id = int(book.id)
            pending, self._pending = self._pending, []
            self._publish()
            for update in pending:
                self._apply(update)

    def watch(self) -> None:
        self._loop = LoopThread("gate-ws socket")
        self._loop.run(self._open())
        wait_until("gate-ws's book updates arriving", lambda: len(self._pending), bool)
        self._snapshot()
        wait_until("gate-ws's private channels subscribed", lambda: _private_channels_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        self._futures.update_position_leverage(SETTLE, CONTRACT, str(leverage))
        return int(decimal(self._futures.get_position(SETTLE, CONTRACT).leverage))

    def _read_back(self, order_id: Any) -> OrderView:
        return self._order(self._futures.get_futures_order(SETTLE, str(order_id)))

    def _contracts(self, side: Side, amount: Decimal) -> str:
        contracts = (amount / self._multiplier).normalize()
        return format(contracts if side is Side.BUY else -contracts, "f")

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        order = gate_api.FuturesOrder(contract=CONTRACT, size=self._contracts(side, amount), price=str(price),
                                      tif="poc", text=f"t-{client_id}")
        return self._read_back(self._futures.create_futures_order(SETTLE, order).id)

    def open_orders(self) -> list[OrderView]:
        return [self._order(o) for o in self._futures.list_futures_orders(SETTLE, status="open", contract=CONTRACT)]

    def cancel(self, order_id: str) -> str:
        return str(self._futures.cancel_futures_order(SETTLE, order_id).id)

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        order = gate_api.FuturesOrder(contract=CONTRACT, size=self._contracts(side, amount), price="0", tif="ioc",
                                      text=f"t-{client_id}")
        return self._read_back(self._futures.create_futures_order(SETTLE, order).id)

    def positions(self) -> list[PositionView]:
        rows = self._futures.list_positions(SETTLE, holding=True)
        return [PositionView(PositionSide.LONG if decimal(p.size) > 0 else PositionSide.SHORT,
                             self._base(abs(decimal(p.size))), decimal(p.entry_price))
                for p in rows if p.contract == CONTRACT and decimal(p.size)]

    def funding_rate(self) -> Decimal:
        return decimal(self._futures.get_futures_contract(SETTLE, CONTRACT).funding_rate)

    def funding_payments(self) -> list[FundingPaymentView]:
        rows = self._futures.list_futures_account_book(SETTLE, contract=CONTRACT, type="fund")
        return [FundingPaymentView(round(float(row.time) * 1000), decimal(row.change)) for row in rows]

    def close(self) -> None:
        try:
            if self._loop is not None and self._conn is not None:
                self._conn.close()
                self._loop.run(asyncio.sleep(0.1))
                self._loop.stop()
        finally:
            self._api.close()


CLIENTS: dict[str, Callable[[ServerThread], RoundTripClient]] = {
    "ccxt-gate": CcxtGate,
    "gate-api": GateApiSdk,
}
