"""BitMEX's independent clients for the conformance round trip (tests/connectors/conformance.py):
ccxt's `bitmex` (ccxt.pro: async REST and WebSocket) and BitMEX's own sample WebSocket adapter
`bitmex-ws` (`BitMEXWebsocket`, websocket-client) with its REST signer.

The adapter uses ccxt's single-exchange build of `bitmex`, `bitmex-api` (ccxt 4.5.83 inside), not the
`bitmex` of the pinned ccxt 4.5.70: that one's `watch_positions` sees no position update from the
server (not investigated yet; the project once pinned 4.5.90, which has no BitMEX at all). That package makes
itself `ccxt` in `sys.modules` when imported; `_vendored_ccxt_bitmex` imports it with the real ccxt
set aside and puts the real one back, so the other venues' ccxt is untouched.

Redirects: ccxt's `urls["api"]` is `{"public", "private", "ws"}` (ws: the `/realtime` URL);
`BitMEXWebsocket` takes the `/realtime` URL, authenticates with signed headers on the upgrade and
subscribes in the URL. bitmex-ws has no REST half: its signer (`util.api_key.generate_signature`,
BitMEX's reference implementation of `api-signature`) signs the adapter's REST calls, sent with the
standard library.

BitMEX sizes are contracts (`underlyingToPositionMultiplier` per base unit): the adapters turn every
size they read into base units and send contracts. Margin figures are millionths of USDT.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from typing import Any

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
from venue_servers import API_KEY, API_SECRET, ServerThread

from pmm.core.model import OrderStatus, PositionSide, Side

SYMBOL, CCXT_SYMBOL, QUOTE = "XBTUSDT", "BTC/USDT:USDT", "USDT"
SCALE = Decimal(1_000_000)  # USDt figures are millionths
STATUS = {"New": OrderStatus.OPEN, "PartiallyFilled": OrderStatus.PARTIALLY_FILLED, "Filled": OrderStatus.FILLED,
          "Canceled": OrderStatus.CANCELLED, "Rejected": OrderStatus.REJECTED}
CCXT_STATUS = {"open": OrderStatus.OPEN, "closed": OrderStatus.FILLED, "canceled": OrderStatus.CANCELLED,
               "rejected": OrderStatus.REJECTED}
PRIVATE_TABLES = ("order", "execution", "position", "margin")


@functools.cache
def _vendored_ccxt_bitmex() -> Any:
    """ccxt.pro's `bitmex` class from the `bitmex-api` build, imported once without disturbing `ccxt`."""
    real = {name: module for name, module in sys.modules.items() if name == "ccxt" or name.startswith("ccxt.")}
    for name in real:
        del sys.modules[name]
    try:
        importlib.import_module("bitmex")  # aliases its vendored ccxt as `ccxt` while it loads
        return importlib.import_module("ccxt.pro").bitmex
    finally:
        for name in [n for n in sys.modules if n == "ccxt" or n.startswith("ccxt.")]:
            del sys.modules[name]
        sys.modules.update(real)


def _private_tables_subscribed(server: ServerThread) -> bool:
    hub = server.server.hub

    def subscribed() -> set[str]:
        return {key[0] for conn in hub.clients for key in conn.subscriptions if isinstance(key, tuple)}

    return set(PRIVATE_TABLES) <= server.call(subscribed)


