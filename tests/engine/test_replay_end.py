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

