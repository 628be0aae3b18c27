"""Bybit v5 payloads -> pmm events and model objects. Pure functions, no I/O.

Money and sizes are built from the payloads' decimal strings (`dec` refuses floats). Timestamps
arrive in milliseconds and leave as float seconds. An order status, side or position index this
module does not know raises `UnmappedValue`: the caller drops the payload and reconciles with the
venue instead of guessing. Descriptive fields (order types pmm never places) fall back to the
closest meaning with a warning.

Market names: pmm's "BTC-USDT" is Bybit's "BTCUSDT"; `to_symbol` / `SymbolMap` are the one place
that converts. REST results are passed in already unwrapped from the envelope (`rest.py`).

This module reads REST answers and the rows REST and the private topics share; WebSocket messages
(orderbook, tickers, trades, and the order / execution / position / wallet topics) are read in
`parse_events.py`. What is the same for every venue (`dec`, book levels, `UnmappedValue`,
`BAD_PAYLOAD`) is `common/payloads.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from decimal import Decimal

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.common.payloads import BAD_PAYLOAD as BAD_PAYLOAD  # callers' catch-all, re-exported
from pmm.connectors.common.payloads import MarketOf, Payload, UnmappedValue, dec
from pmm.connectors.common.symbols import MarketSymbols
from pmm.core.events import FundingInfoUpdated
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

log = logging.getLogger("pmm.bybit.parse")


# --- primitives -----------------------------------------------------------------------------------


def dec_or_zero(value: object) -> Decimal:
    """Like `dec`, with Bybit's empty string (or a missing field) meaning zero."""
    if value is None or value == "":
        return ZERO
    return dec(value)


def ms_to_s(value: object) -> float:
    return int(str(value)) / 1000


def to_symbol(market: str) -> str:
    """pmm market "BTC-USDT" -> Bybit symbol "BTCUSDT"."""
    return market.replace("-", "").upper()


class SymbolMap(MarketSymbols):
    """Bybit symbol -> pmm market, for the markets in use (else split on a known quote asset)."""

    quote_assets = c.QUOTE_ASSETS
    to_symbol = staticmethod(to_symbol)


def client_id_of(row: Payload) -> ClientOrderId:
    """The order's `orderLinkId`; orders placed without one get a stable stand-in from `orderId`."""
    link = str(row.get("orderLinkId") or "")
    return ClientOrderId(link or f"bybit-{row['orderId']}")


def side_of(value: object) -> Side:
    if value == c.SIDE_BUY:
        return Side.BUY
    if value == c.SIDE_SELL:
        return Side.SELL
    raise UnmappedValue(f"unknown Bybit side {value!r}")


def position_side_of_idx(value: object) -> PositionSide:
    """positionIdx: 0 one-way, 1 hedge buy side (long), 2 hedge sell side (short)."""
    try:
        idx = int(str(value))
    except ValueError:
        raise UnmappedValue(f"unknown Bybit positionIdx {value!r}") from None
    match idx:
        case c.POSITION_IDX_ONEWAY:
            return PositionSide.BOTH
        case c.POSITION_IDX_HEDGE_BUY:
            return PositionSide.LONG
        case c.POSITION_IDX_HEDGE_SELL:
            return PositionSide.SHORT
    raise UnmappedValue(f"unknown Bybit positionIdx {value!r}")


_STATUSES: dict[str, OrderStatus] = {
    c.ORDER_STATUS_NEW: OrderStatus.OPEN,
    c.ORDER_STATUS_PARTIALLY_FILLED: OrderStatus.PARTIALLY_FILLED,
    c.ORDER_STATUS_UNTRIGGERED: OrderStatus.OPEN,
    c.ORDER_STATUS_TRIGGERED: OrderStatus.OPEN,
    c.ORDER_STATUS_FILLED: OrderStatus.FILLED,
    c.ORDER_STATUS_CANCELLED: OrderStatus.CANCELLED,
    c.ORDER_STATUS_PARTIALLY_FILLED_CANCELED: OrderStatus.CANCELLED,
    c.ORDER_STATUS_DEACTIVATED: OrderStatus.CANCELLED,
    c.ORDER_STATUS_REJECTED: OrderStatus.REJECTED,
}


