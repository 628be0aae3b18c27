"""The performance report behind `pmm history`: pure functions over fills, funding, positions.

Unlike Hummingbot's derivative "Trade P&L" (FIFO pairing of orders by a simple mean price, no
funding, no open position), the PnL here is what the account actually experienced:

    net_pnl = realized_pnl - fees_in_quote + funding_net + unrealized_pnl

- `realized_pnl`: the sum of the venue-reported realized PnL of the fills (before fees).
- `fees_in_quote`: fees (positive = paid, rebates negative) in the quote asset, plus fees in other
  assets converted with `prices`; assets without a price (fees or funding) are listed in
  `unpriced_assets` and left out of the quote totals (never silently valued at zero).
- `funding_paid` / `funding_received`: magnitudes; `funding_net = received - paid`.
- `unrealized_pnl`: from the last position snapshot of each side of the market (of the run, when
  grouped per run), as the venue reported it at its last mark.
- `unrealized_inherited` (per run): the unrealized PnL of the position the run took over from the
  run before it (that run's last snapshot). A run's net PnL subtracts it: the earlier run counted
  it already, and the realized PnL of closing that position lands in the later run. So the runs of
  a market add up to the market's net PnL.

Groups are keyed by (venue, market[, run_id]): fills from different venues (sim and live) never mix.
All money is Decimal; `to_dict()` gives JSON-ready dicts with decimals as strings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pmm.core.model import ZERO, Side
from pmm.store import jsonable
from pmm.store.records import FillRecord, FundingRecord, PositionSnapshot


@dataclass(frozen=True, slots=True)
class MarketPerformance:
    """Performance of one market on one venue, for one run (`run_id`) or all runs (None)."""

    venue: str
    market: str
    run_id: str | None
    quote_asset: str
    start_ts: float | None  # first fill or funding payment
    end_ts: float | None  # last fill or funding payment
    fills: int
    buys: int
    sells: int
    buy_volume_base: Decimal
    buy_volume_quote: Decimal
    sell_volume_base: Decimal
    sell_volume_quote: Decimal
    avg_buy_price: Decimal | None  # volume-weighted; None without buys
    avg_sell_price: Decimal | None
    realized_pnl: Decimal
    fees_by_asset: dict[str, Decimal]
    fees_in_quote: Decimal
    unpriced_assets: tuple[str, ...]  # fee/funding assets without a price: not in the totals
    funding_payments: int
    funding_paid: Decimal
    funding_received: Decimal
    funding_net: Decimal
    position: Decimal  # signed (long - short) at the last snapshot(s)
    mark_price: Decimal | None
    unrealized_pnl: Decimal
    unrealized_inherited: Decimal  # per run: the unrealized PnL at its start, counted by the run before
    net_pnl: Decimal

    def to_dict(self) -> dict[str, Any]:
        return dict(jsonable.to_jsonable(self))


@dataclass(frozen=True, slots=True)
class PerformanceReport:
    """One `MarketPerformance` per group, and the net PnL summed per quote asset."""

    start_ts: float | None
    end_ts: float | None
    markets: tuple[MarketPerformance, ...]
    net_pnl_by_quote: dict[str, Decimal]

    def to_dict(self) -> dict[str, Any]:
        return dict(jsonable.to_jsonable(self))

    def to_json(self, indent: int | None = 2) -> str:
        return jsonable.dumps(self, indent=indent)


def infer_quote_asset(market: str) -> str:
    """The quote of "BASE-QUOTE" (pmm's market naming); "BASE/QUOTE" and "BASE/QUOTE:SETTLE" too."""
    for sep in ("-", "/"):
        if sep in market:
            return market.rsplit(sep, 1)[1].split(":")[0]
    return ""


def _vwap(quote: Decimal, base: Decimal) -> Decimal | None:
    return None if base == 0 else quote / base


class FillTotals:
    """What the report needs from a group's fills, folded one fill at a time (in time order).

    `pmm history` reads the store's `fill_totals` rows into these (or folds the fills' rows, see
    `totals_read.py`) without building a record per fill.
    """

    __slots__ = ("buys", "sells", "b_base", "b_quote", "s_base", "s_quote", "realized", "fees", "first_ts", "last_ts")

    def __init__(self) -> None:
        self.buys = self.sells = 0
        self.b_base = self.b_quote = self.s_base = self.s_quote = self.realized = ZERO
        self.fees: dict[str, Decimal] = {}
        self.first_ts: float | None = None
        self.last_ts: float | None = None

    def add(self, buy: bool, price: Decimal, amount: Decimal, fee: Decimal, fee_asset: str, realized: Decimal,
            ts: float) -> None:
        if buy:
            self.buys += 1
            self.b_base += amount
            self.b_quote += amount * price
        else:
            self.sells += 1
            self.s_base += amount
            self.s_quote += amount * price
        self.realized += realized
        fees = self.fees
        fees[fee_asset] = fees.get(fee_asset, ZERO) + fee
        if self.first_ts is None or ts < self.first_ts:
            self.first_ts = ts
        if self.last_ts is None or ts > self.last_ts:
            self.last_ts = ts

    def merge(self, other: FillTotals) -> None:
        """Add another group's totals (of later fills, or of fills in the same period)."""
        self.buys += other.buys
        self.sells += other.sells
        self.b_base += other.b_base
        self.b_quote += other.b_quote
        self.s_base += other.s_base
        self.s_quote += other.s_quote
        self.realized += other.realized
        for asset, fee in other.fees.items():
            self.fees[asset] = self.fees.get(asset, ZERO) + fee
        for ts in (other.first_ts, other.last_ts):
            if ts is not None:
                self.first_ts = ts if self.first_ts is None or ts < self.first_ts else self.first_ts
                self.last_ts = ts if self.last_ts is None or ts > self.last_ts else self.last_ts

    def add_fill(self, f: FillRecord) -> None:
        self.add(f.side is Side.BUY, f.price, f.amount, f.fee, f.fee_asset, f.realized_pnl, f.ts)


def market_performance(
    venue: str,
    market: str,
    fills: Iterable[FillRecord],
    funding: Iterable[FundingRecord],
    positions: Iterable[PositionSnapshot] = (),
    *,
    run_id: str | None = None,
    quote_asset: str | None = None,
    prices: Mapping[str, Decimal] | None = None,
) -> MarketPerformance:
    """The performance of (venue, market); records of other venues/markets/runs are ignored.

    `positions` may hold several snapshots: the last one (by ts, then list order) per side counts.
    `prices` values one unit of a non-quote asset (a fee in BNB) in `quote_asset`.
    """
    totals = FillTotals()
    for f in fills:
        if f.venue == venue and f.market == market and (run_id is None or f.run_id == run_id):
            totals.add_fill(f)
    return market_performance_of(venue, market, totals, funding, positions, run_id=run_id,
                                 quote_asset=quote_asset, prices=prices)


def market_performance_of(
    venue: str,
    market: str,
    totals: FillTotals,
    funding: Iterable[FundingRecord],
    positions: Iterable[PositionSnapshot] = (),
    *,
    run_id: str | None = None,
    quote_asset: str | None = None,
    prices: Mapping[str, Decimal] | None = None,
    unrealized_inherited: Decimal = ZERO,
) -> MarketPerformance:
    """`market_performance` from the group's fills already folded into `totals`."""
    quote = quote_asset or infer_quote_asset(market)
    prices = prices or {}

    def mine(r: FundingRecord | PositionSnapshot) -> bool:
        return r.venue == venue and r.market == market and (run_id is None or r.run_id == run_id)

    buys, sells = totals.buys, totals.sells
    b_base, b_quote, s_base, s_quote = totals.b_base, totals.b_quote, totals.s_base, totals.s_quote
    realized, fees = totals.realized, totals.fees
    times: list[float] = [t for t in (totals.first_ts, totals.last_ts) if t is not None]

    unpriced: set[str] = set()

    def in_quote(amount: Decimal, asset: str) -> Decimal:
        if asset == quote or not asset:
            return amount
        if asset in prices:
            return amount * prices[asset]
        unpriced.add(asset)  # reported, and left out of the quote totals
        return ZERO

    paid = received = ZERO
    n_funding = 0
    for p in filter(mine, funding):
        n_funding += 1
        times.append(p.ts)
        amount = in_quote(p.amount, p.asset)
        if amount < 0:
            paid -= amount
        else:
            received += amount
    fees_in_quote = sum((in_quote(fee, asset) for asset, fee in fees.items()), ZERO)

    last: dict[Any, PositionSnapshot] = {}
    for snap in filter(mine, positions):
        prev = last.get(snap.side)
        if prev is None or snap.ts >= prev.ts:
            last[snap.side] = snap
    position = sum((s.signed_amount for s in last.values()), ZERO)
    unrealized = sum((s.unrealized_pnl for s in last.values() if s.amount != 0), ZERO)
    marks = [s for s in last.values() if s.mark_price is not None]
    mark = max(marks, key=lambda s: s.ts).mark_price if marks else None

    funding_net = received - paid
    return MarketPerformance(
        venue=venue, market=market, run_id=run_id, quote_asset=quote,
        start_ts=min(times) if times else None, end_ts=max(times) if times else None,
        fills=buys + sells, buys=buys, sells=sells,
        buy_volume_base=b_base, buy_volume_quote=b_quote, sell_volume_base=s_base, sell_volume_quote=s_quote,
        avg_buy_price=_vwap(b_quote, b_base), avg_sell_price=_vwap(s_quote, s_base),
        realized_pnl=realized, fees_by_asset=dict(sorted(fees.items())), fees_in_quote=fees_in_quote,
        unpriced_assets=tuple(sorted(unpriced)), funding_payments=n_funding, funding_paid=paid,
        funding_received=received, funding_net=funding_net, position=position, mark_price=mark,
        unrealized_pnl=unrealized, unrealized_inherited=unrealized_inherited,
        net_pnl=realized - fees_in_quote + funding_net + unrealized - unrealized_inherited,
    )  # fmt: skip


def performance_report(
    fills: Iterable[FillRecord],
    funding: Iterable[FundingRecord],
    positions: Iterable[PositionSnapshot] = (),
    *,
    per_run: bool = False,
    quote_assets: Mapping[str, str] | None = None,
    prices: Mapping[str, Decimal] | None = None,
) -> PerformanceReport:
    """Group by (venue, market), or (venue, market, run_id) with `per_run`, and report each group.

    A market appears if it has a fill, a funding payment, or an open position in the snapshots.
    `quote_assets` maps market -> quote asset where "BASE-QUOTE" naming does not tell it.
    """
    totals: dict[tuple[str, str, str | None], FillTotals] = {}
    for f in fills:
        key = (f.venue, f.market, f.run_id if per_run else None)
        group = totals.get(key)
        if group is None:
            group = totals[key] = FillTotals()
        group.add_fill(f)
    return performance_report_of(totals, funding, positions, per_run=per_run, quote_assets=quote_assets,
                                 prices=prices)


def performance_report_of(
    fill_totals: Mapping[tuple[str, str, str | None], FillTotals],
    funding: Iterable[FundingRecord],
    positions: Iterable[PositionSnapshot] = (),
    *,
    per_run: bool = False,
    quote_assets: Mapping[str, str] | None = None,
    prices: Mapping[str, Decimal] | None = None,
) -> PerformanceReport:
    """`performance_report` from fills already folded per group: keys (venue, market, run_id or None)."""
    funding, positions = list(funding), list(positions)
    quote_assets = quote_assets or {}

    def key(r: FundingRecord | PositionSnapshot) -> tuple[str, str, str | None]:
        return (r.venue, r.market, r.run_id if per_run else None)

    keys = set(fill_totals) | {key(r) for r in funding} | {key(p) for p in positions if p.amount != 0}
    inherited = _inherited_unrealized(positions) if per_run else {}
    # Per market, runs in the order they traded (run ids are random: sorting by them alone would
    # shuffle the runs from one store to the next).
    markets = tuple(sorted(
        (market_performance_of(
            venue, market, fill_totals.get((venue, market, run_id)) or FillTotals(), funding, positions,
            run_id=run_id, quote_asset=quote_assets.get(market), prices=prices,
            unrealized_inherited=inherited.get((venue, market, run_id), ZERO),
        ) for venue, market, run_id in keys),
        key=lambda m: (m.venue, m.market, m.start_ts is None, m.start_ts or 0.0, m.run_id or ""),
    ))  # fmt: skip
    by_quote: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for m in markets:
        by_quote[m.quote_asset] += m.net_pnl
    starts = [m.start_ts for m in markets if m.start_ts is not None]
    ends = [m.end_ts for m in markets if m.end_ts is not None]
    return PerformanceReport(
        start_ts=min(starts) if starts else None,
        end_ts=max(ends) if ends else None,
        markets=markets,
        net_pnl_by_quote=dict(sorted(by_quote.items())),
    )


def _inherited_unrealized(positions: Iterable[PositionSnapshot]) -> dict[tuple[str, str, str | None], Decimal]:
    """Per (venue, market, run): the unrealized PnL of the position each side held when the run
    began, as the run before it on that side last recorded it (its last snapshot)."""
    last: dict[tuple[str, str, Any, str], PositionSnapshot] = {}
    for snap in positions:
        k = (snap.venue, snap.market, snap.side, snap.run_id)
        if k not in last or snap.ts >= last[k].ts:
            last[k] = snap
    sides: dict[tuple[str, str, Any], list[PositionSnapshot]] = defaultdict(list)
    for snap in last.values():
        sides[(snap.venue, snap.market, snap.side)].append(snap)
    inherited: dict[tuple[str, str, str | None], Decimal] = defaultdict(lambda: ZERO)
    for chain in sides.values():
        chain.sort(key=lambda snap: snap.ts)
        for before, run in zip(chain, chain[1:], strict=False):
            if before.amount != 0:
                inherited[(run.venue, run.market, run.run_id)] += before.unrealized_pnl
    return dict(inherited)


def ledger_difference(
    start_balance: Decimal,
    end_balance: Decimal,
    fills: Iterable[FillRecord],
    funding: Iterable[FundingRecord],
    asset: str | None = None,
) -> Decimal:
    """`end - start - (Σ realized_pnl - Σ fee + Σ funding)`: 0 when the records explain the wallet.

    With `asset`, only fees and funding paid in that asset count (a fee in BNB does not move the
    USDT wallet). Non-zero means a fill or payment is missing, duplicated or wrong, or the wallet
    moved for another reason (a transfer).
    """
    fills = list(fills)
    realized = sum((f.realized_pnl for f in fills), ZERO)
    fees = sum((f.fee for f in fills if asset is None or f.fee_asset == asset), ZERO)
    paid = sum((p.amount for p in funding if asset is None or p.asset == asset), ZERO)
    return end_balance - start_balance - (realized - fees + paid)
