"""`GateGateway`: Gate's USDT perpetual private API as a pmm `OrderGateway`.

Orders: limit (`tif` gtc), post-only (`poc`, refused at once with ORDER_POC_IMMEDIATE when it
would take) and market (`price` "0", `tif` ioc), the size in whole contracts signed by the side
(base units converted and rounded down, refused below `order_size_min` before anything is sent),
the engine's client id as `text` ("t-" + id), `reduce_only` when asked. In dual (hedge) mode the
size's sign says buy or sell and `reduce_only` says close: a sell that is not reduce-only opens a
short. Margin mode is the leverage call's: `leverage=N` is isolated at N, `leverage=0` with
`cross_leverage_limit=N` is cross at N (exchange_apis_more.md §0 item 4).

Outcomes arrive on the private stream, handled one message at a time in arrival order:
`futures.usertrades` are the fills; Gate's fill names no realized PnL, so a fill that may close a
position reads its `pnl` rows from the account book (by trade id, `fill_pnl.py`) before it is passed on;
`futures.orders` say accepted / cancelled; `futures.positions` the positions; a
`futures.balances` change re-reads the account (and, for a `fund` change, the funding payments).
A fill pushed twice is reported once (`common/live_orders.py`). After the stream reconnects,
positions, balances and our live orders are re-read (`common/account_gateway.py`).

Dead-man switch: `countdown_cancel_all` {timeout, contract} (0 disarms, else at least 5 s).
Conditional orders: `place_stop_order` rests a reduce-only price-triggered order (mark or last
price, market or limit when triggered) at Gate, so a position keeps its stop-loss when the bot is
gone; both live in `stops.py`. Past fills and funding: `history.py`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.common.account_gateway import AccountGateway, PlacedOrder
from pmm.connectors.common.funding_watch import FundingWatch
from pmm.connectors.common.live_orders import LiveOrders
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.common.symbols import MarketSymbols
from pmm.connectors.gate_io_perpetual import history, spec
from pmm.connectors.gate_io_perpetual.parse import (
    BAD_PAYLOAD,
    STAND_IN_PREFIX,
    Contract,
    client_id_of,
    funding_rates,
    num,
    parse_account,
    parse_fill,
    parse_funding,
    parse_order_report,
    parse_position,
    realized_by_trade,
    status_of,
    time_of,
    to_text,
)
from pmm.connectors.gate_io_perpetual.fill_pnl import FillPnl
from pmm.connectors.gate_io_perpetual.rest import GateRestClient
from pmm.connectors.gate_io_perpetual.stops import GateStops
from pmm.connectors.gate_io_perpetual.streams import GateSocket, Sub
from pmm.core.clock import Clock
from pmm.core.events import BalanceUpdated, OrderAccepted, OrderCancelled, OrderFilled, PositionUpdated
from pmm.core.model import (
    ZERO,
    Balance,
    ClientOrderId,
    ExchangeOrderId,
    FillReport,
    FundingPaymentReport,
    MarginMode,
    OrderReport,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    PositionMode,
    PositionSide,
    Side,
)
from pmm.errors import (
    AuthError,
    BelowMinSize,
    OrderError,
    OrderOutcomeUnknown,
    PmmError,
)

log = logging.getLogger("pmm.gate.gateway")

DEFAULT_FEES = (Decimal("0.0002"), Decimal("0.0005"))  # Gate's VIP0 USDT perpetual maker / taker


class _Contracts(MarketSymbols):
    to_symbol = staticmethod(spec.to_venue_symbol)

    def market(self, symbol: str) -> str:
        return spec.from_venue_symbol(symbol)


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


class GateGateway(AccountGateway):
    _rest: GateRestClient

    def __init__(self, rest: GateRestClient, *, ws_url: str, clock: Clock, connector_id: str = spec.CONNECTOR_ID,
                 venue: str | None = None, markets: Sequence[str] = (), funding_lookback_s: float = 3600.0,
                 funding_poll_s: float | None = 300.0, private_stream_options: dict[str, Any] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        if rest.auth is None:
            raise AuthError(f"{connector_id} needs API keys: run `pmm connect {connector_id}`.")
        super().__init__(rest, connector_id=connector_id, venue=venue, clock=clock, sleep=sleep, log=log,
                         default_fees=DEFAULT_FEES)
        self._symbols = _Contracts()
        self._ws_url = spec.ws_endpoint(ws_url, connector_id)
        self._dual = False
        self._user_id = ""
        self._leverage: dict[str, int] = {}
        self._margin: dict[str, MarginMode] = {}
        self.pnl = FillPnl(rest, clock, sleep)  # the realized PnL of streamed fills
        self.stops = GateStops(rest)  # price-triggered orders and the countdown
        self.live = LiveOrders()
        self.funding = FundingWatch(self.funding_payments_since, self._emit_event, clock, sleep,
                                    lookback_s=funding_lookback_s)
        self._funding_poll_s = funding_poll_s
        self._background: list[asyncio.Task[None]] = []
        self._inbox: asyncio.Queue[tuple[dict[str, Any], float]] = asyncio.Queue()
        self._balance_read: asyncio.Task[None] | None = None
        self._balance_again = False
        self._stream_options = private_stream_options or {}
        self.stream: GateSocket | None = None
        for market in markets:
            self._track(market)

    @property
    def hedge_mode(self) -> bool:
        return self._dual

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
            account = await self._account()  # fails fast (AuthError) on a bad key, before any order
            self._user_id = str(account.get("user") or "")
            self._dual = account.get("in_dual_mode") is True
            for market in self._markets:
                await self._rest.contract(market)
            await self.positions()  # the positions held: a fill that may close one looks up its PnL
            await self._start_stream()
        except BaseException:
            await self.stop()
            raise
        loop = asyncio.get_running_loop()
        self._background.append(loop.create_task(self._drain(), name="gate-private"))
        if self._funding_poll_s:
            self._background.append(loop.create_task(
                self.funding.poll(lambda: list(self._markets), self._funding_poll_s), name="gate-funding"))

    async def _start_stream(self, wait_s: float = 10.0) -> None:
        user = self._user_id or "0"
        subs = [Sub(spec.CHANNEL_ORDERS, (user, "!all"), True), Sub(spec.CHANNEL_USER_TRADES, (user, "!all"), True),
                Sub(spec.CHANNEL_POSITIONS, (user, "!all"), True), Sub(spec.CHANNEL_BALANCES, (user,), True)]
        self.stream = GateSocket(name="account", connector_id=self.connector_id, url=self._ws_url, subs=subs,
                                 on_message=self._on_private, emit=self._emit_event, clock=self._clock,
                                 auth=self._rest.auth, on_connected=self._on_connected, sleep=self._sleep,
                                 **self._stream_options)
        self.stream.start()
        if await self.stream.wait_up(wait_s):
            return
        if self.stream.auth_error is not None:
            raise AuthError(f"Gate refused the private stream's keys ({self.stream.auth_error}). Check the API key "
                            f"and secret (`pmm connect {self.connector_id}`) and that the key is for this environment "
                            "(live or TestNet).")
        log.warning("the Gate private stream is not up after %.0f s (%s); continuing, it keeps reconnecting", wait_s,
                    self.stream.last_reason or "no answer")

    async def stop(self) -> None:
        if self.stream is not None:
            await self.stream.stop()
        await self._end_tasks(*self._background)
        self._background = []
        await self._leave_rest()

    def _live_orders(self) -> dict[ClientOrderId, PlacedOrder]:
        return self.live.orders

    def _contract_of(self, name: str) -> Contract:
        return self._rest.contracts[name]

    async def _account(self) -> dict[str, Any]:
        row = await self._rest.get(spec.ACCOUNTS_PATH, what="read the futures account")
        return row if isinstance(row, dict) else {}

    # --- orders ---------------------------------------------------------------------------------

    async def order_body(self, request: OrderRequest) -> dict[str, Any]:
        """The place-order body for `request`, its size in signed whole contracts."""
        contract = await self._rest.contract(request.market)
        self._track(request.market)
        contracts = contract.to_contracts(request.amount)
        if contracts < contract.min_contracts:
            raise BelowMinSize(f"order {request.client_id} of {request.amount} {contract.base} is below Gate's minimum "
                               f"of {contract.to_base(contract.min_contracts)} ({contract.min_contracts} contracts of "
                               f"{contract.multiplier}); not sent.")
        body: dict[str, Any] = {"contract": contract.name,
                                "size": int(contracts) if request.side is Side.BUY else -int(contracts)}
        if request.order_type is OrderType.MARKET:
            body.update(price="0", tif="ioc")
        else:
            if request.price is None:
                raise OrderError(f"{request.order_type} order {request.client_id} has no price; not sent.")
            body.update(price=_fmt(request.price), tif="poc" if request.order_type is OrderType.LIMIT_MAKER else "gtc")
        body["text"] = to_text(request.client_id)
        if request.reduce_only or (self._dual and self._closing(request)):
            body["reduce_only"] = True
        return body

    def _closing(self, request: OrderRequest) -> bool:
        """Dual mode: an order that closes (sell a long, buy a short) rather than opens."""
        if request.position_side is PositionSide.BOTH:
            return request.reduce_only
        return request.position_side.closing_side is request.side

    def _position_side(self, request: OrderRequest) -> PositionSide:
        if not self._dual:
            return PositionSide.BOTH
        closing = self._closing(request)
        return PositionSide.SHORT if (request.side is Side.BUY) == closing else PositionSide.LONG

    async def place_order(self, request: OrderRequest) -> None:
        body = await self.order_body(request)
        self.live.placed(request, self._clock.now(), self._position_side(request))
        try:
            row = await self._rest.post(spec.ORDERS_PATH, body, order_call=True,
                                        what=f"place order {request.client_id}")
        except OrderError:
            self.live.forget(request.client_id)
            raise
        if not isinstance(row, dict) or not row.get("id"):
            raise OrderOutcomeUnknown(f"place order {request.client_id}: Gate's answer names no order id; the order "
                                      "stays in flight until reconciliation settles it.")
        live = self.live.get(request.client_id)
        if live is not None and live.exchange_id is None:
            live.exchange_id = ExchangeOrderId(str(row["id"]))
            now = self._clock.now()
            self._emit_event(OrderAccepted(request.client_id, live.exchange_id, request.market, now, now))

    @staticmethod
    def _order_ref(client_id: str) -> str:
        if client_id.startswith(STAND_IN_PREFIX):
            return client_id[len(STAND_IN_PREFIX):]
        return to_text(client_id)

    async def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        contract = self._track(market)
        await self._rest.delete(spec.order_path(self._order_ref(client_id)), [("contract", contract)],
                                order_call=True, what=f"cancel order {client_id}")

    async def cancel_all(self, market: str) -> None:
        await self._rest.delete(spec.ORDERS_PATH, [("contract", self._track(market))], order_call=True,
                                what=f"cancel all orders on {market}")

    # --- dead-man switch and conditional orders -------------------------------------------------

    async def arm_dead_man_switch(self, market: str, seconds: float) -> None:
        """Gate cancels the market's orders unless this is renewed within `seconds` (at least 5)."""
        await self.stops.countdown(self._track(market), market, max(seconds, 1.0))

    async def disarm_dead_man_switch(self, market: str) -> None:
        await self.stops.countdown(self._track(market), market, 0)

    async def place_stop_order(self, market: str, client_id: ClientOrderId, side: Side, amount: Decimal,
                               trigger_price: Decimal, *, trigger_on_mark: bool = True,
                               limit_price: Decimal | None = None,
                               position_side: PositionSide = PositionSide.BOTH) -> ExchangeOrderId:
        """Rest a reduce-only price-triggered order at Gate (`stops.py`): when the mark (or last) price
        reaches `trigger_price`, a market order (or a limit at `limit_price`) closes `amount`."""
        contract = await self._rest.contract(market)
        self._track(market)
        return await self.stops.place(contract, client_id, side, amount, trigger_price,
                                      trigger_on_mark=trigger_on_mark, limit_price=limit_price, dual=self._dual)

    async def cancel_stop_order(self, market: str, client_id: ClientOrderId) -> None:
        await self.stops.cancel(self._track(market), market, client_id)

    async def resting_stop_orders(self, market: str) -> list[ClientOrderId]:
        return await self.stops.resting(self._track(market), market)

    # --- account set-up -------------------------------------------------------------------------

    async def set_leverage(self, market: str, leverage: int) -> None:
        """Isolated: `leverage=N`; cross: `leverage=0&cross_leverage_limit=N` (query parameters)."""
        contract = self._track(market)
        if self._margin.get(market, MarginMode.CROSS) is MarginMode.ISOLATED:
            params = [("leverage", str(leverage))]
        else:
            params = [("leverage", "0"), ("cross_leverage_limit", str(leverage))]
        await self._rest.post(spec.leverage_path(contract), None, params,
                              what=f"set leverage of {market} to {leverage}x")
        self._leverage[market] = leverage

    async def set_position_mode(self, mode: PositionMode) -> None:
        wanted = mode is PositionMode.HEDGE
        account = await self._account()
        if (account.get("in_dual_mode") is True) != wanted:  # asking again is refused with positions open
            await self._rest.post(spec.DUAL_MODE_PATH, None, [("dual_mode", "true" if wanted else "false")],
                                  what=f"set position mode to {mode}")
        self._dual = wanted

    async def set_margin_mode(self, market: str, mode: MarginMode) -> None:
        """Gate's margin mode is the leverage call's: re-apply the leverage in the new mode."""
        self._track(market)
        changed = self._margin.get(market, MarginMode.CROSS) is not mode
        self._margin[market] = mode
        if changed:
            leverage = self._leverage.get(market)
            if leverage is None:
                held = [p for p in await self.positions() if p.market == market]
                leverage = held[0].leverage if held else 10
            await self.set_leverage(market, leverage)

    # --- account reads --------------------------------------------------------------------------

    async def balances(self) -> list[Balance]:
        balance = parse_account(await self._account())
        self._balances[balance.asset] = balance
        return [balance]

    async def positions(self) -> list[Position]:
        rows = await self._rest.get(spec.POSITIONS_PATH, [("holding", "true")], what="read positions")
        out = []
        for row in rows or []:
            contract = self._rest.contracts.get(str(row.get("contract")))
            if contract is not None:
                out += [p for _, p in parse_position(row, contract) if p is not None]
        if not self._dual:  # what a fill's PnL lookup goes by (`_may_close`)
            for market in self._markets:
                self.pnl.held[market] = sum((p.signed_amount for p in out if p.market == market), ZERO)
        return out

    async def open_orders(self, market: str) -> list[OrderReport]:
        await self._rest.contract(market)
        rows = await history.open_orders(self._rest, self._track(market), what=f"read open orders of {market}")
        return [parse_order_report(r, self._contract_of, self._dual) for r in rows]

    async def fills_since(self, ts: float, market: str) -> list[FillReport]:
        contract = await self._rest.contract(market)
        now = self._clock.now()
        rows = await history.fills(self._rest, contract.name, ts, now, what=f"read fills of {market}")
        if not rows:
            return []
        pnl = await history.account_book(self._rest, contract.name, spec.ACCOUNT_BOOK_PNL, ts - 1, now,
                                         what=f"read realized PnL of {market}")
        realized = realized_by_trade(pnl)
        return sorted((parse_fill(r, self._contract_of, realized, self._dual) for r in rows), key=lambda f: f.ts)

    async def funding_payments_since(self, ts: float, market: str) -> list[FundingPaymentReport]:
        contract = await self._rest.contract(market)
        now = self._clock.now()
        rows = await history.account_book(self._rest, contract.name, spec.ACCOUNT_BOOK_FUNDING, ts, now,
                                          what=f"read funding payments of {market}")
        if not rows:
            return []
        rates = funding_rates(await history.funding_rates(self._rest, contract.name, ts - 1, now))
        held = self.pnl.held.get(market)
        return sorted((parse_funding(r, contract, rates, held) for r in rows), key=lambda p: p.funding_time_ms)

    async def _load_fees(self, market: str) -> None:
        """Gate's contract lists its maker / taker rates (the account's own tier may be lower)."""
        try:
            contract = await self._rest.contract(market)
            self._fees[market] = (contract.maker_fee, contract.taker_fee)
        except (PmmError, *BAD_PAYLOAD) as exc:
            log.warning("could not read the fee rates of %s (%s); using %s / %s", market, exc, *DEFAULT_FEES)
            self._fees.setdefault(market, DEFAULT_FEES)

    # --- private stream -------------------------------------------------------------------------

    def _on_private(self, message: dict[str, Any], recv_ts: float) -> None:
        self._inbox.put_nowait((message, recv_ts))

    async def _drain(self) -> None:
        """Handle private messages one at a time, in arrival order (a fill may await its PnL)."""
        while True:
            message, recv_ts = await self._inbox.get()
            channel = message.get("channel")
            try:
                await self._handle(channel, message.get("result"), recv_ts)
            except BAD_PAYLOAD as exc:
                self.bad_messages += 1
                log.warning("unreadable %s message (%s: %s); reconciling with the venue (%d so far)", channel,
                            type(exc).__name__, exc, self.bad_messages)
                self._spawn(self._resync(f"a {channel} message could not be read"))
            except PmmError as exc:
                log.warning("handling a %s message needed Gate and failed (%s); reconciling", channel, exc)
                self._spawn(self._resync(f"a {channel} message could not be completed"))

    async def _handle(self, channel: object, result: Any, recv_ts: float) -> None:
        rows = result if isinstance(result, list) else []
        if channel == spec.CHANNEL_USER_TRADES:
            for row in rows:
                if str(row.get("contract")) in self._rest.contracts:
                    await self._on_fill(row, recv_ts)
        elif channel == spec.CHANNEL_ORDERS:
            for row in rows:
                if str(row.get("contract")) in self._rest.contracts:
                    self._on_order(row, recv_ts)
        elif channel == spec.CHANNEL_POSITIONS:
            for row in rows:
                contract = self._rest.contracts.get(str(row.get("contract")))
                if contract is None:
                    continue
                ts = time_of(row, "time") or recv_ts
                for side, position in parse_position(row, contract):
                    if side is PositionSide.LONG or position is not None:
                        self._note_held(contract.market, side, position)
                    self._emit_streamed_position(PositionUpdated(contract.market, side, position, ts, recv_ts))
        elif channel == spec.CHANNEL_BALANCES:
            self._read_balance_soon()
            if any(row.get("type") == spec.ACCOUNT_BOOK_FUNDING for row in rows):
                self._spawn(self.funding.fetch(list(self._markets), expect_new=True))

    def _note_held(self, market: str, side: PositionSide, position: Position | None) -> None:
        if not self._dual:
            self.pnl.held[market] = position.signed_amount if position is not None else ZERO

    async def _on_fill(self, row: dict[str, Any], recv_ts: float) -> None:
        contract = self._contract_of(str(row["contract"]))
        trade_id = str(row["id"])
        if self.pnl.seen(contract.market, trade_id):
            log.info("dropped a fill Gate pushed again (trade %s)", trade_id)
            return
        client_id = client_id_of(row, "order_id")
        live = self.live.get(client_id)
        realized: dict[str, Decimal] = {}
        if self.pnl.may_close(contract.market, num(row["size"]), live, self._dual):
            realized = await self.pnl.realized(contract, trade_id, time_of(row, "create_time") or recv_ts)
        fill = parse_fill(row, self._contract_of, realized, self._dual,
                          live.position_side if live is not None else None)
        exchange_id = fill.exchange_id
        if live is not None and live.exchange_id is None:  # the fill came before the place reply
            self._emit_event(OrderAccepted(client_id, exchange_id, fill.market, fill.ts, recv_ts))
        if live is not None:
            remaining = max(ZERO, live.request.amount - live.filled - fill.amount)
            order_type = live.request.order_type
        else:
            remaining, order_type = ZERO, OrderType.LIMIT
        event = OrderFilled(client_id, exchange_id, fill.trade_id, fill.market, fill.side, order_type, fill.price,
                            fill.amount, remaining, fill.fee, fill.fee_asset, fill.liquidity, fill.position_side,
                            fill.realized_pnl, fill.ts, recv_ts)
        if self.live.on_event(event):
            self._emit_event(event)

    def _on_order(self, row: dict[str, Any], recv_ts: float) -> None:
        contract = self._contract_of(str(row["contract"]))
        client_id = client_id_of(row)
        exchange_id = ExchangeOrderId(str(row["id"]))
        ts = time_of(row, "update_time") or time_of(row, "finish_time") or time_of(row, "create_time") or recv_ts
        status = status_of(row)
        event: OrderAccepted | OrderCancelled | None = None
        if status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            live = self.live.get(client_id)
            if live is None or live.exchange_id is None:
                event = OrderAccepted(client_id, exchange_id, contract.market, ts, recv_ts)
        elif status is OrderStatus.CANCELLED:
            event = OrderCancelled(client_id, exchange_id, contract.market, ts, recv_ts)
        # FILLED: its fills (futures.usertrades) already said so.
        if event is not None and self.live.on_event(event):
            self._emit_event(event)

    def _read_balance_soon(self) -> None:
        """Re-read the account once per burst of balance changes (the push has the wallet only)."""
        if self._balance_read is not None and not self._balance_read.done():
            self._balance_again = True
            return
        self._balance_read = self._spawn(self._read_balance())

    async def _read_balance(self) -> None:
        while True:
            self._balance_again = False
            try:
                for balance in await self.balances():
                    now = self._clock.now()
                    self._emit_event(BalanceUpdated(balance, now, now))
            except PmmError as exc:
                log.warning("re-reading the balance after a change failed (%s)", exc)
            if not self._balance_again:
                return

    def _on_connected(self) -> None:
        if self.stream is not None and self.stream.connections > 1:
            self._spawn(self._resync("private stream reconnected"))
