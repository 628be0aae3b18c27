"""BitMEX payloads -> pmm events and model objects. Pure functions, no I/O.

Sizes are contracts everywhere (orders, book, trades, executions, positions): the `Instrument` of each
market converts them to base units exactly (qty / `underlyingToPositionMultiplier`; for XBTUSDT one
contract is 0.000001 BTC) and back (down to `lotSize`, never bigger than asked). Margin, wallet and
commission figures (`execComm`, `walletBalance`, `unrealisedPnl`, ...) are integers in the settle
currency's smallest unit (millionths of USDT). BitMEX's positive `execComm` is a fee paid, as pmm's.
Prices arrive as JSON numbers (read as Decimal, never float); timestamps as ISO-8601 UTC text.

Client order ids: BitMEX's `clOrdID` takes up to 36 characters; pmm's ("pmm-1a2b3c4d-17") are sent
as they are. An order placed without one is named "bitmex-<orderID>".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from pmm.connectors.bitmex_perpetual import spec
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

log = logging.getLogger("pmm.bitmex.parse")

STAND_IN_PREFIX = "bitmex-"  # the client id of an order placed without a clOrdID
_EPOCH_2000 = datetime(2000, 1, 1, tzinfo=UTC)
MONEY_STEP = Decimal("1e-8")  # fees, funding and PnL worked out from rates carry 8 decimals


def dec_or_zero(value: object) -> Decimal:
    """Like `dec`, with a missing field (None) meaning zero."""
    return ZERO if value is None or value == "" else dec(value)


def iso_to_s(value: object) -> float:
    """`2024-01-01T08:00:00.000Z` -> unix seconds."""
    text = str(value)
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text).timestamp()


def s_to_iso(seconds: float) -> str:
    """Unix seconds -> BitMEX's `2024-01-01T08:00:00.000Z` (milliseconds)."""
    moment = datetime.fromtimestamp(round(seconds * 1000) / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def interval_s(value: object) -> float:
    """BitMEX writes an interval as a time after 2000-01-01 ("2000-01-01T08:00:00.000Z" = 8 h)."""
    return iso_to_s(value) - _EPOCH_2000.timestamp()


def money(value: object) -> Decimal:
    """An integer figure in millionths of USDT (margin, wallet, execComm) -> USDT."""
    return dec_or_zero(value) / spec.MARGIN_SCALE


def asset_of(currency: object) -> str:
    """BitMEX's currency name ("USDt", "XBt") -> the asset pmm names ("USDT", "XBT")."""
    return str(currency).upper()


# --- client order ids -----------------------------------------------------------------------------


def to_cl_ord_id(client_id: str) -> str:
    """pmm's client id as BitMEX's clOrdID: sent as it is when it fits (printable ASCII, <= 36)."""
    if not client_id or len(client_id) > spec.CLORDID_MAX_LEN or not client_id.isascii() \
            or not client_id.isprintable() or " " in client_id:
        raise OrderError(f"client order id {client_id!r} does not fit BitMEX's clOrdID (at most "
                         f"{spec.CLORDID_MAX_LEN} printable ASCII characters, no spaces); not sent.")
    return client_id


def client_id_of(row: Payload) -> ClientOrderId:
    text = str(row.get("clOrdID") or "")
    return ClientOrderId(text if text else f"{STAND_IN_PREFIX}{row['orderID']}")


# --- enums ----------------------------------------------------------------------------------------


def side_of(value: object) -> Side:
    if value == "Buy":
        return Side.BUY
    if value == "Sell":
        return Side.SELL
    raise UnmappedValue(f"unknown BitMEX side {value!r}")


_STATES = {"New": OrderStatus.OPEN, "PartiallyFilled": OrderStatus.PARTIALLY_FILLED, "Filled": OrderStatus.FILLED,
           "Canceled": OrderStatus.CANCELLED, "Expired": OrderStatus.CANCELLED, "Stopped": OrderStatus.CANCELLED,
           "Rejected": OrderStatus.REJECTED, "PendingNew": OrderStatus.OPEN, "PendingCancel": OrderStatus.OPEN,
           "Untriggered": OrderStatus.OPEN, "Triggered": OrderStatus.OPEN}


def status_of(value: object) -> OrderStatus:
    status = _STATES.get(str(value))
    if status is None:
        raise UnmappedValue(f"unknown BitMEX ordStatus {value!r}")
    return status


def exec_insts(row: Payload) -> set[str]:
    """`execInst` is a comma-separated list ("ParticipateDoNotInitiate,ReduceOnly")."""
    return {part.strip() for part in str(row.get("execInst") or "").split(",") if part.strip()}


def order_type_of(row: Payload) -> OrderType:
    match row.get("ordType"):
        case "Limit":
            return OrderType.LIMIT_MAKER if spec.EXEC_POST_ONLY in exec_insts(row) else OrderType.LIMIT
        case "Market":
            return OrderType.MARKET
    log.warning("BitMEX ordType %r is not one pmm places; treating it as limit", row.get("ordType"))
    return OrderType.LIMIT


def liquidity_of(value: object) -> Liquidity:
    return Liquidity.MAKER if value == "AddedLiquidity" else Liquidity.TAKER


# --- instruments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instrument:
    """One linear perpetual's grid and contract size; converts contracts <-> base units exactly."""

    market: str
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal        # contracts
    multiplier: Decimal      # underlyingToPositionMultiplier: contracts per one base unit
    max_leverage: int

    def to_base(self, contracts: Decimal) -> Decimal:
        return spec.contracts_to_base(contracts, self.multiplier)

    def to_contracts(self, base: Decimal) -> Decimal:
        return spec.base_to_contracts(base, self.multiplier, self.lot_size)

    def rules(self) -> TradingRules:
        """Trading rules in base units: one lot is both the size step and the minimum."""
        lot = self.to_base(self.lot_size)
        return TradingRules(self.market, self.base, self.quote, self.tick_size, lot, lot, ZERO, self.max_leverage)


def parse_spot_instrument(rows: Iterable[Payload], market: str) -> Instrument:
    """GET /api/v1/instrument?symbol=XBT_USDT -> the open spot pair of `market` (a price source only:
    sizes in the base currency's minor unit, `underlyingToPositionMultiplier` of them per coin)."""
    symbol = spec.to_spot_symbol(market)
    row = next((r for r in rows if r.get("symbol") == symbol), None)
    if row is None or row.get("typ") != spec.SPOT_TYP or row.get("state") != "Open":
        raise ConfigError(f"BitMEX lists no open spot pair `{symbol}` for {market}. Use a listed pair such as "
                          "BTC-USDT (XBT_USDT) as the price source.")
    base, _, quote = market.upper().partition("-")
    return Instrument(market, symbol, base, quote, dec(row["tickSize"]), dec(row["lotSize"]),
                      dec(row["underlyingToPositionMultiplier"]), 1)


def parse_instrument(rows: Iterable[Payload], market: str) -> Instrument:
    """GET /api/v1/instrument?symbol=XBTUSDT -> the open linear USDT perpetual of `market`."""
    if spec.is_inverse_market(market):
        raise ConfigError(f"`market` {market} is a BitMEX inverse contract (margined in the coin, such as XBTUSD): "
                          "out of scope, as pmm's accounting is linear and USDT-margined. Use BTC-USDT (XBTUSDT) "
                          "or ETH-USDT (ETHUSDT).")
    symbol = spec.to_venue_symbol(market)
    row = next((r for r in rows if r.get("symbol") == symbol), None)
    if row is None:
        raise ConfigError(f"BitMEX lists no perpetual `{symbol}` for `market` {market}. Use a listed USDT "
                          "perpetual such as BTC-USDT (XBTUSDT).")
    if row.get("typ") != spec.LINEAR_PERPETUAL_TYP or row.get("isInverse") or row.get("state") != "Open" \
            or str(row.get("settlCurrency")) != spec.SETTLE_CURRENCY:
        raise ConfigError(f"BitMEX {symbol} is not an open USDT-margined linear perpetual (typ {row.get('typ')}, "
                          f"state {row.get('state')}, settled in {row.get('settlCurrency')}); choose another "
                          "`market`.")
    base, _, quote = market.upper().partition("-")
    init_margin = dec_or_zero(row.get("initMargin"))
    max_leverage = int(1 / init_margin) if init_margin > 0 else 100
    return Instrument(market, symbol, base, quote, dec(row["tickSize"]), dec(row["lotSize"]),
                      dec(row["underlyingToPositionMultiplier"]), max(1, max_leverage))


def funding_fields(row: Payload) -> dict[str, object]:
    """The funding-info fields an `instrument` row (partial or update) carries."""
    fields: dict[str, object] = {}
    if row.get("markPrice") is not None:
        fields["mark"] = dec(row["markPrice"])
    if row.get("indicativeSettlePrice") is not None:  # a perpetual's index price
        fields["index"] = dec(row["indicativeSettlePrice"])
    if row.get("fundingRate") is not None:
        fields["rate"] = dec(row["fundingRate"])
    if row.get("fundingTimestamp"):
        fields["next_ts"] = iso_to_s(row["fundingTimestamp"])
    if row.get("fundingInterval"):
        fields["interval_s"] = interval_s(row["fundingInterval"])
    return fields


# --- public tables --------------------------------------------------------------------------------


def parse_trades(rows: Iterable[Payload], inst: Instrument, recv_ts: float) -> list[Trade]:
    """`trade` rows (REST and stream): `side` is the taker's, `size` in contracts."""
    return [Trade(inst.market, TradeId(str(t["trdMatchID"])), dec(t["price"]), inst.to_base(dec(t["size"])),
                  side_of(t["side"]), iso_to_s(t["timestamp"]), recv_ts) for t in rows]


# --- account rows (REST and private tables) -------------------------------------------------------

InstrumentOf = Callable[[str], Instrument]  # symbol -> the market's instrument


def parse_order_report(row: Payload, inst_of: InstrumentOf) -> OrderReport:
    """One GET /order row -> OrderReport (sizes in base units)."""
    inst = inst_of(str(row["symbol"]))
    order_type = order_type_of(row)
    price = dec_or_zero(row.get("price"))
    return OrderReport(
        client_id=client_id_of(row), exchange_id=ExchangeOrderId(str(row["orderID"])), market=inst.market,
        side=side_of(row["side"]), order_type=order_type,
        price=price if price and order_type is not OrderType.MARKET else None,
        amount=inst.to_base(dec(row["orderQty"])), filled=inst.to_base(dec_or_zero(row.get("cumQty"))),
        status=status_of(row["ordStatus"]),
        reduce_only=bool(exec_insts(row) & {spec.EXEC_REDUCE_ONLY, spec.EXEC_CLOSE}),
        position_side=PositionSide.BOTH, created_ts=iso_to_s(row.get("transactTime") or row["timestamp"]))


def rejection_of(row: Payload) -> str | None:
    """Why BitMEX canceled or rejected an order at once, from its text; None for a plain cancel."""
    text = str(row.get("text") or "")
    if str(row.get("ordStatus")) == "Rejected":
        return str(row.get("ordRejReason") or text or "rejected by BitMEX")
    if text.startswith(spec.POST_ONLY_CANCEL_TEXT) and dec_or_zero(row.get("cumQty")) == 0:
        return "post-only order would have crossed the book (" + text.split("\n")[0] + ")"
    return None


def fill_fee(row: Payload) -> Decimal:
    """The fee of a trade execution: `commission` (the rate) x `execCost` (the fill's value, in
    millionths), the fee before BitMEX rounds it to a whole millionth in `execComm`; `execComm` when
    either is missing."""
    rate, cost = row.get("commission"), row.get("execCost")
    if rate is None or cost is None:
        return money(row.get("execComm"))
    return (dec(rate) * abs(dec(cost)) / spec.MARGIN_SCALE).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)


