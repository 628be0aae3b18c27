"""The `quoting:` section: the quoting model (Hummingbot's, or GLFT with inventory and funding
skew). Absent, the bot quotes exactly as Hummingbot does. See pmm/strategy/glft.py for the model."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import model_validator

from pmm.config.base import BASE_UNITS, SECONDS, Section, rule
from pmm.config.rules import Boolean, Choice, Number
from pmm.config.wording import fail
from pmm.strategy.params import QuotingModel, QuotingParams

QUOTING_MODELS = Choice({model.value: model for model in QuotingModel})


class QuotingConfig(Section):
    """`model: glft` needs `max_position`; the other keys have defaults."""

    model: Annotated[QuotingModel, rule(QUOTING_MODELS)] = QuotingModel.HUMMINGBOT
    risk_aversion: Annotated[
        Decimal, rule(Number(gt=0, le=1000, unit="gamma, per tick and per order of inventory"))
    ] = Decimal("0.1")
    max_position: Annotated[Decimal | None, rule(Number(gt=0, unit=BASE_UNITS))] = None
    calibration_window_s: Annotated[float, rule(Number(ge=60, le=86400, unit=SECONDS, kind=float))] = 600.0
    recalibrate_every_s: Annotated[float, rule(Number(gt=0, le=3600, unit=SECONDS, kind=float))] = 5.0
    funding_skew: Annotated[bool, rule(Boolean())] = True

    @model_validator(mode="after")
    def _glft_needs_a_limit(self) -> QuotingConfig:
        if self.model is QuotingModel.GLFT and self.max_position is None:
            fail("set with `model: glft`: a number greater than 0 (base units), the largest position "
                 "plus same-side pending orders the model may build", subpath=".max_position", shown="missing")
        if self.recalibrate_every_s > self.calibration_window_s:
            fail(f"at most calibration_window_s ({self.calibration_window_s:g})", subpath=".recalibrate_every_s",
                 shown=f"{self.recalibrate_every_s:g}")
        return self

    def to_params(self) -> QuotingParams:
        return QuotingParams(
            model=self.model, risk_aversion=self.risk_aversion, max_position=self.max_position,
            calibration_window_s=self.calibration_window_s, recalibrate_every_s=self.recalibrate_every_s,
            funding_skew=self.funding_skew,
        )