def status_of(value: object) -> OrderStatus:
    status = _STATUSES.get(str(value))
    if status is None:
        raise UnmappedValue(f"unknown Bybit order status {value!r}")
    return status


def order_type_of(bybit_type: object, time_in_force: object = "") -> OrderType:
    if bybit_type == c.ORDER_TYPE_LIMIT:
        return OrderType.LIMIT_MAKER if time_in_force == c.TIF_POST_ONLY else OrderType.LIMIT
    if bybit_type == c.ORDER_TYPE_MARKET:
        return OrderType.MARKET
    log.warning("Bybit order type %r is not one pmm places; treating it as limit", bybit_type)
    return OrderType.LIMIT


def _first(result: Payload, what: str) -> Payload:
    rows = result.get("list") or []
    if not rows:
        raise ValueError(f"Bybit returned no {what}")
    return rows[0]


# --- instruments and tickers ----------------------------------------------------------------------


def _instrument(result: Payload, market: str) -> Payload:
    symbol = to_symbol(market)
    entry = next((i for i in result.get("list", ()) if i.get("symbol") == symbol), None)
    if entry is None:
        raise ConfigError(f"Bybit has no linear perpetual `{symbol}` for `market` {market}. Set `market` to a "
                          "linear perpetual Bybit lists.")
    return entry


def parse_trading_rules(result: Payload, market: str) -> TradingRules:
    """instruments-info (category=linear) -> tick, qty step, min qty, min notional, max leverage."""
    entry = _instrument(result, market)
    contract, status = entry.get("contractType"), entry.get("status")
    if contract != c.CONTRACT_TYPE_LINEAR_PERPETUAL or status != c.INSTRUMENT_STATUS_TRADING:
        raise ConfigError(f"Bybit {entry['symbol']} is not a trading linear perpetual (contract {contract}, "
                          f"status {status}); choose another `market`.")
    price_filter, lot = entry["priceFilter"], entry["lotSizeFilter"]
    max_leverage = dec(entry.get("leverageFilter", {}).get("maxLeverage") or "1")
    return TradingRules(
        market=market,
        base=str(entry.get("baseCoin") or market.split("-")[0]),
        quote=str(entry.get("quoteCoin") or market.split("-")[-1]),
        tick_size=dec(price_filter["tickSize"]),
        step_size=dec(lot["qtyStep"]),
        min_size=dec(lot["minOrderQty"]),
        min_notional=dec_or_zero(lot.get("minNotionalValue")),
        max_leverage=max(1, int(max_leverage)),
    )


def parse_funding_interval_s(result: Payload, market: str) -> float:
    """The instrument's funding interval (`fundingInterval`, minutes) in seconds."""
    minutes = _instrument(result, market).get("fundingInterval") or c.DEFAULT_FUNDING_INTERVAL_MIN
    return int(str(minutes)) * 60.0


def parse_ticker(data: Payload, market: str, ts: float, recv_ts: float,
                 default_interval_s: float) -> FundingInfoUpdated | None:
    """Ticker fields -> funding info (nextFundingTime ms -> s); None until every field is known."""
    needed = ("markPrice", "indexPrice", "fundingRate", "nextFundingTime")
    if any(data.get(k) in (None, "") for k in needed):
        return None
    hours = data.get("fundingIntervalHour")
    interval_s = int(str(hours)) * 3600.0 if hours not in (None, "", "0") else default_interval_s
    info = FundingInfo(market, dec(data["markPrice"]), dec(data["indexPrice"]), dec(data["fundingRate"]),
                       ms_to_s(data["nextFundingTime"]), interval_s)
    return FundingInfoUpdated(info, ts, recv_ts)


def parse_rest_ticker(result: Payload, market: str, recv_ts: float,
                      default_interval_s: float) -> FundingInfoUpdated | None:
    """GET /v5/market/tickers -> funding info for `market`."""
    symbol = to_symbol(market)
    row = next((r for r in result.get("list", ()) if r.get("symbol") == symbol), None)
    if row is None:
        return None
    return parse_ticker(row, market, recv_ts, recv_ts, default_interval_s)


