"""`BinanceGateway`: the Binance USD-M private API as a pmm `OrderGateway`.

Orders: LIMIT (GTC), LIMIT_MAKER (LIMIT + timeInForce GTX, post-only) and MARKET, with the
engine's client order id as `newClientOrderId`. One-way mode sends `reduceOnly=true` for
reduce-only orders; hedge mode sends `positionSide` LONG/SHORT and never `reduceOnly` (Binance
refuses it there). Cancels go by `origClientOrderId`.

Outcomes arrive as events from the user data stream (`user_stream.py`); the REST answers of
place and cancel are also turned into `OrderAccepted` / `OrderCancelled` (the engine ignores the
duplicate). After the stream reconnects, positions, balances and our live orders are re-read so
nothing missed while it was down stays missed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.errors import ALREADY_SET_CODES
from pmm.connectors.binance_perpetual.parse import (
    BAD_PAYLOAD,
    SymbolMap,
    parse_account_balances,
    parse_commission_rate,
    parse_funding_income,
    parse_funding_rates,
    parse_open_orders,
    parse_position_risk,
    parse_user_trades,
)
from pmm.connectors.binance_perpetual.parse_events import (
    parse_account_update,
    parse_balance_events,
    parse_order_trade_update,
)
from pmm.connectors.binance_perpetual.rest import BinanceRestClient, Sleep
from pmm.connectors.binance_perpetual.user_stream import UserStream
from pmm.core.clock import Clock
from pmm.core.events import (
    BalanceUpdated,
    FundingPaymentReceived,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    PositionUpdated,
)
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
from pmm.errors import OrderError, PmmError

log = logging.getLogger("pmm.binance.gateway")

_CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
_HISTORY_S = 90 * 86400.0  # income history only covers three months
_TRADES_WINDOW_S = 7 * 86400.0  # userTrades: at most 7 days between startTime and endTime
_PAGE = 1000
_MAX_REMEMBERED = 100_000


def fmt(value: Decimal) -> str:
    """A decimal as Binance expects it: plain notation, no exponent, no trailing zeros."""
    return format(value.normalize(), "f")


@dataclass
class _Live:
    """What the gateway remembers about an order it placed, to rebuild missed events."""

    request: OrderRequest
    placed_ts: float
    exchange_id: ExchangeOrderId | None = None
    filled: Decimal = Decimal(0)
    trade_ids: set[str] = field(default_factory=set)


class BinanceGateway:
    def __init__(self, rest: BinanceRestClient, *, ws_url: str, clock: Clock, connector_id: str = c.CONNECTOR_ID,
                 venue: str | None = None, balance_refresh_s: float = 1.0, funding_lookback_s: float = 3600.0,
                 user_stream_options: dict[str, Any] | None = None, sleep: Sleep = asyncio.sleep) -> None:
        self.connector_id = connector_id
        self.venue = venue or connector_id
        self._rest = rest
        self._clock = clock
        self._sleep = sleep
        self._balance_refresh_s = balance_refresh_s
        self._funding_lookback_s = funding_lookback_s
        self._symbols = SymbolMap()
        self._markets: set[str] = set()  # markets this gateway has touched (funding is read for these)
        self._hedge: bool | None = None
        self._leverage: dict[str, int] = {}
        self._margin: dict[str, MarginMode] = {}
        self._fees: dict[str, tuple[Decimal, Decimal]] = {}
        self._client_ids: dict[str, ClientOrderId] = {}
        self._balances: dict[str, Balance] = {}
        self._live: dict[ClientOrderId, _Live] = {}
        self._emit: Emit | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._balance_refresh: asyncio.Task[None] | None = None
        self.bad_messages = 0  # unreadable account events dropped (each logged, each followed by a resync)
        self._stream = UserStream(rest, ws_url=ws_url, clock=clock, connector_id=connector_id,
                                  on_event=self._on_user_event, emit=self._emit_event,
                                  on_reconnected=self._on_stream_reconnected, sleep=sleep,
                                  **(user_stream_options or {}))

    def __repr__(self) -> str:
        return f"BinanceGateway({self.connector_id!r}, rest={self._rest!r})"

    # --- lifecycle ------------------------------------------------------------------------------

    async def prepare(self, markets: Sequence[str]) -> None:
        """Read the account's fee rates for `markets` (so `fee_rates` is exact before start)."""
        for market in markets:
            await self._load_fees(market)

    async def start(self, emit: Emit) -> None:
        self._rest.retain()
        self._emit = emit
        await self._rest.sync_time()
        dual = await self._rest.signed("GET", c.POSITION_SIDE_DUAL_PATH)
        self._hedge = bool(dual.get("dualSidePosition", False))
        await self._stream.start()

    async def stop(self) -> None:
        await self._stream.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._emit is not None:
            self._emit = None
            await self._rest.release()
        else:
            await self._rest.close_if_unused()

    def _emit_event(self, event: Any) -> None:
        if self._emit is not None:
            self._emit(event)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _track(self, market: str) -> str:
        """The market's symbol; the first time, also start reading its fee rates."""
        symbol = self._symbols.add(market)
        if market not in self._markets:
            self._markets.add(market)
            if market not in self._fees and self._emit is not None:
                self._spawn(self._load_fees(market))
        return symbol

    # --- orders ---------------------------------------------------------------------------------

    def order_params(self, request: OrderRequest) -> list[tuple[str, str]]:
        """The new-order parameters for `request`, in the order the official examples use."""
        if not _CLIENT_ID.match(request.client_id):
            raise OrderError(f"client order id {request.client_id!r} does not fit Binance's rule "
                             "^[.A-Z:/a-z0-9_-]{1,36}$; the order was not sent.")
        params = [("symbol", self._track(request.market)),
                  ("side", c.SIDE_BUY if request.side is Side.BUY else c.SIDE_SELL)]
        if self._hedge:
            params.append(("positionSide", self._hedge_side(request)))
        if request.order_type is OrderType.MARKET:
            params += [("type", c.ORDER_TYPE_MARKET), ("quantity", fmt(request.amount))]
        else:
            if request.price is None:
                raise OrderError(f"{request.order_type} order {request.client_id} has no price; not sent.")
            tif = c.TIF_GTX if request.order_type is OrderType.LIMIT_MAKER else c.TIF_GTC
            params += [("type", c.ORDER_TYPE_LIMIT), ("quantity", fmt(request.amount)),
                       ("price", fmt(request.price)), ("timeInForce", tif)]
        if request.reduce_only and not self._hedge:
            params.append(("reduceOnly", c.TRUE))
        params.append(("newClientOrderId", request.client_id))
        return params

    @staticmethod
    def _hedge_side(request: OrderRequest) -> str:
        if request.position_side is PositionSide.LONG:
            return c.POSITION_SIDE_LONG
        if request.position_side is PositionSide.SHORT:
            return c.POSITION_SIDE_SHORT
        # BOTH in hedge mode: buying opens a long / closes a short, selling the reverse.
        opening = request.position_action is PositionAction.OPEN and not request.reduce_only
        return c.POSITION_SIDE_LONG if (request.side is Side.BUY) == opening else c.POSITION_SIDE_SHORT

    async def place_order(self, request: OrderRequest) -> None:
        params = self.order_params(request)
        self._live[request.client_id] = _Live(request, self._clock.now())
        try:
            reply = await self._rest.signed("POST", c.ORDER_PATH, params, order_call=True,
                                            what=f"place order {request.client_id}")
        except OrderError:
            self._live.pop(request.client_id, None)
            raise
        exchange_id = ExchangeOrderId(str(reply["orderId"]))
        self._remember(exchange_id, request.client_id)
        live = self._live.get(request.client_id)
        if live is not None:
            live.exchange_id = exchange_id
        now = self._clock.now()
        self._emit_event(OrderAccepted(request.client_id, exchange_id, request.market, now, now))

    async def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        params = [("symbol", self._track(market)), ("origClientOrderId", client_id)]
        reply = await self._rest.signed("DELETE", c.ORDER_PATH, params, order_call=True,
                                        what=f"cancel order {client_id}")
        if reply.get("status") in (c.STATUS_CANCELED, c.STATUS_EXPIRED):
            exchange_id = ExchangeOrderId(str(reply["orderId"]))
            now = self._clock.now()
            self._live.pop(client_id, None)
            self._emit_event(OrderCancelled(client_id, exchange_id, market, now, now))

    async def cancel_all(self, market: str) -> None:
        await self._rest.signed("DELETE", c.ALL_OPEN_ORDERS_PATH, [("symbol", self._track(market))],
                                order_call=True, what=f"cancel all orders on {market}")

    # --- dead-man switch ------------------------------------------------------------------------

    async def arm_dead_man_switch(self, market: str, seconds: float) -> None:
        """Binance cancels all of the market's orders unless this is called again within `seconds`."""
        await self._rest.signed("POST", c.COUNTDOWN_CANCEL_ALL_PATH,
                                [("symbol", self._track(market)), ("countdownTime", str(int(seconds * 1000)))],
                                what=f"arm the cancel-all countdown of {market}")

    async def disarm_dead_man_switch(self, market: str) -> None:
        await self._rest.signed("POST", c.COUNTDOWN_CANCEL_ALL_PATH,
                                [("symbol", self._track(market)), ("countdownTime", "0")],
                                what=f"disarm the cancel-all countdown of {market}")

    # --- account set-up -------------------------------------------------------------------------

    async def set_leverage(self, market: str, leverage: int) -> None:
        reply = await self._rest.signed("POST", c.LEVERAGE_PATH,
                                        [("symbol", self._track(market)), ("leverage", str(leverage))],
                                        what=f"set leverage of {market} to {leverage}x")
        self._leverage[market] = int(reply.get("leverage", leverage))

    async def set_position_mode(self, mode: PositionMode) -> None:
        dual = c.TRUE if mode is PositionMode.HEDGE else c.FALSE
        await self._rest.signed("POST", c.POSITION_SIDE_DUAL_PATH, [("dualSidePosition", dual)],
                                what=f"set position mode to {mode}", accept_codes=ALREADY_SET_CODES)
        self._hedge = mode is PositionMode.HEDGE

    async def set_margin_mode(self, market: str, mode: MarginMode) -> None:
        margin_type = c.MARGIN_TYPE_ISOLATED if mode is MarginMode.ISOLATED else c.MARGIN_TYPE_CROSSED
        await self._rest.signed("POST", c.MARGIN_TYPE_PATH,
                                [("symbol", self._track(market)), ("marginType", margin_type)],
                                what=f"set margin mode of {market} to {mode}", accept_codes=ALREADY_SET_CODES)
        self._margin[market] = mode

    # --- account reads --------------------------------------------------------------------------

    async def balances(self) -> list[Balance]:
        balances = parse_account_balances(await self._rest.signed("GET", c.ACCOUNT_PATH))
        self._balances.update({b.asset: b for b in balances})
        return balances

    async def positions(self) -> list[Position]:
        rows = await self._rest.signed("GET", c.POSITION_RISK_PATH)
        return parse_position_risk(rows, self._symbols.market, self._leverage, self._margin)

    async def open_orders(self, market: str) -> list[OrderReport]:
        rows = await self._rest.signed("GET", c.OPEN_ORDERS_PATH, [("symbol", self._track(market))])
        reports = parse_open_orders(rows, self._symbols.market)
        for report in reports:
            self._remember(report.exchange_id, report.client_id)
        return reports

    async def fills_since(self, ts: float, market: str) -> list[FillReport]:
        symbol = self._track(market)
        now = self._clock.now()
        start_ms = int(max(ts, now - _HISTORY_S) * 1000)
        end_limit_ms = int(now * 1000)
        rows: list[dict[str, Any]] = []
        while start_ms <= end_limit_ms:
            end_ms = min(start_ms + int(_TRADES_WINDOW_S * 1000) - 1, end_limit_ms)
            page = await self._rest.signed("GET", c.USER_TRADES_PATH, [
                ("symbol", symbol), ("startTime", str(start_ms)), ("endTime", str(end_ms)), ("limit", str(_PAGE))])
            rows += page
            if len(page) >= _PAGE:
                start_ms = int(page[-1]["time"]) + 1  # more in this window: continue after the last one
            else:
                start_ms = end_ms + 1
        unique = list({str(r["id"]): r for r in rows}.values())
        for order_id in {str(r["orderId"]) for r in unique} - set(self._client_ids):
            await self._lookup_client_id(symbol, order_id)
        return parse_user_trades(unique, self._symbols.market, self._client_id_of)

    async def funding_payments_since(self, ts: float, market: str) -> list[FundingPaymentReport]:
        symbol = self._track(market)
        now = self._clock.now()
        start_ms = int(max(ts, now - _HISTORY_S) * 1000)
        rows: list[dict[str, Any]] = []
        while True:
            page = await self._rest.signed("GET", c.INCOME_PATH, [
                ("symbol", symbol), ("incomeType", c.INCOME_FUNDING_FEE), ("startTime", str(start_ms)),
                ("limit", str(_PAGE))])
            rows += page
            if len(page) < _PAGE:
                break
            start_ms = int(page[-1]["time"]) + 1
        if not rows:
            return []
        times = [int(r["time"]) for r in rows]
        history = await self._rest.public("GET", c.FUNDING_RATE_PATH, [
            ("symbol", symbol), ("startTime", str(min(times) - 60_000)), ("endTime", str(max(times) + 60_000)),
            ("limit", str(_PAGE))])
        return parse_funding_income(rows, self._symbols.market, parse_funding_rates(history))

    def fee_rates(self, market: str) -> tuple[Decimal, Decimal]:
        """(maker, taker); the venue's defaults until the account's commission rate is read."""
        return self._fees.get(market, (c.DEFAULT_MAKER_FEE, c.DEFAULT_TAKER_FEE))

    async def _load_fees(self, market: str) -> None:
        try:
            payload = await self._rest.signed("GET", c.COMMISSION_RATE_PATH, [("symbol", self._symbols.add(market))])
        except PmmError as exc:
            log.warning("could not read the commission rate of %s (%s); using %s / %s", market, exc,
                        c.DEFAULT_MAKER_FEE, c.DEFAULT_TAKER_FEE)
            self._fees.setdefault(market, (c.DEFAULT_MAKER_FEE, c.DEFAULT_TAKER_FEE))
            return
        self._fees[market] = parse_commission_rate(payload)

    # --- ids ------------------------------------------------------------------------------------

    def _remember(self, exchange_id: str, client_id: ClientOrderId) -> None:
        self._client_ids[str(exchange_id)] = client_id
        if len(self._client_ids) > _MAX_REMEMBERED:  # bounded: the oldest ids are the least needed
            del self._client_ids[next(iter(self._client_ids))]

    def _client_id_of(self, exchange_id: str) -> ClientOrderId:
        return self._client_ids.get(exchange_id, ClientOrderId(f"binance-{exchange_id}"))

    async def _lookup_client_id(self, symbol: str, order_id: str) -> None:
        try:
            order = await self._rest.signed("GET", c.ORDER_PATH, [("symbol", symbol), ("orderId", order_id)])
        except PmmError as exc:
            log.warning("order %s of a past fill is unknown to Binance (%s)", order_id, exc)
            return
        self._remember(order_id, ClientOrderId(str(order["clientOrderId"])))

    # --- user data stream -----------------------------------------------------------------------

    def _on_user_event(self, message: dict[str, Any], recv_ts: float) -> None:
        kind = message.get("e")
        try:
            if kind == c.EVENT_ORDER_TRADE_UPDATE:
                for event in parse_order_trade_update(message, self._symbols.market, recv_ts):
                    self._on_order_event(event)
            elif kind == c.EVENT_ACCOUNT_UPDATE:
                self._on_account_update(message, recv_ts)
            elif kind == c.EVENT_ACCOUNT_CONFIG_UPDATE and "ac" in message:
                self._leverage[self._symbols.market(message["ac"]["s"])] = int(message["ac"]["l"])
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s event (%s: %s); reconciling with the venue (%d so far)", kind,
                        type(exc).__name__, exc, self.bad_messages)
            self._spawn(self._resync("an account event could not be read"))

    def _on_order_event(self, event: Any) -> None:
        live = self._live.get(event.client_id)
        match event:
            case OrderAccepted():
                self._remember(event.exchange_id, event.client_id)
                if live is not None:
                    live.exchange_id = event.exchange_id
            case OrderFilled():
                self._remember(event.exchange_id, event.client_id)
                if live is not None and event.trade_id not in live.trade_ids:
                    live.trade_ids.add(event.trade_id)
                    live.filled += event.amount
                if event.remaining <= 0:
                    self._live.pop(event.client_id, None)
            case OrderCancelled() | OrderRejected():
                self._live.pop(event.client_id, None)
        self._emit_event(event)

    def _on_account_update(self, message: dict[str, Any], recv_ts: float) -> None:
        update = parse_account_update(message, self._symbols.market, recv_ts,
                                      lambda market: self._leverage.get(market, 1))
        for position_event in update.positions:
            self._emit_event(position_event)
        for balance_event in parse_balance_events(update, self._balances, recv_ts):
            self._balances[balance_event.balance.asset] = balance_event.balance
            self._emit_event(balance_event)
        if update.balances:
            self._schedule_balance_refresh()
        if update.is_funding_fee:
            self._spawn(self._fetch_funding())

    def _schedule_balance_refresh(self) -> None:
        """ACCOUNT_UPDATE has no available balance: re-read it, at most once per refresh interval."""
        if self._balance_refresh is not None and not self._balance_refresh.done():
            return

        async def refresh() -> None:
            await self._sleep(self._balance_refresh_s)
            try:
                balances = await self.balances()
            except PmmError as exc:
                log.warning("balance refresh failed: %s", exc)
                return
            now = self._clock.now()
            for balance in balances:
                self._emit_event(BalanceUpdated(balance, now, now))

        self._balance_refresh = self._spawn(refresh())

    async def _fetch_funding(self) -> None:
        """A FUNDING_FEE account update names no market (cross margin): read the income of each."""
        since = self._clock.now() - self._funding_lookback_s
        for market in sorted(self._markets):
            try:
                payments = await self.funding_payments_since(since, market)
            except PmmError as exc:
                log.warning("could not read funding payments of %s: %s", market, exc)
                continue
            now = self._clock.now()
            for p in payments:
                self._emit_event(FundingPaymentReceived(p.market, p.funding_time_ms, p.rate, p.amount, p.asset,
                                                        p.position_amount, p.mark_price, p.funding_time_ms / 1000,
                                                        now))

    def _on_stream_reconnected(self) -> None:
        self._spawn(self._resync("user data stream reconnected"))

    async def _resync(self, reason: str) -> None:
        """Re-read what account events may have been missed: positions, balances, our live orders."""
        log.info("re-reading the account: %s", reason)
        try:
            positions = await self.positions()
            balances = await self.balances()
            now = self._clock.now()
            held = {(p.market, p.side): p for p in positions}
            for market in sorted(self._markets):
                for side in (PositionSide.LONG, PositionSide.SHORT):
                    self._emit_event(PositionUpdated(market, side, held.get((market, side)), now, now))
            for balance in balances:
                self._emit_event(BalanceUpdated(balance, now, now))
            await self._settle_live_orders()
        except PmmError as exc:
            log.warning("re-reading the account failed (%s); the engine's reconciliation will settle it", exc)

    async def _settle_live_orders(self) -> None:
        """Orders we think are live but the venue no longer lists: emit their missed fills and end."""
        accepted = {cid: live for cid, live in self._live.items() if live.exchange_id is not None}
        for market in {live.request.market for live in accepted.values()}:
            open_ids = {r.client_id for r in await self.open_orders(market)}
            gone = [live for live in accepted.values() if live.request.market == market
                    and live.request.client_id not in open_ids]
            if not gone:
                continue
            fills = await self.fills_since(min(live.placed_ts for live in gone) - 1.0, market)
            for live in gone:
                request = live.request
                for f in sorted((f for f in fills if f.client_id == request.client_id), key=lambda f: f.ts):
                    if f.trade_id in live.trade_ids:
                        continue
                    live.trade_ids.add(f.trade_id)
                    live.filled += f.amount
                    now = self._clock.now()
                    self._emit_event(OrderFilled(
                        f.client_id, f.exchange_id, f.trade_id, f.market, f.side, request.order_type, f.price,
                        f.amount, request.amount - live.filled, f.fee, f.fee_asset, f.liquidity, f.position_side,
                        f.realized_pnl, f.ts, now))
                self._live.pop(request.client_id, None)
                if live.filled < request.amount:
                    now = self._clock.now()
                    self._emit_event(OrderCancelled(request.client_id, live.exchange_id, market, now, now))
