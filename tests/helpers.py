"""Helpers shared by the end-to-end tests: configs from the examples with overrides, store reads."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CONFIGS = REPO / "configs"


def config_text(name: str = "quickstart.yml", **overrides: Any) -> str:
    """An example config's text with top-level keys replaced by `key: value` lines."""
    lines = (CONFIGS / name).read_text().splitlines()
    out: list[str] = []
    for line in lines:
        key = line.split(":", 1)[0]
        if key in overrides and not line.startswith((" ", "#")):
            continue
        out.append(line)
    for key, value in overrides.items():
        out.append(f"{key}: {value}")  # raw YAML scalar text, so 0.1 stays Decimal("0.1")
    return "\n".join(out) + "\n"


def write_config(tmp_path: Path, name: str = "quickstart.yml", **overrides: Any) -> Path:
    path = tmp_path / f"cfg-{name}"
    path.write_text(config_text(name, **overrides))
    return path


def run_fast(config_path: Path, db_url: str, duration_s: float, **kwargs: Any) -> Any:
    from pmm.app import StartOptions, run_bot
    from pmm.config import load_config

    cfg = load_config(config_path)
    options = StartOptions(db_url=db_url, duration_s=duration_s, fast=True)
    return asyncio.run(run_bot(cfg, options, install_signal_handlers=False, **kwargs))


def db_url(tmp_path: Path, name: str = "pmm.sqlite") -> str:
    return f"sqlite:///{tmp_path / name}"


def check_funding(recorded: list[Any], paid: list[Any], stop_ts: float, margin_s: float = 1.0) -> list[Any]:
    """The store's funding payments (`recorded`) against the venue's (`paid`) after a run whose stop
    began at `stop_ts` (the venue's clock): none recorded twice, none invented, none paid before
    the stop missing. A payment the venue made while the bot was stopping may be missing (the next
    start records it); those are returned, for the ledger (the wallet holds them)."""
    times = [p.funding_time_ms for p in recorded]
    assert len(set(times)) == len(times), f"a funding payment was recorded twice: {sorted(times)}"
    paid_times = {p.funding_time_ms for p in paid}
    assert set(times) <= paid_times, f"a funding payment was invented: {sorted(set(times) - paid_times)}"
    missing = sorted(t for t in paid_times - set(times) if t / 1000 < stop_ts - margin_s)
    assert not missing, f"funding paid before the stop was not recorded: {missing} (stop at {stop_ts})"
    return [p for p in paid if p.funding_time_ms not in set(times)]


class BookReplica:
    """A feed's events applied to an order book as the engine applies them: `emit` for a feed under
    test. `live`: a diff was applied since the last snapshot (the sync follows the stream)."""

    def __init__(self, market: str) -> None:
        from pmm.core.book import OrderBook

        self.events: list[Any] = []
        self.book = OrderBook(market)
        self.update_id = 0
        self.ready = False
        self.live = False

    def __call__(self, event: Any) -> None:
        from pmm.core.events import BookDelta, BookResyncRequired, BookSnapshot

        self.events.append(event)
        if isinstance(event, BookSnapshot):
            self.book.apply_snapshot(event)
            self.update_id, self.ready, self.live = event.update_id, True, False
        elif isinstance(event, BookDelta) and self.ready:
            self.book.apply_delta(event)
            self.update_id, self.live = event.update_id, True
        elif isinstance(event, BookResyncRequired):
            self.ready = self.live = False

    def matches(self, update_id: int, bids: list[Any], asks: list[Any]) -> bool:
        """Whether it holds exactly these levels (best first) as of `update_id`."""
        from pmm.core.model import Side

        return (self.ready and self.update_id == update_id and list(self.book.iter_levels(Side.BUY)) == bids
                and list(self.book.iter_levels(Side.SELL)) == asks)
