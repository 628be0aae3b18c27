"""`BitgetGateway`: the Bitget mix v2 private API (USDT-M perpetuals) as a pmm `OrderGateway`.

Orders: `limit` (force gtc), post-only (LIMIT_MAKER, force post_only) and `market`, sized in the
base coin (rounded down to the contract's size step, refused below `minTradeNum` before anything
is sent), with the engine's client order id as `clientOid` (it fits unchanged). `marginMode` is the
market's. One-way mode: `side` is the trade direction and `reduceOnly` YES is sent as asked. Hedge
mode: `side` names the POSITION (buy = long, sell = short) and `tradeSide` says open or close, so
closing a long sells with side "buy" + tradeSide "close" (Bitget's docs; `_sides`).

Outcomes arrive on the private stream (`orders`, `positions`, `account`): an order push carries its
latest fill; a positions push lists every open position of the account, so a side it no longer
lists is closed. Bitget pushes nothing that says "funding was paid": an `account` push with no fill
of ours around it makes the gateway read its funding bills (the account moved by itself), and a
slow poll is the safety net. A fill pushed twice is reported once (`common/live_orders.py`).
After the stream reconnects, positions, balances and our live orders are re-read
(`common/account_gateway.py`). Past fills and funding bills: `history.py`.

Bitget's mix v2 has no dead-man switch. Conditional orders: `place_stop_order` rests a reduce-only
plan order (`normal_plan`, trigger on mark or last price, market or limit when triggered) at
Bitget, so a position keeps its stop-loss when the bot is gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.bitget_perpetual import history, spec
from pmm.connectors.bitget_perpetual.errors import LEVERAGE_UNCHANGED
from pmm.connectors.bitget_perpetual.parse import (
    BAD_PAYLOAD,
    STAND_IN_PREFIX,
    Contract,
    client_id_of,
    funding_rate_times,
    parse_balance,
    parse_fill_report,
    parse_funding_bill,
    parse_order_push,
    parse_order_report,
    positions_of_row,
    to_client_oid,
)
from pmm.connectors.bitget_perpetual.rest import BitgetRestClient
from pmm.connectors.bitget_perpetual.streams import BitgetSocket
from pmm.connectors.common.account_gateway import AccountGateway, PlacedOrder
from pmm.connectors.common.funding_watch import FundingWatch
from pmm.connectors.common.live_orders import LiveOrders
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.common.symbols import MarketSymbols
from pmm.core.clock import Clock
from pmm.core.events import BalanceUpdated, OrderAccepted, OrderFilled, PositionUpdated
from pmm.core.model import (
    Balance,
    ClientOrderId,
    ExchangeOrderId,
    FillReport,
    FundingPaymentReport,
    MarginMode,
    OrderReport,
    OrderRequest,
    OrderType,
    Position,
    PositionAction,
    PositionMode,
    PositionSide,
    Side,
)
from pmm.errors import AuthError, BelowMinSize, OrderError, OrderOutcomeUnknown, PmmError, UnknownOrder, VenueSetupError

log = logging.getLogger("pmm.bitget.gateway")

DEFAULT_FEES = (Decimal("0.0002"), Decimal("0.0006"))  # Bitget's base USDT-M maker / taker
FILL_QUIET_S = 1.0  # an account push this long after our last fill is not that fill's
SETTLEMENT_READ_DELAY_S = 1.0  # the bills are read this long after each funding time
_ORDER_IDS_KEPT = 10_000


class _Symbols(MarketSymbols):
    quote_assets = spec.QUOTE_ASSETS
    to_symbol = staticmethod(spec.to_venue_symbol)


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


class BitgetGateway(AccountGateway):
    _rest: BitgetRestClient

    def __init__(self, rest: BitgetRestClient, *, ws_url: str, clock: Clock, connector_id: str = spec.CONNECTOR_ID,
                 venue: str | None = None, markets: Sequence[str] = (), funding_lookback_s: float = 3600.0,
                 funding_poll_s: float | None = 300.0, private_stream_options: dict[str, Any] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        if rest.auth is None:
            raise AuthError(f"{connector_id} needs API keys: run `pmm connect {connector_id}`.")
        super().__init__(rest, connector_id=connector_id, venue=venue, clock=clock, sleep=sleep, log=log,
                         default_fees=DEFAULT_FEES)
        self._symbols = _Symbols()
        self._hedge = False
        self._leverage: dict[str, int] = {}
        self._margin: dict[str, MarginMode] = {}
        self._plan_ids: dict[ClientOrderId, ExchangeOrderId] = {}  # stops placed, by client id
        self._client_ids: OrderedDict[str, ClientOrderId] = OrderedDict()  # orderId -> client id
        self.live = LiveOrders()
        self.funding = FundingWatch(self.funding_payments_since, self._emit_event, clock, sleep,
                                    lookback_s=funding_lookback_s)
        self._funding_poll_s = funding_poll_s
        self._funding_task: asyncio.Task[None] | None = None
        self._settlement_task: asyncio.Task[None] | None = None
        self._funding_read: asyncio.Task[Any] | None = None
        self._last_fill_at = float("-inf")
        for market in markets:
            self._track(market)
        args = [{"instType": spec.PRODUCT_TYPE, "channel": ch, "instId": spec.INST_ID_ALL}
                for ch in (spec.CHANNEL_ORDERS, spec.CHANNEL_POSITIONS)]
        args.append({"instType": spec.PRODUCT_TYPE, "channel": spec.CHANNEL_ACCOUNT, "coin": spec.INST_ID_ALL})
        self.stream = BitgetSocket(name="account", connector_id=connector_id,
                                   url=spec.ws_endpoint(ws_url, spec.WS_PRIVATE_PATH), args=args,
                                   on_message=self._on_private, emit=self._emit_event, clock=clock, auth=rest.auth,
                                   on_connected=self._on_connected, sleep=sleep, **(private_stream_options or {}))

    @property
    def hedge_mode(self) -> bool:
        return self._hedge

    # --- lifecycle ------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        for market in markets:
            self._track(market)
            await self._load_fees(market)

    async def start(self, emit: Emit) -> None:
        self._rest.retain()
        self._emit = emit
        try:
            await self._rest.sync_time()
            await self.balances()  # fails fast (AuthError) on a bad key, before any order
            for market in self._markets:
                await self._rest.contract(market)
                self._hedge = await self._account_setting(market, "posMode") == spec.POS_MODE_HEDGE
            await self._start_stream()
        except BaseException:
            await self.stop()
            raise
        if self._funding_poll_s:
            self._funding_task = asyncio.get_running_loop().create_task(
                self.funding.poll(lambda: list(self._markets), self._funding_poll_s), name="bitget-funding")
        self._settlement_task = asyncio.get_running_loop().create_task(self._watch_settlements(),
                                                                       name="bitget-settlements")

    async def _start_stream(self, wait_s: float = 10.0) -> None:
        self.stream.start()
        if await self.stream.wait_up(wait_s):
            return
        if self.stream.auth_error is not None:
            raise AuthError(f"Bitget refused the private stream's login ({self.stream.auth_error}). Check the API "
                            f"key, secret and passphrase (`pmm connect {self.connector_id}`) and that the key is for "
                            "this environment (live or demo trading).")
        log.warning("the Bitget private stream is not up after %.0f s (%s); continuing, it keeps reconnecting",
                    wait_s, self.stream.last_reason or "no answer")

    async def stop(self) -> None:
        await self.stream.stop()
        await self._end_tasks(self._funding_task, self._settlement_task)
        self._funding_task = self._settlement_task = None
        await self._leave_rest()

    def _live_orders(self) -> dict[ClientOrderId, PlacedOrder]:
        return self.live.orders

    def _market_of(self, symbol: str) -> str:
        return self._symbols.market(symbol.upper())

    def _remember(self, order_id: str, client_id: ClientOrderId) -> None:
        self._client_ids[order_id] = client_id
        while len(self._client_ids) > _ORDER_IDS_KEPT:
            self._client_ids.popitem(last=False)

    # --- orders ---------------------------------------------------------------------------------

    def _closing(self, request: OrderRequest) -> bool:
        return request.reduce_only or request.position_action is PositionAction.CLOSE

    def _sides(self, side: Side, closing: bool, position_side: PositionSide = PositionSide.BOTH) -> dict[str, str]:
        """`side` (+ `tradeSide` in hedge mode) for an order that trades `side`."""
        if not self._hedge:
            return {"side": side.value.lower()}
        if position_side is PositionSide.BOTH:  # buying opens a long / closes a short; selling the reverse
            position_side = PositionSide.LONG if (side is Side.BUY) != closing else PositionSide.SHORT
        return {"side": "buy" if position_side is PositionSide.LONG else "sell",
                "tradeSide": "close" if closing else "open"}

    async def order_body(self, request: OrderRequest) -> dict[str, Any]:
        """The place-order body for `request` (size in the base coin, down to the size step)."""
        contract = await self._rest.contract(request.market)
        self._track(request.market)
        size = (request.amount / contract.step_size).to_integral_value(rounding=ROUND_DOWN) * contract.step_size
        if size < contract.min_size or size <= 0:
            raise BelowMinSize(f"order {request.client_id} of {request.amount} {contract.base} is below Bitget's "
                               f"minimum of {contract.min_size} {contract.base}; not sent.")
        body: dict[str, Any] = {"symbol": contract.symbol, "productType": spec.PRODUCT_TYPE,
                                "marginMode": self._margin_wire(request.market), "marginCoin": spec.MARGIN_COIN,
                                "size": _fmt(size)}
        closing = self._closing(request)
        body.update(self._sides(request.side, closing, request.position_side))
        if request.order_type is OrderType.MARKET:
            body["orderType"] = "market"
        else:
            if request.price is None:
                raise OrderError(f"{request.order_type} order {request.client_id} has no price; not sent.")
            body.update(orderType="limit", price=_fmt(request.price),
                        force="post_only" if request.order_type is OrderType.LIMIT_MAKER else "gtc")
        if request.reduce_only and not self._hedge:
            body["reduceOnly"] = "YES"
        body["clientOid"] = to_client_oid(request.client_id)
        return body

    def _margin_wire(self, market: str) -> str:
        return spec.MARGIN_ISOLATED if self._margin.get(market) is MarginMode.ISOLATED else spec.MARGIN_CROSSED

    async def place_order(self, request: OrderRequest) -> None:
        body = await self.order_body(request)
        position_side = None
        if self._hedge:
            position_side = PositionSide.LONG if body["side"] == "buy" else PositionSide.SHORT
        self.live.placed(request, self._clock.now(), position_side or PositionSide.BOTH)
        try:
            data = await self._rest.post(spec.PLACE_ORDER_PATH, body, order_call=True,
                                         what=f"place order {request.client_id}")
        except OrderError:
            self.live.forget(request.client_id)
            raise
        if not isinstance(data, dict) or not data.get("orderId"):
            raise OrderOutcomeUnknown(f"place order {request.client_id}: Bitget's answer names no order id; the "
                                      "order stays in flight until reconciliation settles it.")
        order_id = str(data["orderId"])
        self._remember(order_id, request.client_id)
        live = self.live.get(request.client_id)
        if live is None:
            return  # the private stream already finished it (a rejected post-only, an instant fill)
        live.exchange_id = ExchangeOrderId(order_id)
        now = self._clock.now()
        self._emit_event(OrderAccepted(request.client_id, live.exchange_id, request.market, now, now))

    def _order_ref(self, client_id: str) -> dict[str, str]:
        if client_id.startswith(STAND_IN_PREFIX):
            return {"orderId": client_id[len(STAND_IN_PREFIX):]}
        return {"clientOid": client_id}

    async def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        body = {"symbol": self._track(market), "productType": spec.PRODUCT_TYPE, "marginCoin": spec.MARGIN_COIN,
                **self._order_ref(client_id)}
        await self._rest.post(spec.CANCEL_ORDER_PATH, body, order_call=True, what=f"cancel order {client_id}")

    async def cancel_all(self, market: str) -> None:
        """Cancel every open order of `market` (batch-cancel-orders without an id list)."""
        body = {"symbol": self._track(market), "productType": spec.PRODUCT_TYPE, "marginCoin": spec.MARGIN_COIN}
        try:
            await self._rest.post(spec.BATCH_CANCEL_PATH, body, order_call=True, what=f"cancel all orders on {market}")
        except UnknownOrder:
            pass  # nothing was open

    # --- conditional orders ---------------------------------------------------------------------

    async def place_stop_order(self, market: str, client_id: ClientOrderId, side: Side, amount: Decimal,
                               trigger_price: Decimal, *, trigger_on_mark: bool = True,
                               limit_price: Decimal | None = None,
                               position_side: PositionSide = PositionSide.BOTH) -> ExchangeOrderId:
        """Rest a reduce-only plan order at Bitget: when the mark (or last) price reaches
        `trigger_price`, a market order (or a limit at `limit_price`) closes `amount` (base units).
        Returns its order id."""
        contract = await self._rest.contract(market)
        body: dict[str, Any] = {
            "planType": spec.PLAN_NORMAL, "symbol": contract.symbol, "productType": spec.PRODUCT_TYPE,
            "marginMode": self._margin_wire(market), "marginCoin": spec.MARGIN_COIN, "size": _fmt(amount),
            "triggerPrice": _fmt(trigger_price),
            "triggerType": spec.TRIGGER_MARK if trigger_on_mark else spec.TRIGGER_LAST,
            "orderType": "market" if limit_price is None else "limit", "clientOid": to_client_oid(client_id),
            **self._sides(side, True, position_side)}
        if limit_price is not None:
            body["price"] = _fmt(limit_price)
        if not self._hedge:
            body["reduceOnly"] = "YES"
        data = await self._rest.post(spec.PLACE_PLAN_PATH, body, order_call=True, what=f"place stop {client_id}")
        order_id = ExchangeOrderId(str((data or {}).get("orderId") or ""))
        if order_id:
            self._plan_ids[client_id] = order_id
        return order_id

    async def cancel_stop_order(self, market: str, client_id: ClientOrderId) -> None:
        """Cancel a plan order by its order id when this gateway placed it, else by its client id."""
        order_id = self._plan_ids.pop(client_id, None)
        ref = {"orderId": order_id} if order_id else self._order_ref(client_id)
        body = {"orderIdList": [ref], "symbol": self._track(market), "productType": spec.PRODUCT_TYPE,
                "marginCoin": spec.MARGIN_COIN, "planType": spec.PLAN_NORMAL}
        data = await self._rest.post(spec.CANCEL_PLAN_PATH, body, order_call=True, what=f"cancel stop {client_id}")
        failed = list((data or {}).get("failureList") or [])
        if failed:
            raise UnknownOrder(f"Bitget could not cancel stop {client_id}: {failed[0].get('errorMsg') or 'refused'}",
                               "43025")

    async def resting_stop_orders(self, market: str) -> list[ClientOrderId]:
        """The client ids of the market's plan orders not yet triggered; their order ids are kept."""
        rows = await history.plan_orders(self._rest, self._track(market), what=f"read resting stops of {market}")
        found = []
        for row in rows:
            client_id = client_id_of(row)
            self._plan_ids[client_id] = ExchangeOrderId(str(row["orderId"]))
            found.append(client_id)
        return found

    # --- account set-up -------------------------------------------------------------------------

    async def _account_setting(self, market: str, name: str) -> str:
        data = await self._rest.get(spec.ACCOUNT_PATH, [("symbol", self._track(market)),
                                                        ("productType", spec.PRODUCT_TYPE),
                                                        ("marginCoin", spec.MARGIN_COIN)],
                                    what=f"read the account settings of {market}")
        return str((data or {}).get(name) or "")

    async def set_leverage(self, market: str, leverage: int) -> None:
        symbol = self._track(market)
        isolated = self._margin.get(market) is MarginMode.ISOLATED
        for hold_side in (("long", "short") if self._hedge and isolated else (None,)):
            body = {"symbol": symbol, "productType": spec.PRODUCT_TYPE, "marginCoin": spec.MARGIN_COIN,
                    "leverage": str(leverage)}
            if hold_side:
                body["holdSide"] = hold_side
            try:
                await self._rest.post(spec.SET_LEVERAGE_PATH, body, what=f"set leverage of {market} to {leverage}x")
            except VenueSetupError as exc:
                if f"code {LEVERAGE_UNCHANGED}" not in str(exc):
                    raise
        self._leverage[market] = leverage

    async def set_position_mode(self, mode: PositionMode) -> None:
        wanted = spec.POS_MODE_HEDGE if mode is PositionMode.HEDGE else spec.POS_MODE_ONE_WAY
        market = self._markets[0] if self._markets else None
        current = await self._account_setting(market, "posMode") if market else ""
        if current != wanted:  # asking again for the mode in force is refused with open positions
            await self._rest.post(spec.SET_POSITION_MODE_PATH, {"productType": spec.PRODUCT_TYPE, "posMode": wanted},
                                  what=f"set position mode to {mode}")
        self._hedge = mode is PositionMode.HEDGE

    async def set_margin_mode(self, market: str, mode: MarginMode) -> None:
        wanted = spec.MARGIN_ISOLATED if mode is MarginMode.ISOLATED else spec.MARGIN_CROSSED
        if await self._account_setting(market, "marginMode") != wanted:
            await self._rest.post(spec.SET_MARGIN_MODE_PATH, {
                "symbol": self._track(market), "productType": spec.PRODUCT_TYPE, "marginCoin": spec.MARGIN_COIN,
                "marginMode": wanted}, what=f"set margin mode of {market} to {mode}")
        changed = self._margin.get(market, MarginMode.CROSS) is not mode
        self._margin[market] = mode
        if changed and market in self._leverage:
            await self.set_leverage(market, self._leverage[market])

    # --- account reads --------------------------------------------------------------------------

    async def balances(self) -> list[Balance]:
        rows = await self._rest.get(spec.ACCOUNTS_PATH, [("productType", spec.PRODUCT_TYPE)], what="read the balance")
        balances = [parse_balance(r) for r in rows or []]
        self._balances.update({b.asset: b for b in balances})
        return balances

    async def positions(self) -> list[Position]:
        rows = await self._rest.get(spec.ALL_POSITION_PATH, [("productType", spec.PRODUCT_TYPE),
                                                             ("marginCoin", spec.MARGIN_COIN)], what="read positions")
        out = []
        for row in rows or []:
            market = self._market_of(str(row.get("symbol")))
            out += [p for _, p in positions_of_row(row, market) if p is not None]
        return out

    async def open_orders(self, market: str) -> list[OrderReport]:
        rows = await history.open_orders(self._rest, self._track(market), what=f"read open orders of {market}")
        return [parse_order_report(r, self._market_of) for r in rows]

    def _known_client_ids(self) -> dict[str, ClientOrderId]:
        known = dict(self._client_ids)
        known.update({str(live.exchange_id): cid for cid, live in self.live.orders.items() if live.exchange_id})
        return known

    async def fills_since(self, ts: float, market: str) -> list[FillReport]:
        rows = await history.fills(self._rest, self._track(market), ts, self._clock.now(),
                                   what=f"read fills of {market}")
        known = self._known_client_ids()
        return sorted((parse_fill_report(r, self._market_of, known) for r in rows), key=lambda f: f.ts)

    async def funding_payments_since(self, ts: float, market: str) -> list[FundingPaymentReport]:
        symbol = self._track(market)
        rows = await history.funding_bills(self._rest, symbol, ts, self._clock.now(),
                                           what=f"read funding payments of {market}")
        if not rows:
            return []
        first = min(int(str(r["cTime"])) for r in rows)
        rates = funding_rate_times(await history.funding_rates(self._rest, symbol, first - 24 * 3600 * 1000))
        return sorted((parse_funding_bill(r, market, rates) for r in rows), key=lambda p: p.funding_time_ms)

    async def _load_fees(self, market: str) -> None:
        try:
            contract: Contract = await self._rest.contract(market)
            rows = await self._rest.public(spec.CONTRACTS_PATH, [("productType", spec.PRODUCT_TYPE),
                                                                 ("symbol", contract.symbol)])
            row = (rows or [{}])[0]
            self._fees[market] = (Decimal(str(row["makerFeeRate"])), Decimal(str(row["takerFeeRate"])))
        except (PmmError, *BAD_PAYLOAD) as exc:
            log.warning("could not read the fee rates of %s (%s); using %s / %s", market, exc, *DEFAULT_FEES)
            self._fees.setdefault(market, DEFAULT_FEES)

    # --- private stream -------------------------------------------------------------------------

    def _on_private(self, message: dict[str, Any], recv_ts: float) -> None:
        channel = (message.get("arg") or {}).get("channel")
        try:
            if channel == spec.CHANNEL_ORDERS:
                for row in message.get("data", ()):
                    self._on_order(row, recv_ts)
            elif channel == spec.CHANNEL_POSITIONS:
                self._on_positions(message.get("data") or [], int(str(message.get("ts") or 0)) / 1000 or recv_ts,
                                   recv_ts)
            elif channel == spec.CHANNEL_ACCOUNT:
                for row in message.get("data", ()):
                    balance = parse_balance(row)
                    self._balances[balance.asset] = balance
                    self._emit_event(BalanceUpdated(balance, recv_ts, recv_ts))
                if recv_ts - self._last_fill_at > FILL_QUIET_S:
                    self._read_funding()
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); reconciling with the venue (%d so far)", channel,
                        type(exc).__name__, exc, self.bad_messages)
            self._spawn(self._resync(f"a {channel} message could not be read"))

    async def _watch_settlements(self) -> None:
        """Read the funding bills just after each funding time.

        Bitget pushes nothing when it pays funding, and on a busy market every `account` push is
        near a fill of ours, so the push rule above alone may never fire: the schedule is asked
        (`funding-time`) and the bills read once the settlement is due.
        """
        while True:
            due = await self._next_funding_s()
            if due is None or due < self._clock.now() - 60.0:  # no market yet, unreadable, or stale
                await self._sleep(10.0)
                continue
            await self._sleep(max(due - self._clock.now() + SETTLEMENT_READ_DELAY_S, SETTLEMENT_READ_DELAY_S))
            self._read_funding()

    async def _next_funding_s(self) -> float | None:
        """The next funding time of the markets in use (seconds), or None if it cannot be read."""
        times = []
        for market in list(self._markets):
            try:
                contract: Contract = await self._rest.contract(market)
                rows = await self._rest.public(spec.FUNDING_TIME_PATH, [("symbol", contract.symbol),
                                                                         ("productType", spec.PRODUCT_TYPE)])
                times += [int(str(row["nextFundingTime"])) / 1000 for row in rows or ()]
            except (PmmError, *BAD_PAYLOAD) as exc:
                log.warning("could not read the next funding time of %s (%s); reading the bills on the "
                            "regular poll", market, exc)
        return min(times) if times else None

    def _read_funding(self) -> None:
        """The account moved without a fill of ours: maybe a funding payment; read the bills."""
        if self._funding_read is None or self._funding_read.done():
            self._funding_read = self._spawn(self.funding.fetch(list(self._markets), expect_new=True))

    def _on_positions(self, rows: list[dict[str, Any]], ts: float, recv_ts: float) -> None:
        """A positions push lists every open position: the sides it leaves out are closed. The whole
        list is the account at the push's time `ts` (a row's own uTime is when that position last
        changed, which may be before an earlier push)."""
        seen: dict[tuple[str, PositionSide], Position | None] = {}
        for row in rows:
            market = self._market_of(str(row.get("instId") or row.get("symbol")))
            if market not in self._markets:
                continue
            for side, position in positions_of_row(row, market):
                if seen.get((market, side)) is None:
                    seen[(market, side)] = position
        for market in self._markets:
            for side in (PositionSide.LONG, PositionSide.SHORT):
                seen.setdefault((market, side), None)
        for (market, side), position in seen.items():
            self._emit_streamed_position(PositionUpdated(market, side, position, ts, recv_ts))

    def _on_order(self, row: dict[str, Any], recv_ts: float) -> None:
        market = self._market_of(str(row.get("instId") or row.get("symbol")))
        for event in parse_order_push(row, market, recv_ts):
            self._remember(str(row["orderId"]), event.client_id)
            live = self.live.get(event.client_id)
            if isinstance(event, OrderFilled):
                self._last_fill_at = recv_ts
                if live is not None and live.exchange_id is None:
                    # the fill came before the place reply: say it was accepted first
                    self._emit_event(OrderAccepted(event.client_id, event.exchange_id, event.market, event.ts,
                                                   recv_ts))
            if self.live.on_event(event):
                self._emit_event(event)
            elif isinstance(event, OrderFilled):
                log.info("dropped a fill Bitget pushed again (trade %s of order %s)", event.trade_id, event.client_id)

    def _on_connected(self) -> None:
        if self.stream.connections > 1:
            self._spawn(self._resync("private stream reconnected"))
