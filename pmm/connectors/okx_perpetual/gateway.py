"""`OkxGateway`: the OKX v5 private API (USDT-margined swaps) as a pmm `OrderGateway`.

Orders: `limit`, `post_only` (LIMIT_MAKER) and `market`, with the engine's client order id as an
escaped `clOrdId` (`parse.to_cl_ord_id`); the size is converted from base units to contracts,
rounded down to the lot (never bigger than asked) and refused below `minSz` before anything is
sent. `tdMode` is the market's margin mode; in long/short mode `posSide` says which side the order
opens or closes (closes are reduce-only by nature), in net mode `reduceOnly` is sent as asked.
Batches (`place_orders`) go 20 at a time through batch-orders, each order with its own outcome.
OKX has no cancel-all for swaps: `cancel_all` cancels the listed open orders 20 at a time.

Outcomes arrive on the private stream (`orders`, `positions`, `account`; a `funding_fee` event of
`balance_and_position` makes the gateway read its funding bills). A fill OKX pushes twice is
reported once (`common/live_orders.py`). After the stream reconnects, positions, balances and our
live orders are re-read (`common/account_gateway.py`). Past fills and funding bills: `history.py`.

Dead-man switch: `cancel-all-after` (10..120 s, 0 disarms) cancels every open order of the
account (not only the market's) unless renewed. Conditional orders: `place_stop_order` rests a
reduce-only stop (algo `conditional`, trigger on mark or last price, market or limit when
triggered) at OKX, so a position keeps its stop-loss when the bot is gone.
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
from pmm.connectors.okx_perpetual import history, spec
from pmm.connectors.okx_perpetual.errors import translate
from pmm.connectors.okx_perpetual.parse import (
    BAD_PAYLOAD,
    STAND_IN_PREFIX,
    Instrument,
    client_id_of,
    funding_rate_times,
    parse_balances,
    parse_fee_rates,
    parse_fill_report,
    parse_funding_bill,
    parse_order_push,
    parse_order_report,
    positions_of_row,
    to_cl_ord_id,
)
from pmm.connectors.okx_perpetual.rest import OkxRestClient
from pmm.connectors.okx_perpetual.streams import OkxSocket
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
from pmm.errors import AuthError, BelowMinSize, OrderError, OrderOutcomeUnknown, PmmError

log = logging.getLogger("pmm.okx.gateway")

_BALANCE_AND_POSITION = "balance_and_position"
DEFAULT_FEES = (Decimal("0.0002"), Decimal("0.0005"))  # OKX's Lv1 USDT-margined swap maker / taker


class _InstIds(MarketSymbols):
    to_symbol = staticmethod(spec.to_venue_symbol)

    def market(self, symbol: str) -> str:
        return spec.from_venue_symbol(symbol)


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


class OkxGateway(AccountGateway):
    _rest: OkxRestClient

    def __init__(self, rest: OkxRestClient, *, ws_url: str, clock: Clock, connector_id: str = spec.CONNECTOR_ID,
                 venue: str | None = None, markets: Sequence[str] = (), funding_lookback_s: float = 3600.0,
                 funding_poll_s: float | None = 300.0, private_stream_options: dict[str, Any] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        if rest.auth is None:
            raise AuthError(f"{connector_id} needs API keys: run `pmm connect {connector_id}`.")
        super().__init__(rest, connector_id=connector_id, venue=venue, clock=clock, sleep=sleep, log=log,
                         default_fees=DEFAULT_FEES)
        self._symbols = _InstIds()
        self._hedge = False
        self._leverage: dict[str, int] = {}
        self._margin: dict[str, MarginMode] = {}
        self._algo_ids: dict[ClientOrderId, ExchangeOrderId] = {}  # stops placed, by client id
        self.live = LiveOrders()
        self.funding = FundingWatch(self.funding_payments_since, self._emit_event, clock, sleep,
                                    lookback_s=funding_lookback_s)
        self._funding_poll_s = funding_poll_s
        self._funding_task: asyncio.Task[None] | None = None
        for market in markets:
            self._track(market)
        args = [{"channel": ch, "instType": spec.INST_TYPE} for ch in (spec.CHANNEL_ORDERS, spec.CHANNEL_POSITIONS)]
        self.stream = OkxSocket(name="account", connector_id=connector_id,
                                url=spec.ws_endpoint(ws_url, spec.WS_PRIVATE_PATH),
                                args=[*args, {"channel": spec.CHANNEL_ACCOUNT}], on_message=self._on_private,
                                emit=self._emit_event, clock=clock, auth=rest.auth, on_connected=self._on_connected,
                                optional_args=[{"channel": _BALANCE_AND_POSITION}],  # its funding_fee events
                                sleep=sleep, **(private_stream_options or {}))

    @property
    def hedge_mode(self) -> bool:
        return self._hedge

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
            self._hedge = await self._pos_mode() == spec.POS_MODE_HEDGE
            await self.balances()  # fails fast (AuthError) on a bad key, before any order
            for market in self._markets:
                await self._rest.instrument(market)
            await self._start_stream()
        except BaseException:
            await self.stop()
            raise
        if self._funding_poll_s:
            self._funding_task = asyncio.get_running_loop().create_task(
                self.funding.poll(lambda: list(self._markets), self._funding_poll_s), name="okx-funding")

    async def _start_stream(self, wait_s: float = 10.0) -> None:
        self.stream.start()
        if await self.stream.wait_up(wait_s):
            return
        if self.stream.auth_error is not None:
            raise AuthError(f"OKX refused the private stream's login ({self.stream.auth_error}). Check the API key, "
                            f"secret and passphrase (`pmm connect {self.connector_id}`) and that the key is for this "
                            "environment (live or demo trading).")
        log.warning("the OKX private stream is not up after %.0f s (%s); continuing, it keeps reconnecting", wait_s,
                    self.stream.last_reason or "no answer")

    async def stop(self) -> None:
        await self.stream.stop()
        await self._end_tasks(self._funding_task)
        self._funding_task = None
        await self._leave_rest()

    def _live_orders(self) -> dict[ClientOrderId, PlacedOrder]:
        return self.live.orders

    def _inst_of(self, inst_id: str) -> Instrument:
        return self._rest.instruments[inst_id]

    # --- orders ---------------------------------------------------------------------------------

    def _pos_side(self, request: OrderRequest) -> str:
        if not self._hedge:
            return "net"
        side = request.position_side
        if side is PositionSide.BOTH:  # buying opens a long / closes a short; selling the reverse
            opening = request.position_action is PositionAction.OPEN and not request.reduce_only
            side = PositionSide.LONG if (request.side is Side.BUY) == opening else PositionSide.SHORT
        return "long" if side is PositionSide.LONG else "short"

    async def order_body(self, request: OrderRequest) -> dict[str, Any]:
        """The place-order body for `request`, its size in contracts."""
        inst = await self._rest.instrument(request.market)
        self._track(request.market)
        contracts = inst.to_contracts(request.amount)
        if contracts < inst.min_contracts:
            raise BelowMinSize(f"order {request.client_id} of {request.amount} {inst.base} is below OKX's minimum of "
                               f"{inst.to_base(inst.min_contracts)} ({inst.min_contracts} contracts of {inst.ct_val}); "
                               "not sent.")
        order_type = {OrderType.MARKET: "market", OrderType.LIMIT_MAKER: "post_only"}.get(request.order_type, "limit")
        body: dict[str, Any] = {"instId": inst.inst_id, "tdMode": self._td_mode(request.market),
                                "side": request.side.value.lower(), "ordType": order_type, "sz": _fmt(contracts)}
        if request.order_type is not OrderType.MARKET:
            if request.price is None:
                raise OrderError(f"{request.order_type} order {request.client_id} has no price; not sent.")
            body["px"] = _fmt(request.price)
        body["posSide"] = self._pos_side(request)
        if request.reduce_only and not self._hedge:
            body["reduceOnly"] = True
        body["clOrdId"] = to_cl_ord_id(request.client_id)
        return body

    def _td_mode(self, market: str) -> str:
        isolated = self._margin.get(market) is MarginMode.ISOLATED
        return spec.MGN_MODE_ISOLATED if isolated else spec.MGN_MODE_CROSS

    def _placed(self, request: OrderRequest, body: dict[str, Any]) -> None:
        side = {"long": PositionSide.LONG, "short": PositionSide.SHORT}.get(body["posSide"], PositionSide.BOTH)
        self.live.placed(request, self._clock.now(), side)

    def _accepted(self, request: OrderRequest, row: dict[str, Any]) -> None:
        live = self.live.get(request.client_id)
        if live is None:
            return  # the private stream already finished it (a rejected post-only, an instant fill)
        live.exchange_id = ExchangeOrderId(str(row["ordId"]))
        now = self._clock.now()
        self._emit_event(OrderAccepted(request.client_id, live.exchange_id, request.market, now, now))

    async def place_order(self, request: OrderRequest) -> None:
        body = await self.order_body(request)
        self._placed(request, body)
        try:
            rows = await self._rest.post(spec.ORDER_PATH, body, order_call=True,
                                         what=f"place order {request.client_id}")
        except OrderError:
            self.live.forget(request.client_id)
            raise
        if not rows or not rows[0].get("ordId"):
            raise OrderOutcomeUnknown(f"place order {request.client_id}: OKX's answer names no order id; the order "
                                      "stays in flight until reconciliation settles it.")
        self._accepted(request, rows[0])

    async def place_orders(self, requests: Sequence[OrderRequest]) -> list[PmmError | None]:
        """Place several orders (batch-orders, 20 per request): one outcome per request, in order
        (None = accepted). A request that gets no answer raises `OrderOutcomeUnknown` for its batch."""
        outcomes: list[PmmError | None] = []
        for start in range(0, len(requests), spec.BATCH_MAX):
            chunk = requests[start:start + spec.BATCH_MAX]
            bodies: dict[int, dict[str, Any]] = {}
            refused: dict[int, PmmError] = {}
            for i, request in enumerate(chunk):
                try:
                    bodies[i] = await self.order_body(request)
                except OrderError as exc:  # refused here (too small, bad id): never sent
                    refused[i] = exc
                    continue
                self._placed(request, bodies[i])
            rows = await self._rest.post(spec.BATCH_ORDERS_PATH, list(bodies.values()), order_call=True, items=True,
                                         what=f"place {len(bodies)} orders") if bodies else []
            by_id = {str(r.get("clOrdId")): r for r in rows}
            for i, request in enumerate(chunk):
                if i in refused:
                    outcomes.append(refused[i])
                    continue
                row = by_id.get(bodies[i]["clOrdId"], {})
                code = str(row.get("sCode") or "1")
                if code == "0" and row.get("ordId"):
                    self._accepted(request, row)
                    outcomes.append(None)
                else:
                    self.live.forget(request.client_id)
                    outcomes.append(translate(what=f"place order {request.client_id}", status=200,
                                              code=int(code) if code.isdigit() else None,
                                              msg=str(row.get("sMsg") or "no answer for this order"), order_call=True))
        return outcomes

    def _order_ref(self, client_id: str) -> dict[str, str]:
        if client_id.startswith(STAND_IN_PREFIX):
            return {"ordId": client_id[len(STAND_IN_PREFIX):]}
        return {"clOrdId": to_cl_ord_id(client_id)}

    async def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        body = {"instId": self._track(market), **self._order_ref(client_id)}
        await self._rest.post(spec.CANCEL_ORDER_PATH, body, order_call=True, what=f"cancel order {client_id}")

    async def amend_order(self, market: str, client_id: ClientOrderId, *, price: Decimal | None = None,
                          amount: Decimal | None = None) -> None:
        """Change a resting order's price and/or size (base units); the result arrives on the stream."""
        inst = await self._rest.instrument(market)
        body: dict[str, Any] = {"instId": inst.inst_id, **self._order_ref(client_id)}
        if price is not None:
            body["newPx"] = _fmt(price)
        if amount is not None:
            body["newSz"] = _fmt(inst.to_contracts(amount))
        await self._rest.post(spec.AMEND_ORDER_PATH, body, order_call=True, what=f"amend order {client_id}")

    async def cancel_all(self, market: str) -> None:
        """Cancel every open order of `market`: listed, then cancelled 20 per request by order id."""
        inst_id = self._track(market)
        rows = await history.open_orders(self._rest, inst_id, what=f"read open orders of {market}")
        ids = [str(r["ordId"]) for r in rows]
        for start in range(0, len(ids), spec.BATCH_MAX):
            batch = [{"instId": inst_id, "ordId": ord_id} for ord_id in ids[start:start + spec.BATCH_MAX]]
            await self._rest.post(spec.CANCEL_BATCH_PATH, batch, order_call=True, items=True,
                                  what=f"cancel all orders on {market}")

    # --- dead-man switch and conditional orders -------------------------------------------------

    async def arm_dead_man_switch(self, market: str, seconds: float) -> None:
        """OKX cancels all of the ACCOUNT's orders unless this is renewed within `seconds` (10..120)."""
        timeout = min(max(round(seconds), spec.DEAD_MAN_MIN_S), spec.DEAD_MAN_MAX_S)
        await self._rest.post(spec.CANCEL_ALL_AFTER_PATH, {"timeOut": str(timeout)},
                              what=f"arm cancel-all-after ({timeout} s) for {market}")

    async def disarm_dead_man_switch(self, market: str) -> None:
        await self._rest.post(spec.CANCEL_ALL_AFTER_PATH, {"timeOut": "0"},
                              what=f"disarm cancel-all-after for {market}")

    async def place_stop_order(self, market: str, client_id: ClientOrderId, side: Side, amount: Decimal,
                               trigger_price: Decimal, *, trigger_on_mark: bool = True,
                               limit_price: Decimal | None = None,
                               position_side: PositionSide = PositionSide.BOTH) -> ExchangeOrderId:
        """Rest a reduce-only stop at OKX: when the mark (or last) price reaches `trigger_price`, a
        market order (or a limit at `limit_price`) closes `amount` (base units). Returns the algo id."""
        inst = await self._rest.instrument(market)
        body: dict[str, Any] = {
            "instId": inst.inst_id, "tdMode": self._td_mode(market), "side": side.value.lower(),
            "ordType": "conditional", "sz": _fmt(inst.to_contracts(amount)), "algoClOrdId": to_cl_ord_id(client_id),
            "slTriggerPx": _fmt(trigger_price), "slTriggerPxType": "mark" if trigger_on_mark else "last",
            "slOrdPx": "-1" if limit_price is None else _fmt(limit_price)}
        if self._hedge:
            close = position_side if position_side is not PositionSide.BOTH else \
                (PositionSide.LONG if side is Side.SELL else PositionSide.SHORT)
            body["posSide"] = "long" if close is PositionSide.LONG else "short"
        else:
            body["posSide"], body["reduceOnly"] = "net", True
        rows = await self._rest.post(spec.ALGO_ORDER_PATH, body, order_call=True, what=f"place stop {client_id}")
        algo_id = ExchangeOrderId(str(rows[0]["algoId"]) if rows else "")
        if algo_id:
            self._algo_ids[client_id] = algo_id
        return algo_id

    async def cancel_stop_order(self, market: str, client_id: ClientOrderId) -> None:
        """Cancel a stop by its algo id when this gateway placed it, else by its client id."""
        algo_id = self._algo_ids.pop(client_id, None)
        ref = {"algoId": algo_id} if algo_id else {"algoClOrdId": to_cl_ord_id(client_id)}
        await self._rest.post(spec.CANCEL_ALGOS_PATH, [{"instId": self._track(market), **ref}], order_call=True,
                              what=f"cancel stop {client_id}")

    async def resting_stop_orders(self, market: str) -> list[ClientOrderId]:
        """The client ids of the market's conditional stops not yet triggered (orders-algo-pending);
        their algo ids are remembered, as OKX cancels an algo order only by its algo id."""
        rows = await history.pages(self._rest, spec.ALGO_PENDING_PATH,
                                   [("ordType", "conditional"), ("instType", spec.INST_TYPE),
                                    ("instId", self._track(market))],
                                   cursor="algoId", what=f"read resting stops of {market}")
        found = []
        for row in rows:
            client_id = client_id_of({"clOrdId": row.get("algoClOrdId"), "ordId": row["algoId"]})
            self._algo_ids[client_id] = ExchangeOrderId(str(row["algoId"]))
            found.append(client_id)
        return found

    # --- account set-up -------------------------------------------------------------------------

    async def set_leverage(self, market: str, leverage: int) -> None:
        inst_id, mode = self._track(market), self._td_mode(market)
        sides = ("long", "short") if self._hedge and mode == spec.MGN_MODE_ISOLATED else (None,)
        for pos_side in sides:
            body = {"instId": inst_id, "lever": str(leverage), "mgnMode": mode}
            if pos_side:
                body["posSide"] = pos_side
            await self._rest.post(spec.SET_LEVERAGE_PATH, body, what=f"set leverage of {market} to {leverage}x")
        self._leverage[market] = leverage

    async def set_position_mode(self, mode: PositionMode) -> None:
        wanted = spec.POS_MODE_HEDGE if mode is PositionMode.HEDGE else spec.POS_MODE_NET
        if await self._pos_mode() != wanted:  # asking again for the mode in force is refused with open positions
            await self._rest.post(spec.SET_POSITION_MODE_PATH, {"posMode": wanted}, what=f"set position mode to {mode}")
        self._hedge = mode is PositionMode.HEDGE

    async def _pos_mode(self) -> str:
        rows = await self._rest.get(spec.ACCOUNT_CONFIG_PATH, what="read the account configuration")
        return str(rows[0].get("posMode")) if rows else ""

    async def set_margin_mode(self, market: str, mode: MarginMode) -> None:
        """OKX takes the margin mode with each order (`tdMode`); leverage is per mode, so re-apply it."""
        self._track(market)
        changed = self._margin.get(market, MarginMode.CROSS) is not mode
        self._margin[market] = mode
        if changed and market in self._leverage:
            await self.set_leverage(market, self._leverage[market])

    # --- account reads --------------------------------------------------------------------------

    async def balances(self) -> list[Balance]:
        balances = parse_balances(await self._rest.get(spec.BALANCE_PATH, what="read the balance"))
        self._balances.update({b.asset: b for b in balances})
        return balances

    async def positions(self) -> list[Position]:
        rows = await self._rest.get(spec.POSITIONS_PATH, [("instType", spec.INST_TYPE)], what="read positions")
        out = []
        for row in rows:
            inst = self._rest.instruments.get(str(row.get("instId")))
            if inst is not None:
                out += [p for _, p in positions_of_row(row, inst) if p is not None]
        return out

    async def open_orders(self, market: str) -> list[OrderReport]:
        await self._rest.instrument(market)
        rows = await history.open_orders(self._rest, self._track(market), what=f"read open orders of {market}")
        return [parse_order_report(r, self._inst_of) for r in rows]

    async def fills_since(self, ts: float, market: str) -> list[FillReport]:
        await self._rest.instrument(market)
        rows = await history.fills(self._rest, self._track(market), ts, self._clock.now(),
                                   what=f"read fills of {market}")
        return sorted((parse_fill_report(r, self._inst_of) for r in rows), key=lambda f: f.ts)

    async def funding_payments_since(self, ts: float, market: str) -> list[FundingPaymentReport]:
        inst = await self._rest.instrument(market)
        rows = await history.funding_bills(self._rest, self._track(market), ts, self._clock.now(),
                                           what=f"read funding payments of {market}")
        if not rows:
            return []
        times = [int(str(r["ts"])) for r in rows]
        rates = funding_rate_times(await history.funding_rates(self._rest, inst.inst_id, min(times), max(times)))
        return sorted((parse_funding_bill(r, inst, rates) for r in rows), key=lambda p: p.funding_time_ms)

    async def _load_fees(self, market: str) -> None:
        try:
            rows = await self._rest.get(spec.TRADE_FEE_PATH, [("instType", spec.INST_TYPE)],
                                        what=f"read the fee rates of {market}")
            self._fees[market] = parse_fee_rates(rows)
        except (PmmError, *BAD_PAYLOAD) as exc:
            log.warning("could not read the fee rates of %s (%s); using %s / %s", market, exc, *DEFAULT_FEES)
            self._fees.setdefault(market, DEFAULT_FEES)

    # --- private stream -------------------------------------------------------------------------

    def _on_private(self, message: dict[str, Any], recv_ts: float) -> None:
        channel = (message.get("arg") or {}).get("channel")
        try:
            if channel == spec.CHANNEL_ORDERS:
                for row in message.get("data", ()):
                    if str(row.get("instId")) in self._rest.instruments:
                        self._on_order(row, recv_ts)
            elif channel == spec.CHANNEL_POSITIONS:
                for row in message.get("data", ()):
                    inst = self._rest.instruments.get(str(row.get("instId")))
                    if inst is not None:
                        ts = int(str(row.get("uTime") or 0)) / 1000 or recv_ts
                        for side, position in positions_of_row(row, inst):
                            self._emit_streamed_position(PositionUpdated(inst.market, side, position, ts, recv_ts))
            elif channel == spec.CHANNEL_ACCOUNT:
                for balance in parse_balances(message.get("data", ())):
                    self._balances[balance.asset] = balance
                    self._emit_event(BalanceUpdated(balance, recv_ts, recv_ts))
            elif channel == _BALANCE_AND_POSITION:
                if any(d.get("eventType") == "funding_fee" for d in message.get("data", ())):
                    self._spawn(self.funding.fetch(list(self._markets), expect_new=True))
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); reconciling with the venue (%d so far)", channel,
                        type(exc).__name__, exc, self.bad_messages)
            self._spawn(self._resync(f"a {channel} message could not be read"))

    def _on_order(self, row: dict[str, Any], recv_ts: float) -> None:
        for event in parse_order_push(row, self._inst_of(str(row["instId"])), recv_ts):
            live = self.live.get(event.client_id)
            if isinstance(event, OrderFilled) and live is not None and live.exchange_id is None:
                # the fill came before the place reply: say it was accepted first
                self._emit_event(OrderAccepted(event.client_id, event.exchange_id, event.market, event.ts, recv_ts))
            if self.live.on_event(event):
                self._emit_event(event)
            elif isinstance(event, OrderFilled):
                log.info("dropped a fill OKX pushed again (trade %s of order %s)", event.trade_id, event.client_id)

    def _on_connected(self) -> None:
        if self.stream.connections > 1:
            self._spawn(self._resync("private stream reconnected"))
