"""Risk controls: the kill switch, the liquidation guard, the stale-data guard, disconnect safety.

The kill switch is evaluated on every fill, position update and mark-price update (not on a
poll); when it trips the engine cancels every own order, optionally flattens, records why and
the process exits with code 5. The other guards shape what the strategy may do:
- stale data (on by default): no quote is placed or kept from a book that is resyncing or whose
  market data is older than `stale_data_s`;
- liquidation guard: no new exposure while the mark is within `liquidation_guard` of the
  liquidation price;
- disconnect safety (on by default): after the private stream or the venue was unreachable for
  longer than `disconnect_cancel_s`, every own order is cancelled as soon as it is reachable again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from pmm.core.model import Position

_DAY_S = 86400.0


@dataclass(frozen=True)
class RiskLimits:
    max_session_loss: Decimal | None = None  # quote currency, fills + fees + funding + unrealized
    max_daily_loss: Decimal | None = None  # the same, since 00:00 UTC of the clock's day
    max_position_notional: Decimal | None = None  # quote currency, at the mark
    max_open_orders: int | None = None
    flatten_on_kill: bool = False
    flatten_timeout_s: float = 30.0  # reduce-only limit first; market order after this
    liquidation_guard: Decimal | None = None  # fraction of the mark price
    stale_data_s: float = 30.0  # 0 disables
    disconnect_cancel_s: float = 10.0  # 0 disables
    dead_man_switch_s: float = 60.0  # venue-side cancel-all countdown, where offered; 0 disables


def liquidation_distance(position: Position, mark: Decimal | None) -> Decimal | None:
    """|mark - liquidation price| / mark, or None when unknown."""
    if mark is None or mark <= 0 or position.liquidation_price is None:
        return None
    return abs(mark - position.liquidation_price) / mark


class RiskMonitor:
    def __init__(self, limits: RiskLimits, start_ts: float) -> None:
        self.limits = limits
        self._day = self._day_of(start_ts)
        self._net_at_day_start = Decimal(0)
        self.tripped: str | None = None

    @staticmethod
    def _day_of(ts: float) -> int:
        return int(ts // _DAY_S)

    def kill_reason(self, *, now: float, session_net: Decimal, positions: tuple[Position, ...],
                    mark: Decimal | None, open_orders: int) -> str | None:
        """Why the kill switch must trip now, or None."""
        limits = self.limits
        day = self._day_of(now)
        if day != self._day:  # a new UTC day: daily PnL counts from here
            self._day, self._net_at_day_start = day, session_net
        loss = -session_net
        if limits.max_session_loss is not None and loss > limits.max_session_loss:
            return f"session loss {loss:f} exceeds max_session_loss {limits.max_session_loss:f}"
        daily_loss = self._net_at_day_start - session_net
        if limits.max_daily_loss is not None and daily_loss > limits.max_daily_loss:
            day_text = datetime.fromtimestamp(day * _DAY_S, UTC).date().isoformat()
            return f"loss on {day_text} of {daily_loss:f} exceeds max_daily_loss {limits.max_daily_loss:f}"
        if limits.max_position_notional is not None:
            notional = sum((p.amount * (mark or p.entry_price) for p in positions), Decimal(0))
            if notional > limits.max_position_notional:
                return (f"position notional {notional:f} exceeds max_position_notional "
                        f"{limits.max_position_notional:f}")
        if limits.max_open_orders is not None and open_orders > limits.max_open_orders:
            return f"{open_orders} open orders exceed max_open_orders {limits.max_open_orders}"
        return None

    def near_liquidation(self, positions: tuple[Position, ...], mark: Decimal | None) -> str | None:
        guard = self.limits.liquidation_guard
        if guard is None:
            return None
        for p in positions:
            distance = liquidation_distance(p, mark)
            if distance is not None and distance < guard:
                return (f"liquidation guard: mark {mark} is {distance * 100:.2f}% from the {p.side} position's "
                        f"liquidation price {p.liquidation_price} (guard {guard * 100:f}%): no new exposure")
        return None

    def stale_reason(self, *, now: float, last_data_ts: float | None, book_ready: bool,
                     resync_reason: str) -> str | None:
        if not book_ready:
            return f"order book not ready: {resync_reason or 'resyncing'}"
        stale_s = self.limits.stale_data_s
        if stale_s > 0 and last_data_ts is not None and now - last_data_ts > stale_s:
            return f"market data stale: nothing received for {now - last_data_ts:.0f} s (stale_data_s {stale_s:g})"
        return None
