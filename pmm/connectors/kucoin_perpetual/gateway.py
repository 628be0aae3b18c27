"""`KucoinGateway`: the KuCoin Futures private API (USDT-margined perpetuals) as a pmm `OrderGateway`.

Orders: `limit` (with `postOnly` for LIMIT_MAKER) and `market`, with the engine's client order id as
`clientOid`; the size is converted from base units to lots, rounded down to `lotSize` (never bigger
than asked) and refused below one lot before anything is sent. Every order carries the market's
`marginMode` and `leverage` (KuCoin margins an isolated order at the leverage it names); in hedge
mode `positionSide` says which side it opens or closes, in one-way mode `reduceOnly` is sent as
asked. Cancel by `clientOid` (`DELETE /api/v1/orders/client-order/{clientOid}?symbol=`); cancel all
with `DELETE /api/v3/orders?symbol=`.

Outcomes arrive on the private stream: `/contractMarket/tradeOrders` (`open`, `match` with the
fill, `filled`, `canceled`), `/contract/position:{symbol}` (positions; `position.settlement` makes
the gateway read its funding history), `/contractAccount/wallet`. What an order push means
(its fee and PnL, a post-only order KuCoin cancelled as a refusal) is `order_pushes.py`; fills read
back from `/api/v1/fills` carry KuCoin's own fee and their PnL from the same lots (`pnl.py`).

Conditional orders: `place_stop_order` rests a reduce-only stop order (`stop` down/up,
`stopPriceType` MP mark or TP last, market or limit when triggered) at KuCoin.
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
from pmm.connectors.kucoin_perpetual import history, spec
from pmm.connectors.kucoin_perpetual.parse import (
    BAD_PAYLOAD,
    STAND_IN_PREFIX,
    Instrument,
    OrderChange,
    client_id_of,
    margin_mode_of,
    ms_to_s,
    parse_account,
    parse_fill,
    parse_funding_row,
    parse_order_change,
    parse_order_report,
    parse_position,
    parse_wallet,
    to_client_oid,
)
from pmm.connectors.kucoin_perpetual.order_pushes import OrderPushes
from pmm.connectors.kucoin_perpetual.pnl import LotBook
from pmm.connectors.kucoin_perpetual.rest import KucoinRestClient, path_of
from pmm.connectors.kucoin_perpetual.streams import KucoinSocket
from pmm.core.clock import Clock
from pmm.core.events import (
    BalanceUpdated,
    OrderAccepted,
    OrderFilled,
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
from pmm.errors import AuthError, BelowMinSize, OrderError, OrderOutcomeUnknown, PmmError

log = logging.getLogger("pmm.kucoin.gateway")

DEFAULT_FEES = (Decimal("0.0002"), Decimal("0.0006"))  # KuCoin Futures' base tier maker / taker
LOTS_HISTORY_S = 7 * 86400.0  # how far back the fills are read to rebuild the lots at start


class _Symbols(MarketSymbols):
    to_symbol = staticmethod(spec.to_venue_symbol)

    def market(self, symbol: str) -> str:
        return spec.from_venue_symbol(symbol)


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


class KucoinGateway(AccountGateway):
    _rest: KucoinRestClient

    def __init__(self, rest: KucoinRestClient, *, clock: Clock, ws_url: str | None = None,
                 connector_id: str = spec.CONNECTOR_ID, venue: str | None = None, markets: Sequence[str] = (),
                 funding_lookback_s: float = 3600.0, funding_poll_s: float | None = 300.0,
                 private_stream_options: dict[str, Any] | None = None, sleep: Sleep = asyncio.sleep) -> None:
        if rest.auth is None:
            raise AuthError(f"{connector_id} needs API keys: run `pmm connect {connector_id}`.")
        super().__init__(rest, connector_id=connector_id, venue=venue, clock=clock, sleep=sleep, log=log,
                         default_fees=DEFAULT_FEES)
        self._symbols = _Symbols()
        self._hedge = False
        self._leverage: dict[str, int] = {}
        self._margin: dict[str, MarginMode] = {}
        self._stop_ids: dict[ClientOrderId, ExchangeOrderId] = {}
        self.lots = LotBook()
        self.live = LiveOrders()
        self.pushes = OrderPushes(self.live, self.lots, self.fee_rates,
                                  lambda market: self._rest.instruments[spec.to_venue_symbol(market)].quote)
        self.funding = FundingWatch(self.funding_payments_since, self._emit_event, clock, sleep,
                                    lookback_s=funding_lookback_s)
        self._funding_poll_s = funding_poll_s
        self._funding_task: asyncio.Task[None] | None = None
        for market in markets:
            self._track(market)
        topics = [spec.TOPIC_TRADE_ORDERS, spec.TOPIC_WALLET]
        topics += [f"{spec.TOPIC_POSITION}:{spec.to_venue_symbol(m)}" for m in markets]
        self.stream = KucoinSocket(name="account", connector_id=connector_id, rest=rest, private=True, topics=topics,
                                   on_message=self._on_private, emit=self._emit_event, clock=clock, ws_url=ws_url,
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
            self._hedge = await self._position_mode() == spec.POSITION_MODE_HEDGE
            await self.balances()  # fails fast (AuthError) on a bad key, before any order
            for market in self._markets:
                await self._rest.instrument(market)
                await self._margin_of(market)
            await self._rebuild_lots()
            await self._start_stream()
        except BaseException:
            await self.stop()
            raise
        if self._funding_poll_s:
            self._funding_task = asyncio.get_running_loop().create_task(
                self.funding.poll(lambda: list(self._markets), self._funding_poll_s), name="kucoin-funding")

    async def _start_stream(self, wait_s: float = 10.0) -> None:
        self.stream.start()
        if await self.stream.wait_up(wait_s):
            return
        if self.stream.auth_error is not None:
            raise AuthError(f"KuCoin refused the private stream's token ({self.stream.auth_error}). Check the API "
                            f"key, secret and passphrase (`pmm connect {self.connector_id}`).")
        log.warning("the KuCoin private stream is not up after %.0f s (%s); continuing, it keeps reconnecting",
                    wait_s, self.stream.last_reason or "no answer")

    async def stop(self) -> None:
        await self.stream.stop()
        await self._end_tasks(self._funding_task)
        self._funding_task = None
        await self._leave_rest()

    async def _rebuild_lots(self) -> None:
        """Rebuild the lots that give each fill its PnL from the recent fills (`pnl.py`)."""
        positions = await self.positions()
        self.lots.seed(positions)
        since = self._clock.now() - LOTS_HISTORY_S
        for market in self._markets:
            inst = await self._rest.instrument(market)
            rows = await history.fills(self._rest, inst.symbol, since, what=f"read the recent fills of {market}")
            fills = sorted((parse_fill(r, inst) for r in rows), key=lambda f: (f.ts, f.trade_id))
            if not self.lots.rebuild(market, fills, positions):
                log.warning("no moment without a position on %s in the last %.0f days of fills: realised PnL of the "
                            "coming fills counts from the average entry price", market, LOTS_HISTORY_S / 86400)

    def _live_orders(self) -> dict[ClientOrderId, PlacedOrder]:
        return self.live.orders

    def _inst(self, symbol: str) -> Instrument:
        return self._rest.instruments[symbol]

    async def _load_fees(self, market: str) -> None:
        try:
            inst = await self._rest.instrument(market)
            self._fees[market] = (inst.maker_fee, inst.taker_fee) if inst.taker_fee else DEFAULT_FEES
        except (PmmError, *BAD_PAYLOAD) as exc:
            log.warning("could not read the fee rates of %s (%s); using %s / %s", market, exc, *DEFAULT_FEES)
            self._fees.setdefault(market, DEFAULT_FEES)

    # --- orders ---------------------------------------------------------------------------------

    def _position_side(self, request: OrderRequest) -> PositionSide:
        if not self._hedge:
            return PositionSide.BOTH
        side = request.position_side
        if side is PositionSide.BOTH:  # buying opens a long / closes a short; selling the reverse
            opening = request.position_action is PositionAction.OPEN and not request.reduce_only
            side = PositionSide.LONG if (request.side is Side.BUY) == opening else PositionSide.SHORT
        return side

    def _margin_wire(self, market: str) -> str:
        return spec.MARGIN_CROSS if self._margin.get(market) is MarginMode.CROSS else spec.MARGIN_ISOLATED

    async def _margin_of(self, market: str) -> MarginMode:
        """The market's margin mode at KuCoin (read once; `set_margin_mode` keeps it current)."""
        if market not in self._margin:
            data = await self._rest.get(spec.MARGIN_MODE_PATH, [("symbol", self._track(market))],
                                        what=f"read the margin mode of {market}")
            self._margin[market] = margin_mode_of((data or {}).get("marginMode"))
        return self._margin[market]

    async def order_body(self, request: OrderRequest) -> dict[str, Any]:
        """The place-order body for `request`, its size in lots."""
        inst = await self._rest.instrument(request.market)
        self._track(request.market)
        await self._margin_of(request.market)
        lots = inst.to_lots(request.amount)
        if lots < inst.lot_size:
            raise BelowMinSize(f"order {request.client_id} of {request.amount} {inst.base} is below KuCoin's minimum "
                               f"of one lot ({inst.to_base(inst.lot_size)} {inst.base}); not sent.")
        body: dict[str, Any] = {
            "clientOid": to_client_oid(request.client_id), "symbol": inst.symbol, "side": request.side.value.lower(),
            "type": "market" if request.order_type is OrderType.MARKET else "limit",
            "leverage": self._leverage.get(request.market, 1), "size": int(lots),
            "marginMode": self._margin_wire(request.market)}
        if request.order_type is not OrderType.MARKET:
            if request.price is None:
                raise OrderError(f"{request.order_type} order {request.client_id} has no price; not sent.")
            body["price"] = _fmt(request.price)
            body["timeInForce"] = "GTC"
            if request.order_type is OrderType.LIMIT_MAKER:
                body["postOnly"] = True
        side = self._position_side(request)
        if side is not PositionSide.BOTH:
            body["positionSide"] = side.value.upper()
        elif request.reduce_only:
            body["reduceOnly"] = True
        return body

    async def place_order(self, request: OrderRequest) -> None:
        body = await self.order_body(request)
        side = PositionSide(body["positionSide"].lower()) if "positionSide" in body else PositionSide.BOTH
        self.live.placed(request, self._clock.now(), side)
        try:
            data = await self._rest.post(spec.ORDERS_PATH, body, order_call=True,
                                         what=f"place order {request.client_id}")
        except OrderError:
            self.live.forget(request.client_id)
            raise
        if not isinstance(data, dict) or not data.get("orderId"):
            raise OrderOutcomeUnknown(f"place order {request.client_id}: KuCoin's answer names no order id; the "
                                      "order stays in flight until reconciliation settles it.")
        live = self.live.get(request.client_id)
        if live is None:
            return  # the private stream already finished it (a refused post-only, an instant fill)
        self.pushes.placed(str(data["orderId"]), request.client_id)
        if live.exchange_id is None:
            live.exchange_id = ExchangeOrderId(str(data["orderId"]))
            now = self._clock.now()
            self._emit_event(OrderAccepted(request.client_id, live.exchange_id, request.market, now, now))

    async def cancel_order(self, market: str, client_id: ClientOrderId) -> None:
        symbol = self._track(market)
        self.pushes.cancelling([client_id])
        if client_id.startswith(STAND_IN_PREFIX):
            path = path_of(spec.ORDER_PATH, orderId=client_id[len(STAND_IN_PREFIX):])
            await self._rest.delete(path, order_call=True, what=f"cancel order {client_id}")
            return
        await self._rest.delete(path_of(spec.CLIENT_ORDER_PATH, clientOid=client_id), [("symbol", symbol)],
                                order_call=True, what=f"cancel order {client_id}")

    async def cancel_all(self, market: str) -> None:
        """Cancel every open order of `market` (`DELETE /api/v3/orders?symbol=`)."""
        self.pushes.cancelling(list(self.live.orders))
        await self._rest.delete(spec.CANCEL_ALL_V3_PATH, [("symbol", self._track(market))], order_call=True,
                                what=f"cancel all orders on {market}")

    # --- conditional orders ---------------------------------------------------------------------

    async def place_stop_order(self, market: str, client_id: ClientOrderId, side: Side, amount: Decimal,
                               trigger_price: Decimal, *, trigger_on_mark: bool = True,
                               limit_price: Decimal | None = None,
                               position_side: PositionSide = PositionSide.BOTH) -> ExchangeOrderId:
        """Rest a reduce-only stop at KuCoin: when the mark (or last) price reaches `trigger_price`
        (falling for a sell, rising for a buy), a market order (or a limit at `limit_price`) closes
        `amount` (base units). Returns KuCoin's order id of the stop."""
        inst = await self._rest.instrument(market)
        await self._margin_of(market)
        body: dict[str, Any] = {
            "clientOid": to_client_oid(client_id), "symbol": inst.symbol, "side": side.value.lower(),
            "type": "market" if limit_price is None else "limit", "size": int(inst.to_lots(amount)),
            "leverage": self._leverage.get(market, 1), "marginMode": self._margin_wire(market),
            "stop": "down" if side is Side.SELL else "up", "stopPrice": _fmt(trigger_price),
            "stopPriceType": spec.STOP_PRICE_MARK if trigger_on_mark else spec.STOP_PRICE_LAST}
        if limit_price is not None:
            body["price"] = _fmt(limit_price)
        if self._hedge:
            close = position_side if position_side is not PositionSide.BOTH else \
                (PositionSide.LONG if side is Side.SELL else PositionSide.SHORT)
            body["positionSide"] = close.value.upper()
        else:
            body["reduceOnly"] = True
        data = await self._rest.post(spec.ORDERS_PATH, body, order_call=True, what=f"place stop {client_id}")
        order_id = ExchangeOrderId(str((data or {}).get("orderId") or ""))
        if order_id:
            self._stop_ids[client_id] = order_id
        return order_id

    async def cancel_stop_order(self, market: str, client_id: ClientOrderId) -> None:
        order_id = self._stop_ids.pop(client_id, None)
        if order_id:
            await self._rest.delete(path_of(spec.ORDER_PATH, orderId=order_id), order_call=True,
                                    what=f"cancel stop {client_id}")
            return
        await self._rest.delete(path_of(spec.CLIENT_ORDER_PATH, clientOid=client_id), [("symbol", self._track(market))],
                                order_call=True, what=f"cancel stop {client_id}")

    async def resting_stop_orders(self, market: str) -> list[ClientOrderId]:
        """The client ids of the market's untriggered stop orders (`GET /api/v1/stopOrders`)."""
        rows = await history.stop_orders(self._rest, self._track(market), what=f"read resting stops of {market}")
        found = []
        for row in rows:
            client_id = client_id_of(row)
            self._stop_ids[client_id] = ExchangeOrderId(str(row["id"]))
            found.append(client_id)
        return found

    # --- account set-up -------------------------------------------------------------------------

    async def set_leverage(self, market: str, leverage: int) -> None:
        """Cross margin: KuCoin's per-symbol cross leverage. Isolated: every order names it."""
        symbol = self._track(market)
        self._leverage[market] = leverage
        if self._margin.get(market) is MarginMode.CROSS:
            await self._rest.post(spec.CROSS_LEVERAGE_PATH, {"symbol": symbol, "leverage": str(leverage)},
                                  what=f"set leverage of {market} to {leverage}x")

    async def set_position_mode(self, mode: PositionMode) -> None:
        wanted = spec.POSITION_MODE_HEDGE if mode is PositionMode.HEDGE else spec.POSITION_MODE_ONE_WAY
        if await self._position_mode() != wanted:
            await self._rest.post(spec.SWITCH_POSITION_MODE_PATH, {"positionMode": wanted},
                                  what=f"set position mode to {mode}")
        self._hedge = mode is PositionMode.HEDGE

    async def _position_mode(self) -> str:
        data = await self._rest.get(spec.POSITION_MODE_PATH, what="read the position mode")
        return str((data or {}).get("positionMode", spec.POSITION_MODE_ONE_WAY))

    async def set_margin_mode(self, market: str, mode: MarginMode) -> None:
        symbol = self._track(market)
        self._margin.pop(market, None)
        wanted = spec.MARGIN_CROSS if mode is MarginMode.CROSS else spec.MARGIN_ISOLATED
        if await self._margin_of(market) is not mode:
            await self._rest.post(spec.CHANGE_MARGIN_MODE_PATH, {"symbol": symbol, "marginMode": wanted},
                                  what=f"set the margin mode of {market} to {mode}")
        self._margin[market] = mode
        if mode is MarginMode.CROSS and market in self._leverage:
            await self.set_leverage(market, self._leverage[market])

    # --- account reads --------------------------------------------------------------------------

    async def balances(self) -> list[Balance]:
        quotes = sorted({spec.QUOTE_ASSETS[0], *(i.quote for i in self._rest.instruments.values())})
        out = []
        for quote in quotes:
            data = await self._rest.get(spec.ACCOUNT_OVERVIEW_PATH, [("currency", quote)], what="read the balance")
            out.append(parse_account(data))
        self._balances.update({b.asset: b for b in out})
        return out

    async def positions(self) -> list[Position]:
        rows = await self._rest.get(spec.POSITIONS_PATH, what="read positions") or []
        out: list[Position] = []
        for row in rows:
            inst = self._rest.instruments.get(str(row.get("symbol")))
            if inst is not None:
                out += [p for _, p in parse_position(row, inst) if p is not None]
        return out

    async def open_orders(self, market: str) -> list[OrderReport]:
        inst = await self._rest.instrument(market)
        rows = await history.open_orders(self._rest, self._track(market), what=f"read open orders of {market}")
        return [parse_order_report(r, inst) for r in rows]

    async def fills_since(self, ts: float, market: str) -> list[FillReport]:
        inst = await self._rest.instrument(market)
        rows = await history.fills(self._rest, self._track(market), ts, what=f"read fills of {market}")
        fills = sorted((parse_fill(r, inst) for r in rows), key=lambda f: (f.ts, f.trade_id))
        return [FillReport(f.trade_id, f.client_id, f.exchange_id, f.market, f.side, f.price, f.amount, f.fee,
                           f.fee_asset, f.liquidity, f.position_side,
                           self.lots.book(f.trade_id, f.market, f.side, f.position_side, f.price, f.amount), f.ts)
                for f in fills]

    async def funding_payments_since(self, ts: float, market: str) -> list[FundingPaymentReport]:
        inst = await self._rest.instrument(market)
        rows = await history.funding(self._rest, self._track(market), ts, self._clock.now(),
                                     what=f"read funding payments of {market}")
        return sorted((parse_funding_row(r, inst) for r in rows), key=lambda p: p.funding_time_ms)

    # --- private stream -------------------------------------------------------------------------

    def _on_private(self, message: dict[str, Any], recv_ts: float) -> None:
        topic = str(message.get("topic") or "")
        prefix = topic.partition(":")[0]
        data = message.get("data") or {}
        try:
            if prefix == spec.TOPIC_TRADE_ORDERS:
                inst = self._rest.instruments.get(str(data.get("symbol")))
                if inst is not None:
                    self._on_order(parse_order_change(data, inst), recv_ts)
            elif prefix == spec.TOPIC_POSITION:
                self._on_position(str(message.get("subject")), data, recv_ts)
            elif prefix == spec.TOPIC_WALLET:
                balance = parse_wallet(data)
                self._balances[balance.asset] = balance
                self._emit_event(BalanceUpdated(balance, recv_ts, recv_ts))
        except BAD_PAYLOAD as exc:
            self.bad_messages += 1
            log.warning("unreadable %s message (%s: %s); reconciling with the venue (%d so far)", topic,
                        type(exc).__name__, exc, self.bad_messages)
            self._spawn(self._resync(f"a {topic} message could not be read"))

    def _on_position(self, subject: str, data: dict[str, Any], recv_ts: float) -> None:
        inst = self._rest.instruments.get(str(data.get("symbol")))
        if inst is None:
            return
        if subject == "position.settlement":  # a funding settlement: read its payment
            self._spawn(self.funding.fetch([inst.market], expect_new=True))
            return
        ts = ms_to_s(data.get("currentTimestamp") or 0) or recv_ts
        for side, position in parse_position(data, inst):
            self._emit_streamed_position(PositionUpdated(inst.market, side, position, ts, recv_ts))

    def _on_order(self, change: OrderChange, recv_ts: float) -> None:
        for event in self.pushes.events(self.pushes.named(change), recv_ts):
            if self.live.on_event(event):
                self._emit_event(event)
            elif isinstance(event, OrderFilled):
                log.info("dropped a fill KuCoin pushed again (trade %s of order %s)", event.trade_id, event.client_id)

    def _on_connected(self) -> None:
        if self.stream.connections > 1:
            self._spawn(self._resync("private stream reconnected"))
