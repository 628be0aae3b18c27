"""OKX v5 payloads -> pmm events and model objects. Pure functions, no I/O.

Sizes on a SWAP are contracts: the `Instrument` of each market converts them to base units exactly
(sz x ctVal x ctMult) and back (rounded down to `lotSz`, never bigger than asked), so everything
pmm sees (rules, books, trades, fills, positions) is in base units. Fees: OKX's negative fee is a
charge, pmm's positive fee is paid. Timestamps arrive as millisecond strings and leave as float
seconds. An order state, side or position side this module does not know raises `UnmappedValue`
(the caller drops the payload and reconciles); descriptive fields fall back with a warning.

Client order ids: OKX's `clOrdId` is alphanumeric (at most 32 characters), pmm's has dashes
("pmm-1a2b3c4d-17"), so `to_cl_ord_id` escapes them reversibly ("pmmZ1a2b3c4dZ17") and
`client_id_of` reads them back; an order placed without one is named "okx-<ordId>".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from pmm.connectors.common.payloads import BAD_PAYLOAD as BAD_PAYLOAD  # callers' catch-all, re-exported
from pmm.connectors.common.payloads import Payload, UnmappedValue, dec
from pmm.connectors.okx_perpetual import spec
from pmm.core.events import (
    BookDelta,
    BookSnapshot,
    Level,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    Trade,
)
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

log = logging.getLogger("pmm.okx.parse")

STAND_IN_PREFIX = "okx-"  # the client id of an order placed without a clOrdId


def dec_or_zero(value: object) -> Decimal:
    """Like `dec`, with OKX's empty string (or a missing field) meaning zero."""
    return ZERO if value is None or value == "" else dec(value)


def ms_to_s(value: object) -> float:
    return int(str(value)) / 1000


# --- client order ids -----------------------------------------------------------------------------

_ESCAPE, _DASH, _UNDERSCORE = "X", "Z", "Y"
_ENCODE = {"-": _DASH, "_": _UNDERSCORE, _ESCAPE: _ESCAPE * 2, _DASH: _ESCAPE + _DASH,
           _UNDERSCORE: _ESCAPE + _UNDERSCORE}
_DECODE = {_DASH: "-", _UNDERSCORE: "_"}


def to_cl_ord_id(client_id: str) -> str:
    """pmm's client id as an OKX clOrdId: '-' -> 'Z', '_' -> 'Y', and 'X', 'Y', 'Z' escaped by 'X'."""
    text = "".join(_ENCODE.get(ch, ch) for ch in client_id)
    if not text.isascii() or not text.isalnum() or len(text) > spec.CLORDID_MAX_LEN:
        raise OrderError(f"client order id {client_id!r} does not fit OKX's clOrdId (at most "
                         f"{spec.CLORDID_MAX_LEN} letters and digits once its dashes are escaped); not sent.")
    return text


def client_id_of(row: Payload) -> ClientOrderId:
    """The pmm client id of an order row: its decoded clOrdId, or "okx-<ordId>" without one."""
    text = str(row.get("clOrdId") or "")
    if not text:
        return ClientOrderId(f"{STAND_IN_PREFIX}{row['ordId']}")
    out, chars = [], iter(text)
    for ch in chars:
        out.append(next(chars, _ESCAPE) if ch == _ESCAPE else _DECODE.get(ch, ch))
    return ClientOrderId("".join(out))


# --- enums ----------------------------------------------------------------------------------------


def side_of(value: object) -> Side:
    if value == "buy":
        return Side.BUY
    if value == "sell":
        return Side.SELL
    raise UnmappedValue(f"unknown OKX side {value!r}")


def position_side_of(value: object) -> PositionSide:
    """posSide: "net" (one-way; "" on some rows), "long", "short"."""
    match value:
        case "net" | "" | None:
            return PositionSide.BOTH
        case "long":
            return PositionSide.LONG
        case "short":
            return PositionSide.SHORT
    raise UnmappedValue(f"unknown OKX posSide {value!r}")


_STATES = {"live": OrderStatus.OPEN, "partially_filled": OrderStatus.PARTIALLY_FILLED, "filled": OrderStatus.FILLED,
           "canceled": OrderStatus.CANCELLED, "mmp_canceled": OrderStatus.CANCELLED}


def status_of(value: object) -> OrderStatus:
    status = _STATES.get(str(value))
    if status is None:
        raise UnmappedValue(f"unknown OKX order state {value!r}")
    return status


