"""The `risk:` section: kill switch, liquidation guard, stale-data guard, disconnect safety."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pmm.config.base import PERCENT, SECONDS, Section, rule
from pmm.config.rules import Boolean, Number

QUOTE = "quote currency"


class RiskConfig(Section):
    """Every limit is off unless set, except the stale-data and disconnect guards (0 disables them)."""

    max_session_loss: Annotated[Decimal | None, rule(Number(gt=0, unit=QUOTE))] = None
    max_daily_loss: Annotated[Decimal | None, rule(Number(gt=0, unit=QUOTE))] = None
    max_position_notional: Annotated[Decimal | None, rule(Number(gt=0, unit=QUOTE))] = None
    max_open_orders: Annotated[int | None, rule(Number(gt=0, kind=int, unit="orders"))] = None
    flatten_on_kill: Annotated[bool, rule(Boolean())] = False
    flatten_timeout_s: Annotated[float, rule(Number(gt=0, kind=float, unit=SECONDS))] = 30.0
    liquidation_guard_pct: Annotated[Decimal | None, rule(Number(gt=0, lt=100, unit=PERCENT))] = None
    stale_data_s: Annotated[float, rule(Number(ge=0, kind=float, unit=SECONDS, note="0 disables"))] = 30.0
    disconnect_cancel_s: Annotated[float, rule(Number(ge=0, kind=float, unit=SECONDS, note="0 disables"))] = 10.0
    dead_man_switch_s: Annotated[float, rule(Number(ge=0, kind=float, unit=SECONDS, note="0 disables"))] = 60.0

    def to_limits(self) -> object:
        from pmm.engine.risk import RiskLimits

        return RiskLimits(
            max_session_loss=self.max_session_loss, max_daily_loss=self.max_daily_loss,
            max_position_notional=self.max_position_notional, max_open_orders=self.max_open_orders,
            flatten_on_kill=self.flatten_on_kill, flatten_timeout_s=self.flatten_timeout_s,
            liquidation_guard=None if self.liquidation_guard_pct is None else self.liquidation_guard_pct / 100,
            stale_data_s=self.stale_data_s, disconnect_cancel_s=self.disconnect_cancel_s,
            dead_man_switch_s=self.dead_man_switch_s,
        )
