"""The backtest's pictures (PNG, matplotlib from the optional `plot` extra):

- `equity.png`: net PnL over time, with the fees paid and the funding received so far;
- `inventory.png`: the position (base units, signed) over time;
- `price.png`: the book's mid, the bot's best bid and ask quotes, and its fills (buys ^, sells v).

Without matplotlib the report says how to get them (`pip install -e ".[plot]"`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pmm.backtest.collect import FillRow, Sample
from pmm.core.model import Side

INSTALL_HINT = 'install matplotlib for the pictures: pip install -e ".[plot]" (or pip install matplotlib)'


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")  # files only: never a window
    import matplotlib.pyplot as plt

    return plt


def _times(ts: list[float]) -> list[datetime]:
    return [datetime.fromtimestamp(t, UTC) for t in ts]


def _f(value: Any) -> float:
    return float(value) if value is not None else float("nan")


def write_pictures(result: Any, folder: Path) -> dict[str, Any]:
    """Draw the pictures into `folder`; what was written, or why nothing was."""
    plt = _pyplot()
    if plt is None:
        return {"files": [], "note": INSTALL_HINT}
    samples: list[Sample] = result.sampler.samples
    fills: list[FillRow] = result.recorder.fills
    quote = result.rules.quote
    files = [
        _equity(plt, samples, folder / "equity.png", quote),
        _inventory(plt, samples, folder / "inventory.png", result.rules.base),
        _price(plt, samples, fills, folder / "price.png", result.market, quote),
    ]
    return {"files": [str(f) for f in files], "note": ""}


def equity_series(samples: list[Sample]) -> dict[str, list[float]]:
    return {"net": [_f(s.equity) for s in samples], "fees": [-_f(s.fees) for s in samples],
            "funding": [_f(s.funding) for s in samples]}


def _equity(plt: Any, samples: list[Sample], path: Path, quote: str) -> Path:
    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    t = _times([s.ts for s in samples])
    series = equity_series(samples)
    ax.plot(t, series["net"], label="net PnL", color="tab:blue", linewidth=1.4)
    ax.plot(t, series["fees"], label="fees (paid)", color="tab:red", linewidth=1)
    ax.plot(t, series["funding"], label="funding", color="tab:green", linewidth=1)
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.set_title("Equity: net PnL, fees and funding")
    ax.set_ylabel(quote)
    ax.legend(loc="best")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _inventory(plt: Any, samples: list[Sample], path: Path, base: str) -> Path:
    fig, ax = plt.subplots(figsize=(10, 3.5), dpi=100)
    ax.step(_times([s.ts for s in samples]), [_f(s.position) for s in samples], where="post", color="tab:purple")
    ax.axhline(0, color="grey", linewidth=0.6)
    ax.set_title("Inventory (position, + long / - short)")
    ax.set_ylabel(base)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _price(plt: Any, samples: list[Sample], fills: list[FillRow], path: Path, market: str, quote: str) -> Path:
    fig, ax = plt.subplots(figsize=(10, 5), dpi=100)
    t = _times([s.ts for s in samples])
    ax.plot(t, [_f(s.mid) for s in samples], color="black", linewidth=0.9, label="mid")
    ax.plot(t, [_f(s.bid_quote) for s in samples], color="tab:green", linewidth=0.7, alpha=0.8, label="our bid")
    ax.plot(t, [_f(s.ask_quote) for s in samples], color="tab:red", linewidth=0.7, alpha=0.8, label="our ask")
    for side, marker, color in ((Side.BUY, "^", "tab:green"), (Side.SELL, "v", "tab:red")):
        chosen = [f for f in fills if f.side is side]
        if chosen:
            ax.scatter(_times([f.ts for f in chosen]), [float(f.price) for f in chosen], marker=marker, color=color,
                       s=22, zorder=3, label=f"{side} fills")
    ax.set_title(f"{market}: mid, our quotes and fills")
    ax.set_ylabel(quote)
    ax.legend(loc="best")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path
