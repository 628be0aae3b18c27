"""`BitmexGateway`: the BitMEX private API (linear USDT perpetuals) as a pmm `OrderGateway`.

Orders: `Limit`, post-only `Limit` (execInst `ParticipateDoNotInitiate`) and `Market`, with the
engine's client order id as `clOrdID` and `ReduceOnly` in `execInst` when asked. The size is
converted from base units to contracts (down to `lotSize`, never bigger than asked) and refused below
one lot before anything is sent. BitMEX keeps one net position per symbol: there is no hedge mode.
`POST /order` answers with the order after matching: a post-only order that would have crossed comes
back `Canceled` with BitMEX's text and is raised as `PostOnlyWouldCross` (its stream echo is dropped).
Cancel-all is `DELETE /order/all` for the symbol.

Outcomes arrive on the private tables of the one `/realtime` socket: `execution` (New, Trade,
Canceled, Rejected rows of our orders, and execType Funding: each funding payment, passed on once
with those read back by `FundingWatch`), `position` and `margin` (merged from partial/update rows,
`tables.py`). A fill pushed twice is reported once (`common/live_orders.py`). After the stream
reconnects, positions, balances and our live orders are re-read (`common/account_gateway.py`). Past
fills and funding: `history.py`.
BitMEX's executions carry no realized PnL: each fill's is worked out at the position's average entry
price (`pnl.py`), from the position BitMEX reports at start (fills from before the start, read back by
a reconciliation, from the fill history back to the last flat position).

Dead-man switch: `cancelAllAfter` (a timeout in ms, 0 disarms) cancels every open order of the
account unless renewed. Conditional orders: `place_stop_order` rests a reduce-only `Stop` (market when
triggered) or `StopLimit` at BitMEX, triggered on the mark price (execInst `MarkPrice`) or the last.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.bitmex_perpetual import history, spec
from pmm.connectors.bitmex_perpetual.errors import translate
from pmm.connectors.bitmex_perpetual.parse import (
    BAD_PAYLOAD,
    STAND_IN_PREFIX,
    Instrument,
    client_id_of,
    iso_to_s,
    parse_commission,
    parse_execution,
    parse_fill_report,
    parse_funding_execution,
    parse_margin,
    parse_order_report,
    position_of_row,
    rejection_of,
    to_cl_ord_id,
)
from pmm.connectors.bitmex_perpetual.pnl import RealizedPnl
from pmm.connectors.bitmex_perpetual.rest import BitmexRestClient
from pmm.connectors.bitmex_perpetual.streams import BitmexSocket
from pmm.connectors.bitmex_perpetual.tables import KeyedTable, TableGap
from pmm.connectors.common.account_gateway import AccountGateway
from pmm.connectors.common.funding_watch import FundingWatch
from pmm.connectors.common.live_orders import LiveOrders
from pmm.connectors.common.rate_limits import Sleep
from pmm.connectors.common.symbols import MarketSymbols
from pmm.core.clock import Clock
from pmm.core.events import BalanceUpdated, FundingPaymentReceived, OrderAccepted, OrderFilled, PositionUpdated
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
    OrderType,
    Position,
    PositionMode,
    PositionSide,
    Side,
)
from pmm.errors import AuthError, BelowMinSize, OrderError, OrderOutcomeUnknown, PmmError, VenueSetupError

log = logging.getLogger("pmm.bitmex.gateway")

DEFAULT_FEES = (Decimal("0.0002"), Decimal("0.00075"))  # BitMEX's base tier maker / taker on perpetuals


class _Symbols(MarketSymbols):
    to_symbol = staticmethod(spec.to_venue_symbol)

    def market(self, symbol: str) -> str:
        return spec.from_venue_symbol(symbol)


def _side(side: Side) -> str:
    return "Buy" if side is Side.BUY else "Sell"


class BitmexGateway(AccountGateway):
    _rest: BitmexRestClient

    def __init__(self, rest: BitmexRestClient, *, ws_url: str, clock: Clock, connector_id: str = spec.CONNECTOR_ID,
                 venue: str | None = None, markets: Sequence[str] = (), funding_lookback_s: float = 3600.0,
                 funding_poll_s: float | None = 300.0, private_stream_options: dict[str, Any] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        if rest.auth is None:
            raise AuthError(f"{connector_id} needs API keys: run `pmm connect {connector_id}`.")
        super().__init__(rest, connector_id=connector_id, venue=venue, clock=clock, sleep=sleep, log=log,
                         default_fees=DEFAULT_FEES)
        self._symbols = _Symbols()
        self._leverage: dict[str, int] = {}
        self._margin: dict[str, MarginMode] = {}
        self._stop_ids: dict[ClientOrderId, ExchangeOrderId] = {}
        self._refused: set[ClientOrderId] = set()  # answered refused by POST /order: drop the stream's echo
        self.live = LiveOrders()
        self.pnl = RealizedPnl()
        self._started_at: float | None = None  # fills before it were booked into the starting position
        self.positions_table = KeyedTable(spec.TABLE_POSITION, ("account", "symbol", "currency"))
        self.margin_table = KeyedTable(spec.TABLE_MARGIN, ("account", "currency"))
        self.funding = FundingWatch(self.funding_payments_since, self._emit_event, clock, sleep,
                                    lookback_s=funding_lookback_s)
        self._funding_poll_s = funding_poll_s
        self._funding_task: asyncio.Task[None] | None = None
        for market in markets:
            self._track(market)
        self.stream = BitmexSocket(name="account", connector_id=connector_id, url=spec.ws_endpoint(ws_url),
                                   topics=[spec.TABLE_EXECUTION, spec.TABLE_POSITION, spec.TABLE_MARGIN],
                                   on_message=self._on_private, emit=self._emit_event, clock=clock, auth=rest.auth,
                                   on_connected=self._on_connected, sleep=sleep, **(private_stream_options or {}))

    @property
    def hedge_mode(self) -> bool:
        return False

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
            await self.balances()  # fails fast (AuthError) on a bad key, before any order
            for market in self._markets:
                await self._rest.instrument(market)
            await self._start_pnl_book()
            await self._start_stream()
        except BaseException:
            await self.stop()
            raise
        if self._funding_poll_s:
            self._funding_task = asyncio.get_running_loop().create_task(
                self.funding.poll(lambda: list(self._markets), self._funding_poll_s), name="bitmex-funding")

    async def _start_pnl_book(self) -> None:
        """Realized PnL is worked out from the position BitMEX reports now (`pnl.py`)."""
        self._started_at = self._clock.now()
        held = {p.market: p for p in await self.positions()}
        for market in self._markets:
            position = held.get(market)
            self.pnl.start_from(market, position.signed_amount if position else ZERO,
                                position.entry_price if position else ZERO)

    def _realized(self, fill: OrderFilled | FillReport) -> Decimal:
        if self._started_at is not None and fill.ts < self._started_at and not self.pnl.knows(fill.market,
                                                                                                str(fill.trade_id)):
            log.warning("fill %s of %s came before this start and was not replayed: realized PnL 0", fill.trade_id,
                        fill.market)
            return ZERO
        return self.pnl.on_fill(fill.market, str(fill.trade_id), fill.side, fill.price, fill.amount)

    async def _replay_before_start(self, market: str, fills: Sequence[FillReport]) -> None:
        """Fills from before this start are in the starting position: their PnL comes from replaying the
        history back to the last flat position before the oldest of them (`pnl.py`)."""
        early = [f for f in fills if self._started_at is not None and f.ts < self._started_at
                 and not self.pnl.knows(market, str(f.trade_id))]
        if not early:
            return
        inst = await self._rest.instrument(market)
        held, _ = self.pnl.position(market)
        rows = await history.trades_back_to_flat(self._rest, inst.symbol, int(inst.to_contracts(held) if held >= 0
                                                 else -inst.to_contracts(-held)), min(f.ts for f in early),
                                                 what=f"read the fill history of {market}")
        replay = RealizedPnl()
        for row in reversed(rows):
            fill = parse_fill_report(row, self._inst_of)
            realized = replay.on_fill(market, str(fill.trade_id), fill.side, fill.price, fill.amount)
            if self._started_at is not None and fill.ts < self._started_at:  # later ones move the live book
                self.pnl.learn(market, str(fill.trade_id), realized)

    async def _start_stream(self, wait_s: float = 10.0) -> None:
        self.stream.start()
        if await self.stream.wait_up(wait_s):
            return
        if self.stream.auth_error is not None:
            raise AuthError(f"BitMEX refused the private stream's authentication ({self.stream.auth_error}). Check "
                            f"the API key and secret (`pmm connect {self.connector_id}`) and that the key is for this "
                            "environment (live or testnet).")
        log.warning("the BitMEX private stream is not up after %.0f s (%s); continuing, it keeps reconnecting",
                    wait_s, self.stream.last_reason or "no answer")

    async def stop(self) -> None:
        await self.stream.stop()
        await self._end_tasks(self._funding_task)
        self._funding_task = None
        await self._leave_rest()

    def _live_orders(self) -> dict[ClientOrderId, Any]:
        return self.live.orders

    def _inst_of(self, symbol: str) -> Instrument:
        return self._rest.instruments[symbol]

    # --- orders ---------------------------------------------------------------------------------

    async def _contracts(self, inst: Instrument, amount: Decimal, what: str) -> int:
        contracts = inst.to_contracts(amount)
        if contracts < inst.lot_size:
            raise BelowMinSize(f"{what} of {amount} {inst.base} is below BitMEX's minimum of "
                               f"{inst.to_base(inst.lot_size)} ({inst.lot_size} contracts); not sent.")
        return int(contracts)

    async def order_body(self, request: OrderRequest) -> dict[str, Any]:
        """The POST /order body for `request`, its size in contracts."""
        inst = await self._rest.instrument(request.market)
        self._track(request.market)
        body: dict[str, Any] = {"symbol": inst.symbol, "side": _side(request.side),
                                "orderQty": await self._contracts(inst, request.amount, f"order {request.client_id}"),
                                "clOrdID": to_cl_ord_id(request.client_id)}
        inst_flags = []
        if request.order_type is OrderType.MARKET:
            body["ordType"] = "Market"
        else:
            if request.price is None:
                raise OrderError(f"{request.order_type} order {request.client_id} has no price; not sent.")
            body["ordType"], body["price"] = "Limit", request.price
            if request.order_type is OrderType.LIMIT_MAKER:
                inst_flags.append(spec.EXEC_POST_ONLY)
        if request.reduce_only:
            inst_flags.append(spec.EXEC_REDUCE_ONLY)
        if inst_flags:
            body["execInst"] = ",".join(inst_flags)
        return body

    async def place_order(self, request: OrderRequest) -> None:
        body = await self.order_body(request)
        self.live.placed(request, self._clock.now(), PositionSide.BOTH)
        try:
            row = await self._rest.send("POST", spec.ORDER_PATH, body, order_call=True,
                                        what=f"place order {request.client_id}")
        except OrderError:
            self.live.forget(request.client_id)
            raise
        if not isinstance(row, dict) or not row.get("orderID"):
            raise OrderOutcomeUnknown(f"place order {request.client_id}: BitMEX's answer names no order id; the "
                                      "order stays in flight until reconciliation settles it.")
        reason = rejection_of(row)
        if reason is not None:
            self.live.forget(request.client_id)
            self._refused.add(request.client_id)
            error = translate(what=f"place order {request.client_id}", status=200, message=str(row.get("text") or
                              row.get("ordRejReason") or reason), order_call=True)
            raise error if isinstance(error, OrderError) else OrderError(str(error))
        self._accepted(request, row)

    def _accepted(self, request: OrderRequest, row: dict[str, Any]) -> None:
        live = self.live.get(request.client_id)
        if live is None or live.exchange_id is not None:
            return  # the stream already said it (or finished it: an instant fill)
        live.exchange_id = ExchangeOrderId(str(row["orderID"]))
        now = self._clock.now()
        self._emit_event(OrderAccepted(request.client_id, live.exchange_id, request.market, now, now))

    def _order_ref(self, client_id: str) -> dict[str, str]:
        if client_id.startswith(STAND_IN_PREFIX):
            return {"orderID": client_id[len(STAND_IN_PREFIX):]}
        return {"clOrdID": to_cl_ord_id(client_id)}

    async def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        """DELETE /order answers a list of the orders, each with an `error` when it could not be canceled."""
        self._track(market)
        rows = await self._rest.send("DELETE", spec.ORDER_PATH, self._order_ref(client_id), order_call=True,
                                     what=f"cancel order {client_id}")
        for row in rows if isinstance(rows, list) else []:
            if row.get("error"):
                raise translate(what=f"cancel order {client_id}", status=200, message=str(row["error"]),
                                order_call=True)

    async def cancel_all(self, market: str) -> None:
        await self._rest.send("DELETE", spec.ORDER_ALL_PATH, {"symbol": self._track(market)}, order_call=True,
                              what=f"cancel all orders on {market}")

    # --- dead-man switch and conditional orders -------------------------------------------------

    async def arm_dead_man_switch(self, market: str, seconds: float) -> None:
        """BitMEX cancels all of the ACCOUNT's orders unless this is renewed within `seconds`."""
        timeout = min(max(round(seconds), spec.DEAD_MAN_MIN_S), spec.DEAD_MAN_MAX_S)
        await self._rest.send("POST", spec.CANCEL_ALL_AFTER_PATH, {"timeout": timeout * 1000},
                              what=f"arm cancelAllAfter ({timeout} s) for {market}")

    async def disarm_dead_man_switch(self, market: str) -> None:
        await self._rest.send("POST", spec.CANCEL_ALL_AFTER_PATH, {"timeout": 0},
                              what=f"disarm cancelAllAfter for {market}")

    async def place_stop_order(self, market: str, client_id: ClientOrderId, side: Side, amount: Decimal,
                               trigger_price: Decimal, *, trigger_on_mark: bool = True,
                               limit_price: Decimal | None = None,
                               position_side: PositionSide = PositionSide.BOTH) -> ExchangeOrderId:
        """Rest a reduce-only stop at BitMEX: when the mark (or last) price reaches `trigger_price`, a
        market order (`Stop`) or a limit at `limit_price` (`StopLimit`) closes `amount` (base units)."""
        inst = await self._rest.instrument(market)
        body: dict[str, Any] = {
            "symbol": inst.symbol, "side": _side(side), "clOrdID": to_cl_ord_id(client_id),
            "orderQty": await self._contracts(inst, amount, f"stop {client_id}"), "stopPx": trigger_price,
            "ordType": "Stop" if limit_price is None else "StopLimit",
            "execInst": ",".join([spec.EXEC_REDUCE_ONLY, spec.EXEC_MARK_PRICE if trigger_on_mark else
                                  spec.EXEC_LAST_PRICE])}
        if limit_price is not None:
            body["price"] = limit_price
        row = await self._rest.send("POST", spec.ORDER_PATH, body, order_call=True, what=f"place stop {client_id}")
        order_id = ExchangeOrderId(str(row.get("orderID") or "") if isinstance(row, dict) else "")
        if order_id:
            self._stop_ids[client_id] = order_id
        return order_id

    async def cancel_stop_order(self, market: str, client_id: ClientOrderId) -> None:
        order_id = self._stop_ids.pop(client_id, None)
        ref = {"orderID": str(order_id)} if order_id else self._order_ref(client_id)
        self._track(market)
        await self._rest.send("DELETE", spec.ORDER_PATH, ref, order_call=True, what=f"cancel stop {client_id}")

    async def resting_stop_orders(self, market: str) -> list[ClientOrderId]:
        rows = await history.resting_stops(self._rest, self._track(market), what=f"read resting stops of {market}")
        found = []
        for row in rows:
            client_id = client_id_of(row)
            self._stop_ids[client_id] = ExchangeOrderId(str(row["orderID"]))
            found.append(client_id)
        return found

    # --- account set-up -------------------------------------------------------------------------

    async def set_leverage(self, market: str, leverage: int) -> None:
        """Isolated: POST /position/leverage sets the position's leverage. Cross: BitMEX margins the
        position with the whole available balance, so the leverage is pmm's sizing only."""
        symbol = self._track(market)
        if self._margin.get(market) is MarginMode.ISOLATED:
            await self._rest.send("POST", spec.LEVERAGE_PATH, {"symbol": symbol, "leverage": leverage},
                                  what=f"set leverage of {market} to {leverage}x")
        self._leverage[market] = leverage

    async def set_position_mode(self, mode: PositionMode) -> None:
        if mode is PositionMode.HEDGE:
            raise VenueSetupError("BitMEX keeps one net position per symbol and has no hedge mode; set "
                                  "`position_mode: ONEWAY` in the config.")

    async def set_margin_mode(self, market: str, mode: MarginMode) -> None:
        """POST /position/isolate {enabled}: true isolates the position, false makes it cross."""
        symbol = self._track(market)
        await self._rest.send("POST", spec.ISOLATE_PATH, {"symbol": symbol, "enabled": mode is MarginMode.ISOLATED},
                              what=f"set margin mode of {market} to {mode}")
        changed = self._margin.get(market, MarginMode.CROSS) is not mode
        self._margin[market] = mode
        if changed and mode is MarginMode.ISOLATED and market in self._leverage:
            await self.set_leverage(market, self._leverage[market])

    # --- account reads --------------------------------------------------------------------------

    async def balances(self) -> list[Balance]:
        rows = await self._rest.get(spec.MARGIN_PATH, [("currency", "all")], what="read the balance")
        balances = [parse_margin(r) for r in (rows if isinstance(rows, list) else [rows])]
        self._balances.update({b.asset: b for b in balances})
        return balances

    async def positions(self) -> list[Position]:
        rows = await self._rest.get(spec.POSITION_PATH, what="read positions")
        out = []
        for row in rows:
            inst = self._rest.instruments.get(str(row.get("symbol")))
            if inst is not None:
                out += [p for _, p in position_of_row(row, inst) if p is not None]
        return out

    async def open_orders(self, market: str) -> list[OrderReport]:
        await self._rest.instrument(market)
        rows = await history.open_orders(self._rest, self._track(market), what=f"read open orders of {market}")
        return [parse_order_report(r, self._inst_of) for r in rows]

    async def fills_since(self, ts: float, market: str) -> list[FillReport]:
        await self._rest.instrument(market)
        rows = await history.executions(self._rest, self._track(market), spec.EXEC_TYPE_TRADE, ts,
                                        what=f"read fills of {market}")
        fills = sorted((parse_fill_report(r, self._inst_of) for r in rows), key=lambda f: f.ts)
        await self._replay_before_start(market, fills)
        return [replace(f, realized_pnl=self._realized(f)) for f in fills]

    async def funding_payments_since(self, ts: float, market: str) -> list[FundingPaymentReport]:
        inst = await self._rest.instrument(market)
        rows = await history.executions(self._rest, self._track(market), spec.EXEC_TYPE_FUNDING, ts,
                                        what=f"read funding payments of {market}")
        return sorted((parse_funding_execution(r, inst) for r in rows), key=lambda p: p.funding_time_ms)

    async def _load_fees(self, market: str) -> None:
        try:
            payload = await self._rest.get(spec.COMMISSION_PATH, what=f"read the fee rates of {market}")
            self._fees[market] = parse_commission(payload, spec.to_venue_symbol(market))
        except (PmmError, *BAD_PAYLOAD) as exc:
            log.warning("could not read the fee rates of %s (%s); using %s / %s", market, exc, *DEFAULT_FEES)
            self._fees.setdefault(market, DEFAULT_FEES)

    # --- private stream -------------------------------------------------------------------------

    def _on_private(self, message: dict[str, Any], recv_ts: float) -> None:
        table = message.get("table")
        try:
            if table == spec.TABLE_EXECUTION:
                if message.get("action") == "partial":
                    return  # past executions: already reported, or settled by the resync
                for row in message.get("data") or ():
                    self._on_execution(row, recv_ts)
            elif table == spec.TABLE_POSITION:
                for row in self.positions_table.apply(message):
                    inst = self._rest.instruments.get(str(row.get("symbol")))
                    if inst is not None and message.get("action") != "delete":
                        ts = iso_to_s(row["timestamp"]) if row.get("timestamp") else recv_ts
                        for side, position in position_of_row(row, inst):
                            self._emit_streamed_position(PositionUpdated(inst.market, side, position, ts, recv_ts))
            elif table == spec.TABLE_MARGIN:
                for row in self.margin_table.apply(message):
                    balance = parse_margin(row)
                    self._balances[balance.asset] = balance
                    self._emit_event(BalanceUpdated(balance, recv_ts, recv_ts))
        except TableGap as exc:
            log.warning("%s; re-reading the account and resubscribing", exc)
            self._spawn(self.stream.resubscribe([str(table)]))
            self._spawn(self._resync(str(exc)))
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); reconciling with the venue (%d so far)", table,
                        type(exc).__name__, exc, self.bad_messages)
            self._spawn(self._resync(f"a {table} message could not be read"))

    def _on_execution(self, row: dict[str, Any], recv_ts: float) -> None:
        inst = self._rest.instruments.get(str(row.get("symbol")))
        if inst is None:
            return
        if row.get("execType") == spec.EXEC_TYPE_FUNDING:
            # the execution is the whole payment: passed on as it is, no history read needed
            payment = parse_funding_execution(row, inst)
            if (payment.market, payment.funding_time_ms) not in self.funding.seen:
                self.funding.seen.add((payment.market, payment.funding_time_ms))
                self._emit_event(FundingPaymentReceived(
                    payment.market, payment.funding_time_ms, payment.rate, payment.amount, payment.asset,
                    payment.position_amount, payment.mark_price, payment.funding_time_ms / 1000, recv_ts))
            return
        if row.get("ordType") not in ("Limit", "Market") and row.get("execType") != spec.EXEC_TYPE_TRADE:
            return  # a resting stop's own life; its fills (once triggered) are trades
        for event in parse_execution(row, inst, recv_ts):
            if isinstance(event, OrderFilled):
                event = replace(event, realized_pnl=self._realized(event))
            if event.client_id in self._refused:
                if not isinstance(event, OrderFilled):
                    self._refused.discard(event.client_id)
                    continue  # place_order already raised this refusal
            live = self.live.get(event.client_id)
            if isinstance(event, OrderFilled) and live is not None and live.exchange_id is None:
                # the fill came before the place reply: say it was accepted first
                self._emit_event(OrderAccepted(event.client_id, event.exchange_id, event.market, event.ts, recv_ts))
            if isinstance(event, OrderAccepted) and live is not None and live.exchange_id is not None:
                continue  # the place reply already said it
            if self.live.on_event(event):
                self._emit_event(event)
            elif isinstance(event, OrderFilled):
                log.info("dropped a fill BitMEX pushed again (execution %s of order %s)", event.trade_id,
                         event.client_id)

    def _on_connected(self) -> None:
        self.positions_table.reset()
        self.margin_table.reset()
        if self.stream.connections > 1:
            self._spawn(self._resync("private stream reconnected"))
