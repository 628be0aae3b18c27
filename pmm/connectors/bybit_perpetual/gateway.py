"""`BybitGateway`: the Bybit v5 private API (linear USDT perpetuals) as a pmm `OrderGateway`.

Orders: LIMIT (timeInForce GTC), LIMIT_MAKER (timeInForce PostOnly) and MARKET, with the engine's
client order id as `orderLinkId`; `reduceOnly` for reduce-only orders; `positionIdx` 0 in one-way
mode, 1 (long side) / 2 (short side) in hedge mode. Cancels go by `orderLinkId`.

Outcomes arrive as events from the private stream (`streams.py`): `order` (accepted,
cancelled, rejected — a PostOnly that would cross is accepted then cancelled by Bybit with
EC_PostOnlyWillTakeLiquidity, which becomes `OrderRejected`), `execution` (fills; a Funding
execution makes the gateway read the settlement from the transaction log), `position` and
`wallet`. The create reply is also turned into `OrderAccepted` (the engine ignores the duplicate);
a cancel's reply is only an acknowledgement, its confirmation is the order topic's Cancelled.
After the private stream reconnects, positions, balances and our live orders are re-read so nothing
missed while it was down stays missed (`common/account_gateway.py`, shared with every venue).
Past executions and funding settlements are read window by window, page by page (`history.py`).

Account set-up: leverage per symbol (`set-leverage`, 110043 "not modified" is success), position
mode per symbol (`switch-mode`, 0 one-way / 3 hedge; 110025 is success), margin mode for the whole
Unified account (`set-margin-mode`, REGULAR_MARGIN = cross / ISOLATED_MARGIN; 110026 is success).

Dead-man switch: Bybit's Disconnection Protection (`dcp.py`) — the window is set once and the
private stream subscribes `dcp`; an account without DCP gets one warning and no DCP.

Conditional orders (`ConditionalOrders`): `place_stop_order` rests a reduce-only stop at Bybit (a
create with `triggerPrice`, `triggerDirection` and `triggerBy` MarkPrice or LastPrice; Market, or
Limit at `limit_price`, when it fires), so a position keeps its stop-loss when the bot is gone.
Stops are not the engine's quotes: open orders and cancel-all ask for active orders only
(`orderFilter=Order`), so reconciliation and shutdown leave them resting; their order-topic rows
(stopOrderType Stop) are not reported as orders, their fills are (the position they close).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual import history
from pmm.connectors.bybit_perpetual.dcp import Dcp
from pmm.connectors.bybit_perpetual.errors import ALREADY_SET_CODES
from pmm.connectors.bybit_perpetual.parse import (
    BAD_PAYLOAD,
    SymbolMap,
    is_funding_execution,
    parse_fee_rates,
    parse_fill_reports,
    parse_funding_settlements,
    parse_open_orders,
    parse_positions,
    parse_wallet_balances,
    position_side_of_idx,
)
from pmm.connectors.bybit_perpetual.parse_events import (
    parse_order_update,
    parse_position_update,
    parse_wallet_update,
)
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.connectors.bybit_perpetual.streams import LiveOrders, PrivateStream
from pmm.connectors.bybit_perpetual.streams import Sleep
from pmm.connectors.common.account_gateway import AccountGateway, PlacedOrder
from pmm.connectors.common.funding_watch import FundingWatch
from pmm.core.clock import Clock
from pmm.core.events import OrderAccepted
from pmm.core.model import (
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
    PositionAction,
    PositionMode,
    PositionSide,
    Side,
)
from pmm.errors import AuthError, OrderError, PmmError

log = logging.getLogger("pmm.bybit.gateway")

_ORDER_LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")


def fmt(value: Decimal) -> str:
    """A decimal as Bybit expects it: plain notation, no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


