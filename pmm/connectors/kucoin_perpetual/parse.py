"""KuCoin Futures payloads -> pmm events and model objects. Pure functions, no I/O.

Sizes are lots: the `Instrument` of each market converts them to base units exactly (lots x
`multiplier`) and back (down to `lotSize`, never bigger than asked), so everything pmm sees is in
base units. KuCoin writes many numbers as JSON numbers (`tickSize 0.1`, `multiplier 0.001`); the
REST client decodes fractions as `Decimal`, never as floats, and `dec` takes both. Times arrive in
milliseconds or nanoseconds (`ts` of books, trades and order pushes) and leave as float seconds.
An order status, side or position side this module does not know raises `UnmappedValue`.

Client order ids: KuCoin's `clientOid` takes up to 40 of `[A-Za-z0-9_-]`, so pmm's ids
("pmm-1a2b3c4d-17") go as they are; an order placed without one is named "kucoin-<orderId>".
KuCoin's order pushes carry no fee and no realised PnL: the gateway adds both (`pnl.py`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from pmm.connectors.common.payloads import BAD_PAYLOAD as BAD_PAYLOAD  # callers' catch-all, re-exported
from pmm.connectors.common.payloads import Payload, UnmappedValue, dec
from pmm.connectors.kucoin_perpetual import spec
from pmm.core.events import Level, Trade
from pmm.core.model import (
    ZERO,
    Balance,
    ClientOrderId,
    ExchangeOrderId,
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

log = logging.getLogger("pmm.kucoin.parse")

STAND_IN_PREFIX = "kucoin-"  # the client id of an order placed without a clientOid
_CLIENT_OID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")


def dec_or_zero(value: object) -> Decimal:
    """Like `dec`, with a missing field, null or "" meaning zero."""
    return ZERO if value is None or value == "" else dec(value)


def ms_to_s(value: object) -> float:
    return int(str(value)) / 1000


def ns_to_s(value: object) -> float:
    return int(str(value)) / 1e9


def to_client_oid(client_id: str) -> str:
    if not _CLIENT_OID.match(client_id):
        raise OrderError(f"client order id {client_id!r} does not fit KuCoin's clientOid (at most "
                         f"{spec.CLIENT_OID_MAX_LEN} letters, digits, '_' or '-'); not sent.")
    return client_id


def client_id_of(row: Payload, order_id_key: str = "id") -> ClientOrderId:
    text = str(row.get("clientOid") or "")
    return ClientOrderId(text or f"{STAND_IN_PREFIX}{row[order_id_key]}")


# --- enums ----------------------------------------------------------------------------------------


def side_of(value: object) -> Side:
    if value == "buy":
        return Side.BUY
    if value == "sell":
        return Side.SELL
    raise UnmappedValue(f"unknown KuCoin side {value!r}")


def position_side_of(value: object) -> PositionSide:
    match value:
        case "BOTH" | "" | None:
            return PositionSide.BOTH
        case "LONG":
            return PositionSide.LONG
        case "SHORT":
            return PositionSide.SHORT
    raise UnmappedValue(f"unknown KuCoin positionSide {value!r}")


def margin_mode_of(value: object) -> MarginMode:
    return MarginMode.CROSS if value == spec.MARGIN_CROSS else MarginMode.ISOLATED


def order_type_of(row: Payload) -> OrderType:
    kind = row.get("type") if row.get("type") in ("limit", "market") else row.get("orderType")
    if kind == "market":
        return OrderType.MARKET
    if kind != "limit":
        log.warning("KuCoin order type %r is not one pmm places; treating it as limit", kind)
    return OrderType.LIMIT_MAKER if row.get("postOnly") is True else OrderType.LIMIT


# --- instruments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instrument:
    """One perpetual's grid and lot size; converts lots <-> base units exactly."""

    market: str
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal  # lots
    multiplier: Decimal  # base units per lot
    max_leverage: int
    maker_fee: Decimal
    taker_fee: Decimal

    def to_base(self, lots: Decimal) -> Decimal:
        return spec.lots_to_base(lots, self.multiplier)

    def to_lots(self, base: Decimal) -> Decimal:
        return spec.base_to_lots(base, self.multiplier, self.lot_size)

    def rules(self) -> TradingRules:
        """Trading rules in base units: one lot is the size step and the minimum."""
        step = self.to_base(self.lot_size)
        return TradingRules(self.market, self.base, self.quote, self.tick_size, step, step, ZERO, self.max_leverage)


