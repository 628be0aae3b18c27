"""The backtest's numbers: `report.json` and the summary table.

Net PnL = spread capture + inventory PnL - fees + funding, where
- spread capture: what each fill earned against the book's mid when it reached the bot
  (a buy below the mid, a sell above it: (mid - price) x amount for a buy, (price - mid) x amount
  for a sell); negative for fills through the mid (taker stop-losses);
- inventory PnL: the rest of the trading PnL (realized + unrealized at the end's mark): how the
  mid moved while the bot held what it bought and sold;
- fees (paid, so subtracted) and funding (received positive).
Maximum drawdown is the largest fall of net PnL from a previous high, over the samples and fills.
Daily PnL is the change of net PnL over each UTC day the data covers (a partial first and last day
included); its standard deviation needs two days. Inventory statistics are time-weighted over
the samples.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pmm.backtest.collect import Sample
from pmm.backtest.run import BacktestResult
from pmm.core.model import Side

_ZERO = Decimal(0)


def _s(value: Decimal | None, places: int = 8) -> str | None:
    if value is None:
        return None
    return format(value.quantize(Decimal(1).scaleb(-places)), "f") if value.is_finite() else str(value)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def equity_curve(result: BacktestResult) -> list[tuple[float, Decimal]]:
    """(time, net PnL) at every sample."""
    return [(s.ts, s.equity) for s in result.sampler.samples]


def max_drawdown(curve: list[tuple[float, Decimal]]) -> tuple[Decimal, float | None, float | None]:
    """(largest fall from a high, time of that high, time of the low)."""
    peak, peak_ts = None, None
    worst, worst_peak, worst_low = _ZERO, None, None
    for ts, value in curve:
        if peak is None or value > peak:
            peak, peak_ts = value, ts
        elif peak - value > worst:
            worst, worst_peak, worst_low = peak - value, peak_ts, ts
    return worst, worst_peak, worst_low


def daily_pnl(curve: list[tuple[float, Decimal]]) -> list[tuple[str, Decimal]]:
    """Net PnL made in each UTC day: the last value of the day minus the last of the day before."""
    days: dict[str, Decimal] = {}
    for ts, value in curve:
        days[datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")] = value
    out, before = [], _ZERO
    for day, end_value in days.items():
        out.append((day, end_value - before))
        before = end_value
    return out


def inventory_stats(samples: list[Sample]) -> dict[str, Any]:
    if not samples:
        return {}
    weighted = flat = total = 0.0
    abs_weighted = 0.0
    for a, b in zip(samples, samples[1:], strict=False):
        dt = b.ts - a.ts
        total += dt
        weighted += float(a.position) * dt
        abs_weighted += abs(float(a.position)) * dt
        flat += dt if a.position == 0 else 0.0
    positions = [s.position for s in samples]
    return {
        "max_long": str(max(max(positions), _ZERO)), "max_short": str(min(min(positions), _ZERO)),
        "mean_position": round(weighted / total, 8) if total else 0.0,
        "mean_abs_position": round(abs_weighted / total, 8) if total else 0.0,
        "time_flat_pct": round(100 * flat / total, 2) if total else 100.0,
        "final_position": str(samples[-1].position),
    }


def build_report(result: BacktestResult) -> dict[str, Any]:
    fills = result.recorder.fills
    funding_rows = result.recorder.funding_payments
    samples = result.sampler.samples
    last = samples[-1]
    fees = sum((f.fee for f in fills), _ZERO)
    funding = sum((p.amount for p in funding_rows), _ZERO)
    realized = sum((f.realized_pnl for f in fills), _ZERO)
    spread = _ZERO
    for f in fills:
        if f.mid is not None:
            spread += (f.mid - f.price) * f.amount if f.side is Side.BUY else (f.price - f.mid) * f.amount
    trading = realized + last.unrealized
    inventory = trading - spread
    net = trading - fees + funding
    curve = equity_curve(result)
    drawdown, dd_from, dd_to = max_drawdown(curve)
    days = daily_pnl(curve)
    day_values = [float(v) for _, v in days]
    span = result.data_end - result.data_start
    quoting_s, not_quoting = result.sampler.quoting_s, result.sampler.not_quoting_s
    measured = quoting_s + sum(not_quoting.values())
    buys = [f for f in fills if f.side is Side.BUY]
    sells = [f for f in fills if f.side is Side.SELL]
    by_purpose: dict[str, int] = {}
    for f in fills:
        by_purpose[f.purpose] = by_purpose.get(f.purpose, 0) + 1
    return {
        "market": result.market,
        "data": {"from": _iso(result.data_start), "to": _iso(result.data_end), "from_ts": result.data_start,
                 "to_ts": result.data_end, "hours": round(span / 3600, 4), "records": result.records,
                 "files": [str(p) for p in result.data_files]},
        "model": {"queue": result.queue, "latency_ms": round(result.latency_s * 1000, 3),
                  "latency_source": result.latency_source,
                  "maker_fee_pct": _s(result.config.sim.maker_fee_pct, 6),
                  "taker_fee_pct": _s(result.config.sim.taker_fee_pct, 6),
                  "tick_size": str(result.rules.tick_size), "step_size": str(result.rules.step_size)},
        "stop_reason": result.reason,
        "kill_switch": result.kill_switch,
        "pnl": {"net": _s(net), "spread_capture": _s(spread), "inventory": _s(inventory), "fees": _s(fees),
                "funding": _s(funding), "realized": _s(realized), "unrealized": _s(last.unrealized),
                "quote_asset": result.rules.quote},
        "fills": {"count": len(fills), "buys": len(buys), "sells": len(sells),
                  "maker": sum(1 for f in fills if f.maker), "taker": sum(1 for f in fills if not f.maker),
                  "by_purpose": by_purpose,
                  "volume_base": str(sum((f.amount for f in fills), _ZERO)),
                  "volume_quote": _s(sum((f.amount * f.price for f in fills), _ZERO), 4)},
        "orders": {"placed": result.orders_placed, "cancelled": result.orders_cancelled},
        "funding_payments": len(funding_rows),
        "max_drawdown": {"amount": _s(drawdown), "from": _iso(dd_from) if dd_from else None,
                         "to": _iso(dd_to) if dd_to else None},
        "daily_pnl": [{"day": day, "pnl": _s(value)} for day, value in days],
        "daily_pnl_std": round(statistics.stdev(day_values), 8) if len(day_values) >= 2 else None,
        "inventory": inventory_stats(samples),
        "quoting": {
            "time_quoting_pct": round(100 * quoting_s / measured, 2) if measured else 0.0,
            "not_quoting": sorted(({"reason": reason, "seconds": round(seconds, 3),
                                    "pct": round(100 * seconds / measured, 2) if measured else 0.0}
                                   for reason, seconds in not_quoting.items()), key=lambda r: -r["seconds"]),
        },
        "speed": {"wall_s": round(result.wall_s, 3),
                  "records_per_s": round(result.records / result.wall_s) if result.wall_s > 0 else None,
                  "data_hours_per_wall_s": round(span / 3600 / result.wall_s, 3) if result.wall_s > 0 else None},
        "fill_list": [{"ts": f.ts, "side": str(f.side), "price": str(f.price), "amount": str(f.amount),
                       "fee": str(f.fee), "realized_pnl": str(f.realized_pnl), "liquidity": "maker" if f.maker
                       else "taker", "purpose": f.purpose, "mid": _s(f.mid, 8)} for f in fills],
    }


def summary_rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    pnl, fills, quoting, inventory = report["pnl"], report["fills"], report["quoting"], report["inventory"]
    quote = pnl["quote_asset"]
    std = report["daily_pnl_std"]
    return [
        ("Data", f"{report['data']['from']} to {report['data']['to']} ({report['data']['hours']} h, "
                 f"{report['data']['records']:,} records)"),
        ("Model", f"queue {report['model']['queue']}, latency {report['model']['latency_ms']} ms"),
        ("Net PnL", f"{pnl['net']} {quote}"),
        ("  spread capture", pnl["spread_capture"]),
        ("  inventory", pnl["inventory"]),
        ("  fees", f"-{pnl['fees']}"),
        ("  funding", pnl["funding"]),
        ("Fills (buy / sell)", f"{fills['count']} ({fills['buys']} / {fills['sells']}), {fills['taker']} taker"),
        ("Volume", f"{fills['volume_base']} / {fills['volume_quote']} {quote}"),
        ("Max drawdown", str(report["max_drawdown"]["amount"])),
        ("Daily PnL std", "n/a (under two days)" if std is None else f"{std:.4f}"),
        ("Inventory", f"max long {inventory.get('max_long')}, max short {inventory.get('max_short')}, "
                      f"flat {inventory.get('time_flat_pct')} % of the time"),
        ("Time quoting", f"{quoting['time_quoting_pct']} %"),
        ("Stopped", report["stop_reason"] + (f" (kill switch: {report['kill_switch']})" if report["kill_switch"]
                                             else "")),
        ("Speed", f"{report['speed']['records_per_s']:,} records/s, {report['speed']['wall_s']} s"
         if report["speed"]["records_per_s"] is not None else "n/a"),
    ]
