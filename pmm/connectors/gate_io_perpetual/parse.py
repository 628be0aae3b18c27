"""Gate APIv4 futures payloads -> pmm events and model objects. Pure functions, no I/O.

Sizes are contracts, signed where Gate signs them (an order's or a fill's `size` is positive for a
buy and negative for a sell; a position's for a long or a short; a public trade's for the taker's
side); the `Contract` of each market converts them to base units exactly (size x
`quanto_multiplier`) and back (whole contracts, rounded down). Gate writes sizes as integers, or as
decimal strings when asked (`X-Gate-Size-Decimal: 1`), and money as strings on REST but as JSON
numbers in some pushes: numbers arrive as `Decimal` (`wire_json.decode_json`), never floats. Times
are seconds (`create_time`, possibly fractional) or milliseconds (`*_ms`). Fees are positive
when paid, as pmm's. An order status, side or finish reason this module does not know raises
`UnmappedValue` (the caller drops the payload and reconciles).

Client order ids: Gate's `text` is "t-" + at most 28 characters of [0-9A-Za-z_.-]; pmm's ids
("pmm-1a2b3c4d-17") fit as they are, so `to_text` only prefixes and checks, and `client_id_of`
strips the prefix. An order placed elsewhere (text "api", "web", ...) is named "gate-<id>".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from pmm.connectors.common.payloads import BAD_PAYLOAD as BAD_PAYLOAD  # callers' catch-all, re-exported
from pmm.connectors.common.payloads import Payload, UnmappedValue, dec
from pmm.connectors.gate_io_perpetual import spec
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

STAND_IN_PREFIX = "gate-"  # the client id of an order placed without a "t-" text
_TEXT_BODY = re.compile(rf"^[0-9A-Za-z_.\-]{{1,{spec.TEXT_MAX_BODY}}}$")


def num(value: object) -> Decimal:
    """A size or an amount, "" or missing meaning zero."""
    return ZERO if value is None or value == "" else dec(value)


def seconds(value: object) -> float:
    """A Gate time in seconds (int, fractional number or string)."""
    return float(str(value)) if value not in (None, "") else 0.0


def time_of(row: Payload, name: str) -> float:
    """`<name>_ms` when the row has it (ms), else `<name>` (s)."""
    if row.get(f"{name}_ms") not in (None, ""):
        return int(str(row[f"{name}_ms"])) / 1000
    return seconds(row.get(name))


# --- client order ids -----------------------------------------------------------------------------


def to_text(client_id: str) -> str:
    """pmm's client id as Gate's `text`: "t-" + the id, which must fit Gate's alphabet and length."""
    if not _TEXT_BODY.match(client_id):
        raise OrderError(f"client order id {client_id!r} does not fit Gate's text (\"t-\" + at most "
                         f"{spec.TEXT_MAX_BODY} of 0-9 A-Z a-z _ . -); not sent.")
    return spec.TEXT_PREFIX + client_id


def client_id_of(row: Payload, id_field: str = "id") -> ClientOrderId:
    text = str(row.get("text") or "")
    if text.startswith(spec.TEXT_PREFIX) and len(text) > len(spec.TEXT_PREFIX):
        return ClientOrderId(text[len(spec.TEXT_PREFIX):])
    return ClientOrderId(f"{STAND_IN_PREFIX}{row[id_field]}")


# --- enums ----------------------------------------------------------------------------------------


def side_of_size(size: Decimal) -> Side:
    if size > 0:
        return Side.BUY
    if size < 0:
        return Side.SELL
    raise UnmappedValue("a Gate order or fill of size 0 has no side")


def order_side(row: Payload) -> Side:
    """An order's side: the sign of `size` (a close order of size 0 closes the other side)."""
    size = num(row.get("size"))
    if size == 0:
        auto = str(row.get("auto_size") or "")
        if auto in ("close_long", "close_short"):
            return Side.SELL if auto == "close_long" else Side.BUY
    return side_of_size(size)


