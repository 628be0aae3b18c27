"""`BitmartGateway`: the BitMart Futures V2 private API (USDT perpetuals) as a pmm `OrderGateway`.

Orders: `limit` (mode 1 GTC, or 4 Maker Only for LIMIT_MAKER) and `market`, with the engine's
client order id escaped into BitMart's alphabet (`parse.to_client_order_id`); the size is
converted from base units to contracts, rounded down to `vol_precision` (never bigger than asked)
and refused below `min_volume` before anything is sent. The side number carries the position
side and reduce-only (`parse.side_number`): one-way mode 2 / 3 are reduce-only buys / sells, hedge
mode 2 / 3 close a short / a long. Each order carries the market's `open_type` and leverage.
`cancel_all` is BitMart's cancel-orders for the symbol.

Outcomes arrive on the private stream (`futures/order`, `futures/position`, `futures/asset:USDT`).
BitMart's order push says neither maker/taker nor why an order ended: a fill's liquidity follows
from its order type and fee (`parse.liquidity_of`), and a Maker Only order that ends unfilled
without this gateway asking is a post-only refusal (`OrderRejected`). A fill pushed twice is
reported once (`common/live_orders.py`). After the stream reconnects, positions, balances and our
live orders are re-read (`common/account_gateway.py`). A balance push makes the gateway look for
new funding payments (at most every `FUNDING_HINT_S`); past fills and funding: `history.py`.

Dead-man switch: `cancel-all-after` {symbol, timeout >= 5 s, 0 disarms}. Conditional orders:
`place_stop_order` rests a reduce-only plan order (`stop_loss`, trigger on the fair (mark) or
last price, market or limit when triggered) at BitMart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.bitmart_perpetual import history, spec
from pmm.connectors.bitmart_perpetual.gateway_events import OrderPushes
from pmm.connectors.bitmart_perpetual.parse import (
    BAD_PAYLOAD,
    STAND_IN_PREFIX,
    Instrument,
    client_id_of,
    dec_or_zero,
    funding_rate_times,
    parse_funding_row,
    parse_balance,
    parse_fill_report,
    parse_order_report,
    position_of_row,
    side_number,
    to_client_order_id,
)
from pmm.connectors.bitmart_perpetual.rest import BitmartRestClient
from pmm.connectors.bitmart_perpetual.streams import BitmartSocket
from pmm.connectors.common.account_gateway import AccountGateway, PlacedOrder
from pmm.connectors.common.funding_watch import FundingWatch
from pmm.connectors.common.live_orders import LiveOrders
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.common.symbols import MarketSymbols
from pmm.core.clock import Clock
from pmm.core.events import BalanceUpdated, PositionUpdated
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
from pmm.errors import AuthError, BelowMinSize, OrderError, OrderOutcomeUnknown, PmmError, VenueSetupError

log = logging.getLogger("pmm.bitmart.gateway")

DEFAULT_FEES = (Decimal("0.0002"), Decimal("0.0006"))  # BitMart's base USDT-M futures maker / taker
DEFAULT_LEVERAGE = 5
FUNDING_HINT_S = 10.0  # a balance push looks for funding payments at most this often


class _Symbols(MarketSymbols):
    quote_assets = spec.QUOTE_ASSETS
    to_symbol = staticmethod(spec.to_venue_symbol)


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


class BitmartGateway(AccountGateway):
    _rest: BitmartRestClient

    def __init__(self, rest: BitmartRestClient, *, ws_url: str, clock: Clock, connector_id: str = spec.CONNECTOR_ID,
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
        self._stop_ids: dict[ClientOrderId, str] = {}  # plan orders placed, by client id
        self.live = LiveOrders()
        self.pushes = OrderPushes(self.live, self._emit_event, clock, self.fee_rates, read_trades=self._recent_trades,
                                  spawn=self._spawn, sleep=sleep)
        self.funding = FundingWatch(self.funding_payments_since, self._emit_event, clock, sleep,
                                    lookback_s=funding_lookback_s)
        self._funding_poll_s = funding_poll_s
        self._funding_task: asyncio.Task[None] | None = None
        self._funding_hint_at = -FUNDING_HINT_S
        for market in markets:
            self._track(market)
        self.stream = BitmartSocket(name="account", connector_id=connector_id,
                                    url=spec.ws_endpoint(ws_url, spec.WS_PRIVATE_PATH),
                                    topics=[spec.CHANNEL_ORDER, spec.CHANNEL_POSITION,
                                            spec.topic(spec.CHANNEL_ASSET, spec.QUOTE_ASSETS[0])],
                                    on_message=self._on_private, emit=self._emit_event, clock=clock, auth=rest.auth,
                                    on_connected=self._on_connected, sleep=sleep, **(private_stream_options or {}))

    @property
    def hedge_mode(self) -> bool:
        return self._hedge

    @property
    def position_mode_wire(self) -> str:
        return spec.POSITION_MODE_HEDGE if self._hedge else spec.POSITION_MODE_ONE_WAY

    # --- lifecycle ------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        for market in markets:
            self._track(market)
            await self._rest.instrument(market)
            await self._load_fees(market)

    async def start(self, emit: Emit) -> None:
        self._rest.retain()
        self._emit = emit
        try:
            await self._rest.sync_time()
            self._hedge = await self._position_mode() == spec.POSITION_MODE_HEDGE
            await self.balances()  # fails fast (AuthError) on a bad key, before any order
            for market in self._markets:
                await self._rest.instrument(market)
            await self._start_stream()
        except BaseException:
            await self.stop()
            raise
        if self._funding_poll_s:
            self._funding_task = asyncio.get_running_loop().create_task(
                self.funding.poll(lambda: list(self._markets), self._funding_poll_s), name="bitmart-funding")

    async def _start_stream(self, wait_s: float = 10.0) -> None:
        self.stream.start()
        if await self.stream.wait_up(wait_s):
            return
        if self.stream.auth_error is not None:
            raise AuthError(f"BitMart refused the private stream's login ({self.stream.auth_error}). Check the API "
                            f"key, secret and memo (`pmm connect {self.connector_id}`) and that the key is for this "
                            "environment (live or simulated trading).")
        log.warning("the BitMart private stream is not up after %.0f s (%s); continuing, it keeps reconnecting",
                    wait_s, self.stream.last_reason or "no answer")

    async def stop(self) -> None:
        await self.stream.stop()
        await self._end_tasks(self._funding_task)
        self._funding_task = None
        await self._leave_rest()

    def _live_orders(self) -> dict[ClientOrderId, PlacedOrder]:
        return self.live.orders

    def _inst(self, symbol: str) -> Instrument:
        return self._rest.instruments[symbol]

    # --- orders ---------------------------------------------------------------------------------

    def _closing(self, request: OrderRequest) -> bool:
        if not self._hedge:
            return request.reduce_only
        return request.reduce_only or request.position_action is PositionAction.CLOSE

    def _position_side(self, request: OrderRequest) -> PositionSide:
        if not self._hedge:
            return PositionSide.BOTH
        if request.position_side is not PositionSide.BOTH:
            return request.position_side
        opening = not self._closing(request)
        return PositionSide.LONG if (request.side is Side.BUY) == opening else PositionSide.SHORT

    async def order_body(self, request: OrderRequest) -> dict[str, Any]:
        """The submit-order body for `request`, its size in contracts."""
        inst = await self._rest.instrument(request.market)
        self._track(request.market)
        contracts = inst.to_contracts(request.amount)
        if contracts < inst.min_contracts:
            raise BelowMinSize(f"order {request.client_id} of {request.amount} {inst.base} is below BitMart's minimum "
                               f"of {inst.to_base(inst.min_contracts)} ({inst.min_contracts} contracts of "
                               f"{inst.contract_size}); not sent.")
        body: dict[str, Any] = {"symbol": inst.symbol, "client_order_id": to_client_order_id(request.client_id),
                                "side": side_number(request.side, self._position_side(request),
                                                    self._closing(request)),
                                "type": "market" if request.order_type is OrderType.MARKET else "limit",
                                "leverage": str(self._leverage.get(request.market, DEFAULT_LEVERAGE)),
                                "open_type": self._open_type(request.market), "size": int(contracts)}
        if request.order_type is not OrderType.MARKET:
            if request.price is None:
                raise OrderError(f"{request.order_type} order {request.client_id} has no price; not sent.")
            body["price"] = _fmt(request.price)
            body["mode"] = spec.MODE_MAKER_ONLY if request.order_type is OrderType.LIMIT_MAKER else spec.MODE_GTC
        return body

    def _open_type(self, market: str) -> str:
        isolated = self._margin.get(market) is MarginMode.ISOLATED
        return spec.OPEN_TYPE_ISOLATED if isolated else spec.OPEN_TYPE_CROSS

    async def place_order(self, request: OrderRequest) -> None:
        body = await self.order_body(request)
        self.live.placed(request, self._clock.now(), self._position_side(request) if self._hedge else None)
        try:
            data = await self._rest.post(spec.SUBMIT_ORDER_PATH, body, order_call=True,
                                         what=f"place order {request.client_id}")
        except OrderError:
            self.live.forget(request.client_id)
            raise
        order_id = str(data.get("order_id") or "") if isinstance(data, dict) else ""
        if not order_id:
            raise OrderOutcomeUnknown(f"place order {request.client_id}: BitMart's answer names no order id; the "
                                      "order stays in flight until reconciliation settles it.")
        self.pushes.accepted(request, ExchangeOrderId(order_id))

    def _order_ref(self, client_id: str) -> dict[str, str]:
        if client_id.startswith(STAND_IN_PREFIX):
            return {"order_id": client_id[len(STAND_IN_PREFIX):]}
        return {"client_order_id": to_client_order_id(client_id)}

    async def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        self.pushes.cancel_requested(client_id)
        body = {"symbol": self._track(market), **self._order_ref(client_id)}
        await self._rest.post(spec.CANCEL_ORDER_PATH, body, order_call=True, what=f"cancel order {client_id}")

    async def cancel_all(self, market: str) -> None:
        """Cancel every open order of `market` (BitMart's cancel-orders for the symbol)."""
        for client_id, live in self.live.orders.items():
            if live.request.market == market:
                self.pushes.cancel_requested(client_id)
        await self._rest.post(spec.CANCEL_ORDERS_PATH, {"symbol": self._track(market)}, order_call=True,
                              what=f"cancel all orders on {market}")

    # --- dead-man switch and conditional orders -------------------------------------------------

    async def arm_dead_man_switch(self, market: str, seconds: float) -> None:
        """BitMart cancels the symbol's orders unless this is renewed within `seconds` (at least 5)."""
        timeout = max(round(seconds), spec.DEAD_MAN_MIN_S)
        await self._rest.post(spec.CANCEL_ALL_AFTER_PATH, {"symbol": self._track(market), "timeout": timeout},
                              what=f"arm cancel-all-after ({timeout} s) for {market}")

    async def disarm_dead_man_switch(self, market: str) -> None:
        await self._rest.post(spec.CANCEL_ALL_AFTER_PATH, {"symbol": self._track(market), "timeout": 0},
                              what=f"disarm cancel-all-after for {market}")

    async def place_stop_order(self, market: str, client_id: ClientOrderId, side: Side, amount: Decimal,
                               trigger_price: Decimal, *, trigger_on_mark: bool = True,
                               limit_price: Decimal | None = None,
                               position_side: PositionSide = PositionSide.BOTH) -> ExchangeOrderId:
        """Rest a reduce-only stop at BitMart (a `stop_loss` plan order): when the fair (mark) or last
        price reaches `trigger_price`, a market order (or a limit at `limit_price`) closes `amount`."""
        inst = await self._rest.instrument(market)
        close = position_side
        if self._hedge and close is PositionSide.BOTH:
            close = PositionSide.LONG if side is Side.SELL else PositionSide.SHORT
        body: dict[str, Any] = {
            "symbol": inst.symbol, "client_order_id": to_client_order_id(client_id),
            "side": side_number(side, close, closing=True), "type": "market" if limit_price is None else "limit",
            "leverage": str(self._leverage.get(market, DEFAULT_LEVERAGE)), "open_type": self._open_type(market),
            "mode": spec.MODE_GTC, "size": int(inst.to_contracts(amount)), "trigger_price": _fmt(trigger_price),
            "price_way": spec.PRICE_WAY_DOWN if side is Side.SELL else spec.PRICE_WAY_UP,
            "price_type": spec.PRICE_TYPE_FAIR if trigger_on_mark else spec.PRICE_TYPE_LAST}
        if limit_price is not None:
            body["executive_price"] = _fmt(limit_price)
        data = await self._rest.post(spec.SUBMIT_PLAN_ORDER_PATH, body, order_call=True,
                                     what=f"place stop {client_id}")
        order_id = str(data.get("order_id") or "") if isinstance(data, dict) else ""
        if order_id:
            self._stop_ids[client_id] = order_id
        return ExchangeOrderId(order_id)

    async def cancel_stop_order(self, market: str, client_id: ClientOrderId) -> None:
        order_id = self._stop_ids.pop(client_id, None)
        ref = {"order_id": order_id} if order_id else self._order_ref(client_id)
        await self._rest.post(spec.CANCEL_PLAN_ORDER_PATH, {"symbol": self._track(market), **ref}, order_call=True,
                              what=f"cancel stop {client_id}")

    async def resting_stop_orders(self, market: str) -> list[ClientOrderId]:
        rows = await self._rest.get(spec.CURRENT_PLAN_ORDER_PATH, [("symbol", self._track(market))],
                                    what=f"read resting stops of {market}")
        found = []
        for row in rows if isinstance(rows, list) else []:
            client_id = client_id_of(row)
            self._stop_ids[client_id] = str(row["order_id"])
            found.append(client_id)
        return found

    # --- account set-up -------------------------------------------------------------------------

    async def set_leverage(self, market: str, leverage: int) -> None:
        body = {"symbol": self._track(market), "leverage": str(leverage), "open_type": self._open_type(market)}
        await self._rest.post(spec.SUBMIT_LEVERAGE_PATH, body, what=f"set leverage of {market} to {leverage}x")
        self._leverage[market] = leverage

    async def set_position_mode(self, mode: PositionMode) -> None:
        wanted = spec.POSITION_MODE_HEDGE if mode is PositionMode.HEDGE else spec.POSITION_MODE_ONE_WAY
        if await self._position_mode() != wanted:  # asking again for the mode in force would be refused
            try:
                await self._rest.post(spec.SET_POSITION_MODE_PATH, {"position_mode": wanted},
                                      what=f"set position mode to {mode}")
            except OrderError as exc:
                raise VenueSetupError(f"{exc} Close the account's positions and orders before changing the position "
                                      "mode.") from exc
        self._hedge = mode is PositionMode.HEDGE

    async def _position_mode(self) -> str:
        data = await self._rest.get(spec.GET_POSITION_MODE_PATH, what="read the position mode")
        return str(data.get("position_mode")) if isinstance(data, dict) else ""

    async def set_margin_mode(self, market: str, mode: MarginMode) -> None:
        """BitMart sets the margin mode (`open_type`) with the leverage: re-apply the leverage in it."""
        self._track(market)
        changed = self._margin.get(market, MarginMode.CROSS) is not mode
        self._margin[market] = mode
        if changed:
            await self.set_leverage(market, self._leverage.get(market, DEFAULT_LEVERAGE))

    # --- account reads --------------------------------------------------------------------------

    async def balances(self) -> list[Balance]:
        rows = await self._rest.get(spec.ASSETS_PATH, what="read the balance")
        balances = [parse_balance(r) for r in rows] if isinstance(rows, list) else []
        self._balances.update({b.asset: b for b in balances})
        return balances

    async def positions(self) -> list[Position]:
        rows = await self._rest.get(spec.POSITION_PATH, what="read positions")
        out = []
        for row in rows if isinstance(rows, list) else []:
            inst = self._rest.instruments.get(str(row.get("symbol")))
            if inst is not None:
                _, position = position_of_row(row, inst, self._leverage.get(inst.market, DEFAULT_LEVERAGE))
                if position is not None:
                    out.append(position)
        return out

    async def open_orders(self, market: str) -> list[OrderReport]:
        inst = await self._rest.instrument(market)
        rows = await history.open_orders(self._rest, self._track(market), what=f"read open orders of {market}")
        reports = [parse_order_report(r, inst) for r in rows]
        for report in reports:
            self.pushes.learn(report.exchange_id, report.client_id)
        return reports

    async def fills_since(self, ts: float, market: str) -> list[FillReport]:
        inst = await self._rest.instrument(market)
        rows = await history.fills(self._rest, self._track(market), ts, self._clock.now(),
                                   what=f"read fills of {market}")
        out = []
        for row in rows:
            client_id = await self._client_id_of(inst, str(row["order_id"]))
            out.append(parse_fill_report(row, inst, client_id, self.position_mode_wire))
        return sorted(out, key=lambda f: f.ts)

    async def _recent_trades(self, symbol: str, since: float) -> list[dict[str, Any]]:
        """The account's trade rows of `symbol` since `since`: the details a pushed fill lacks."""
        return await history.fills(self._rest, symbol, since, self._clock.now(), what="read the details of new fills")

    async def _client_id_of(self, inst: Instrument, order_id: str) -> ClientOrderId:
        """A trade row names its order id only: the client id we know, else the order's own."""
        known = self.pushes.client_id(ExchangeOrderId(order_id))
        if known is not None:
            return known
        try:
            row = await self._rest.get(spec.ORDER_PATH, [("symbol", inst.symbol), ("order_id", order_id)],
                                       what=f"read order {order_id}")
            client_id = client_id_of(row)
        except (PmmError, *BAD_PAYLOAD) as exc:
            log.warning("could not read order %s (%s); naming its fills by the order id", order_id, exc)
            client_id = client_id_of({"order_id": order_id})
        self.pushes.learn(ExchangeOrderId(order_id), client_id)
        return client_id

    async def funding_payments_since(self, ts: float, market: str) -> list[FundingPaymentReport]:
        """Funding-fee transactions since `ts`. A row says only the amount: the rate comes from the
        rate history, the side from who paid, the size and mark from the position held now."""
        inst = await self._rest.instrument(market)
        rows = await history.funding_transactions(self._rest, self._track(market), ts, self._clock.now(),
                                                  what=f"read funding payments of {market}")
        if not rows:
            return []
        rates = funding_rate_times(await history.funding_rates(self._rest, inst.symbol))
        held = {p.side: p for p in await self.positions() if p.market == market}
        return sorted((parse_funding_row(row, inst, rates, held) for row in rows), key=lambda p: p.funding_time_ms)

    async def _load_fees(self, market: str) -> None:
        try:
            data = await self._rest.get(spec.TRADE_FEE_PATH, [("symbol", self._track(market))],
                                        what=f"read the fee rates of {market}")
            self._fees[market] = (dec_or_zero(data["maker_fee_rate"]), dec_or_zero(data["taker_fee_rate"]))
        except (PmmError, *BAD_PAYLOAD) as exc:
            log.warning("could not read the fee rates of %s (%s); using %s / %s", market, exc, *DEFAULT_FEES)
            self._fees.setdefault(market, DEFAULT_FEES)

    # --- private stream -------------------------------------------------------------------------

    def _on_private(self, message: dict[str, Any], recv_ts: float) -> None:
        group = str(message.get("group") or "")
        data: Any = message.get("data")
        try:
            if group == spec.CHANNEL_ORDER:
                for item in data if isinstance(data, list) else [data]:
                    inst = self._rest.instruments.get(str(item["order"].get("symbol")))
                    if inst is not None:
                        self.pushes.on_push(item, inst, recv_ts)
            elif group == spec.CHANNEL_POSITION:
                for row in data if isinstance(data, list) else [data]:
                    self._on_position(row, recv_ts)
            elif group.startswith(spec.CHANNEL_ASSET + ":"):
                balance = parse_balance(data)
                known = self._balances.get(balance.asset)
                if known is not None:  # the push says nothing of unrealized PnL: keep the last read
                    balance = Balance(balance.asset, balance.total, balance.available, balance.margin_in_use,
                                      known.unrealized_pnl)
                self._balances[balance.asset] = balance
                self._emit_event(BalanceUpdated(balance, recv_ts, recv_ts))
                self._funding_hint(recv_ts)
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); reconciling with the venue (%d so far)", group,
                        type(exc).__name__, exc, self.bad_messages)
            self._spawn(self._resync(f"a {group} message could not be read"))

    def _on_position(self, row: dict[str, Any], recv_ts: float) -> None:
        inst = self._rest.instruments.get(str(row.get("symbol")))
        if inst is None:
            return
        ts = int(str(row.get("update_time") or 0)) / 1000 or recv_ts
        side, position = position_of_row(row, inst, self._leverage.get(inst.market, DEFAULT_LEVERAGE))
        self._emit_streamed_position(PositionUpdated(inst.market, side, position, ts, recv_ts))
        if position is not None and not self._hedge:  # one-way: holding one side means the other is closed
            other = PositionSide.SHORT if side is PositionSide.LONG else PositionSide.LONG
            self._emit_streamed_position(PositionUpdated(inst.market, other, None, ts, recv_ts))

    def _funding_hint(self, now: float) -> None:
        """A balance change may be a funding settlement (BitMart pushes no funding event of its own)."""
        if now - self._funding_hint_at < FUNDING_HINT_S or self._emit is None:
            return
        self._funding_hint_at = now
        self._spawn(self.funding.fetch(list(self._markets)))

    def _on_connected(self) -> None:
        if self.stream.connections > 1:
            self._spawn(self._resync("private stream reconnected"))