def parse_fill(row: Payload, inst: Instrument, recv_ts: float, realized_pnl: Decimal = ZERO) -> OrderFilled:
    """One `execution` row of execType Trade -> OrderFilled (fee and sizes converted). BitMEX puts no
    realized PnL on an execution: the gateway works it out (`pnl.py`) and passes it in."""
    return OrderFilled(
        client_id_of(row), ExchangeOrderId(str(row["orderID"])), TradeId(str(row["execID"])), inst.market,
        side_of(row["side"]), order_type_of(row), dec(row["lastPx"]), inst.to_base(dec(row["lastQty"])),
        inst.to_base(dec_or_zero(row.get("leavesQty"))), fill_fee(row), inst.quote,
        liquidity_of(row.get("lastLiquidityInd")), PositionSide.BOTH, realized_pnl,
        iso_to_s(row.get("transactTime") or row["timestamp"]), recv_ts)


OrderEvent = OrderAccepted | OrderCancelled | OrderFilled | OrderRejected


def parse_execution(row: Payload, inst: Instrument, recv_ts: float) -> list[OrderEvent]:
    """One `execution` row of an order -> its event: New is OrderAccepted, Trade OrderFilled, Canceled
    OrderCancelled (OrderRejected for a post-only order BitMEX canceled because it would have taken
    liquidity), Rejected OrderRejected. Other execTypes (Funding, Settlement, Replaced) give none here."""
    exec_type = row.get("execType")
    client_id, ts = client_id_of(row), iso_to_s(row.get("transactTime") or row["timestamp"])
    if exec_type == spec.EXEC_TYPE_TRADE:
        return [parse_fill(row, inst, recv_ts)]
    if exec_type == "New":
        return [OrderAccepted(client_id, ExchangeOrderId(str(row["orderID"])), inst.market, ts, recv_ts)]
    if exec_type in ("Canceled", "Rejected", "Expired"):
        reason = rejection_of(row)
        if reason is not None:
            return [OrderRejected(client_id, inst.market, reason, str(row.get("ordStatus")), ts, recv_ts)]
        return [OrderCancelled(client_id, ExchangeOrderId(str(row["orderID"])), inst.market, ts, recv_ts)]
    return []