def status_of(row: Payload) -> OrderStatus:
    """`open` (partly filled when `left` < |size|), or `finished` by `finish_as`."""
    status = row.get("status")
    size, left = abs(num(row.get("size"))), abs(num(row.get("left")))
    if status == "open":
        return OrderStatus.PARTIALLY_FILLED if 0 < left < size else OrderStatus.OPEN
    if status != "finished":
        raise UnmappedValue(f"unknown Gate order status {status!r}")
    finish = row.get("finish_as")
    if finish not in spec.FINISH_AS:
        raise UnmappedValue(f"unknown Gate finish_as {finish!r}")
    return OrderStatus.FILLED if finish == "filled" or (left == 0 and size > 0) else OrderStatus.CANCELLED


def order_type_of(row: Payload) -> OrderType:
    price = num(row.get("price"))
    if price == 0:
        return OrderType.MARKET
    return OrderType.LIMIT_MAKER if row.get("tif") == "poc" else OrderType.LIMIT


def liquidity_of(role: object) -> Liquidity:
    return Liquidity.MAKER if role == "maker" else Liquidity.TAKER


# --- contracts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Contract:
    """One perpetual's grid and contract size; converts contracts <-> base units exactly."""

    market: str
    name: str
    base: str
    quote: str
    tick_size: Decimal
    multiplier: Decimal  # quanto_multiplier: base units per contract
    min_contracts: Decimal
    max_leverage: int
    maker_fee: Decimal  # positive = paid (Gate's negative maker rate is a rebate)
    taker_fee: Decimal

    def to_base(self, contracts: Decimal) -> Decimal:
        return spec.contracts_to_base(contracts, self.multiplier)

    def to_contracts(self, base: Decimal) -> Decimal:
        return spec.base_to_contracts(base, self.multiplier)

    def rules(self) -> TradingRules:
        """Trading rules in base units: one contract is the size step, `order_size_min` the minimum."""
        return TradingRules(self.market, self.base, self.quote, self.tick_size, self.multiplier,
                            self.to_base(self.min_contracts), ZERO, self.max_leverage)


def parse_contract(row: Payload, market: str) -> Contract:
    """GET /futures/usdt/contracts/{contract} -> the market's contract (refused unless trading)."""
    name = spec.to_venue_symbol(market)
    if row.get("name") != name:
        raise ConfigError(f"Gate lists no USDT perpetual `{name}` for `market` {market}. Use a listed contract "
                          "such as BTC-USDT.")
    if row.get("in_delisting") is True or row.get("status") not in (None, "trading"):
        raise ConfigError(f"Gate {name} is not trading (status {row.get('status')}); choose another `market`.")
    base, _, quote = market.partition("-")
    return Contract(market, name, base, quote, dec(row["order_price_round"]), dec(row["quanto_multiplier"]),
                    max(Decimal(1), num(row.get("order_size_min"))), max(1, int(num(row.get("leverage_max")) or 1)),
                    num(row.get("maker_fee_rate")), num(row.get("taker_fee_rate")))


def contract_funding(row: Payload) -> dict[str, object]:
    """The funding-info fields a contract row carries: mark, index, rate, next time, interval."""
    fields: dict[str, object] = {}
    for key, name in (("mark", "mark_price"), ("index", "index_price"), ("rate", "funding_rate")):
        if row.get(name) not in (None, ""):
            fields[key] = dec(row[name])
    if row.get("funding_next_apply") not in (None, ""):
        fields["next_ts"] = seconds(row["funding_next_apply"])
    if row.get("funding_interval") not in (None, ""):
        fields["interval_s"] = float(int(str(row["funding_interval"])))
    return fields


def ticker_funding(row: Payload) -> dict[str, object]:
    """A `futures.tickers` row (or GET /tickers): mark, index and the current funding rate."""
    fields: dict[str, object] = {}
    for key, name in (("mark", "mark_price"), ("index", "index_price"), ("rate", "funding_rate")):
        if row.get(name) not in (None, ""):
            fields[key] = dec(row[name])
    return fields


# --- order book and trades ------------------------------------------------------------------------


def _levels(rows: Iterable[Payload], contract: Contract) -> tuple[Level, ...]:
    """`[{p, s}]` -> (price, base size); s 0 removes the level."""
    levels = tuple((dec(row["p"]), contract.to_base(num(row["s"]))) for row in rows)
    for price, size in levels:
        if price <= 0 or size < 0:
            raise ValueError(f"impossible order book level: price {price}, size {size}")
    return levels


