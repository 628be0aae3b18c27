"""Binance payloads -> pmm events and model objects. Pure functions, no I/O.

Money and sizes are built from the payloads' decimal strings (`dec` refuses floats). Timestamps
arrive in milliseconds and leave as float seconds. An order status, side or position side this
module does not know raises `UnmappedValue`: the caller drops the payload and reconciles with the
venue instead of guessing. Descriptive fields (order types pmm never places, margin type spelling)
fall back to the closest meaning with a warning.

Market names: pmm's "BTC-USDT" is Binance's "BTCUSDT"; `to_symbol` / `SymbolMap` are the one place
that converts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.core.events import (
    BalanceUpdated,
    BookDelta,
    BookSnapshot,
    Event,
    FundingInfoUpdated,
    Level,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    PositionUpdated,
    Trade,
)
from pmm.core.model import (
    ZERO,
    Balance,
    ClientOrderId,
    ExchangeOrderId,
    FillReport,
    FundingInfo,
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
from pmm.errors import ConfigError

log = logging.getLogger("pmm.binance.parse")

Payload = Mapping[str, Any]


class UnmappedValue(ValueError):
    """A venue value pmm cannot interpret safely (order status, side, position side)."""


# What reading a malformed payload raises. Callers drop the message, count and log it, and resync
# what it concerns (the order book, or the account) instead of guessing.
BAD_PAYLOAD = (UnmappedValue, KeyError, IndexError, ValueError, TypeError, AttributeError, ArithmeticError)


# --- primitives -----------------------------------------------------------------------------------


def dec(value: object) -> Decimal:
    """Decimal from a payload value: strings (and exact ints) only, never floats; finite only."""
    if isinstance(value, str):
        number = Decimal(value)
    elif isinstance(value, Decimal):
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    else:
        raise TypeError(f"expected a decimal string, got {type(value).__name__} {value!r}")
    if not number.is_finite():  # "NaN" and "Infinity" parse, but are no price or size
        raise ValueError(f"expected a finite number, got {value!r}")
    return number


def ms_to_s(value: object) -> float:
    return int(value) / 1000  # type: ignore[call-overload]


def to_symbol(market: str) -> str:
    """pmm market "BTC-USDT" -> Binance symbol "BTCUSDT"."""
    return market.replace("-", "").upper()


class SymbolMap:
    """Binance symbol -> pmm market, for the markets in use (else split on a known quote asset)."""

    def __init__(self, markets: Iterable[str] = ()) -> None:
        self._markets: dict[str, str] = {}
        for market in markets:
            self.add(market)

    def add(self, market: str) -> str:
        symbol = to_symbol(market)
        self._markets[symbol] = market
        return symbol

    def market(self, symbol: str) -> str:
        known = self._markets.get(symbol)
        if known is not None:
            return known
        for quote in c.QUOTE_ASSETS:
            if symbol.endswith(quote) and len(symbol) > len(quote):
                return f"{symbol[:-len(quote)]}-{quote}"
        return symbol

    __call__ = market


MarketOf = Callable[[str], str]


def _side(value: str) -> Side:
    if value == c.SIDE_BUY:
        return Side.BUY
    if value == c.SIDE_SELL:
        return Side.SELL
    raise UnmappedValue(f"unknown Binance order side {value!r}")


def _position_side(value: str) -> PositionSide:
    match value:
        case c.POSITION_SIDE_BOTH:
            return PositionSide.BOTH
        case c.POSITION_SIDE_LONG:
            return PositionSide.LONG
        case c.POSITION_SIDE_SHORT:
            return PositionSide.SHORT
    raise UnmappedValue(f"unknown Binance position side {value!r}")


_STATUSES: dict[str, OrderStatus] = {
    c.STATUS_NEW: OrderStatus.OPEN,
    c.STATUS_PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    c.STATUS_FILLED: OrderStatus.FILLED,
    c.STATUS_CANCELED: OrderStatus.CANCELLED,
    c.STATUS_EXPIRED: OrderStatus.CANCELLED,
    c.STATUS_EXPIRED_IN_MATCH: OrderStatus.CANCELLED,
}


def _status(value: str) -> OrderStatus:
    status = _STATUSES.get(value)
    if status is None:
        raise UnmappedValue(f"unknown Binance order status {value!r}")
    return status


def order_type_of(binance_type: str, time_in_force: str) -> OrderType:
    if binance_type == c.ORDER_TYPE_LIMIT:
        return OrderType.LIMIT_MAKER if time_in_force == c.TIF_GTX else OrderType.LIMIT
    if binance_type in (c.ORDER_TYPE_MARKET, c.ORDER_TYPE_LIQUIDATION):
        return OrderType.MARKET
    # Stop / take-profit / trailing orders are never placed by pmm; only described.
    log.warning("Binance order type %s is not one pmm places; treating it as %s", binance_type,
                "market" if binance_type.endswith(c.ORDER_TYPE_MARKET) else "limit")
    return OrderType.MARKET if binance_type.endswith(c.ORDER_TYPE_MARKET) else OrderType.LIMIT


def _margin_mode(value: str | None, default: MarginMode = MarginMode.CROSS) -> MarginMode:
    if value is None:
        return default
    lowered = value.lower()
    if lowered == c.MARGIN_TYPE_ISOLATED_LOWER:
        return MarginMode.ISOLATED
    if lowered in (c.MARGIN_TYPE_CROSS_LOWER, c.MARGIN_TYPE_CROSSED.lower()):
        return MarginMode.CROSS
    log.warning("unknown Binance margin type %r; assuming %s", value, default)
    return default


def _levels(rows: Iterable[Iterable[Any]]) -> tuple[Level, ...]:
    levels = tuple((dec(price), dec(size)) for price, size in rows)
    for price, size in levels:
        if price <= 0 or size < 0:
            raise ValueError(f"impossible order book level: price {price}, size {size}")
    return levels


# --- market data ----------------------------------------------------------------------------------


def parse_trading_rules(exchange_info: Payload, market: str) -> TradingRules:
    """Tick from PRICE_FILTER, step and minimum size from LOT_SIZE, minimum notional from MIN_NOTIONAL."""
    symbol = to_symbol(market)
    entry = next((s for s in exchange_info.get("symbols", []) if s.get("symbol") == symbol), None)
    if entry is None:
        raise ConfigError(f"Binance has no perpetual `{symbol}` for `market` {market}. Use a listed USD-M "
                          "perpetual such as BTC-USDT.")
    if entry.get("contractType", "PERPETUAL") != "PERPETUAL" or entry.get("status", "TRADING") != "TRADING":
        raise ConfigError(f"Binance {symbol} is not a trading perpetual (contract {entry.get('contractType')}, "
                          f"status {entry.get('status')}); choose another `market`.")
    filters = {f["filterType"]: f for f in entry.get("filters", [])}
    try:
        price_filter, lot = filters["PRICE_FILTER"], filters["LOT_SIZE"]
    except KeyError as exc:
        raise ConfigError(f"Binance exchangeInfo for {symbol} lacks the {exc.args[0]} filter.") from None
    min_notional = dec(filters["MIN_NOTIONAL"]["notional"]) if "MIN_NOTIONAL" in filters else ZERO
    return TradingRules(
        market=market,
        base=entry.get("baseAsset", market.split("-")[0]),
        quote=entry.get("quoteAsset", market.split("-")[-1]),
        tick_size=dec(price_filter["tickSize"]),
        step_size=dec(lot["stepSize"]),
        min_size=dec(lot["minQty"]),
        min_notional=min_notional,
        max_leverage=c.DEFAULT_MAX_LEVERAGE,
    )


def parse_depth_snapshot(payload: Payload, market: str, recv_ts: float) -> BookSnapshot:
    ts = ms_to_s(payload.get("T") or payload.get("E") or 0) or recv_ts
    return BookSnapshot(market, _levels(payload["bids"]), _levels(payload["asks"]),
                        int(payload["lastUpdateId"]), ts, recv_ts)


@dataclass(frozen=True, slots=True)
class DepthUpdate:
    """A diff-depth event with the sequence numbers the book sync checks."""

    first_id: int  # U
    final_id: int  # u
    prev_final_id: int  # pu
    delta: BookDelta


def parse_depth_update(payload: Payload, market: str, recv_ts: float) -> DepthUpdate:
    first_id, final_id, prev_final_id = int(payload["U"]), int(payload["u"]), int(payload["pu"])
    if not prev_final_id < first_id <= final_id:  # an event covers U..u, after the previous event's u
        raise ValueError(f"inconsistent depth update ids U={first_id} u={final_id} pu={prev_final_id}")
    ts = ms_to_s(payload.get("T") or payload["E"])
    delta = BookDelta(market, _levels(payload.get("b", ())), _levels(payload.get("a", ())), final_id, ts, recv_ts)
    return DepthUpdate(first_id, final_id, prev_final_id, delta)


def parse_trade(payload: Payload, market: str, recv_ts: float) -> Trade:
    """`aggTrade` (id `a`) or `trade` (id `t`). `m`: the buyer was the maker, so the seller took."""
    trade_id = payload["a"] if payload.get("e") == c.EVENT_AGG_TRADE else payload["t"]
    aggressor = Side.SELL if payload["m"] else Side.BUY
    return Trade(market, TradeId(str(trade_id)), dec(payload["p"]), dec(payload["q"]), aggressor,
                 ms_to_s(payload["T"]), recv_ts)


def parse_mark_price(payload: Payload, market: str, recv_ts: float) -> FundingInfoUpdated:
    """`markPriceUpdate`: p mark, i index, r funding rate, T next funding time (ms)."""
    info = FundingInfo(market, dec(payload["p"]), dec(payload["i"]), dec(payload["r"]), ms_to_s(payload["T"]),
                       c.DEFAULT_FUNDING_INTERVAL_S)
    return FundingInfoUpdated(info, ms_to_s(payload["E"]), recv_ts)


def parse_premium_index(payload: Payload, market: str, recv_ts: float) -> FundingInfoUpdated:
    info = FundingInfo(market, dec(payload["markPrice"]), dec(payload["indexPrice"]),
                       dec(payload["lastFundingRate"]), ms_to_s(payload["nextFundingTime"]),
                       c.DEFAULT_FUNDING_INTERVAL_S)
    return FundingInfoUpdated(info, ms_to_s(payload.get("time") or 0) or recv_ts, recv_ts)


# --- user data stream -----------------------------------------------------------------------------


def parse_order_trade_update(payload: Payload, market_of: MarketOf, recv_ts: float) -> list[Event]:
    """ORDER_TRADE_UPDATE -> OrderAccepted / OrderFilled / OrderCancelled / OrderRejected.

    A post-only (GTX) order that would have crossed is accepted and then EXPIRED by Binance with
    nothing filled: that is a rejection (code -5022), not a cancel.
    """
    o = payload["o"]
    client_id, exchange_id = ClientOrderId(str(o["c"])), ExchangeOrderId(str(o["i"]))
    market = market_of(o["s"])
    side = _side(o["S"])
    status = _status(o["X"])
    execution = o["x"]
    ts = ms_to_s(payload.get("E") or o["T"])
    match execution:
        case c.EXEC_NEW:
            return [OrderAccepted(client_id, exchange_id, market, ts, recv_ts)]
        case c.EXEC_TRADE | c.EXEC_CALCULATED:
            amount = dec(o["l"])
            commission = dec(o.get("n") or "0")
            return [OrderFilled(
                client_id=client_id, exchange_id=exchange_id, trade_id=TradeId(str(o["t"])), market=market,
                side=side, order_type=order_type_of(o["o"], o.get("f", "")), price=dec(o["L"]), amount=amount,
                remaining=dec(o["q"]) - dec(o["z"]), fee=commission,
                fee_asset=str(o.get("N") or market.split("-")[-1]),
                liquidity=Liquidity.MAKER if o.get("m") else Liquidity.TAKER,
                position_side=_position_side(o.get("ps", c.POSITION_SIDE_BOTH)),
                realized_pnl=dec(o.get("rp") or "0"), ts=ms_to_s(o["T"]), recv_ts=recv_ts)]
        case c.EXEC_CANCELED:
            return [OrderCancelled(client_id, exchange_id, market, ts, recv_ts)]
        case c.EXEC_EXPIRED:
            if o.get("f") == c.TIF_GTX and status is OrderStatus.CANCELLED and dec(o["z"]) == 0:
                return [OrderRejected(client_id, market, "post-only order would have crossed the book",
                                      str(int(c.ErrorCode.GTX_ORDER_REJECT)), ts, recv_ts)]
            return [OrderCancelled(client_id, exchange_id, market, ts, recv_ts)]
        case c.EXEC_AMENDMENT:
            return []  # pmm never amends orders; nothing to track
    raise UnmappedValue(f"unknown Binance execution type {execution!r} for order {client_id}")


@dataclass(frozen=True, slots=True)
class WalletBalance:
    """One `B` row of ACCOUNT_UPDATE: wallet balance, cross wallet balance, change (excl. PnL/fees)."""

    asset: str
    wallet: Decimal
    cross_wallet: Decimal
    change: Decimal


@dataclass(frozen=True, slots=True)
class AccountUpdate:
    reason: str  # `m`: ORDER, FUNDING_FEE, DEPOSIT, ...
    balances: tuple[WalletBalance, ...]
    positions: tuple[PositionUpdated, ...]
    ts: float

    @property
    def is_funding_fee(self) -> bool:
        return self.reason == c.ACCOUNT_UPDATE_REASON_FUNDING_FEE


def _positions_for_row(market: str, position_side: PositionSide, signed_amount: Decimal,
                       build: Callable[[PositionSide, Decimal], Position]) -> list[tuple[PositionSide, Position | None]]:
    """One venue row -> pmm's (side, position or None) pairs.

    One-way rows (BOTH) carry a signed amount: positive is LONG, negative SHORT, and the other side
    is reported closed so a flip from long to short leaves no stale long behind. Zero closes both.
    """
    if position_side is PositionSide.BOTH:
        if signed_amount > 0:
            return [(PositionSide.LONG, build(PositionSide.LONG, signed_amount)), (PositionSide.SHORT, None)]
        if signed_amount < 0:
            return [(PositionSide.SHORT, build(PositionSide.SHORT, -signed_amount)), (PositionSide.LONG, None)]
        return [(PositionSide.LONG, None), (PositionSide.SHORT, None)]
    amount = abs(signed_amount)
    return [(position_side, build(position_side, amount) if amount != 0 else None)]


def parse_account_update(payload: Payload, market_of: MarketOf, recv_ts: float,
                         leverage_of: Callable[[str], int]) -> AccountUpdate:
    """ACCOUNT_UPDATE -> wallet balances and PositionUpdated events (FUNDING_FEE carries no P for cross)."""
    a = payload["a"]
    ts = ms_to_s(payload.get("T") or payload["E"])
    balances = tuple(WalletBalance(str(b["a"]), dec(b["wb"]), dec(b.get("cw") or b["wb"]), dec(b.get("bc") or "0"))
                     for b in a.get("B", ()))
    updates: list[PositionUpdated] = []
    for p in a.get("P", ()):
        market = market_of(p["s"])
        mode = _margin_mode(p.get("mt"))

        def build(side: PositionSide, amount: Decimal, p: Payload = p, market: str = market,
                  mode: MarginMode = mode) -> Position:
            return Position(market, side, amount, dec(p["ep"]), leverage_of(market), mode,
                            unrealized_pnl=dec(p.get("up") or "0"),
                            margin=dec(p.get("iw") or "0") if mode is MarginMode.ISOLATED else ZERO)

        for side, position in _positions_for_row(market, _position_side(p["ps"]), dec(p["pa"]), build):
            updates.append(PositionUpdated(market, side, position, ts, recv_ts))
    return AccountUpdate(a.get("m", ""), balances, tuple(updates), ts)


def balance_from_wallet(wallet: WalletBalance, previous: Balance | None) -> Balance:
    """A Balance from an ACCOUNT_UPDATE row, which lacks the available balance.

    The wallet's change is applied to the last known available balance (the gateway trues it up
    from the account endpoint right after); with no history, the cross wallet balance stands in.
    """
    if previous is None:
        return Balance(wallet.asset, wallet.wallet, wallet.cross_wallet)
    available = previous.available + (wallet.wallet - previous.total)
    return Balance(wallet.asset, wallet.wallet, max(ZERO, available), previous.margin_in_use,
                   previous.unrealized_pnl)


def parse_balance_events(update: AccountUpdate, previous: Mapping[str, Balance],
                         recv_ts: float) -> list[BalanceUpdated]:
    return [BalanceUpdated(balance_from_wallet(w, previous.get(w.asset)), update.ts, recv_ts)
            for w in update.balances]


# --- REST reads -----------------------------------------------------------------------------------


def parse_position_risk(rows: Iterable[Payload], market_of: MarketOf,
                        leverage_hint: Mapping[str, int] | None = None,
                        margin_hint: Mapping[str, MarginMode] | None = None) -> list[Position]:
    """positionRisk v2 or v3 -> open positions (zero rows dropped).

    v3 lacks `leverage` and `marginType`: they come from what the gateway set (the hints), else
    from the position's notional / initial margin and whether it has an isolated wallet.
    """
    out: list[Position] = []
    for row in rows:
        signed_amount = dec(row["positionAmt"])
        if signed_amount == 0:
            continue
        market = market_of(row["symbol"])
        notional = abs(dec(row.get("notional") or "0"))
        if "leverage" in row:
            leverage = int(row["leverage"])
        elif leverage_hint and market in leverage_hint:
            leverage = leverage_hint[market]
        else:
            initial = dec(row.get("positionInitialMargin") or row.get("initialMargin") or "0")
            leverage = max(1, int((notional / initial).to_integral_value())) if initial else 1
        isolated_wallet = dec(row.get("isolatedWallet") or "0")
        fallback = (margin_hint or {}).get(market) or (MarginMode.ISOLATED if isolated_wallet else MarginMode.CROSS)
        mode = _margin_mode(row.get("marginType"), fallback) if "marginType" in row else fallback
        liquidation = dec(row.get("liquidationPrice") or "0")
        margin = dec(row.get("isolatedMargin") or "0") if mode is MarginMode.ISOLATED else \
            dec(row.get("positionInitialMargin") or row.get("initialMargin") or "0")

        def build(side: PositionSide, amount: Decimal, row: Payload = row, market: str = market,
                  leverage: int = leverage, mode: MarginMode = mode, liquidation: Decimal = liquidation,
                  margin: Decimal = margin) -> Position:
            return Position(market, side, amount, dec(row["entryPrice"]), leverage, mode,
                            unrealized_pnl=dec(row.get("unRealizedProfit") or "0"),
                            liquidation_price=liquidation or None,
                            mark_price=dec(row["markPrice"]) if row.get("markPrice") else None, margin=margin)

        for _, position in _positions_for_row(market, _position_side(row["positionSide"]), signed_amount, build):
            if position is not None:
                out.append(position)
    return out


def parse_account_balances(account: Payload) -> list[Balance]:
    """GET /fapi/v3/account `assets[]` -> balances (wallet, available, initial margin, unrealized)."""
    return [Balance(str(a["asset"]), dec(a["walletBalance"]), dec(a["availableBalance"]),
                    dec(a.get("initialMargin") or "0"), dec(a.get("unrealizedProfit") or "0"))
            for a in account.get("assets", ())]


def parse_balances(rows: Iterable[Payload]) -> list[Balance]:
    """GET /fapi/v3/balance -> balances (no margin in use in this shape)."""
    return [Balance(str(r["asset"]), dec(r["balance"]), dec(r["availableBalance"]),
                    unrealized_pnl=dec(r.get("crossUnPnl") or "0")) for r in rows]


def parse_order_report(row: Payload, market_of: MarketOf) -> OrderReport:
    order_type = order_type_of(row["type"], row.get("timeInForce", ""))
    price = dec(row.get("price") or "0")
    return OrderReport(
        client_id=ClientOrderId(str(row["clientOrderId"])), exchange_id=ExchangeOrderId(str(row["orderId"])),
        market=market_of(row["symbol"]), side=_side(row["side"]), order_type=order_type,
        price=price if price != 0 else None, amount=dec(row["origQty"]), filled=dec(row["executedQty"]),
        status=_status(row["status"]), reduce_only=bool(row.get("reduceOnly", False)),
        position_side=_position_side(row.get("positionSide", c.POSITION_SIDE_BOTH)),
        created_ts=ms_to_s(row.get("time") or row.get("updateTime") or 0))


def parse_open_orders(rows: Iterable[Payload], market_of: MarketOf) -> list[OrderReport]:
    return [parse_order_report(row, market_of) for row in rows]


def parse_user_trades(rows: Iterable[Payload], market_of: MarketOf,
                      client_id_of: Callable[[str], ClientOrderId]) -> list[FillReport]:
    """userTrades -> fills. The rows carry no client order id: `client_id_of(orderId)` supplies it."""
    return [FillReport(
        trade_id=TradeId(str(r["id"])), client_id=client_id_of(str(r["orderId"])),
        exchange_id=ExchangeOrderId(str(r["orderId"])), market=market_of(r["symbol"]), side=_side(r["side"]),
        price=dec(r["price"]), amount=dec(r["qty"]), fee=dec(r["commission"]), fee_asset=str(r["commissionAsset"]),
        liquidity=Liquidity.MAKER if r["maker"] else Liquidity.TAKER,
        position_side=_position_side(r.get("positionSide", c.POSITION_SIDE_BOTH)),
        realized_pnl=dec(r.get("realizedPnl") or "0"), ts=ms_to_s(r["time"])) for r in rows]


def parse_funding_rates(rows: Iterable[Payload]) -> dict[int, tuple[Decimal, Decimal]]:
    """GET /fapi/v1/fundingRate -> {fundingTime ms: (rate, mark price)}."""
    return {int(r["fundingTime"]): (dec(r["fundingRate"]), dec(r.get("markPrice") or "0")) for r in rows}


_FUNDING_MATCH_MS = 60_000  # an income row is stamped at (or just after) its funding time


def parse_funding_income(rows: Iterable[Payload], market_of: MarketOf,
                         rates: Mapping[int, tuple[Decimal, Decimal]]) -> list[FundingPaymentReport]:
    """income rows of type FUNDING_FEE -> payments; rate and mark come from the funding-rate history.

    The income row has no position size; it is derived as -income / (mark x rate) (positive rate:
    longs pay), rounded to 8 decimals, and is 0 when the rate is unknown.
    """
    out: list[FundingPaymentReport] = []
    for r in rows:
        if r.get("incomeType") != c.INCOME_FUNDING_FEE:
            continue
        time_ms = int(r["time"])
        amount = dec(r["income"])
        nearest = min(rates, key=lambda t: abs(t - time_ms), default=None)
        rate = mark = ZERO
        if nearest is not None and abs(nearest - time_ms) <= _FUNDING_MATCH_MS:
            rate, mark = rates[nearest]
            time_ms = nearest
        position = ZERO
        if rate != 0 and mark != 0:
            position = (-amount / (mark * rate)).quantize(Decimal("1e-8")).normalize()
        out.append(FundingPaymentReport(market_of(r["symbol"]), time_ms, rate, amount, str(r["asset"]), position, mark))
    return out


def parse_commission_rate(payload: Payload) -> tuple[Decimal, Decimal]:
    return dec(payload["makerCommissionRate"]), dec(payload["takerCommissionRate"])


def parse_listen_key(payload: Payload) -> str:
    return str(payload["listenKey"])