def parse_instrument(row: Payload, market: str) -> Instrument:
    """GET /api/v1/contracts/{symbol} -> the market's USDT-margined perpetual."""
    symbol = spec.to_venue_symbol(market)
    if row.get("symbol") != symbol:
        raise ConfigError(f"KuCoin lists no perpetual `{symbol}` for `market` {market}. Use a listed "
                          "USDT-margined perpetual such as BTC-USDT (XBTUSDTM).")
    if row.get("isInverse") is True or row.get("status") != "Open":
        raise ConfigError(f"KuCoin {symbol} is not an open USDT-margined perpetual (isInverse "
                          f"{row.get('isInverse')}, status {row.get('status')}); choose another `market`.")
    base, _, quote = market.upper().partition("-")
    return Instrument(market, symbol, base, str(row.get("settleCurrency") or quote), dec(row["tickSize"]),
                      dec(row["lotSize"]), dec(row["multiplier"]), max(1, int(dec_or_zero(row.get("maxLeverage")))),
                      dec_or_zero(row.get("makerFeeRate")), dec_or_zero(row.get("takerFeeRate")))


# --- public data ----------------------------------------------------------------------------------


def book_side(rows: Iterable[Iterable[object]], inst: Instrument) -> tuple[Level, ...]:
    """`[[price, lots], ...]` -> (price, base size) levels."""
    levels = tuple((dec(price), inst.to_base(dec(size))) for price, size in rows)
    for price, size in levels:
        if price <= 0 or size < 0:
            raise ValueError(f"impossible order book level: price {price}, size {size}")
    return levels


@dataclass(frozen=True, slots=True)
class Level2Change:
    """One `/contractMarket/level2` message: one level's new absolute size (0 removes it)."""

    sequence: int
    side: Side
    price: Decimal
    size: Decimal  # base units
    ts: float


def parse_level2(data: Payload, inst: Instrument) -> Level2Change:
    price, side, size = str(data["change"]).split(",")
    change = Level2Change(int(data["sequence"]), side_of(side), dec(price), inst.to_base(dec(size)),
                          ms_to_s(data.get("timestamp") or 0))
    if change.price <= 0 or change.size < 0:
        raise ValueError(f"impossible order book change {data['change']!r}")
    return change


def parse_execution(data: Payload, inst: Instrument, recv_ts: float) -> Trade:
    """`/contractMarket/execution` (subject match) and GET /trade/history rows: `side` is the taker's."""
    return Trade(inst.market, TradeId(str(data["tradeId"])), dec(data["price"]), inst.to_base(dec(data["size"])),
                 side_of(data["side"]), ns_to_s(data["ts"]), recv_ts)


# --- orders ---------------------------------------------------------------------------------------


def order_status_of(row: Payload, filled: Decimal, size: Decimal) -> OrderStatus:
    status = row.get("status")
    if status in ("open", "match") or (status is None and row.get("isActive") is True):
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    if status == "done" or (status is None and row.get("isActive") is False):
        return OrderStatus.FILLED if size > 0 and filled >= size else OrderStatus.CANCELLED
    raise UnmappedValue(f"unknown KuCoin order status {status!r}")


def parse_order_report(row: Payload, inst: Instrument) -> OrderReport:
    """One GET /api/v1/orders (or /orders/{id}) row -> OrderReport (sizes in base units)."""
    order_type = order_type_of(row)
    size = dec(row["size"])
    filled = dec_or_zero(row.get("filledSize") if row.get("filledSize") is not None else row.get("dealSize"))
    price = dec_or_zero(row.get("price"))
    return OrderReport(
        client_id=client_id_of(row), exchange_id=ExchangeOrderId(str(row["id"])), market=inst.market,
        side=side_of(row["side"]), order_type=order_type,
        price=price if price and order_type is not OrderType.MARKET else None, amount=inst.to_base(size),
        filled=inst.to_base(filled), status=order_status_of(row, filled, size),
        reduce_only=row.get("reduceOnly") is True, position_side=position_side_of(row.get("positionSide")),
        created_ts=ms_to_s(row.get("createdAt") or 0))


@dataclass(frozen=True, slots=True)
class OrderChange:
    """One `/contractMarket/tradeOrders` push, sizes in base units. `kind`: open, match, update,
    filled, canceled. A `match` carries one fill (`trade_id`, `match_price`, `match_size`)."""

    kind: str
    client_id: ClientOrderId
    exchange_id: ExchangeOrderId
    market: str
    side: Side
    size: Decimal
    filled: Decimal
    remaining: Decimal
    trade_id: str
    match_price: Decimal
    match_size: Decimal
    liquidity: Liquidity
    position_side: PositionSide
    ts: float


_KINDS = ("open", "match", "update", "filled", "canceled")


def parse_order_change(data: Payload, inst: Instrument) -> OrderChange:
    kind = str(data.get("type"))
    if kind not in _KINDS:
        raise UnmappedValue(f"unknown KuCoin order change type {kind!r}")
    matched = kind == "match"
    return OrderChange(
        kind=kind, client_id=client_id_of(data, "orderId"), exchange_id=ExchangeOrderId(str(data["orderId"])),
        market=inst.market, side=side_of(data["side"]), size=inst.to_base(dec_or_zero(data.get("size"))),
        filled=inst.to_base(dec_or_zero(data.get("filledSize"))),
        remaining=inst.to_base(dec_or_zero(data.get("remainSize"))),
        trade_id=str(data.get("tradeId") or "") if matched else "",
        match_price=dec(data["matchPrice"]) if matched else ZERO,
        match_size=inst.to_base(dec(data["matchSize"])) if matched else ZERO,
        liquidity=Liquidity.MAKER if data.get("liquidity") == "maker" else Liquidity.TAKER,
        position_side=position_side_of(data.get("positionSide")), ts=ns_to_s(data.get("ts") or 0))