def order_type_of(value: object) -> OrderType:
    match value:
        case "limit":
            return OrderType.LIMIT
        case "post_only":
            return OrderType.LIMIT_MAKER
        case "market":
            return OrderType.MARKET
    log.warning("OKX order type %r is not one pmm places; treating it as limit", value)
    return OrderType.LIMIT


def fee_paid(value: object) -> Decimal:
    """OKX's fee (negative = charged, positive = rebate) as pmm's (positive = paid)."""
    return -dec_or_zero(value)


# --- instruments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instrument:
    """One SWAP's grid and contract size; converts contracts <-> base units exactly."""

    market: str
    inst_id: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal  # contracts
    min_contracts: Decimal
    ct_val: Decimal
    ct_mult: Decimal
    max_leverage: int

    def to_base(self, contracts: Decimal) -> Decimal:
        return spec.contracts_to_base(contracts, self.ct_val, self.ct_mult)

    def to_contracts(self, base: Decimal) -> Decimal:
        return spec.base_to_contracts(base, self.ct_val, self.lot_size, self.ct_mult)

    def rules(self) -> TradingRules:
        """Trading rules in base units: one lot is the size step, `minSz` lots the minimum."""
        return TradingRules(self.market, self.base, self.quote, self.tick_size, self.to_base(self.lot_size),
                            self.to_base(self.min_contracts), ZERO, self.max_leverage)


def parse_instrument(rows: Iterable[Payload], market: str) -> Instrument:
    """GET /api/v5/public/instruments?instType=SWAP -> the live linear swap of `market`."""
    inst_id = spec.to_venue_symbol(market)
    row = next((r for r in rows if r.get("instId") == inst_id), None)
    if row is None:
        raise ConfigError(f"OKX lists no perpetual swap `{inst_id}` for `market` {market}. Use a listed "
                          "USDT-margined swap such as BTC-USDT.")
    if row.get("ctType") != "linear" or row.get("state") != "live":
        raise ConfigError(f"OKX {inst_id} is not a live linear swap (ctType {row.get('ctType')}, state "
                          f"{row.get('state')}); choose another `market`.")
    base, _, quote = market.partition("-")
    return Instrument(market, inst_id, str(row.get("ctValCcy") or base), str(row.get("settleCcy") or quote),
                      dec(row["tickSz"]), dec(row["lotSz"]), dec(row["minSz"]), dec(row["ctVal"]),
                      dec(row.get("ctMult") or "1"), max(1, int(dec_or_zero(row.get("lever")) or 1)))


# --- public channels ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookFrame:
    """One `books` push with the sequence numbers the book sync checks (sizes in base units)."""

    market: str
    is_snapshot: bool
    seq_id: int
    prev_seq_id: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    ts: float
    recv_ts: float

    def snapshot(self) -> BookSnapshot:
        return BookSnapshot(self.market, self.bids, self.asks, self.seq_id, self.ts, self.recv_ts)

    def delta(self) -> BookDelta:
        return BookDelta(self.market, self.bids, self.asks, self.seq_id, self.ts, self.recv_ts)


def _levels(rows: Iterable[list[str]], inst: Instrument) -> tuple[Level, ...]:
    """`[px, sz (contracts), "0", nOrders]` rows -> (price, base size); sz "0" removes the level."""
    levels = tuple((dec(row[0]), inst.to_base(dec(row[1]))) for row in rows)
    for price, size in levels:
        if price <= 0 or size < 0:
            raise ValueError(f"impossible order book level: price {price}, size {size}")
    return levels


def parse_book(message: Payload, inst: Instrument, recv_ts: float) -> BookFrame:
    action = message.get("action")
    if action not in ("snapshot", "update"):
        raise UnmappedValue(f"unknown OKX book action {action!r}")
    (data,) = message["data"]
    return BookFrame(inst.market, action == "snapshot", int(data["seqId"]), int(data.get("prevSeqId", -1)),
                     _levels(data.get("bids", ()), inst), _levels(data.get("asks", ()), inst),
                     ms_to_s(data["ts"]), recv_ts)


def parse_trades(message: Payload, inst: Instrument, recv_ts: float) -> list[Trade]:
    """`trades` pushes (and GET /market/trades rows): `side` is the taker's."""
    return [Trade(inst.market, TradeId(str(t["tradeId"])), dec(t["px"]), inst.to_base(dec(t["sz"])),
                  side_of(t["side"]), ms_to_s(t["ts"]), recv_ts) for t in message.get("data", ())]


