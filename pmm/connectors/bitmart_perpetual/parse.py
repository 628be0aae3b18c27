"""BitMart Futures V2 payloads -> pmm events and model objects. Pure functions, no I/O.

Sizes are contracts: the `Instrument` of each market converts them to base units exactly
(vol x contract_size) and back (rounded down to `vol_precision`, never bigger than asked), so
everything pmm sees (rules, books, trades, fills, positions) is in base units. Fees: a WebSocket
fill's `fee` is negative when charged (the balance change), a REST trade's `paid_fees` positive
when paid; pmm's fee is positive when paid. Timestamps leave as float seconds. A side, state or
position type this module does not know raises `UnmappedValue` (the caller drops the payload and
reconciles).

Sides are one number that also says the position side and reduce-only (`side_of`): one-way mode
1 buy, 2 buy reduce-only, 3 sell reduce-only, 4 sell; hedge mode 1 buy-open-long, 2
buy-close-short, 3 sell-close-long, 4 sell-open-short. An order's `state` 4 ("finished") is
filled or canceled by its `deal_size`.

Client order ids: BitMart's `client_order_id` is letters and digits (at most 32), pmm's has
dashes ("pmm-1a2b3c4d-17"), so `to_client_order_id` escapes them reversibly ("pmmZ1a2b3c4dZ17")
and `client_id_of` reads them back; an order placed without one is named "bitmart-<order_id>".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.common.payloads import BAD_PAYLOAD as BAD_PAYLOAD  # callers' catch-all, re-exported
from pmm.connectors.common.payloads import Payload, UnmappedValue, dec
from pmm.core.events import BookDelta, BookSnapshot, Level, Trade
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

log = logging.getLogger("pmm.bitmart.parse")

STAND_IN_PREFIX = "bitmart-"  # the client id of an order placed without a client_order_id


def dec_or_zero(value: object) -> Decimal:
    """Like `dec`, with "" / "-" / a missing field meaning zero (BitMart writes "-" for "none")."""
    return ZERO if value is None or value in ("", "-") else dec(value)


def ms_to_s(value: object) -> float:
    return int(str(value)) / 1000


def iso_to_s(text: str) -> float:
    """`2023-02-24T07:54:11.124940968Z` (nanoseconds) -> seconds, to the microsecond."""
    head, _, frac = text.rstrip("Z").partition(".")
    moment = datetime.fromisoformat(head).replace(tzinfo=UTC)
    return moment.timestamp() + (int(frac[:6].ljust(6, "0")) / 1e6 if frac else 0.0)


# --- client order ids -----------------------------------------------------------------------------

_ESCAPE, _DASH, _UNDERSCORE = "X", "Z", "Y"
_ENCODE = {"-": _DASH, "_": _UNDERSCORE, _ESCAPE: _ESCAPE * 2, _DASH: _ESCAPE + _DASH,
           _UNDERSCORE: _ESCAPE + _UNDERSCORE}
_DECODE = {_DASH: "-", _UNDERSCORE: "_"}


def to_client_order_id(client_id: str) -> str:
    """pmm's client id as a BitMart client_order_id: '-' -> 'Z', '_' -> 'Y', 'X'/'Y'/'Z' escaped by 'X'."""
    text = "".join(_ENCODE.get(ch, ch) for ch in client_id)
    if not text.isascii() or not text.isalnum() or len(text) > spec.CLIENT_ORDER_ID_MAX_LEN:
        raise OrderError(f"client order id {client_id!r} does not fit BitMart's client_order_id (at most "
                         f"{spec.CLIENT_ORDER_ID_MAX_LEN} letters and digits once its dashes are escaped); not sent.")
    return text


def client_id_of(row: Payload) -> ClientOrderId:
    """The pmm client id of an order row: its decoded client_order_id, or "bitmart-<order_id>"."""
    text = str(row.get("client_order_id") or "")
    if not text:
        return ClientOrderId(f"{STAND_IN_PREFIX}{row['order_id']}")
    out, chars = [], iter(text)
    for ch in chars:
        out.append(next(chars, _ESCAPE) if ch == _ESCAPE else _DECODE.get(ch, ch))
    return ClientOrderId("".join(out))


# --- enums ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SideInfo:
    side: Side
    position_side: PositionSide
    reduce_only: bool


