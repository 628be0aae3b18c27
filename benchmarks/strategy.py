"""Quoting models compared (issue 15): `hummingbot` against `glft` on the same seeded markets.

    python -m benchmarks.strategy                  # 7 simulated days in each of four regimes
    python -m benchmarks.strategy --days 1 --regimes flat trend_up

Each run is `pmm start --fast` on sim_perpetual (the real engine, strategy and simulated venue),
with the synthetic market's trades reaching an exponentially decaying distance from the mid
(`trade_reach_ticks`), so quotes further out fill less. Regimes: flat; trend up and down
(`drift_pct_per_hour` +/-0.05, about 8 % a week); high positive funding (the rate follows a
0.1 % premium, longs pay). Both models use the same spreads (the GLFT model's minimum
half-spreads), order size, exits and seed; GLFT adds `risk_aversion`, `max_position` and the
funding skew.

Printed per regime and model: net PnL (realized - fees + funding + unrealized, USDT), the standard
deviation of daily PnL and mean/std ("ratio"), max and mean |inventory| (BTC, sampled every 5
simulated minutes), funding paid (USDT, positive = paid), fills, and the share of samples quoting.
Not part of the test suite (tests/benchmarks has a tiny smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pmm.app import StartOptions, run_bot  # noqa: E402
from pmm.config import parse_config_text  # noqa: E402

DAY_S = 86400.0
SAMPLE_S = 300.0  # the engine's status interval in --fast runs

BASE = """\
derivative: sim_perpetual
market: BTC-USDT
leverage: 10
bid_spread: 0.03
ask_spread: 0.03
order_refresh_time: 15
order_amount: 0.01
long_profit_taking_spread: 0.2
short_profit_taking_spread: 0.2
stop_loss_spread: 1
time_between_stop_loss_orders: 30
filled_order_delay: 10
{quoting}
sim:
  seed: {seed}
  balances: {{USDT: 10000}}
  latency_ms: 50
  markets:
    BTC-USDT:
      generator:
        type: synthetic
        start_price: 65000
        volatility_pct_per_sqrt_hour: 0.5
        trade_rate_per_min: 30
        trade_reach_ticks: 200
{regime}
"""

GLFT = """quoting:
  model: glft
  risk_aversion: 0.001
  max_position: 0.05
  calibration_window_s: 1800
  recalibrate_every_s: 10
  funding_skew: true"""

REGIMES = {
    "flat": "",
    "trend_up": "        drift_pct_per_hour: 0.05",
    "trend_down": "        drift_pct_per_hour: -0.05",
    "high_funding": "        funding_follows_premium: true\n        mark_premium_pct: 0.1",
}


@dataclass
class Result:
    regime: str
    model: str
    net: Decimal = Decimal(0)
    funding: Decimal = Decimal(0)
    fills: int = 0
    daily: list[float] = field(default_factory=list)
    inventory: list[float] = field(default_factory=list)
    quoting: list[bool] = field(default_factory=list)
    wall_s: float = 0.0


def config_text(regime: str, model: str, seed: int) -> str:
    return BASE.format(quoting=GLFT if model == "glft" else "", seed=seed, regime=REGIMES[regime])


async def run_one(regime: str, model: str, days: float, seed: int, folder: Path) -> Result:
    result = Result(regime, model)
    config = parse_config_text(config_text(regime, model, seed))
    day_marks: list[float] = []
    start: list[float] = []

    def on_engine(engine: object) -> None:
        record = engine.record_status  # type: ignore[attr-defined]

        def sampled() -> None:
            record()
            status = engine.status()  # type: ignore[attr-defined]
            now = float(status["ts"])
            if not start:
                start.append(now)
            positions = status["positions"]
            net_position = sum(float(p["amount"]) * (1 if p["side"] == "long" else -1) for p in positions)
            result.inventory.append(abs(net_position))
            result.quoting.append(bool(status["quoting"]))
            session = status["session"]
            result.net, result.funding, result.fills = (Decimal(session["net_pnl"]), Decimal(session["funding"]),
                                                        int(session["fills"]))
            if now - start[0] >= DAY_S * (len(day_marks) + 1) or not day_marks:
                day_marks.append(float(session["net_pnl"]))

        engine.record_status = sampled  # type: ignore[attr-defined]

    db = f"sqlite:///{folder / f'{regime}-{model}.db'}"
    began = time.perf_counter()
    await run_bot(config, StartOptions(db_url=db, duration_s=days * DAY_S, fast=True), on_engine=on_engine,
                  install_signal_handlers=False)
    result.wall_s = time.perf_counter() - began
    marks = day_marks + [float(result.net)]
    result.daily = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    return result


def row(r: Result) -> str:
    std = statistics.pstdev(r.daily) if len(r.daily) > 1 else 0.0
    mean = statistics.fmean(r.daily) if r.daily else 0.0
    ratio = f"{mean / std:7.2f}" if std > 0 else "    n/a"
    inv_max = max(r.inventory, default=0.0)
    inv_mean = statistics.fmean(r.inventory) if r.inventory else 0.0
    quoting = 100.0 * sum(r.quoting) / len(r.quoting) if r.quoting else 0.0
    return (f"| {r.regime:12} | {r.model:9} | {float(r.net):10.2f} | {std:9.2f} | {ratio} | {inv_max:7.3f} | "
            f"{inv_mean:7.4f} | {-float(r.funding):9.2f} | {r.fills:6d} | {quoting:6.1f} % |")


HEADER = ("| regime       | model     | net PnL    | daily std | ratio   | max|q|  | mean|q|  | funding   | fills  "
          "| quoting  |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--regimes", nargs="+", choices=sorted(REGIMES), default=list(REGIMES))
    parser.add_argument("--models", nargs="+", choices=("hummingbot", "glft"), default=["hummingbot", "glft"])
    args = parser.parse_args(argv)
    logging.disable(logging.INFO)  # the runs' own log lines; given back below (tests call main())
    try:
        print(f"{args.days:g} simulated days per run, seed {args.seed}; USDT and BTC")
        print(HEADER, flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            for regime in args.regimes:
                for model in args.models:
                    result = asyncio.run(run_one(regime, model, args.days, args.seed, Path(tmp)))
                    print(row(result), flush=True)
    finally:
        logging.disable(logging.NOTSET)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