def funding_fields(row: Payload) -> dict[str, object]:
    """The funding-info fields one mark-price / index-tickers / funding-rate row carries."""
    if "markPx" in row:
        return {"mark": dec(row["markPx"])}
    if "idxPx" in row:
        return {"index": dec(row["idxPx"])}
    # fundingRate is the rate of the coming settlement at fundingTime; nextFundingTime the one after.
    fields: dict[str, object] = {"rate": dec(row["fundingRate"]), "next_ts": ms_to_s(row["fundingTime"])}
    if row.get("nextFundingTime"):
        fields["interval_s"] = ms_to_s(row["nextFundingTime"]) - ms_to_s(row["fundingTime"])
    return fields


# --- account rows (REST and private channels) -----------------------------------------------------

MarketOf = Callable[[str], Instrument]  # instId -> the market's instrument


def parse_order_report(row: Payload, inst_of: MarketOf) -> OrderReport:
    """One orders-pending / order-details row -> OrderReport (sizes in base units)."""
    inst = inst_of(str(row["instId"]))
    order_type = order_type_of(row.get("ordType"))
    price = dec_or_zero(row.get("px"))
    return OrderReport(
        client_id=client_id_of(row), exchange_id=ExchangeOrderId(str(row["ordId"])), market=inst.market,
        side=side_of(row["side"]), order_type=order_type,
        price=price if price and order_type is not OrderType.MARKET else None, amount=inst.to_base(dec(row["sz"])),
        filled=inst.to_base(dec_or_zero(row.get("accFillSz"))), status=status_of(row["state"]),
        reduce_only=str(row.get("reduceOnly")).lower() == "true", position_side=position_side_of(row.get("posSide")),
        created_ts=ms_to_s(row.get("cTime") or row.get("uTime") or 0))


OrderEvent = OrderAccepted | OrderCancelled | OrderFilled | OrderRejected


def parse_order_push(row: Payload, inst: Instrument, recv_ts: float) -> list[OrderEvent]:
    """One `orders` push -> its fill (when it carries one) then what its state says.

    `live` (and an amended `partially_filled`) is OrderAccepted; `filled` says nothing more than its
    fill; `canceled` is OrderCancelled, or OrderRejected for a post-only order OKX cancelled because it
    would have taken liquidity (cancelSource 31) before anything filled.
    """
    client_id, exchange_id = client_id_of(row), ExchangeOrderId(str(row["ordId"]))
    status = status_of(row["state"])
    side = side_of(row["side"])
    ts = ms_to_s(row.get("uTime") or row.get("cTime") or 0) or recv_ts
    events: list[OrderEvent] = []
    fill_size = dec_or_zero(row.get("fillSz"))
    if row.get("tradeId") and fill_size > 0:
        remaining = dec(row["sz"]) - dec_or_zero(row.get("accFillSz"))
        events.append(OrderFilled(
            client_id, exchange_id, TradeId(str(row["tradeId"])), inst.market, side, order_type_of(row.get("ordType")),
            dec(row["fillPx"]), inst.to_base(fill_size), inst.to_base(max(ZERO, remaining)),
            fee_paid(row.get("fillFee")), str(row.get("fillFeeCcy") or inst.quote),
            Liquidity.MAKER if row.get("execType") == "M" else Liquidity.TAKER, position_side_of(row.get("posSide")),
            dec_or_zero(row.get("fillPnl")), ms_to_s(row.get("fillTime") or 0) or ts, recv_ts))
    match status:
        case OrderStatus.OPEN | OrderStatus.PARTIALLY_FILLED if not events:
            events.append(OrderAccepted(client_id, exchange_id, inst.market, ts, recv_ts))
        case OrderStatus.CANCELLED:
            source = str(row.get("cancelSource") or "")
            if source == spec.CANCEL_SOURCE_POST_ONLY and dec_or_zero(row.get("accFillSz")) == 0:
                events.append(OrderRejected(client_id, inst.market, "post-only order would have crossed the book "
                                            f"(cancelSource {source})", source, ts, recv_ts))
            else:
                events.append(OrderCancelled(client_id, exchange_id, inst.market, ts, recv_ts))
    return events