def side_of(value: object, position_mode: object) -> SideInfo:
    """BitMart's side number, read in the order's position mode (see module docstring)."""
    number = int(str(value))
    if number not in (1, 2, 3, 4):
        raise UnmappedValue(f"unknown BitMart side {value!r}")
    side = Side.BUY if number in (spec.SIDE_BUY_OPEN, spec.SIDE_BUY_CLOSE) else Side.SELL
    closing = number in (spec.SIDE_BUY_CLOSE, spec.SIDE_SELL_CLOSE)
    if position_mode == spec.POSITION_MODE_HEDGE:
        long_side = number in (spec.SIDE_BUY_OPEN, spec.SIDE_SELL_CLOSE)
        return SideInfo(side, PositionSide.LONG if long_side else PositionSide.SHORT, closing)
    return SideInfo(side, PositionSide.BOTH, closing)


def side_number(side: Side, position_side: PositionSide, closing: bool) -> int:
    """The side number of an order: buy opens (1) or closes (2), sell closes (3) or opens (4)."""
    if side is Side.BUY:
        return spec.SIDE_BUY_CLOSE if closing else spec.SIDE_BUY_OPEN
    return spec.SIDE_SELL_CLOSE if closing else spec.SIDE_SELL_OPEN


def status_of(row: Payload) -> OrderStatus:
    state = int(str(row["state"]))
    filled, size = dec_or_zero(row.get("deal_size")), dec_or_zero(row.get("size"))
    if state in (spec.STATE_APPROVAL, spec.STATE_CHECK):
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.OPEN
    if state == spec.STATE_FINISH:
        return OrderStatus.FILLED if size > 0 and filled >= size else OrderStatus.CANCELLED
    raise UnmappedValue(f"unknown BitMart order state {row['state']!r}")


def order_type_of(value: object) -> OrderType:
    if value == "market":
        return OrderType.MARKET
    if value != "limit":
        log.warning("BitMart order type %r is not one pmm places; treating it as limit", value)
    return OrderType.LIMIT


def position_side_of(value: object) -> PositionSide:
    number = int(str(value))
    if number == spec.POSITION_LONG:
        return PositionSide.LONG
    if number == spec.POSITION_SHORT:
        return PositionSide.SHORT
    raise UnmappedValue(f"unknown BitMart position_type {value!r}")


# --- instruments ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instrument:
    """One perpetual's grid and contract size; converts contracts <-> base units exactly."""

    market: str
    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    vol_step: Decimal  # contracts
    min_contracts: Decimal
    contract_size: Decimal
    max_leverage: int
    funding_interval_s: float

    def to_base(self, contracts: Decimal) -> Decimal:
        return spec.contracts_to_base(contracts, self.contract_size)

    def to_contracts(self, base: Decimal) -> Decimal:
        return spec.base_to_contracts(base, self.contract_size, self.vol_step)

    def rules(self) -> TradingRules:
        """Trading rules in base units: one `vol_precision` step is the size step, `min_volume` the minimum."""
        return TradingRules(self.market, self.base, self.quote, self.tick_size, self.to_base(self.vol_step),
                            self.to_base(self.min_contracts), ZERO, self.max_leverage)


def parse_instrument(data: Payload, market: str) -> Instrument:
    """GET /contract/public/details data -> the trading perpetual of `market`."""
    symbol = spec.to_venue_symbol(market)
    row = next((r for r in data.get("symbols", ()) if r.get("symbol") == symbol), None)
    if row is None:
        raise ConfigError(f"BitMart lists no perpetual `{symbol}` for `market` {market}. Use a listed USDT "
                          "perpetual such as BTC-USDT.")
    if str(row.get("product_type", "1")) != "1" or str(row.get("status", "Trading")) != "Trading":
        raise ConfigError(f"BitMart {symbol} is not a trading perpetual (product_type {row.get('product_type')}, "
                          f"status {row.get('status')}); choose another `market`.")
    return Instrument(market, symbol, str(row.get("base_currency") or market.partition("-")[0]),
                      str(row.get("quote_currency") or market.partition("-")[2]), dec(row["price_precision"]),
                      dec(row["vol_precision"]), dec(row.get("min_volume") or row["vol_precision"]),
                      dec(row["contract_size"]), max(1, int(dec_or_zero(row.get("max_leverage")) or 1)),
                      float(row.get("funding_interval_hours") or 8) * 3600)


