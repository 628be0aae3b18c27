"""Bitget mix v2 payloads -> pmm events and model objects. Pure functions, no I/O.

Sizes are in the base coin everywhere on Bitget's wire (no contracts). Fees: Bitget's negative fee
is a charge, pmm's positive fee is paid. Timestamps arrive as millisecond strings (or numbers) and
leave as float seconds. An order state, side or hold side this module does not know raises
`UnmappedValue` (the caller drops the payload and reconciles).

Sides in hedge mode: Bitget's `side` names the POSITION direction there (open long = buy + open,
close long = buy + close), so the trade direction of a closing hedge-mode order is the opposite of
its `side` (`trade_side_of`). In one-way mode `side` is the trade direction.

Client order ids: `clientOid` takes letters, digits and `-+_#` (at most 50), so pmm's ids
("pmm-1a2b3c4d-17") pass unchanged; an order placed without one is named "bitget-<orderId>".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.common.payloads import BAD_PAYLOAD as BAD_PAYLOAD  # callers' catch-all, re-exported
from pmm.connectors.common.payloads import Payload, UnmappedValue, dec
from pmm.core.events import OrderAccepted, OrderCancelled, OrderFilled, OrderRejected, Trade
from pmm.core.model import (
    ZERO,
    Balance,
    ClientOrderId,
    ExchangeOrderId,
    FillReport,
    FundingPaymentReport,
    Liquidity,
    MarginMode,
    OrderReport,
    OrderStatus,
    OrderType,
    Position,
    PositionSide,
    Side,
    TradeId,
    TradingRules,
)
from pmm.errors import ConfigError, OrderError

log = logging.getLogger("pmm.bitget.parse")

STAND_IN_PREFIX = "bitget-"  # the client id of an order placed without a clientOid
# `cancelReason` of a post-only order Bitget canceled because it would have taken liquidity
# (the reply is not confirmed from the docs read: see errors.py).
POST_ONLY_CANCEL = "POST_ONLY_CANCEL"


def dec_or_zero(value: object) -> Decimal:
    """Like `dec`, with Bitget's empty string (or a missing field) meaning zero."""
    return ZERO if value is None or value == "" else dec(value)


def ms_to_s(value: object) -> float:
    return int(str(value)) / 1000


# --- client order ids -----------------------------------------------------------------------------


def to_client_oid(client_id: str) -> str:
    """pmm's client id as a Bitget clientOid (unchanged; refused when it does not fit)."""
    if not spec.CLIENT_OID_PATTERN.match(client_id):
        raise OrderError(f"client order id {client_id!r} does not fit Bitget's clientOid (letters, digits and "
                         f"-+_#, at most {spec.CLIENT_OID_MAX_LEN}); not sent.")
    return client_id


def client_id_of(row: Payload) -> ClientOrderId:
    """The pmm client id of an order row: its clientOid, or "bitget-<orderId>" without one."""
    text = str(row.get("clientOid") or "")
    return ClientOrderId(text or f"{STAND_IN_PREFIX}{row['orderId']}")


# --- enums ----------------------------------------------------------------------------------------


def side_of(value: object) -> Side:
    text = str(value).lower()
    if text == "buy":
        return Side.BUY
    if text == "sell":
        return Side.SELL
    raise UnmappedValue(f"unknown Bitget side {value!r}")


def is_closing(row: Payload) -> bool:
    """A hedge-mode close (`tradeSide` close, or a venue close such as reduce_close_long)."""
    return "close" in str(row.get("tradeSide") or "").lower()


def is_hedge_row(row: Payload) -> bool:
    return str(row.get("posMode") or "") == spec.POS_MODE_HEDGE


def trade_side_of(row: Payload) -> Side:
    """The direction the order trades: `side`, flipped for a hedge-mode close (module docstring)."""
    side = side_of(row["side"])
    if is_hedge_row(row) and is_closing(row):
        return Side.SELL if side is Side.BUY else Side.BUY
    return side


def position_side_of(row: Payload) -> PositionSide:
    """posSide / holdSide: "net" (one-way) -> BOTH; in hedge mode "long" / "short" (a fill row
    names neither: its `side` names the position there)."""
    if not is_hedge_row(row):
        return PositionSide.BOTH
    default = {"buy": "long", "sell": "short"}.get(str(row.get("side")).lower(), "net")
    value = str(row.get("posSide") or row.get("holdSide") or default).lower()
    if value == "net":
        return PositionSide.BOTH
    if value == "long":
        return PositionSide.LONG
    if value == "short":
        return PositionSide.SHORT
    raise UnmappedValue(f"unknown Bitget posSide {value!r}")