def parse_fill_report(row: Payload, inst_of: InstrumentOf, realized_pnl: Decimal = ZERO) -> FillReport:
    """One /execution/tradeHistory row of execType Trade -> FillReport."""
    inst = inst_of(str(row["symbol"]))
    fill = parse_fill(row, inst, 0.0, realized_pnl)
    return FillReport(fill.trade_id, fill.client_id, fill.exchange_id, fill.market, fill.side, fill.price,
                      fill.amount, fill.fee, fill.fee_asset, fill.liquidity, PositionSide.BOTH, realized_pnl, fill.ts)


def parse_funding_execution(row: Payload, inst: Instrument) -> FundingPaymentReport:
    """One execution of execType Funding -> a funding payment.

    `commission` is the funding rate, `lastPx` the mark price it settled at, `homeNotional` the signed
    position in the base asset, `lastQty` the position in contracts (unsigned), `execComm` what the
    account paid in whole millionths (negative = received), `transactTime` the funding time. The
    amount is position x mark x rate, paid by longs at a positive rate.
    """
    rate = dec_or_zero(row.get("commission"))
    size = inst.to_base(abs(dec_or_zero(row.get("lastQty"))))
    if not size and row.get("homeNotional") is not None:
        size = abs(dec(row["homeNotional"]))
    amount = -money(row.get("execComm"))
    if row.get("homeNotional") is not None and row.get("lastPx") is not None:
        # position x mark x rate: the payment before BitMEX rounds it to a whole millionth
        amount = (-(dec(row["homeNotional"]) * dec(row["lastPx"]) * rate)).quantize(MONEY_STEP,
                                                                                     rounding=ROUND_HALF_UP)
    long_side = (amount < 0) == (rate > 0) if rate and amount else True
    time_ms = round(iso_to_s(row.get("transactTime") or row["timestamp"]) * 1000)
    return FundingPaymentReport(inst.market, time_ms, rate, amount, inst.quote, size if long_side else -size,
                                dec_or_zero(row.get("lastPx")))