def parse_book_snapshot(body: Payload, contract: Contract, recv_ts: float) -> tuple[int, BookSnapshot]:
    """GET /order_book?with_id=true -> (id, snapshot)."""
    snapshot = BookSnapshot(contract.market, _levels(body.get("bids", ()), contract),
                            _levels(body.get("asks", ()), contract), int(body["id"]),
                            seconds(body.get("current")) or recv_ts, recv_ts)
    return int(body["id"]), snapshot


@dataclass(frozen=True, slots=True)
class BookUpdate:
    """One `futures.order_book_update` push: ids `first` (U) .. `last` (u), or a whole book (`full`)."""

    first: int
    last: int
    full: bool
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    ts: float

    def delta(self, market: str, recv_ts: float) -> BookDelta:
        return BookDelta(market, self.bids, self.asks, self.last, self.ts, recv_ts)

    def snapshot(self, market: str, recv_ts: float) -> BookSnapshot:
        return BookSnapshot(market, self.bids, self.asks, self.last, self.ts, recv_ts)


def parse_book_update(result: Payload, contract: Contract, recv_ts: float) -> BookUpdate:
    return BookUpdate(int(result["U"]), int(result["u"]), result.get("full") is True,
                      _levels(result.get("b") or (), contract), _levels(result.get("a") or (), contract),
                      int(str(result["t"])) / 1000 if result.get("t") else recv_ts)


def parse_trades(rows: Iterable[Payload], contract: Contract, recv_ts: float) -> list[Trade]:
    """`futures.trades` rows: `size` signed by the taker's side."""
    out = []
    for row in rows:
        size = num(row["size"])
        out.append(Trade(contract.market, TradeId(str(row["id"])), dec(row["price"]), contract.to_base(abs(size)),
                         side_of_size(size), time_of(row, "create_time") or recv_ts, recv_ts))
    return out


# --- account rows (REST and private channels) -----------------------------------------------------

ContractOf = Callable[[str], Contract]  # Gate contract name -> the market's contract


def position_side_of(row: Payload, dual: bool, side: Side) -> PositionSide:
    """The side an order or fill works on: BOTH in single mode; in dual mode a reduce-only order
    (or a fill with a `close_size`) closes the other side of its direction, anything else opens
    its own."""
    if not dual:
        return PositionSide.BOTH
    reduces = row.get("is_reduce_only") is True or row.get("reduce_only") is True or row.get("is_close") is True \
        or num(row.get("close_size")) != 0
    buying = side is Side.BUY
    return PositionSide.SHORT if buying == reduces else PositionSide.LONG


def parse_order_report(row: Payload, contract_of: ContractOf, dual: bool = False) -> OrderReport:
    """One order row (GET /orders, /orders/{id}, the place answer, a `futures.orders` push)."""
    contract = contract_of(str(row["contract"]))
    size, left = abs(num(row.get("size"))), abs(num(row.get("left")))
    side = order_side(row)
    order_type = order_type_of(row)
    return OrderReport(
        client_id=client_id_of(row), exchange_id=ExchangeOrderId(str(row["id"])), market=contract.market,
        side=side, order_type=order_type,
        price=dec(row["price"]) if order_type is not OrderType.MARKET else None, amount=contract.to_base(size),
        filled=contract.to_base(size - left), status=status_of(row),
        reduce_only=row.get("is_reduce_only") is True or row.get("reduce_only") is True,
        position_side=position_side_of(row, dual, side),
        created_ts=time_of(row, "create_time"))


def parse_fill(row: Payload, contract_of: ContractOf, realized: dict[str, Decimal], dual: bool = False,
               side_of_order: PositionSide | None = None) -> FillReport:
    """One fill (GET /my_trades(_timerange) row or a `futures.usertrades` push). `realized`: the
    realized PnL by trade id, from the account book (fills themselves do not carry it)."""
    contract = contract_of(str(row["contract"]))
    size = num(row["size"])
    trade_id = str(row.get("trade_id") or row["id"])
    side = side_of_size(size)
    return FillReport(
        trade_id=TradeId(trade_id), client_id=client_id_of(row, "order_id"),
        exchange_id=ExchangeOrderId(str(row["order_id"])), market=contract.market, side=side,
        price=dec(row["price"]), amount=contract.to_base(abs(size)), fee=num(row.get("fee")),
        fee_asset=contract.quote, liquidity=liquidity_of(row.get("role")),
        position_side=side_of_order if side_of_order is not None else position_side_of(row, dual, side),
        realized_pnl=realized.get(trade_id, ZERO), ts=time_of(row, "create_time"))