# --- public channels ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookFrame:
    """One `depthIncrease` push with its version (sizes in base units)."""

    market: str
    is_snapshot: bool
    version: int
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    ts: float
    recv_ts: float

    def snapshot(self) -> BookSnapshot:
        return BookSnapshot(self.market, self.bids, self.asks, self.version, self.ts, self.recv_ts)

    def delta(self) -> BookDelta:
        return BookDelta(self.market, self.bids, self.asks, self.version, self.ts, self.recv_ts)


def _levels(rows: Iterable[Payload], inst: Instrument) -> tuple[Level, ...]:
    """`{price, vol (contracts)}` rows -> (price, base size); vol "0" removes the level."""
    levels = tuple((dec(row["price"]), inst.to_base(dec(row["vol"]))) for row in rows)
    for price, size in levels:
        if price <= 0 or size < 0:
            raise ValueError(f"impossible order book level: price {price}, size {size}")
    return levels


def parse_book(data: Payload, inst: Instrument, recv_ts: float) -> BookFrame:
    kind = data.get("type")
    if kind not in ("snapshot", "update"):
        raise UnmappedValue(f"unknown BitMart depth type {kind!r}")
    return BookFrame(inst.market, kind == "snapshot", int(data["version"]), _levels(data.get("bids", ()), inst),
                     _levels(data.get("asks", ()), inst), ms_to_s(data["ms_t"]), recv_ts)


def parse_trades(rows: Iterable[Payload], inst: Instrument, recv_ts: float) -> list[Trade]:
    """`futures/trade` pushes: `m` true = the buyer made, so the seller took."""
    return [Trade(inst.market, TradeId(str(t["trade_id"])), dec(t["deal_price"]), inst.to_base(dec(t["deal_vol"])),
                  Side.SELL if t.get("m") is True else Side.BUY, iso_to_s(str(t["created_at"])), recv_ts)
            for t in rows]


def funding_fields(row: Payload) -> dict[str, object]:
    """The funding-info fields of a `futures/ticker`, `futures/fundingRate` push or a REST funding-rate."""
    if "mark_price" in row:
        return {"mark": dec(row["mark_price"]), "index": dec(row["index_price"])}
    if "fundingRate" in row:
        fields: dict[str, object] = {"rate": dec(row["fundingRate"]), "next_ts": ms_to_s(row["fundingTime"])}
        if row.get("nextFundingTime"):
            fields["interval_s"] = ms_to_s(row["nextFundingTime"]) - ms_to_s(row["fundingTime"])
        return fields
    return {"rate": dec(row["rate_value"]), "next_ts": ms_to_s(row["funding_time"])}


# --- account rows (REST and private channels) -----------------------------------------------------


def parse_order_report(row: Payload, inst: Instrument) -> OrderReport:
    """One order / get-open-orders row -> OrderReport (sizes in base units)."""
    sides = side_of(row["side"], row.get("position_mode"))
    order_type = order_type_of(row.get("type"))
    price = dec_or_zero(row.get("price"))
    return OrderReport(
        client_id=client_id_of(row), exchange_id=ExchangeOrderId(str(row["order_id"])), market=inst.market,
        side=sides.side, order_type=order_type,
        price=price if price and order_type is not OrderType.MARKET else None, amount=inst.to_base(dec(row["size"])),
        filled=inst.to_base(dec_or_zero(row.get("deal_size"))), status=status_of(row),
        reduce_only=sides.reduce_only, position_side=sides.position_side,
        created_ts=ms_to_s(row.get("create_time") or row.get("update_time") or 0))


def liquidity_of(order_type: OrderType, fee: Decimal, notional: Decimal, maker: Decimal, taker: Decimal) -> Liquidity:
    """BitMart's order push does not say maker or taker: a market order takes; otherwise the fee
    paid says it (a rebate or the maker rate is a maker fill, nearer the taker rate a taker fill)."""
    if order_type is OrderType.MARKET:
        return Liquidity.TAKER
    if fee <= 0 or notional <= 0 or taker <= maker:
        return Liquidity.MAKER
    rate = fee / notional
    return Liquidity.TAKER if rate - maker > taker - rate else Liquidity.MAKER