def position_of_row(row: Payload, inst: Instrument) -> list[tuple[PositionSide, Position | None]]:
    """One (merged) position row -> pmm's (side, position or None) pairs. BitMEX keeps one net position
    per symbol: `currentQty` is signed contracts, and the other side is reported closed, so a flip
    leaves no stale side; 0 closes both."""
    qty = dec_or_zero(row.get("currentQty"))
    if qty == 0:
        return [(PositionSide.LONG, None), (PositionSide.SHORT, None)]
    side = PositionSide.LONG if qty > 0 else PositionSide.SHORT
    other = PositionSide.SHORT if qty > 0 else PositionSide.LONG
    cross = row.get("crossMargin")
    mode = MarginMode.CROSS if cross is None or bool(cross) else MarginMode.ISOLATED
    leverage = dec_or_zero(row.get("leverage"))
    position = Position(inst.market, side, inst.to_base(abs(qty)), dec_or_zero(row.get("avgEntryPrice")),
                        max(1, int(leverage) if leverage else 1), mode,
                        unrealized_pnl=money(row.get("unrealisedPnl")),
                        liquidation_price=dec_or_zero(row.get("liquidationPrice")) or None,
                        mark_price=dec_or_zero(row.get("markPrice")) or None,
                        margin=money(row.get("posMargin") or row.get("maintMargin")))
    return [(side, position), (other, None)]


def parse_margin(row: Payload) -> Balance:
    """One GET /user/margin row (or `margin` table row, merged) -> Balance in whole units.

    Total is the wallet balance (deposits + realised PnL - fees + funding), available what new orders
    may use (`availableMargin`), margin in use the margin balance that is not available.
    """
    wallet = money(row.get("walletBalance"))
    available = money(row.get("availableMargin"))
    margin_balance = money(row.get("marginBalance")) if row.get("marginBalance") is not None else wallet
    return Balance(asset_of(row["currency"]), wallet, available, max(ZERO, margin_balance - available),
                   money(row.get("unrealisedPnl")))


def parse_commission(payload: Payload, symbol: str) -> tuple[Decimal, Decimal]:
    """GET /user/commission ({symbol: {makerFee, takerFee, ...}}) -> (maker, taker) as paid."""
    row = payload[symbol]
    return dec(row["makerFee"]), dec(row["takerFee"])