_STATES = {"live": OrderStatus.OPEN, "new": OrderStatus.OPEN, "init": OrderStatus.OPEN,
           "partially_filled": OrderStatus.PARTIALLY_FILLED, "filled": OrderStatus.FILLED,
           "canceled": OrderStatus.CANCELLED, "cancelled": OrderStatus.CANCELLED}


def status_of(value: object) -> OrderStatus:
    status = _STATES.get(str(value))
    if status is None:
        raise UnmappedValue(f"unknown Bitget order status {value!r}")
    return status


def order_type_of(row: Payload) -> OrderType:
    if str(row.get("orderType")) == "market":
        return OrderType.MARKET
    if str(row.get("force") or "").lower() == "post_only":
        return OrderType.LIMIT_MAKER
    return OrderType.LIMIT


def fee_paid(value: object) -> Decimal:
    """Bitget's fee (negative = charged) as pmm's (positive = paid)."""
    return -dec_or_zero(value)


def liquidity_of(value: object) -> Liquidity:
    return Liquidity.MAKER if str(value).lower() in ("m", "maker") else Liquidity.TAKER


# --- contracts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contract:
    """One USDT-M perpetual's grid and minimums, in base units."""

    market: str
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    step_size: Decimal
    min_size: Decimal
    min_notional: Decimal
    max_leverage: int

    def rules(self) -> TradingRules:
        return TradingRules(self.market, self.base, self.quote, self.tick_size, self.step_size, self.min_size,
                            self.min_notional, self.max_leverage)


def tick_of(price_place: object, price_end_step: object) -> Decimal:
    """tick = priceEndStep x 10^-pricePlace (pricePlace 1, priceEndStep 5 -> 0.5)."""
    return dec(str(price_end_step)).scaleb(-int(str(price_place)))


def parse_contract(rows: Iterable[Payload], market: str) -> Contract:
    """GET /api/v2/mix/market/contracts?productType=USDT-FUTURES -> the live perpetual of `market`."""
    symbol = spec.to_venue_symbol(market)
    row = next((r for r in rows if str(r.get("symbol")).upper() == symbol), None)
    if row is None:
        raise ConfigError(f"Bitget lists no USDT-M perpetual `{symbol}` for `market` {market}. Use a listed "
                          "USDT-M perpetual such as BTC-USDT.")
    if row.get("symbolStatus") != "normal" or row.get("symbolType", "perpetual") != "perpetual":
        raise ConfigError(f"Bitget {symbol} is not a tradable perpetual (symbolStatus {row.get('symbolStatus')}, "
                          f"symbolType {row.get('symbolType')}); choose another `market`.")
    base, _, quote = market.partition("-")
    return Contract(market, symbol, str(row.get("baseCoin") or base), str(row.get("quoteCoin") or quote),
                    tick_of(row["pricePlace"], row["priceEndStep"]), dec(row["sizeMultiplier"]),
                    dec(row["minTradeNum"]), dec_or_zero(row.get("minTradeUSDT")),
                    max(1, int(dec_or_zero(row.get("maxLever")) or 1)))


# --- public channels ------------------------------------------------------------------------------


def parse_trades(rows: Iterable[Payload], market: str, recv_ts: float) -> list[Trade]:
    """`trade` pushes and GET /market/fills rows: `side` is the taker's, `size` base coin."""
    return [Trade(market, TradeId(str(t["tradeId"])), dec(t["price"]), dec(t["size"]), side_of(t["side"]),
                  ms_to_s(t["ts"]), recv_ts) for t in rows]


def funding_fields(row: Payload) -> dict[str, object]:
    """The funding-info fields one `ticker` push (or REST ticker / current-fund-rate row) carries."""
    fields: dict[str, object] = {}
    if row.get("markPrice"):
        fields["mark"] = dec(row["markPrice"])
    if row.get("indexPrice"):
        fields["index"] = dec(row["indexPrice"])
    if row.get("fundingRate") not in (None, ""):
        fields["rate"] = dec(row["fundingRate"])
    next_ts = row.get("nextFundingTime") or row.get("nextUpdate")
    if next_ts:
        fields["next_ts"] = ms_to_s(next_ts)
    interval = row.get("fundingRateInterval") or row.get("ratePeriod")
    if interval:
        fields["interval_s"] = float(dec(str(interval))) * 3600
    return fields