def parse_position(row: Payload, contract: Contract) -> list[tuple[PositionSide, Position | None]]:
    """One position row (REST or `futures.positions`) -> pmm's (side, position or None) pairs.

    Single mode: `size` is signed and the other side is reported closed, so a flip leaves no stale
    side; 0 closes both. Dual mode (`mode` dual_long / dual_short): the row is its side.
    `leverage` 0 means cross margin (at `cross_leverage_limit`), anything else isolated.
    """
    mode = str(row.get("mode") or "single")
    size = num(row.get("size"))
    pairs: list[tuple[PositionSide, Position | None]] = []
    if mode == "single":
        if size == 0:
            return [(PositionSide.LONG, None), (PositionSide.SHORT, None)]
        side = PositionSide.LONG if size > 0 else PositionSide.SHORT
        pairs.append((PositionSide.SHORT if size > 0 else PositionSide.LONG, None))
    elif mode in ("dual_long", "dual_short"):
        side = PositionSide.LONG if mode == "dual_long" else PositionSide.SHORT
        if size == 0:
            return [(side, None)]
    else:
        raise UnmappedValue(f"unknown Gate position mode {mode!r}")
    leverage = num(row.get("leverage"))
    cross = leverage == 0
    lever = num(row.get("cross_leverage_limit")) if cross else leverage
    position = Position(contract.market, side, contract.to_base(abs(size)), num(row.get("entry_price")),
                        max(1, int(lever or 1)), MarginMode.CROSS if cross else MarginMode.ISOLATED,
                        unrealized_pnl=num(row.get("unrealised_pnl")),
                        liquidation_price=num(row.get("liq_price")) or None,
                        mark_price=num(row.get("mark_price")) or None, margin=num(row.get("margin")))
    return [(side, position), *pairs]


def parse_account(row: Payload) -> Balance:
    """GET /futures/usdt/accounts -> the settle currency's balance: `total` is the wallet (without
    unrealised PnL), `available` what new orders may use, margin the positions' and orders'."""
    return Balance(str(row.get("currency") or "USDT").upper(), num(row.get("total")), num(row.get("available")),
                   num(row.get("position_margin")) + num(row.get("order_margin")), num(row.get("unrealised_pnl")))


def realized_by_trade(rows: Iterable[Payload]) -> dict[str, Decimal]:
    """Account-book rows of type `pnl` -> realized PnL per trade id (several rows add up)."""
    out: dict[str, Decimal] = {}
    for row in rows:
        if row.get("type") == spec.ACCOUNT_BOOK_PNL and row.get("trade_id"):
            key = str(row["trade_id"])
            out[key] = out.get(key, ZERO) + num(row.get("change"))
    return out


def funding_rates(rows: Iterable[Payload]) -> dict[int, Decimal]:
    """GET /funding_rate -> {funding time in ms: the rate settled then}."""
    return {int(str(r["t"])) * 1000: dec(r["r"]) for r in rows}


def parse_funding(row: Payload, contract: Contract, rates: dict[int, Decimal],
                  held: Decimal | None) -> FundingPaymentReport:
    """One account-book row of type `fund` -> a funding payment. `change` is signed for the
    account (positive received), `time` the settlement. Gate's row names neither the position nor
    the mark price: `held` is the signed position pmm knows of (base units); the mark is what the
    payment implies at that size and rate (0 when it cannot be told)."""
    time_ms = round(seconds(row["time"]) * 1000)
    amount = dec(row["change"])
    rate = rates.get(time_ms, rates.get(time_ms // 1000 * 1000, ZERO))
    size = abs(held) if held else ZERO
    long_side = (amount < 0) == (rate > 0) if rate and amount else (held is None or held >= 0)
    mark = abs(amount) / (size * abs(rate)) if size and rate else ZERO
    return FundingPaymentReport(contract.market, time_ms, rate, amount, contract.quote,
                                size if long_side else -size, mark)
