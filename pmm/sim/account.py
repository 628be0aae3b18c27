"""The simulated USDT-margined account: wallets, positions, leverage/margin settings, margin math.

Conventions (all per quote asset, e.g. USDT):
- wallet = deposits + realized PnL - fees + funding. Only fills and funding change it.
- cross position margin = size * mark / leverage; isolated position margin is fixed at open
  (notional / leverage of each opening fill), shrinks in proportion on closes and absorbs funding.
- open orders reserve `opening_qty * price / leverage`; reduce-only orders and hedge-mode closes
  reserve nothing. In one-way mode the opening part of an order is what exceeds the opposite
  position (each order is netted against the whole position: a simple, slightly generous rule).
- available = wallet + cross unrealized PnL - position margins - order margins.
- liquidation: cross positions when `wallet - isolated margins + cross uPnL < cross maintenance`
  (sum of size * mark * maintenance_margin); an isolated one when `margin + uPnL < maintenance`.

Liquidation price (closed form, approximate: it ignores the other positions' maintenance margin
and assumes their uPnL stays put). With W = the buffer that absorbs this position's losses (cross:
wallet - isolated margins + the other cross positions' uPnL; isolated: the position margin),
size q, cost C = sum(lot_price * lot_qty) and maintenance rate m:
    long:  W + q*p - C = q*p*m   =>  p = (C - W) / (q * (1 - m))
    short: W + C - q*p = q*p*m   =>  p = (W + C) / (q * (1 + m))
None when that price is not positive (the position cannot be liquidated).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from pmm.core.model import ZERO, Balance, MarginMode, Position, PositionMode, PositionSide, Side
from pmm.sim.num import dec, round8
from pmm.sim.orders import SimOrder
from pmm.sim.positions import PositionState

_ONE = Decimal(1)
_SIDES = (PositionSide.LONG, PositionSide.SHORT)


class Account:
    """Balances, positions with FIFO lots, per-market leverage and margin mode, position mode."""

    def __init__(
        self,
        balances: Mapping[str, Decimal],
        quotes: Mapping[str, str],
        leverage: Mapping[str, int],
        maintenance_margin: Decimal,
    ) -> None:
        self.quotes = dict(quotes)  # market -> quote (settlement) asset
        self.wallet: dict[str, Decimal] = dict(balances)
        for asset in self.quotes.values():
            self.wallet.setdefault(asset, ZERO)
        self.maintenance_margin = maintenance_margin
        self.positions: dict[tuple[str, PositionSide], PositionState] = {}
        self.marks: dict[str, Decimal] = {}
        self.leverage: dict[str, int] = dict(leverage)
        self.margin_mode: dict[str, MarginMode] = {market: MarginMode.CROSS for market in self.quotes}
        self.position_mode = PositionMode.ONEWAY

    # --- positions ----------------------------------------------------------------------------

    def position(self, market: str, side: PositionSide) -> PositionState | None:
        return self.positions.get((market, side))

    def market_positions(self, market: str) -> list[PositionState]:
        return [pos for side in _SIDES if (pos := self.positions.get((market, side))) is not None]

    def reducible(self, market: str, side: Side, position_side: PositionSide) -> Decimal:
        """How much an order of `side` (and `position_side`) would close right now."""
        if self.position_mode is PositionMode.ONEWAY:
            target = PositionSide.SHORT if side is Side.BUY else PositionSide.LONG
        elif position_side is not PositionSide.BOTH and position_side.closing_side is side:
            target = position_side
        else:
            return ZERO  # a hedge-mode opening order closes nothing
        pos = self.positions.get((market, target))
        return pos.size if pos is not None else ZERO

    def apply_fill(
        self, market: str, side: Side, position_side: PositionSide, price: Decimal, qty: Decimal, fee: Decimal
    ) -> tuple[Decimal, list[PositionSide]]:
        """Book one fill: close what it closes (FIFO lots), open the rest; wallet += pnl - fee.

        Returns the realized PnL and the position sides it touched (for PositionUpdated).
        Callers clip reducing orders first, so a hedge-mode close never exceeds the position.
        """
        touched: list[PositionSide] = []
        realized = ZERO
        if self.position_mode is PositionMode.ONEWAY:
            close_side = PositionSide.SHORT if side is Side.BUY else PositionSide.LONG
            open_side = PositionSide.LONG if side is Side.BUY else PositionSide.SHORT
        elif position_side.closing_side is side:
            close_side, open_side = position_side, None
        else:
            close_side, open_side = None, position_side
        if close_side is not None and (pos := self.positions.get((market, close_side))) is not None:
            closing = qty if qty <= pos.size else pos.size
            realized = pos.reduce(price, closing)
            qty -= closing
            touched.append(close_side)
            if not pos.size:
                del self.positions[(market, close_side)]
        if qty > 0:
            if open_side is None:
                raise ValueError(f"a hedge-mode close of {qty} more than the {market} position")
            self._open(market, open_side, price, qty)
            touched.append(open_side)
        self.wallet[self.quotes[market]] += realized - fee
        return realized, touched

    def _open(self, market: str, side: PositionSide, price: Decimal, qty: Decimal) -> None:
        pos = self.positions.get((market, side))
        if pos is None:
            pos = self.positions[(market, side)] = PositionState(market, side)
        pos.add(price, qty)
        if self.margin_mode[market] is MarginMode.ISOLATED:
            pos.isolated_margin += round8(price * qty / self.leverage[market])

    def apply_funding(self, pos: PositionState, amount: Decimal) -> None:
        self.wallet[self.quotes[pos.market]] += amount
        if self.margin_mode[pos.market] is MarginMode.ISOLATED:
            pos.isolated_margin += amount  # isolated funding comes out of the position's margin

    # --- margin -------------------------------------------------------------------------------

    def mark(self, pos: PositionState) -> Decimal:
        mark = self.marks.get(pos.market)
        return mark if mark is not None else pos.entry_price

    def is_isolated(self, market: str) -> bool:
        return self.margin_mode[market] is MarginMode.ISOLATED

    def position_margin(self, pos: PositionState) -> Decimal:
        if self.is_isolated(pos.market):
            return pos.isolated_margin
        return round8(pos.size * self.mark(pos) / self.leverage[pos.market])

    def opening_qty(self, market: str, side: Side, position_side: PositionSide, amount: Decimal) -> Decimal:
        """The part of an order of `amount` that would open or increase a position."""
        if self.position_mode is PositionMode.HEDGE:
            return ZERO if position_side.closing_side is side else amount
        return max(ZERO, amount - self.reducible(market, side, position_side))

    def order_margin(self, order: SimOrder) -> Decimal:
        if order.reducing or order.price is None:
            return ZERO
        opening = self.opening_qty(order.market, order.side, order.position_side, order.remaining)
        return round8(opening * order.price / self.leverage[order.market]) if opening else ZERO

    def _asset_positions(self, asset: str) -> Iterable[PositionState]:
        return (pos for pos in self.positions.values() if self.quotes[pos.market] == asset)

    def _cross_equity(self, asset: str) -> Decimal:
        """wallet - isolated margins + cross uPnL: what stands behind the cross positions."""
        equity = self.wallet[asset]
        for pos in self._asset_positions(asset):
            if self.is_isolated(pos.market):
                equity -= pos.isolated_margin
            else:
                equity += pos.unrealized_pnl(self.mark(pos))
        return equity

    def available(self, asset: str, orders: Iterable[SimOrder]) -> Decimal:
        return self.balance(asset, orders).available

    def balance(self, asset: str, orders: Iterable[SimOrder]) -> Balance:
        wallet = self.wallet.get(asset, ZERO)
        cross_upnl = total_upnl = in_use = ZERO
        for pos in self._asset_positions(asset):
            upnl = pos.unrealized_pnl(self.mark(pos))
            total_upnl += upnl
            if not self.is_isolated(pos.market):
                cross_upnl += upnl
            in_use += self.position_margin(pos)
        for order in orders:
            if self.quotes[order.market] == asset:
                in_use += self.order_margin(order)
        return Balance(
            asset=asset,
            total=wallet,
            available=wallet + cross_upnl - in_use,
            margin_in_use=in_use,
            unrealized_pnl=total_upnl,
        )

    # --- reports ------------------------------------------------------------------------------

    def report(self, pos: PositionState) -> Position:
        mark = self.mark(pos)
        upnl = pos.unrealized_pnl(mark)
        if self.is_isolated(pos.market):
            buffer = pos.isolated_margin
        else:
            buffer = self._cross_equity(self.quotes[pos.market]) - upnl
        return Position(
            market=pos.market,
            side=pos.side,
            amount=pos.size,
            entry_price=pos.entry_price,
            leverage=self.leverage[pos.market],
            margin_mode=self.margin_mode[pos.market],
            unrealized_pnl=upnl,
            liquidation_price=self._liquidation_price(pos, buffer),
            mark_price=self.marks.get(pos.market),
            margin=self.position_margin(pos),
        )

    def _liquidation_price(self, pos: PositionState, buffer: Decimal) -> Decimal | None:
        m = self.maintenance_margin
        if pos.is_long:
            price = (pos.cost - buffer) / (pos.size * (_ONE - m))
        else:
            price = (buffer + pos.cost) / (pos.size * (_ONE + m))
        return round8(price) if price > 0 else None

    # --- liquidation checks -------------------------------------------------------------------

    def maintenance(self, pos: PositionState) -> Decimal:
        return pos.size * self.mark(pos) * self.maintenance_margin

    def cross_breached(self, asset: str) -> list[PositionState]:
        """The cross positions of `asset` to liquidate (all of them, or none)."""
        cross = [p for p in self._asset_positions(asset) if not self.is_isolated(p.market)]
        if not cross:
            return []
        required = sum((self.maintenance(pos) for pos in cross), ZERO)
        return cross if self._cross_equity(asset) < required else []

    def isolated_breached(self) -> list[PositionState]:
        return [
            pos
            for pos in self.positions.values()
            if self.is_isolated(pos.market)
            and pos.isolated_margin + pos.unrealized_pnl(self.mark(pos)) < self.maintenance(pos)
        ]

    # --- persistence --------------------------------------------------------------------------

    def to_json(self) -> dict:
        return {
            "wallet": {asset: str(amount) for asset, amount in self.wallet.items()},
            "positions": [pos.to_json() for pos in self.positions.values()],
            "marks": {market: str(mark) for market, mark in self.marks.items()},
            "leverage": dict(self.leverage),
            "margin_mode": {market: mode.value for market, mode in self.margin_mode.items()},
            "position_mode": self.position_mode.value,
            "maintenance_margin": str(self.maintenance_margin),  # for reading a saved account alone
        }

    def restore(self, data: dict) -> None:
        """Everything but the maintenance margin rate, which comes from the settings in force."""
        self.wallet = {asset: dec(amount) for asset, amount in data["wallet"].items()}
        self.positions = {}
        for row in data["positions"]:
            pos = PositionState.from_json(row)
            self.positions[(pos.market, pos.side)] = pos
        self.marks = {market: dec(mark) for market, mark in data["marks"].items()}
        self.leverage = {market: int(lev) for market, lev in data["leverage"].items()}
        self.margin_mode = {market: MarginMode(mode) for market, mode in data["margin_mode"].items()}
        self.position_mode = PositionMode(data["position_mode"])