# --- account rows (REST and private channels) -----------------------------------------------------

MarketOf = Callable[[str], str]  # symbol -> pmm market


def parse_order_report(row: Payload, market_of: MarketOf) -> OrderReport:
    """One orders-pending / order-detail row -> OrderReport (`baseVolume` is the filled total here)."""
    order_type = order_type_of(row)
    price = dec_or_zero(row.get("price"))
    return OrderReport(
        client_id=client_id_of(row), exchange_id=ExchangeOrderId(str(row["orderId"])),
        market=market_of(str(row["symbol"])), side=trade_side_of(row), order_type=order_type,
        price=price if price and order_type is not OrderType.MARKET else None, amount=dec(row["size"]),
        filled=dec_or_zero(row.get("baseVolume")), status=status_of(row.get("status") or row.get("state")),
        reduce_only=str(row.get("reduceOnly")).lower() == "yes" or (is_hedge_row(row) and is_closing(row)),
        position_side=position_side_of(row), created_ts=ms_to_s(row.get("cTime") or row.get("uTime") or 0))


OrderEvent = OrderAccepted | OrderCancelled | OrderFilled | OrderRejected


def parse_order_push(row: Payload, market: str, recv_ts: float) -> list[OrderEvent]:
    """One `orders` push -> its fill (when it carries one) then what its status says.

    In a push `baseVolume` is the LAST fill's size and `accBaseVolume` the total. `live` is
    OrderAccepted; `filled` says nothing more than its fill; `canceled` is OrderCancelled, or
    OrderRejected for a post-only order Bitget canceled because it would have taken liquidity.
    """
    client_id, exchange_id = client_id_of(row), ExchangeOrderId(str(row["orderId"]))
    status = status_of(row["status"])
    side = trade_side_of(row)
    ts = ms_to_s(row.get("uTime") or row.get("cTime") or 0) or recv_ts
    events: list[OrderEvent] = []
    fill_size = dec_or_zero(row.get("baseVolume"))
    if row.get("tradeId") and fill_size > 0 and row.get("fillPrice"):
        remaining = dec(row["size"]) - dec_or_zero(row.get("accBaseVolume"))
        events.append(OrderFilled(
            client_id, exchange_id, TradeId(str(row["tradeId"])), market, side, order_type_of(row),
            dec(row["fillPrice"]), fill_size, max(ZERO, remaining), fee_paid(row.get("fillFee")),
            str(row.get("fillFeeCoin") or spec.MARGIN_COIN), liquidity_of(row.get("tradeScope")),
            position_side_of(row), dec_or_zero(row.get("pnl")), ms_to_s(row.get("fillTime") or 0) or ts, recv_ts))
    match status:
        case OrderStatus.OPEN | OrderStatus.PARTIALLY_FILLED if not events:
            events.append(OrderAccepted(client_id, exchange_id, market, ts, recv_ts))
        case OrderStatus.CANCELLED:
            reason = str(row.get("cancelReason") or "")
            if reason == POST_ONLY_CANCEL and dec_or_zero(row.get("accBaseVolume")) == 0:
                events.append(OrderRejected(client_id, market, "post-only order would have crossed the book "
                                            f"(cancelReason {reason})", reason, ts, recv_ts))
            else:
                events.append(OrderCancelled(client_id, exchange_id, market, ts, recv_ts))
    return events


def fill_fee(row: Payload) -> tuple[Decimal, str]:
    """A fill row's fee as pmm's (positive = paid) and its coin, from `feeDetail`."""
    details = row.get("feeDetail") or []
    total = sum((dec_or_zero(d.get("totalFee") if "totalFee" in d else d.get("fee")) for d in details), ZERO)
    coin = str(details[0].get("feeCoin") or spec.MARGIN_COIN) if details else spec.MARGIN_COIN
    return -total, coin