class CcxtBitmex(Streamed):
    """ccxt.pro `bitmex` (bitmex-api 0.0.163 = ccxt 4.5.83): REST and `watch_*` loops on one event loop."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._loop = LoopThread("ccxt bitmex")
        self._ex = self._loop.run(self._create(server))
        self._size = Decimal(0)  # base units per contract, from load_markets
        self._fill_ids: set[str] = set()

    @staticmethod
    async def _create(server: ServerThread) -> Any:
        ex = _vendored_ccxt_bitmex()({"apiKey": API_KEY, "secret": API_SECRET, "enableRateLimit": False})
        ex.urls["api"] = {"public": server.rest_url, "private": server.rest_url, "ws": server.ws_url + "/realtime"}
        return ex

    def _run(self, coro: Any) -> Any:
        return self._loop.run(coro)

    def _base(self, contracts: Any) -> Decimal:
        return decimal(contracts) * self._size

    def _contracts(self, base: Decimal) -> float:
        return float(base / self._size)

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

    def _keep_balance(self, raw: dict[str, Any]) -> None:
        # ccxt's `total` is the margin balance (unrealised PnL included); the wallet is in `info`
        rows = raw["info"] if isinstance(raw["info"], list) else [raw["info"]]
        for row in rows:
            if row.get("currency") == "USDt" and row.get("walletBalance") is not None:
                self.seen_balance = decimal(row["walletBalance"]) / SCALE

    def _keep_book(self, raw: Any) -> None:
        self.seen_book = ([(decimal(p), self._base(q)) for p, q, *_ in raw["bids"][:20]],
                          [(decimal(p), self._base(q)) for p, q, *_ in raw["asks"][:20]])

    def load_markets(self) -> MarketView:
        market = self._run(self._ex.load_markets())[CCXT_SYMBOL]
        self._size = decimal(market["contractSize"])
        lot = self._base(market["precision"]["amount"])  # BitMEX's minimum is one lot (`lotSize`)
        return MarketView(decimal(market["precision"]["price"]), lot, lot)

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
        wait_until("ccxt's private tables subscribed", lambda: _private_tables_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        # BitMEX answers with the position row; the venue's view is read back from the positions
        answer = self._run(self._ex.set_leverage(leverage, CCXT_SYMBOL))
        [row] = [p for p in self._run(self._ex.fetch_positions([CCXT_SYMBOL]))] or [{"leverage": None}]
        assert int(answer["leverage"]) == int(row["leverage"]), (answer, row)
        return int(row["leverage"])

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        placed = self._run(self._ex.create_order(CCXT_SYMBOL, "limit", side.value, self._contracts(amount),
                                                 float(price), {"postOnly": True, "clientOrderId": client_id}))
        return self._order(placed)  # BitMEX answers with the order as it stands after matching

    def open_orders(self) -> list[OrderView]:
        return [self._order(o) for o in self._run(self._ex.fetch_open_orders(CCXT_SYMBOL))]

    def cancel(self, order_id: str) -> str:
        return self._run(self._ex.cancel_order(order_id, CCXT_SYMBOL))["id"]

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        return self._order(self._run(self._ex.create_order(CCXT_SYMBOL, "market", side.value,
                                                           self._contracts(amount), None,
                                                           {"clientOrderId": client_id})))

    def positions(self) -> list[PositionView]:
        return [self._position(p) for p in self._run(self._ex.fetch_positions([CCXT_SYMBOL])) if p["contracts"]]

    def funding_rate(self) -> Decimal:
        return decimal(self._run(self._ex.fetch_funding_rate(CCXT_SYMBOL))["fundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        # ccxt has no unified funding history for BitMEX: its implicit method for the funding executions
        rows = self._run(self._ex.privateGetExecutionTradeHistory(
            {"symbol": SYMBOL, "filter": json.dumps({"execType": "Funding"}), "count": 500}))
        return [FundingPaymentView(self._ex.parse8601(row["transactTime"]), _funding_amount(row)) for row in rows]

    def close(self) -> None:
        try:
            self._run(self._ex.close())
        finally:
            self._loop.stop()


def _funding_amount(row: dict[str, Any]) -> Decimal:
    """A funding execution's payment: position x mark x rate, paid by longs at a positive rate (`execComm`
    holds it in whole millionths)."""
    return (-(decimal(row["homeNotional"]) * decimal(row["lastPx"]) * decimal(row["commission"]))).quantize(
        Decimal("1e-8"))


class BitmexWs(Streamed):
    """BitMEX's `bitmex-ws` adapter (websocket-client, a thread of its own): its tables as it keeps them
    (partial, then insert / update / delete by the table's keys), polled into the views; REST signed
    by its `generate_signature`."""

    def __init__(self, server: ServerThread) -> None:
        super().__init__()
        self._server = server
        self._rest = server.rest_url
        self._ws: Any = None
        self._size = Decimal(0)
        self._poller: threading.Thread | None = None
        self._stop = threading.Event()
        self._fill_ids: set[str] = set()
        self._order_states: set[tuple[str, str]] = set()
        # websocket-client logs every frame at DEBUG: keep the test log readable
        logging.getLogger("websocket").setLevel(logging.WARNING)

    # --- REST, signed by bitmex-ws's own signer ------------------------------------------------------

    def _call(self, verb: str, path: str, query: dict[str, Any] | None = None, body: dict[str, Any] | None = None
              ) -> Any:
        from util.api_key import generate_signature

        target = "/api/v1" + path + ("?" + urllib.parse.urlencode(query) if query else "")
        data = json.dumps(body) if body is not None else ""
        expires = int(time.time() + 60)
        headers = {"api-key": API_KEY, "api-expires": str(expires), "Content-Type": "application/json",
                   "api-signature": generate_signature(API_SECRET, verb, target, expires, data)}
        request = urllib.request.Request(self._rest + target, data=data.encode() if data else None, headers=headers,
                                         method=verb)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise AssertionError(f"{verb} {target} refused: {exc.code} {exc.read()!r}") from None

    def _base(self, contracts: Any) -> Decimal:
        return (contracts if isinstance(contracts, Decimal) else decimal(contracts)) / self._size

    def _order(self, raw: dict[str, Any]) -> OrderView:
        return OrderView(raw["orderID"], raw["clOrdID"] or None, Side(raw["side"].lower()),
                         decimal(raw["price"]) if raw.get("price") is not None else None,
                         self._base(raw["orderQty"]), STATUS[raw["ordStatus"]])

    def _position(self, raw: dict[str, Any]) -> PositionView:
        qty = decimal(raw["currentQty"])
        return PositionView(PositionSide.LONG if qty > 0 else PositionSide.SHORT, abs(self._base(qty)),
                            decimal(raw["avgEntryPrice"]))

    # --- streams: bitmex-ws keeps the tables; a poller turns them into views ---------------------------

    def _poll(self) -> None:
        while not self._stop.wait(0.05):
            try:
                self._read_tables()
            except Exception as exc:  # noqa: BLE001 - reported by the next streamed_* read
                logging.getLogger(__name__).exception("bitmex-ws tables could not be read")
                self.failure = exc
                return

    def _read_tables(self) -> None:
        data = self._ws.data
        book = list(data.get("orderBookL2", ()))
        bids: list[Level] = sorted(((decimal(r["price"]), self._base(r["size"])) for r in book if r["side"] == "Buy"),
                                   reverse=True)[:20]
        asks: list[Level] = sorted((decimal(r["price"]), self._base(r["size"]))
                                   for r in book if r["side"] == "Sell")[:20]
        self.seen_book = (bids, asks)
        self.seen_trades = [TradeView(decimal(t["price"]), self._base(t["size"]), Side(t["side"].lower()))
                            for t in list(data.get("trade", ()))]
        # bitmex-ws drops an order from its `order` table once nothing is left of it: a cancel shows in
        # `execution` (each row carries the order's state)
        executions = list(data.get("execution", ()))
        for row in list(data.get("order", ())) + [r for r in executions if r.get("execType") in ("New", "Canceled")]:
            key = (row["orderID"], row["ordStatus"])
            if key not in self._order_states:
                self._order_states.add(key)
                self.seen_orders.append(self._order(row))
        for row in executions:
            if row.get("execType") == "Trade" and row["execID"] not in self._fill_ids:
                self._fill_ids.add(row["execID"])
                self.seen_fills.append(FillView(row["orderID"], Side(row["side"].lower()), decimal(row["lastPx"]),
                                                self._base(row["lastQty"])))
        for row in list(data.get("position", ())):
            if row.get("symbol") == SYMBOL and row.get("currentQty"):
                view = self._position(row)
                if not self.seen_positions or self.seen_positions[-1] != view:
                    self.seen_positions.append(view)
        margin = [m for m in data.get("margin", ()) if m.get("currency") == "USDt"]
        if margin:
            self.seen_balance = decimal(margin[0]["walletBalance"]) / SCALE

    # --- the scenario -------------------------------------------------------------------------------

    def load_markets(self) -> MarketView:
        [row] = self._call("GET", "/instrument", {"symbol": SYMBOL})
        self._size = decimal(row["underlyingToPositionMultiplier"])
        lot = self._base(row["lotSize"])
        return MarketView(decimal(row["tickSize"]), lot, lot)

    def watch(self) -> None:
        module = importlib.import_module("bitmex_websocket")
        self._ws = module.BitMEXWebsocket(endpoint=self._server.ws_url + "/realtime", symbol=SYMBOL,
                                          api_key=API_KEY, api_secret=API_SECRET)
        self._poller = threading.Thread(target=self._poll, name="bitmex-ws poller", daemon=True)
        self._poller.start()
        wait_until("bitmex-ws's private tables subscribed", lambda: _private_tables_subscribed(self._server), bool)

    def set_leverage(self, leverage: int) -> int:
        answer = self._call("POST", "/position/leverage", body={"symbol": SYMBOL, "leverage": leverage})
        [row] = [p for p in self._call("GET", "/position", {"filter": json.dumps({"symbol": SYMBOL})})]
        assert answer["leverage"] == row["leverage"], (answer, row)
        return int(row["leverage"])

    def place_post_only(self, side: Side, price: Decimal, amount: Decimal, client_id: str) -> OrderView:
        return self._order(self._call("POST", "/order", body={
            "symbol": SYMBOL, "side": side.value.capitalize(), "orderQty": int(amount * self._size),
            "price": float(price), "ordType": "Limit", "execInst": "ParticipateDoNotInitiate", "clOrdID": client_id}))

    def open_orders(self) -> list[OrderView]:
        rows = self._call("GET", "/order", {"symbol": SYMBOL, "filter": json.dumps({"open": True})})
        return [self._order(o) for o in rows]

    def cancel(self, order_id: str) -> str:
        [row] = self._call("DELETE", "/order", body={"orderID": order_id})
        assert not row.get("error"), row
        return row["orderID"]

    def place_market(self, side: Side, amount: Decimal, client_id: str) -> OrderView:
        return self._order(self._call("POST", "/order", body={
            "symbol": SYMBOL, "side": side.value.capitalize(), "orderQty": int(amount * self._size),
            "ordType": "Market", "clOrdID": client_id}))

    def positions(self) -> list[PositionView]:
        rows = self._call("GET", "/position", {"filter": json.dumps({"symbol": SYMBOL})})
        return [self._position(p) for p in rows if p["currentQty"]]

    def funding_rate(self) -> Decimal:
        [row] = self._call("GET", "/instrument", {"symbol": SYMBOL})
        return decimal(row["fundingRate"])

    def funding_payments(self) -> list[FundingPaymentView]:
        rows = self._call("GET", "/execution/tradeHistory",
                          {"symbol": SYMBOL, "filter": json.dumps({"execType": "Funding"}), "count": 500})
        return [FundingPaymentView(int(_iso_ms(row["transactTime"])), _funding_amount(row)) for row in rows]

    def close(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(5)
        if self._ws is not None:
            self._ws.exit()
            self._ws.wst.join(5)


def _iso_ms(text: str) -> int:
    from datetime import datetime

    return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


CLIENTS: dict[str, Callable[[ServerThread], RoundTripClient]] = {
    "ccxt-bitmex": CcxtBitmex,
    "bitmex-ws": BitmexWs,
}