class BybitGateway(AccountGateway):
    _rest: BybitRestClient

    def __init__(self, rest: BybitRestClient, *, ws_url: str, clock: Clock, connector_id: str = c.CONNECTOR_ID,
                 venue: str | None = None, markets: Sequence[str] = (), funding_lookback_s: float = 3600.0,
                 funding_poll_s: float | None = 300.0, private_stream_options: dict[str, Any] | None = None,
                 sleep: Sleep = asyncio.sleep) -> None:
        if rest.auth is None:
            raise AuthError(f"{connector_id} needs API keys: run `pmm connect {connector_id}`.")
        super().__init__(rest, connector_id=connector_id, venue=venue, clock=clock, sleep=sleep, log=log,
                         default_fees=(c.DEFAULT_MAKER_FEE, c.DEFAULT_TAKER_FEE))
        self.funding = FundingWatch(self.funding_payments_since, self._emit_event, clock, sleep,
                                    lookback_s=funding_lookback_s)
        self._funding_poll_s = funding_poll_s
        self._symbols = SymbolMap()
        self._hedge = False
        self._hedge_known = False
        self._leverage: dict[str, int] = {}
        self._margin_mode = MarginMode.CROSS
        self.live = LiveOrders()
        self._funding_task: asyncio.Task[None] | None = None
        for market in markets:
            self._track(market)
        assert rest.auth is not None
        self.stream = PrivateStream(ws_url=ws_url, auth=rest.auth, clock=clock, connector_id=connector_id,
                                    on_event=self._on_private, emit=self._emit_event,
                                    on_reconnected=self._on_stream_reconnected, ws_options=private_stream_options,
                                    sleep=sleep)
        self.dcp = Dcp(rest, self.stream.ws)

    @property
    def hedge_mode(self) -> bool:
        return self._hedge

    # --- lifecycle ------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        """Read the account's fee rates for `markets` (so `fee_rates` is exact before start)."""
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
                if market not in self._fees:
                    await self._load_fees(market)
            await self.stream.start()
        except BaseException:
            await self.stop()
            raise
        if self._funding_poll_s:
            self._funding_task = asyncio.get_running_loop().create_task(
                self.funding.poll(lambda: list(self._markets), self._funding_poll_s), name="bybit-funding")

    async def stop(self) -> None:
        await self.stream.stop()
        await self._end_tasks(self._funding_task)
        self._funding_task = None
        await self._leave_rest()

    def _live_orders(self) -> dict[ClientOrderId, PlacedOrder]:
        return self.live.orders

    # --- orders ---------------------------------------------------------------------------------

    def position_idx(self, request: OrderRequest) -> int:
        """0 in one-way mode; in hedge mode 1 for the long side, 2 for the short side."""
        if not self._hedge:
            return c.POSITION_IDX_ONEWAY
        side = request.position_side
        if side is PositionSide.BOTH:
            # Buying opens a long / closes a short; selling the reverse.
            opening = request.position_action is PositionAction.OPEN and not request.reduce_only
            side = PositionSide.LONG if (request.side is Side.BUY) == opening else PositionSide.SHORT
        return c.POSITION_IDX_HEDGE_BUY if side is PositionSide.LONG else c.POSITION_IDX_HEDGE_SELL

    def order_body(self, request: OrderRequest) -> dict[str, Any]:
        """The create-order body for `request`, in the documented field order."""
        if not _ORDER_LINK_ID.match(request.client_id):
            raise OrderError(f"client order id {request.client_id!r} does not fit Bybit's orderLinkId rule (at most "
                             "36 letters, digits, dashes and underscores); the order was not sent.")
        body: dict[str, Any] = {
            "category": c.CATEGORY_LINEAR,
            "symbol": self._track(request.market),
            "side": c.SIDE_BUY if request.side is Side.BUY else c.SIDE_SELL,
            "orderType": c.ORDER_TYPE_MARKET if request.order_type is OrderType.MARKET else c.ORDER_TYPE_LIMIT,
            "qty": fmt(request.amount),
        }
        if request.order_type is not OrderType.MARKET:
            if request.price is None:
                raise OrderError(f"{request.order_type} order {request.client_id} has no price; not sent.")
            body["price"] = fmt(request.price)
            body["timeInForce"] = c.TIF_POST_ONLY if request.order_type is OrderType.LIMIT_MAKER else c.TIF_GTC
        body["positionIdx"] = self.position_idx(request)
        body["orderLinkId"] = request.client_id
        if request.reduce_only:
            body["reduceOnly"] = True
        return body

    async def place_order(self, request: OrderRequest) -> None:
        body = self.order_body(request)
        side = position_side_of_idx(body["positionIdx"])
        self.live.placed(request, self._clock.now(), side)
        try:
            result = await self._rest.post(c.ORDER_CREATE_PATH, body, order_call=True,
                                           what=f"place order {request.client_id}")
        except OrderError:
            self.live.forget(request.client_id)
            raise
        exchange_id = ExchangeOrderId(str(result["orderId"]))
        self.live.remember_side(exchange_id, side)
        live = self.live.get(request.client_id)
        if live is None:
            return  # the private stream already finished it (rejected post-only, instant fill)
        live.exchange_id = exchange_id
        now = self._clock.now()
        self._emit_event(OrderAccepted(request.client_id, exchange_id, request.market, now, now))

    async def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        body = {"category": c.CATEGORY_LINEAR, "symbol": self._track(market), "orderLinkId": client_id}
        await self._rest.post(c.ORDER_CANCEL_PATH, body, order_call=True, what=f"cancel order {client_id}")

    async def cancel_all(self, market: str) -> None:
        """Cancel the market's active orders; resting stops stay (they guard the position)."""
        body = {"category": c.CATEGORY_LINEAR, "symbol": self._track(market), "orderFilter": c.ORDER_FILTER_ORDER}
        await self._rest.post(c.ORDER_CANCEL_ALL_PATH, body, order_call=True, what=f"cancel all orders on {market}")

    # --- conditional orders ---------------------------------------------------------------------

    async def place_stop_order(self, market: str, client_id: ClientOrderId, side: Side, amount: Decimal,
                               trigger_price: Decimal, *, trigger_on_mark: bool = True,
                               limit_price: Decimal | None = None,
                               position_side: PositionSide = PositionSide.BOTH) -> ExchangeOrderId:
        """Rest a reduce-only stop at Bybit: when the mark (or last) price reaches `trigger_price`, a
        market order (or a limit at `limit_price`) closes `amount`. A sell stop waits for the price
        to fall to the trigger, a buy stop for it to rise. Returns Bybit's orderId."""
        order_type = OrderType.MARKET if limit_price is None else OrderType.LIMIT
        request = OrderRequest(client_id, market, side, order_type, amount, limit_price,
                               position_action=PositionAction.CLOSE, position_side=position_side, reduce_only=True)
        body = self.order_body(request)
        body.update({
            "triggerPrice": fmt(trigger_price),
            "triggerDirection": c.TRIGGER_DIRECTION_RISE if side is Side.BUY else c.TRIGGER_DIRECTION_FALL,
            "triggerBy": c.TRIGGER_BY_MARK if trigger_on_mark else c.TRIGGER_BY_LAST,
        })
        result = await self._rest.post(c.ORDER_CREATE_PATH, body, order_call=True, what=f"place stop {client_id}")
        exchange_id = ExchangeOrderId(str(result["orderId"]))
        self.live.remember_side(exchange_id, position_side_of_idx(body["positionIdx"]))
        return exchange_id

    async def cancel_stop_order(self, market: str, client_id: ClientOrderId) -> None:
        body = {"category": c.CATEGORY_LINEAR, "symbol": self._track(market), "orderLinkId": client_id}
        await self._rest.post(c.ORDER_CANCEL_PATH, body, order_call=True, what=f"cancel stop {client_id}")

    async def resting_stop_orders(self, market: str) -> list[ClientOrderId]:
        """The client ids (orderLinkId) of the market's conditional orders not yet triggered."""
        rows = await history.pages(self._rest, c.ORDER_REALTIME_PATH,
                                   [("category", c.CATEGORY_LINEAR), ("symbol", self._track(market)),
                                    ("orderFilter", c.ORDER_FILTER_STOP)],
                                   c.ORDER_REALTIME_PAGE_LIMIT, what=f"read resting stops of {market}")
        return [ClientOrderId(str(r.get("orderLinkId") or f"bybit-{r['orderId']}")) for r in rows
                if r.get("orderStatus") == c.ORDER_STATUS_UNTRIGGERED]

    # --- dead-man switch: Bybit's Disconnection Protection (dcp.py) ------------------------------

    async def arm_dead_man_switch(self, market: str, seconds: float) -> None:
        """Bybit cancels the account's derivatives orders once the private stream is down `seconds`."""
        await self.dcp.arm(market, seconds)

    async def disarm_dead_man_switch(self, market: str) -> None:
        await self.dcp.disarm(market)

    # --- account set-up -------------------------------------------------------------------------

    async def set_leverage(self, market: str, leverage: int) -> None:
        body = {"category": c.CATEGORY_LINEAR, "symbol": self._track(market), "buyLeverage": str(leverage),
                "sellLeverage": str(leverage)}
        await self._rest.post(c.SET_LEVERAGE_PATH, body, what=f"set leverage of {market} to {leverage}x",
                              accept_codes=ALREADY_SET_CODES)
        self._leverage[market] = leverage

    async def set_position_mode(self, mode: PositionMode) -> None:
        """Per symbol for every market in use; for all USDT contracts when none is known yet."""
        code = c.POSITION_MODE_BOTH_SIDES if mode is PositionMode.HEDGE else c.POSITION_MODE_MERGED_SINGLE
        targets: list[tuple[str, str]] = [("symbol", self._symbols.add(m)) for m in self._markets] or \
            [("coin", "USDT")]
        for key, value in targets:
            body = {"category": c.CATEGORY_LINEAR, key: value, "mode": code}
            await self._rest.post(c.SWITCH_MODE_PATH, body, what=f"set position mode of {value} to {mode}",
                                  accept_codes=ALREADY_SET_CODES)
        self._hedge = mode is PositionMode.HEDGE
        self._hedge_known = True

    async def set_margin_mode(self, market: str, mode: MarginMode) -> None:
        """Bybit's Unified account sets the margin mode for the whole account, not per market."""
        self._track(market)
        value = c.MARGIN_MODE_ISOLATED if mode is MarginMode.ISOLATED else c.MARGIN_MODE_REGULAR
        await self._rest.post(c.SET_MARGIN_MODE_PATH, {"setMarginMode": value},
                              what=f"set the account's margin mode to {mode} (for {market})",
                              accept_codes=ALREADY_SET_CODES)
        self._margin_mode = mode

    # --- account reads --------------------------------------------------------------------------

    async def balances(self) -> list[Balance]:
        result = await self._rest.get(c.WALLET_BALANCE_PATH, [("accountType", c.ACCOUNT_TYPE_UNIFIED)],
                                      what="read the wallet balance")
        balances = parse_wallet_balances(result.get("list", ()))
        self._balances.update({b.asset: b for b in balances})
        return balances

    async def positions(self) -> list[Position]:
        queries = [[("symbol", self._symbols.add(m))] for m in self._markets] or [[("settleCoin", "USDT")]]
        rows: list[dict[str, Any]] = []
        for query in queries:
            rows += await history.pages(self._rest, c.POSITION_LIST_PATH, [("category", c.CATEGORY_LINEAR), *query],
                                        c.POSITION_PAGE_LIMIT, what="read positions")
        if not self._hedge_known and any(str(r.get("positionIdx", 0)) in ("1", "2") for r in rows):
            self._hedge = True  # the account is in hedge mode although nobody told us
        return parse_positions({"list": rows}, self._symbols.market, lambda _: self._margin_mode)

    async def open_orders(self, market: str) -> list[OrderReport]:
        rows = await history.pages(self._rest, c.ORDER_REALTIME_PATH,
                                   [("category", c.CATEGORY_LINEAR), ("symbol", self._track(market)),
                                    ("orderFilter", c.ORDER_FILTER_ORDER)],
                                   c.ORDER_REALTIME_PAGE_LIMIT, what=f"read open orders of {market}")
        reports = [r for r in parse_open_orders({"list": rows}, self._symbols.market)
                   if r.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)]
        for report in reports:
            self.live.remember_side(report.exchange_id, report.position_side)
        return reports

    async def fills_since(self, ts: float, market: str) -> list[FillReport]:
        rows = await history.executions(self._rest, self._track(market), ts, self._clock.now(),
                                        what=f"read fills of {market}")
        fills = parse_fill_reports(rows, self._symbols.market, self.live.side_of)
        return sorted(fills, key=lambda f: f.ts)

    async def funding_payments_since(self, ts: float, market: str) -> list[FundingPaymentReport]:
        symbol = self._track(market)
        rows = await history.settlements(self._rest, market.split("-")[-1], ts, self._clock.now(),
                                         what=f"read funding payments of {market}")
        payments = parse_funding_settlements(rows, self._symbols.market, symbol)
        return sorted(payments, key=lambda p: p.funding_time_ms)

    async def _load_fees(self, market: str) -> None:
        symbol = self._symbols.add(market)
        try:
            result = await self._rest.get(c.FEE_RATE_PATH, [("category", c.CATEGORY_LINEAR), ("symbol", symbol)],
                                          what=f"read the fee rate of {market}")
            self._fees[market] = parse_fee_rates(result, symbol)
        except (PmmError, ValueError, KeyError) as exc:
            log.warning("could not read the fee rate of %s (%s); using %s / %s", market, exc, c.DEFAULT_MAKER_FEE,
                        c.DEFAULT_TAKER_FEE)
            self._fees.setdefault(market, (c.DEFAULT_MAKER_FEE, c.DEFAULT_TAKER_FEE))

    # --- private stream -------------------------------------------------------------------------

    def _on_private(self, topic: str, message: dict[str, Any], recv_ts: float) -> None:
        try:
            rows = [r for r in message.get("data") or () if r.get("category", c.CATEGORY_LINEAR) == c.CATEGORY_LINEAR]
            if topic == c.TOPIC_ORDER:
                for row in rows:
                    if row.get("cancelType") == c.CANCEL_TYPE_BY_DCP:
                        log.warning("Bybit's Disconnection Protection cancelled order %s", row.get("orderLinkId")
                                    or row.get("orderId"))
                    if "positionIdx" in row:
                        self.live.remember_side(str(row["orderId"]), position_side_of_idx(row["positionIdx"]))
                    if row.get("stopOrderType"):
                        continue  # a resting stop's own life (Untriggered, Triggered, Deactivated, ...)
                    for event in parse_order_update(row, self._symbols.market, recv_ts):
                        self.live.on_event(event)
                        self._emit_event(event)
            elif topic == c.TOPIC_EXECUTION:
                for row in rows:
                    self._on_execution(row, recv_ts)
            elif topic == c.TOPIC_POSITION:
                for row in rows:
                    for update in parse_position_update(row, self._symbols.market, recv_ts,
                                                        lambda _: self._margin_mode,
                                                        lambda m: self._leverage.get(m, 1)):
                        self._emit_streamed_position(update)
            elif topic == c.TOPIC_WALLET:
                for balance_event in parse_wallet_update(message, recv_ts):
                    self._balances[balance_event.balance.asset] = balance_event.balance
                    self._emit_event(balance_event)
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); reconciling with the venue (%d so far)", topic,
                        type(exc).__name__, exc, self.bad_messages)
            self._spawn(self._resync(f"a {topic} message could not be read"))

    def _on_execution(self, row: dict[str, Any], recv_ts: float) -> None:
        if is_funding_execution(row):
            market = self._symbols.market(str(row["symbol"]))  # the transaction log has the payment
            self._spawn(self.funding.fetch([market] if market in self._markets else list(self._markets),
                                           expect_new=True))
            return
        fill = self.live.fill(row, self._symbols.market, recv_ts)
        if fill is not None and self.live.on_event(fill):
            self._emit_event(fill)
        elif fill is not None:
            log.info("dropped a fill Bybit pushed again (trade %s of order %s)", fill.trade_id, fill.client_id)

    def _on_stream_reconnected(self) -> None:
        self._spawn(self._resync("private stream reconnected"))