# --- rows shared by REST answers and private topics -----------------------------------------------


def is_trade_execution(row: Payload) -> bool:
    return row.get("execType") in c.TRADE_EXEC_TYPES


def is_funding_execution(row: Payload) -> bool:
    return row.get("execType") == c.EXEC_TYPE_FUNDING


def fee_asset_of(row: Payload, market: str) -> str:
    return str(row.get("feeCurrency") or market.split("-")[-1])


def _leverage(value: object, default: int) -> int:
    if value in (None, ""):
        return default
    return max(1, int(dec(value)))


def positions_of_row(row: Payload, market: str, margin_mode: MarginMode,
                      leverage_hint: int) -> list[tuple[PositionSide, Position | None]]:
    """One venue row -> pmm's (side, position or None) pairs.

    One-way rows (positionIdx 0) carry the side in `side` (Buy long, Sell short) and an unsigned
    size; the other side is reported closed, so a flip from long to short leaves no stale long.
    Size 0 closes both. Hedge rows (1, 2) are the long and the short side.
    """
    idx_side = position_side_of_idx(row.get("positionIdx", 0))
    size = abs(dec_or_zero(row.get("size")))
    if idx_side is PositionSide.BOTH:
        if size == 0:
            return [(PositionSide.LONG, None), (PositionSide.SHORT, None)]
        side = PositionSide.LONG if side_of(row.get("side")) is Side.BUY else PositionSide.SHORT
        other = PositionSide.SHORT if side is PositionSide.LONG else PositionSide.LONG
        pairs: list[tuple[PositionSide, Position | None]] = [(other, None)]
    else:
        side = idx_side
        if size == 0:
            return [(side, None)]
        pairs = []
    if str(row.get("tradeMode", "0")) == "1":
        margin_mode = MarginMode.ISOLATED  # classic accounts say so per position; UTA always says 0
    liquidation = dec_or_zero(row.get("liqPrice"))
    mark = dec_or_zero(row.get("markPrice"))
    entry = row.get("entryPrice") if row.get("entryPrice") not in (None, "") else row.get("avgPrice")
    position = Position(market, side, size, dec_or_zero(entry), _leverage(row.get("leverage"), leverage_hint),
                        margin_mode, unrealized_pnl=dec_or_zero(row.get("unrealisedPnl")),
                        liquidation_price=liquidation or None, mark_price=mark or None,
                        margin=dec_or_zero(row.get("positionIM") or row.get("positionBalance")))
    return [(side, position), *pairs]


def parse_positions(result: Payload, market_of: MarketOf,
                    margin_of: Callable[[str], MarginMode] = lambda _: MarginMode.CROSS) -> list[Position]:
    """GET /v5/position/list -> open positions (empty rows dropped)."""
    out: list[Position] = []
    for row in result.get("list", ()):
        market = market_of(str(row["symbol"]))
        for _, position in positions_of_row(row, market, margin_of(market), 1):
            if position is not None:
                out.append(position)
    return out


def parse_wallet_balances(accounts: Iterable[Payload]) -> list[Balance]:
    """Wallet rows (REST `wallet-balance` list or the `wallet` topic's data) -> one Balance per coin.

    Total is the coin's wallet balance; margin in use its order + position initial margin;
    available what is left of its equity (wallet + unrealised PnL) after that margin.
    """
    out: list[Balance] = []
    for account in accounts:
        if account.get("accountType", c.ACCOUNT_TYPE_UNIFIED) != c.ACCOUNT_TYPE_UNIFIED:
            continue
        for coin in account.get("coin", ()):
            wallet = dec_or_zero(coin.get("walletBalance"))
            unrealized = dec_or_zero(coin.get("unrealisedPnl"))
            in_use = dec_or_zero(coin.get("totalOrderIM")) + dec_or_zero(coin.get("totalPositionIM"))
            equity = dec(coin["equity"]) if coin.get("equity") not in (None, "") else wallet + unrealized
            out.append(Balance(str(coin["coin"]), wallet, max(ZERO, equity - in_use), in_use, unrealized))
    return out