def parse_fill_report(row: Payload, inst_of: MarketOf) -> FillReport:
    """One fills / fills-history row -> FillReport."""
    inst = inst_of(str(row["instId"]))
    return FillReport(
        trade_id=TradeId(str(row["tradeId"])), client_id=client_id_of(row),
        exchange_id=ExchangeOrderId(str(row["ordId"])), market=inst.market, side=side_of(row["side"]),
        price=dec(row["fillPx"]), amount=inst.to_base(dec(row["fillSz"])), fee=fee_paid(row.get("fee")),
        fee_asset=str(row.get("feeCcy") or inst.quote),
        liquidity=Liquidity.MAKER if row.get("execType") == "M" else Liquidity.TAKER,
        position_side=position_side_of(row.get("posSide")), realized_pnl=dec_or_zero(row.get("fillPnl")),
        ts=ms_to_s(row.get("fillTime") or row["ts"]))


def positions_of_row(row: Payload, inst: Instrument) -> list[tuple[PositionSide, Position | None]]:
    """One positions row -> pmm's (side, position or None) pairs.

    Net mode: `pos` is signed contracts and the other side is reported closed, so a flip leaves no
    stale side; 0 closes both. Long/short mode: the row is its side (`pos` positive).
    """
    side = position_side_of(row.get("posSide"))
    pos = dec_or_zero(row.get("pos"))
    pairs: list[tuple[PositionSide, Position | None]] = []
    if side is PositionSide.BOTH:
        if pos == 0:
            return [(PositionSide.LONG, None), (PositionSide.SHORT, None)]
        side = PositionSide.LONG if pos > 0 else PositionSide.SHORT
        pairs.append((PositionSide.SHORT if pos > 0 else PositionSide.LONG, None))
    elif pos == 0:
        return [(side, None)]
    mode = MarginMode.ISOLATED if row.get("mgnMode") == "isolated" else MarginMode.CROSS
    margin = row.get("margin") if mode is MarginMode.ISOLATED else row.get("imr")
    position = Position(inst.market, side, inst.to_base(abs(pos)), dec_or_zero(row.get("avgPx")),
                        max(1, int(dec_or_zero(row.get("lever")) or 1)), mode,
                        unrealized_pnl=dec_or_zero(row.get("upl")),
                        liquidation_price=dec_or_zero(row.get("liqPx")) or None,
                        mark_price=dec_or_zero(row.get("markPx")) or None, margin=dec_or_zero(margin))
    return [(side, position), *pairs]


def parse_balances(rows: Iterable[Payload]) -> list[Balance]:
    """GET /account/balance data (and `account` pushes) -> one Balance per currency.

    Total is the cash balance (deposits + realized PnL - fees + funding), available what new orders
    may use, margin in use what positions and orders hold.
    """
    out = []
    for account in rows:
        for d in account.get("details", ()):
            out.append(Balance(str(d["ccy"]), dec_or_zero(d.get("cashBal")),
                               dec_or_zero(d.get("availBal") or d.get("availEq")),
                               dec_or_zero(d.get("frozenBal")), dec_or_zero(d.get("upl"))))
    return out


def parse_fee_rates(rows: Iterable[Payload]) -> tuple[Decimal, Decimal]:
    """GET /account/trade-fee?instType=SWAP -> (maker, taker) of USDT-margined contracts, as paid."""
    row = next(iter(rows))
    maker, taker = row.get("makerU") or row["maker"], row.get("takerU") or row["taker"]
    return fee_paid(maker), fee_paid(taker)


def funding_rate_times(rows: Iterable[Payload]) -> dict[int, Decimal]:
    """GET /public/funding-rate-history -> {fundingTime ms: the rate that settled}."""
    return {int(r["fundingTime"]): dec(r.get("realizedRate") or r["fundingRate"]) for r in rows}


def parse_funding_bill(row: Payload, inst: Instrument, rates: dict[int, Decimal]) -> FundingPaymentReport:
    """One bills row of type 8 (funding fee) -> a funding payment.

    `balChg` is signed for the account (positive received), `ts` the funding time, `sz` the position
    in contracts (unsigned). The side follows from who paid: at a positive rate longs pay. The mark
    price is the bill's `px` when present, else what the payment implies.
    """
    time_ms = int(str(row["ts"]))
    amount = dec(row["balChg"])
    rate = rates.get(time_ms, ZERO)
    size = inst.to_base(abs(dec_or_zero(row.get("sz"))))
    long_side = (amount < 0) == (rate > 0) if rate and amount else True
    mark = dec_or_zero(row.get("px"))
    if not mark and rate and size:
        mark = abs(amount) / (size * abs(rate))
    return FundingPaymentReport(inst.market, time_ms, rate, amount, str(row.get("ccy") or inst.quote),
                                size if long_side else -size, mark)
