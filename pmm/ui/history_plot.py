"""`pmm history --plot FILE.png`: the store's fills and funding payments as one picture of three panels,
as `pmm backtest` draws them: equity (closed PnL: realized - fees + funding, with the fees and the
funding so far), inventory (the position the fills built, per market) and funding (each payment
and their sum). Needs matplotlib (the `plot` extra)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from pmm.core.model import Side
from pmm.errors import ConfigError

_ZERO = Decimal(0)


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ConfigError('`pmm history --plot` draws with matplotlib, which is not installed. Install it with '
                          'pip install -e ".[plot]" (or pip install matplotlib).') from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _t(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def equity_points(fills: Sequence[Any], funding: Sequence[Any]) -> list[tuple[float, Decimal, Decimal, Decimal]]:
    """(time, closed PnL, fees so far, funding so far) after each fill and payment, in time order."""
    events = sorted([(f.ts, "fill", f) for f in fills] + [(p.ts, "funding", p) for p in funding],
                    key=lambda e: e[0])
    realized = fees = paid = _ZERO
    out = []
    for ts, kind, row in events:
        if kind == "fill":
            realized += row.realized_pnl
            fees += row.fee
        else:
            paid += row.amount
        out.append((ts, realized - fees + paid, fees, paid))
    return out


def inventory_points(fills: Sequence[Any]) -> dict[str, list[tuple[float, Decimal]]]:
    """Per market, (time, position) after each fill: the sum of the signed fill amounts."""
    out: dict[str, list[tuple[float, Decimal]]] = {}
    held: dict[str, Decimal] = {}
    for f in sorted(fills, key=lambda f: f.ts):
        held[f.market] = held.get(f.market, _ZERO) + (f.amount if f.side is Side.BUY else -f.amount)
        out.setdefault(f.market, []).append((f.ts, held[f.market]))
    return out


def draw_history(fills: Sequence[Any], funding: Sequence[Any], path: Path) -> Path:
    if not fills and not funding:
        raise ConfigError(f"Nothing to plot into {path}: no fills or funding payments in the store (for these "
                          "filters).")
    plt = _pyplot()
    fig, (equity_ax, inventory_ax, funding_ax) = plt.subplots(3, 1, figsize=(10, 10), dpi=100, sharex=True)
    points = equity_points(fills, funding)
    times = [_t(p[0]) for p in points]
    equity_ax.step(times, [float(p[1]) for p in points], where="post", label="closed PnL", color="tab:blue")
    equity_ax.step(times, [-float(p[2]) for p in points], where="post", label="fees (paid)", color="tab:red")
    equity_ax.step(times, [float(p[3]) for p in points], where="post", label="funding", color="tab:green")
    equity_ax.axhline(0, color="grey", linewidth=0.6)
    equity_ax.set_title("Equity: realized - fees + funding")
    equity_ax.legend(loc="best")
    for market, held in inventory_points(fills).items():
        inventory_ax.step([_t(ts) for ts, _ in held], [float(v) for _, v in held], where="post", label=market)
    inventory_ax.axhline(0, color="grey", linewidth=0.6)
    inventory_ax.set_title("Inventory (position built by the fills, + long / - short)")
    if fills:
        inventory_ax.legend(loc="best")
    if funding:
        ordered = sorted(funding, key=lambda p: p.ts)
        funding_ax.bar([_t(p.ts) for p in ordered], [float(p.amount) for p in ordered], width=0.02,
                       color=["tab:green" if p.amount >= 0 else "tab:red" for p in ordered], label="payment")
        total, running = _ZERO, []
        for p in ordered:
            total += p.amount
            running.append(float(total))
        funding_ax.step([_t(p.ts) for p in ordered], running, where="post", color="black", label="sum")
        funding_ax.legend(loc="best")
    funding_ax.axhline(0, color="grey", linewidth=0.6)
    funding_ax.set_title("Funding payments (+ received / - paid)")
    fig.autofmt_xdate()
    fig.tight_layout()
    try:
        fig.savefig(path)
    except OSError as exc:
        raise ConfigError(f"Cannot write the picture {path}: {exc.strerror}. Give --plot a writable path.") from None
    finally:
        plt.close(fig)
    return path