def parse_fill_report(row: Payload, inst: Instrument, client_id: ClientOrderId, position_mode: object) -> FillReport:
    """One /contract/private/trades row -> FillReport (`client_id` resolved by the caller: the row
    names only the order id)."""
    sides = side_of(row["side"], position_mode)
    return FillReport(
        trade_id=TradeId(str(row["trade_id"])), client_id=client_id, exchange_id=ExchangeOrderId(str(row["order_id"])),
        market=inst.market, side=sides.side, price=dec(row["price"]), amount=inst.to_base(dec(row["vol"])),
        fee=dec_or_zero(row.get("paid_fees")), fee_asset=inst.quote,
        liquidity=Liquidity.MAKER if str(row.get("exec_type")) == "Maker" else Liquidity.TAKER,
        position_side=sides.position_side, realized_pnl=dec_or_zero(row.get("realised_profit")),
        ts=ms_to_s(row["create_time"]))


def position_of_row(row: Payload, inst: Instrument, leverage: int) -> tuple[PositionSide, Position | None]:
    """A REST position (current_amount ...) or `futures/position` push (hold_volume ...) row ->
    (its side, the position or None when closed)."""
    side = position_side_of(row["position_type"])
    amount = dec_or_zero(row.get("current_amount", row.get("hold_volume")))
    if amount == 0:
        return side, None
    margin_text = str(row.get("margin_type") or row.get("open_type") or "")
    isolated = margin_text.lower() == "isolated" or margin_text == "1"
    entry = dec_or_zero(row.get("entry_price") or row.get("open_avg_price") or row.get("hold_avg_price"))
    liquidation = dec_or_zero(row.get("liquidation_price") or row.get("liquidate_price"))
    return side, Position(inst.market, side, inst.to_base(abs(amount)), entry,
                          max(1, int(dec_or_zero(row.get("leverage")) or leverage)),
                          MarginMode.ISOLATED if isolated else MarginMode.CROSS,
                          unrealized_pnl=dec_or_zero(row.get("unrealized_value") or row.get("unrealized_pnl")),
                          liquidation_price=liquidation or None,
                          mark_price=dec_or_zero(row.get("mark_price")) or None,
                          margin=dec_or_zero(row.get("position_cross") or row.get("initial_margin")))


def parse_balance(row: Payload) -> Balance:
    """One assets-detail row or `futures/asset` push -> Balance. Total is the wallet without
    unrealized PnL: equity - unrealized (REST), or available + frozen + position margin (push)."""
    available = dec_or_zero(row.get("available_balance"))
    frozen, deposit = dec_or_zero(row.get("frozen_balance")), dec_or_zero(row.get("position_deposit"))
    unrealized = dec_or_zero(row.get("unrealized"))
    total = dec(row["equity"]) - unrealized if "equity" in row else available + frozen + deposit
    return Balance(str(row["currency"]), total, available, frozen + deposit, unrealized)


def funding_rate_times(data: Payload) -> dict[int, Decimal]:
    """GET /contract/public/funding-rate-history data -> {funding_time ms: the rate that settled}."""
    return {int(str(r["funding_time"])): dec(r["funding_rate"]) for r in data.get("list", ())}


FUNDING_TIME_MATCH_MS = 60_000  # a funding transaction is stamped within a minute of its settlement


def parse_funding_row(row: Payload, inst: Instrument, rates: dict[int, Decimal],
                      held: dict[PositionSide, Position]) -> FundingPaymentReport:
    """One transaction-history row of type "Funding Fee" -> a funding payment. The row says only the
    amount (signed for the account): the rate is the settled rate nearest its time, the side follows
    from who paid (at a positive rate longs pay), the size and mark from the position `held` now."""
    time_ms, amount = int(str(row["time"])), dec(row["amount"])
    nearest = min(rates, key=lambda t: abs(t - time_ms), default=None)
    rate = rates[nearest] if nearest is not None and abs(nearest - time_ms) <= FUNDING_TIME_MATCH_MS else ZERO
    long_side = (amount < 0) == (rate > 0) if rate and amount else True
    position = held.get(PositionSide.LONG if long_side else PositionSide.SHORT)
    size = position.amount if position is not None else ZERO
    mark = position.mark_price if position is not None and position.mark_price else ZERO
    if not mark and rate and size:
        mark = abs(amount) / (size * abs(rate))
    return FundingPaymentReport(inst.market, time_ms, rate, amount, str(row.get("asset") or inst.quote),
                                size if long_side else -size, mark)