def parse_fill_report(row: Payload, market_of: MarketOf, client_ids: dict[str, ClientOrderId]) -> FillReport:
    """One /order/fills row -> FillReport. Fill rows carry no clientOid: `client_ids` maps the
    order ids the gateway knows, the others get the stand-in "bitget-<orderId>"."""
    order_id = str(row["orderId"])
    fee, coin = fill_fee(row)
    return FillReport(
        trade_id=TradeId(str(row["tradeId"])),
        client_id=client_ids.get(order_id) or client_id_of({"clientOid": row.get("clientOid"), "orderId": order_id}),
        exchange_id=ExchangeOrderId(order_id), market=market_of(str(row["symbol"])), side=trade_side_of(row),
        price=dec(row["price"]), amount=dec(row["baseVolume"]), fee=fee, fee_asset=coin,
        liquidity=liquidity_of(row.get("tradeScope")), position_side=position_side_of(row),
        realized_pnl=dec_or_zero(row.get("profit")), ts=ms_to_s(row["cTime"]))


def positions_of_row(row: Payload, market: str) -> list[tuple[PositionSide, Position | None]]:
    """One all-position row (or positions push) -> pmm's (side, position or None) pairs.

    One-way mode: `holdSide` is the side of the net position and the other side is reported closed,
    so a flip leaves no stale side. Hedge mode: the row is its side. `total` 0 closes it.
    """
    side = PositionSide.LONG if str(row.get("holdSide")).lower() == "long" else PositionSide.SHORT
    if str(row.get("holdSide")).lower() not in ("long", "short"):
        raise UnmappedValue(f"unknown Bitget holdSide {row.get('holdSide')!r}")
    amount = dec_or_zero(row.get("total"))
    pairs: list[tuple[PositionSide, Position | None]] = []
    if not is_hedge_row(row):
        other = PositionSide.SHORT if side is PositionSide.LONG else PositionSide.LONG
        pairs.append((other, None))
    if amount == 0:
        return [(side, None), *pairs]
    mode = MarginMode.ISOLATED if row.get("marginMode") == spec.MARGIN_ISOLATED else MarginMode.CROSS
    position = Position(market, side, amount, dec_or_zero(row.get("openPriceAvg")),
                        max(1, int(dec_or_zero(str(row.get("leverage") or "1")))), mode,
                        unrealized_pnl=dec_or_zero(row.get("unrealizedPL")),
                        liquidation_price=dec_or_zero(row.get("liquidationPrice")) or None,
                        mark_price=dec_or_zero(row.get("markPrice")) or None,
                        margin=dec_or_zero(row.get("marginSize")))
    return [(side, position), *pairs]


def parse_balance(row: Payload) -> Balance:
    """One accounts row (or `account` push) -> Balance of its margin coin.

    The wallet is the equity less the unrealised PnL; available is what new orders may use; margin
    in use is what orders and positions hold (`locked` on REST, `frozen` on the stream).
    """
    equity = dec_or_zero(row.get("accountEquity") if "accountEquity" in row else row.get("equity"))
    upl = dec_or_zero(row.get("unrealizedPL"))
    locked = dec_or_zero(row.get("locked") if "locked" in row else row.get("frozen"))
    return Balance(str(row["marginCoin"]).upper(), equity - upl, dec_or_zero(row.get("available")), locked, upl)


def funding_rate_times(rows: Iterable[Payload]) -> dict[int, Decimal]:
    """GET /market/history-fund-rate -> {fundingTime ms: the rate that settled}."""
    return {int(str(r["fundingTime"])): dec(r["fundingRate"]) for r in rows}


def parse_funding_bill(row: Payload, market: str, rates: dict[int, Decimal]) -> FundingPaymentReport:
    """One bill of businessType contract_settle_fee -> a funding payment.

    `amount` is signed for the account (positive received); `cTime` is a moment after the funding
    time, which is the latest settled funding time at or before it (`rates`, from the rate history).
    Bitget's bill names neither the position size nor the mark price: both are reported as 0, and
    the position's side follows from who paid (at a positive rate longs pay).
    """
    when = int(str(row["cTime"]))
    settled = [t for t in rates if t <= when]
    funding_time = max(settled) if settled else when
    rate = rates.get(funding_time, ZERO)
    return FundingPaymentReport(market, funding_time, rate, dec(row["amount"]), str(row.get("coin") or "USDT"),
                                ZERO, ZERO)
