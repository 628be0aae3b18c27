"""`BinanceGateway`: the Binance USD-M private API as a pmm `OrderGateway`.

Orders: LIMIT (GTC), LIMIT_MAKER (LIMIT + timeInForce GTX, post-only) and MARKET, with the
engine's client order id as `newClientOrderId` (the parameters: `order_params.py`). Cancels go by
`origClientOrderId`.

Outcomes arrive as events from the user data stream (`streams.py`); the REST answers of
place and cancel are also turned into `OrderAccepted` / `OrderCancelled` (the engine ignores the
duplicate). After the stream reconnects, positions, balances and our live orders are re-read so
nothing missed while it was down stays missed (`common/account_gateway.py`, shared with every
venue). Past trades and funding income are read page by page (`history.py`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pmm.connectors.base import Emit
from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual import history
from pmm.connectors.binance_perpetual.errors import ALREADY_SET_CODES
from pmm.connectors.binance_perpetual.order_params import order_params, stop_order_params
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
from pmm.connectors.binance_perpetual.streams import UserStream
from pmm.connectors.common.account_gateway import AccountGateway, PlacedOrder
from pmm.core.clock import Clock
from pmm.core.events import (
    BalanceUpdated,
    FundingPaymentReceived,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
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
    Position,
    PositionMode,
    PositionSide,
    Side,
)
from pmm.errors import OrderError, PmmError

log = logging.getLogger("pmm.binance.gateway")

_MAX_REMEMBERED = 100_000


class BinanceGateway(AccountGateway):
    _rest: BinanceRestClient

    def __init__(self, rest: BinanceRestClient, *, ws_url: str, clock: Clock, connector_id: str = c.CONNECTOR_ID,
                 venue: str | None = None, balance_refresh_s: float = 1.0, funding_lookback_s: float = 3600.0,
                 user_stream_options: dict[str, Any] | None = None, sleep: Sleep = asyncio.sleep) -> None:
        super().__init__(rest, connector_id=connector_id, venue=venue, clock=clock, sleep=sleep, log=log,
                         default_fees=(c.DEFAULT_MAKER_FEE, c.DEFAULT_TAKER_FEE))
        self._balance_refresh_s = balance_refresh_s
        self._funding_lookback_s = funding_lookback_s
        self._symbols = SymbolMap()
        self._hedge: bool | None = None
        self._leverage: dict[str, int] = {}
        self._margin: dict[str, MarginMode] = {}
        self._client_ids: dict[str, ClientOrderId] = {}
        self._live: dict[ClientOrderId, PlacedOrder] = {}
        self._balance_refresh: asyncio.Task[None] | None = None
        self._stream = UserStream(rest, ws_url=ws_url, clock=clock, connector_id=connector_id,
                                  on_event=self._on_user_event, emit=self._emit_event,
                                  on_reconnected=self._on_stream_reconnected, sleep=sleep,
                                  **(user_stream_options or {}))

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
        await self._end_tasks()
        await self._leave_rest()

    def _live_orders(self) -> dict[ClientOrderId, PlacedOrder]:
        return self._live

    def _markets_in_use(self) -> list[str]:
        return sorted(self._markets)  # alphabetical, as this gateway has always reported them

    # --- orders ---------------------------------------------------------------------------------

    def order_params(self, request: OrderRequest) -> list[tuple[str, str]]:
        """The new-order parameters for `request` (`order_params.py`) in the account's position mode."""
        return order_params(request, self._track, hedge=bool(self._hedge))

    async def place_order(self, request: OrderRequest) -> None:
        params = self.order_params(request)
        self._live[request.client_id] = PlacedOrder(request, self._clock.now())
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

    # --- conditional orders (Binance's Algo Service) --------------------------------------------

    async def place_stop_order(self, market: str, client_id: ClientOrderId, side: Side, amount: Decimal,
                               trigger_price: Decimal, *, trigger_on_mark: bool = True,
                               limit_price: Decimal | None = None,
                               position_side: PositionSide = PositionSide.BOTH) -> ExchangeOrderId:
        """Rest a reduce-only stop at Binance: when the mark (or last) price reaches `trigger_price`,
        a market order (or a limit at `limit_price`) closes `amount`. Returns Binance's algoId."""
        params = stop_order_params(self._track(market), client_id, side, amount, trigger_price,
                                   trigger_on_mark=trigger_on_mark, limit_price=limit_price,
                                   position_side=position_side, hedge=bool(self._hedge))
        reply = await self._rest.signed("POST", c.ALGO_ORDER_PATH, params, order_call=True,
                                        what=f"place stop {client_id}")
        return ExchangeOrderId(str(reply["algoId"]))

    async def cancel_stop_order(self, market: str, client_id: ClientOrderId) -> None:
        await self._rest.signed("DELETE", c.ALGO_ORDER_PATH, [("symbol", self._track(market)),
                                                               ("clientAlgoId", client_id)],
                                order_call=True, what=f"cancel stop {client_id}")

    async def resting_stop_orders(self, market: str) -> list[ClientOrderId]:
        """The client ids (clientAlgoId) of the market's conditional orders waiting for their trigger."""
        rows = await self._rest.signed("GET", c.OPEN_ALGO_ORDERS_PATH, [("symbol", self._track(market))],
                                       what=f"read resting stops of {market}")
        return [ClientOrderId(str(r["clientAlgoId"])) for r in rows
                if r.get("algoStatus") == c.ALGO_STATUS_NEW and r.get("clientAlgoId")]

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
        rows = await history.user_trades(self._rest, symbol, ts, self._clock.now())
        unique = list({str(r["id"]): r for r in rows}.values())
        for order_id in {str(r["orderId"]) for r in unique} - set(self._client_ids):
            await self._lookup_client_id(symbol, order_id)
        return parse_user_trades(unique, self._symbols.market, self._client_id_of)

    async def funding_payments_since(self, ts: float, market: str) -> list[FundingPaymentReport]:
        symbol = self._track(market)
        rows, rates = await history.funding_income(self._rest, symbol, ts, self._clock.now())
        if not rows:
            return []
        return parse_funding_income(rows, self._symbols.market, parse_funding_rates(rates))

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
            self._emit_streamed_position(position_event)
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
        for market in self._markets_in_use():
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
