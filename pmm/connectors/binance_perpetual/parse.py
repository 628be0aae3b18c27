"""Binance payloads -> pmm events and model objects. Pure functions, no I/O.

Money and sizes are built from the payloads' decimal strings (`dec` refuses floats). Timestamps
arrive in milliseconds and leave as float seconds. An order status, side or position side this
module does not know raises `UnmappedValue`: the caller drops the payload and reconciles with the
venue instead of guessing. Descriptive fields (order types pmm never places, margin type spelling)
fall back to the closest meaning with a warning.

Market names: pmm's "BTC-USDT" is Binance's "BTCUSDT"; `to_symbol` / `SymbolMap` are the one place
that converts.

This module reads REST answers (and the primitives both read with); WebSocket events, market and
user data, are read in `parse_events.py`. What is the same for every venue (`dec`, book levels, `UnmappedValue`,
`BAD_PAYLOAD`) is `common/payloads.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.common.payloads import BAD_PAYLOAD as BAD_PAYLOAD  # callers' catch-all, re-exported
from pmm.connectors.common.payloads import MarketOf, Payload, UnmappedValue, book_levels, dec
from pmm.connectors.common.symbols import MarketSymbols, listed_examples
from pmm.core.events import BookSnapshot, FundingInfoUpdated
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


# --- primitives -----------------------------------------------------------------------------------


def ms_to_s(value: object) -> float:
    return int(value) / 1000  # type: ignore[call-overload]


def to_symbol(market: str) -> str:
    """pmm market "BTC-USDT" -> Binance symbol "BTCUSDT"."""
    return market.replace("-", "").upper()


class SymbolMap(MarketSymbols):
    """Binance symbol -> pmm market, for the markets in use (else split on a known quote asset)."""

    quote_assets = c.QUOTE_ASSETS
    to_symbol = staticmethod(to_symbol)


def side_of(value: str) -> Side:
    if value == c.SIDE_BUY:
        return Side.BUY
    if value == c.SIDE_SELL:
        return Side.SELL
    raise UnmappedValue(f"unknown Binance order side {value!r}")


def position_side_of(value: str) -> PositionSide:
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


def status_of(value: str) -> OrderStatus:
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


def margin_mode_of(value: str | None, default: MarginMode = MarginMode.CROSS) -> MarginMode:
    if value is None:
        return default
    lowered = value.lower()
    if lowered == c.MARGIN_TYPE_ISOLATED_LOWER:
        return MarginMode.ISOLATED
    if lowered in (c.MARGIN_TYPE_CROSS_LOWER, c.MARGIN_TYPE_CROSSED.lower()):
        return MarginMode.CROSS
    log.warning("unknown Binance margin type %r; assuming %s", value, default)
    return default


def positions_for_row(market: str, position_side: PositionSide, signed_amount: Decimal,
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


# --- market data ----------------------------------------------------------------------------------


def parse_trading_rules(exchange_info: Payload, market: str) -> TradingRules:
    """Tick from PRICE_FILTER, step and minimum size from LOT_SIZE, minimum notional from MIN_NOTIONAL."""
    symbol = to_symbol(market)
    entry = next((s for s in exchange_info.get("symbols", []) if s.get("symbol") == symbol), None)
    if entry is None:
        listed = (f"{row.get('baseAsset')}-{row.get('quoteAsset')}" for row in exchange_info.get("symbols", [])
                  if row.get("contractType", "PERPETUAL") == "PERPETUAL" and row.get("status", "TRADING") == "TRADING")
        raise ConfigError(f"Binance has no perpetual `{symbol}` for `market` {market}. Set `market` to one it "
                          f"lists: {listed_examples(listed, market)}.")
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
    return BookSnapshot(market, book_levels(payload["bids"]), book_levels(payload["asks"]),
                        int(payload["lastUpdateId"]), ts, recv_ts)


def parse_premium_index(payload: Payload, market: str, recv_ts: float) -> FundingInfoUpdated:
    info = FundingInfo(market, dec(payload["markPrice"]), dec(payload["indexPrice"]),
                       dec(payload["lastFundingRate"]), ms_to_s(payload["nextFundingTime"]),
                       c.DEFAULT_FUNDING_INTERVAL_S)
    return FundingInfoUpdated(info, ms_to_s(payload.get("time") or 0) or recv_ts, recv_ts)


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
        mode = margin_mode_of(row.get("marginType"), fallback) if "marginType" in row else fallback
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

        for _, position in positions_for_row(market, position_side_of(row["positionSide"]), signed_amount, build):
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
        market=market_of(row["symbol"]), side=side_of(row["side"]), order_type=order_type,
        price=price if price != 0 else None, amount=dec(row["origQty"]), filled=dec(row["executedQty"]),
        status=status_of(row["status"]), reduce_only=bool(row.get("reduceOnly", False)),
        position_side=position_side_of(row.get("positionSide", c.POSITION_SIDE_BOTH)),
        created_ts=ms_to_s(row.get("time") or row.get("updateTime") or 0))


def parse_open_orders(rows: Iterable[Payload], market_of: MarketOf) -> list[OrderReport]:
    return [parse_order_report(row, market_of) for row in rows]


def parse_user_trades(rows: Iterable[Payload], market_of: MarketOf,
                      client_id_of: Callable[[str], ClientOrderId]) -> list[FillReport]:
    """userTrades -> fills. The rows carry no client order id: `client_id_of(orderId)` supplies it."""
    return [FillReport(
        trade_id=TradeId(str(r["id"])), client_id=client_id_of(str(r["orderId"])),
        exchange_id=ExchangeOrderId(str(r["orderId"])), market=market_of(r["symbol"]), side=side_of(r["side"]),
        price=dec(r["price"]), amount=dec(r["qty"]), fee=dec(r["commission"]), fee_asset=str(r["commissionAsset"]),
        liquidity=Liquidity.MAKER if r["maker"] else Liquidity.TAKER,
        position_side=position_side_of(r.get("positionSide", c.POSITION_SIDE_BOTH)),
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