@dataclass(frozen=True, slots=True)
class FillRow:
    """One GET /api/v1/fills row (sizes in base units); KuCoin's fill carries its fee, not its PnL."""

    trade_id: TradeId
    client_id: ClientOrderId
    exchange_id: ExchangeOrderId
    market: str
    side: Side
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    liquidity: Liquidity
    position_side: PositionSide
    ts: float


def parse_fill(row: Payload, inst: Instrument) -> FillRow:
    return FillRow(
        trade_id=TradeId(str(row["tradeId"])), client_id=client_id_of(row, "orderId"),
        exchange_id=ExchangeOrderId(str(row["orderId"])), market=inst.market, side=side_of(row["side"]),
        price=dec(row["price"]), amount=inst.to_base(dec(row["size"])), fee=dec_or_zero(row.get("fee")),
        fee_asset=str(row.get("feeCurrency") or inst.quote),
        liquidity=Liquidity.MAKER if row.get("liquidity") == "maker" else Liquidity.TAKER,
        position_side=position_side_of(row.get("positionSide")),
        ts=ns_to_s(row["tradeTime"]) if row.get("tradeTime") else ms_to_s(row["createdAt"]))


# --- account --------------------------------------------------------------------------------------


def parse_position(row: Payload, inst: Instrument) -> list[tuple[PositionSide, Position | None]]:
    """One positions row (REST or `/contract/position` push) -> pmm's (side, position or None).

    One-way (`positionSide` BOTH): `currentQty` is signed lots and the other side is reported
    closed, so a flip leaves no stale side; 0 closes both. Hedge: the row is its side.
    """
    side = position_side_of(row.get("positionSide"))
    qty = dec_or_zero(row.get("currentQty"))
    others: list[tuple[PositionSide, Position | None]] = []
    if side is PositionSide.BOTH:
        if qty == 0:
            return [(PositionSide.LONG, None), (PositionSide.SHORT, None)]
        side = PositionSide.LONG if qty > 0 else PositionSide.SHORT
        others.append((PositionSide.SHORT if qty > 0 else PositionSide.LONG, None))
    elif qty == 0:
        return [(side, None)]
    mode = margin_mode_of(row.get("marginMode") or (spec.MARGIN_CROSS if row.get("crossMode") else None))
    leverage = max(1, int(dec_or_zero(row.get("leverage") or row.get("realLeverage") or 1)))
    position = Position(inst.market, side, inst.to_base(abs(qty)), dec_or_zero(row.get("avgEntryPrice")), leverage,
                        mode, unrealized_pnl=dec_or_zero(row.get("unrealisedPnl")),
                        liquidation_price=dec_or_zero(row.get("liquidationPrice")) or None,
                        mark_price=dec_or_zero(row.get("markPrice")) or None,
                        margin=dec_or_zero(row.get("posMargin")))
    return [(side, position), *others]


def parse_account(data: Payload) -> Balance:
    """GET /api/v1/account-overview -> the settlement currency's balance. Total is the margin
    balance without unrealised PnL (equity - unrealised), available what new orders may use."""
    equity = dec_or_zero(data.get("accountEquity"))
    upnl = dec_or_zero(data.get("unrealisedPNL"))
    in_use = dec_or_zero(data.get("positionMargin")) + dec_or_zero(data.get("orderMargin"))
    return Balance(str(data["currency"]), equity - upnl, dec_or_zero(data.get("availableBalance")), in_use, upnl)


def parse_wallet(data: Payload) -> Balance:
    """A `/contractAccount/wallet` push (walletBalance.change)."""
    wallet = dec(data["walletBalance"])
    equity = dec_or_zero(data.get("equity")) or wallet
    in_use = sum((dec_or_zero(data.get(k)) for k in ("isolatedPosMargin", "isolatedOrderMargin", "crossPosMargin",
                                                     "crossOrderMargin")), ZERO)
    return Balance(str(data["currency"]), wallet, dec_or_zero(data.get("availableBalance")), in_use, equity - wallet)


def parse_funding_row(row: Payload, inst: Instrument) -> FundingPaymentReport:
    """One GET /api/v1/funding-history row: `funding` is signed for the account (negative = paid),
    `positionQty` the signed position in lots at settlement, `timePoint` the funding time (ms)."""
    return FundingPaymentReport(inst.market, int(str(row["timePoint"])), dec(row["fundingRate"]), dec(row["funding"]),
                                str(row.get("settleCurrency") or inst.quote), inst.to_base(dec(row["positionQty"])),
                                dec_or_zero(row.get("markPrice")))
