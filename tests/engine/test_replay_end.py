"""A `--fast` run on a replay stops by itself when the file ends (the funding agenda does not count)."""

from __future__ import annotations

import json

import yaml

from helpers import CONFIGS, db_url, run_fast
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import ReplayMarket, SimMarketSettings, SimSettings

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def _replay(path, seconds: int):
    lines = [{"type": "snapshot", "ts": 0, "bids": [["64999.9", "2"]], "asks": [["65000.1", "2"]]}]
    for i in range(1, seconds * 4):
        price = f"{64999.9 + (i % 7) * 0.1:.1f}"
        lines.append({"type": "delta", "ts": i / 4, "bids": [[price, "1.5"]], "asks": []})
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


def test_the_exchange_says_when_every_market_source_has_ended(tmp_path):
    path = _replay(tmp_path / "r.jsonl", 2)
    settings = SimSettings(markets=(SimMarketSettings(market="BTC-USDT", generator=ReplayMarket(path=path)),),
                           balances={}, start_ts=START)
    ex = SimExchange(settings)
    assert not ex.markets_exhausted()  # not started
    ex.advance_to(START)
    assert not ex.markets_exhausted()
    ex.advance_to(START + 10)
    assert ex.markets_exhausted()
    assert ex.next_event_time() is not None  # the next funding settlement is still on the agenda
    ex.close()


def test_fast_replay_run_stops_at_the_end_of_the_file(tmp_path):
    path = _replay(tmp_path / "r.jsonl", 30)
    data = yaml.safe_load((CONFIGS / "quickstart.yml").read_text())
    data["sim"]["markets"]["BTC-USDT"]["generator"] = {"type": "replay", "path": str(path)}
    config = tmp_path / "replay.yml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    # A week of --duration: without the fix the run would go on through empty virtual time.
    result = run_fast(config, db_url(tmp_path), 7 * 86400.0)
    assert result.reason == "the simulated market has no more events"
    assert result.events > 100


def _walk_replay(path, seconds: int, seed: int = 3):
    """A random walk of the touch with trades through it, 250 ms apart, so quotes fill and refresh."""
    from random import Random

    rng = Random(seed)
    mid = 650000  # ticks of 0.1
    lines = [{"type": "snapshot", "ts": 0, "bids": [[f"{(mid - 1) / 10:.1f}", "5"]],
              "asks": [[f"{(mid + 1) / 10:.1f}", "5"]]}]
    bid, ask = mid - 1, mid + 1
    for i in range(1, seconds * 4):
        ts = i / 4
        step = rng.choice([-3, -1, 0, 0, 1, 3])
        if step:
            new_bid, new_ask = bid + step, ask + step
            bids = [[f"{new_bid / 10:.1f}", "5"]]
            asks = [[f"{new_ask / 10:.1f}", "5"]]
            bids.append([f"{bid / 10:.1f}", "0"] if new_bid != bid else [f"{bid / 10:.1f}", "5"])
            asks.append([f"{ask / 10:.1f}", "0"] if new_ask != ask else [f"{ask / 10:.1f}", "5"])
            if step > 0:
                bids, asks = bids, asks[::-1]
            lines.append({"type": "delta", "ts": ts, "bids": bids, "asks": asks})
            bid, ask = new_bid, new_ask
        else:
            lines.append({"type": "delta", "ts": ts, "bids": [[f"{(bid - 5) / 10:.1f}", f"{rng.randint(1, 9)}"]],
                          "asks": []})
        if rng.random() < 0.1:
            side = rng.choice(["buy", "sell"])
            price = (ask + 1500) if side == "buy" else (bid - 1500)
            lines.append({"type": "trade", "ts": ts, "price": f"{price / 10:.1f}", "amount": "0.5", "side": side})
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


def _orders_and_fills(url):
    from sqlalchemy import text

    from pmm.store.db import open_engine

    db = open_engine(url)
    with db.connect() as conn:
        orders = conn.execute(text("select side, price, amount, status, purpose, created_ts, updated_ts, last_reason "
                                   "from orders order by created_ts, price")).all()
        fills = conn.execute(text("select side, price, amount, fee, realized_pnl, ts from fills order by ts, id")).all()
        reasons = conn.execute(text("select reason from order_events order by id")).scalars().all()
    db.dispose()
    return [tuple(r) for r in orders], [tuple(r) for r in fills], reasons


def test_skipping_idle_evaluations_changes_nothing(tmp_path, monkeypatch):
    """The engine skips the strategy when only the book moved and the decision cannot change: the
    same run with every evaluation done places, cancels and fills exactly the same orders."""
    from pmm.engine.decider import Decider

    path = _walk_replay(tmp_path / "walk.jsonl", 900)
    data = yaml.safe_load((CONFIGS / "quickstart.yml").read_text())
    data["sim"]["markets"]["BTC-USDT"]["generator"] = {"type": "replay", "path": str(path)}
    data.update(minimum_spread=0.01, order_refresh_tolerance_pct=0.02, order_refresh_time=5, filled_order_delay=3,
                bid_spread=0.01, ask_spread=0.01)
    config = tmp_path / "walk.yml"
    config.write_text(yaml.safe_dump(data, sort_keys=False))

    skipped = []
    original = Decider.books_moved

    def counting(self):  # type: ignore[no-untyped-def]
        skipped.append(original(self))
        return skipped[-1]

    monkeypatch.setattr(Decider, "books_moved", counting)
    fast = run_fast(config, db_url(tmp_path, "skip.sqlite"), 7 * 86400.0)
    monkeypatch.setattr(Decider, "books_moved", Decider.evaluate)
    full = run_fast(config, db_url(tmp_path, "full.sqlite"), 7 * 86400.0)
    assert fast.reason == full.reason == "the simulated market has no more events"
    orders, fills, reasons = _orders_and_fills(db_url(tmp_path, "skip.sqlite"))
    assert (orders, fills, reasons) == _orders_and_fills(db_url(tmp_path, "full.sqlite"))
    assert len(fills) > 5, fills
    assert any("minimum spread" in (r or "") for r in reasons), sorted(set(reasons))
    assert sum(skipped) > 1000  # the skip did happen