# --- REST reads -----------------------------------------------------------------------------------


def parse_order_report(row: Payload, market_of: MarketOf) -> OrderReport:
    """One GET /v5/order/realtime row -> OrderReport."""
    price = dec_or_zero(row.get("price"))
    order_type = order_type_of(row.get("orderType"), row.get("timeInForce"))
    return OrderReport(
        client_id=client_id_of(row), exchange_id=ExchangeOrderId(str(row["orderId"])),
        market=market_of(str(row["symbol"])), side=side_of(row["side"]), order_type=order_type,
        price=price if price != 0 and order_type is not OrderType.MARKET else None, amount=dec(row["qty"]),
        filled=dec_or_zero(row.get("cumExecQty")), status=status_of(row["orderStatus"]),
        reduce_only=bool(row.get("reduceOnly", False)), position_side=position_side_of_idx(row.get("positionIdx", 0)),
        created_ts=ms_to_s(row.get("createdTime") or row.get("updatedTime") or 0))


def parse_open_orders(result: Payload, market_of: MarketOf) -> list[OrderReport]:
    return [parse_order_report(row, market_of) for row in result.get("list", ())]


def parse_fill_reports(rows: Iterable[Payload], market_of: MarketOf,
                       position_side_of: Callable[[str], PositionSide] = lambda _: PositionSide.BOTH
                       ) -> list[FillReport]:
    """GET /v5/execution/list rows -> fills (funding and other non-trade executions dropped)."""
    out: list[FillReport] = []
    for r in rows:
        if not is_trade_execution(r):
            continue
        market = market_of(str(r["symbol"]))
        out.append(FillReport(
            trade_id=TradeId(str(r["execId"])), client_id=client_id_of(r), exchange_id=ExchangeOrderId(str(r["orderId"])),
            market=market, side=side_of(r["side"]), price=dec(r["execPrice"]), amount=dec(r["execQty"]),
            fee=dec_or_zero(r.get("execFee")), fee_asset=fee_asset_of(r, market),
            liquidity=Liquidity.MAKER if r.get("isMaker") else Liquidity.TAKER,
            position_side=position_side_of(str(r["orderId"])), realized_pnl=dec_or_zero(r.get("execPnl")),
            ts=ms_to_s(r["execTime"])))
    return out


def parse_funding_settlements(rows: Iterable[Payload], market_of: MarketOf,
                              symbol: str | None = None) -> list[FundingPaymentReport]:
    """transaction-log rows of type SETTLEMENT -> funding payments.

    `funding` is signed from the account's view (positive received); `feeRate` is the market's
    rate for a long (side Buy) and its negation for a short; `size` is the position (signed on newer
    accounts); `tradePrice` the mark price at settlement; `transactionTime` the funding time.
    """
    out: list[FundingPaymentReport] = []
    for r in rows:
        if r.get("type") != c.TRANSACTION_TYPE_SETTLEMENT or (symbol is not None and r.get("symbol") != symbol):
            continue
        size = dec_or_zero(r.get("size") or r.get("qty"))
        side = r.get("side")
        if side == c.SIDE_SELL:
            signed = -abs(size)
        elif side == c.SIDE_BUY:
            signed = abs(size)
        else:
            signed = size
        fee_rate = dec_or_zero(r.get("feeRate"))
        rate = -fee_rate if side == c.SIDE_SELL else fee_rate
        out.append(FundingPaymentReport(
            market=market_of(str(r["symbol"])), funding_time_ms=int(str(r["transactionTime"])), rate=rate,
            amount=dec_or_zero(r.get("funding")), asset=str(r.get("currency") or "USDT"), position_amount=signed,
            mark_price=dec_or_zero(r.get("tradePrice"))))
    return out


def parse_fee_rates(result: Payload, symbol: str) -> tuple[Decimal, Decimal]:
    """GET /v5/account/fee-rate -> (maker, taker)."""
    row = next((r for r in result.get("list", ()) if r.get("symbol") in (symbol, "", None)), None)
    if row is None:
        row = _first(result, f"fee rate for {symbol}")
    return dec(row["makerFeeRate"]), dec(row["takerFeeRate"])
