"""`pmm start --metrics-port`: Prometheus metrics scraped over HTTP from a running bot."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from decimal import Decimal
from types import SimpleNamespace

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from helpers import CONFIGS, REPO, db_url
from pmm.core.model import OrderRequest, OrderStatus, Side
from pmm.engine.tracker import TrackedOrder
from pmm.errors import ConfigError
from pmm.metrics import BotMetrics
from pmm.store import queries
from pmm.store.db import open_engine

T0 = 1_767_225_600.0
FILL_AT_S = 12.0  # the replayed market sells through the bot's bid this long after the start


def _samples(text: str) -> dict[str, float]:
    """`name{label="v",...}` -> value, for every sample of the exposition."""
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items())
                              if k not in ("connector", "market"))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return out


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith("text/plain")
        return _samples(answer.read().decode())


def _replay(path, seconds: int = 90) -> None:
    """A quiet book around 65000 (a level moves every 0.5 s), then one market sell at 64990."""
    lines = [{"type": "snapshot", "ts": T0, "bids": [["64999.9", "2"], ["64999.0", "5"]],
              "asks": [["65000.1", "2"], ["65001.0", "5"]]}]
    for i in range(1, seconds * 2):
        ts = T0 + i / 2
        if ts - T0 == FILL_AT_S:
            lines.append({"type": "trade", "ts": ts, "price": "64990", "amount": "1", "side": "sell"})
        lines.append({"type": "delta", "ts": ts, "bids": [["64900.0", str(1 + i % 3)]], "asks": []})
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")


def _config(tmp_path) -> str:
    data = yaml.safe_load((CONFIGS / "quickstart.yml").read_text())
    data.update(bid_spread=0.01, ask_spread=0.01, order_refresh_time=3600, long_profit_taking_spread=50,
                short_profit_taking_spread=50, stop_loss_spread=0)
    replay = tmp_path / "market.jsonl"
    _replay(replay)
    data["sim"]["markets"]["BTC-USDT"]["generator"] = {"type": "replay", "path": str(replay)}
    path = tmp_path / "metrics.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _wait(what: str, check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; last: {last}")


def test_scraped_metrics_follow_a_running_bot_and_agree_with_the_store(tmp_path):
    url = db_url(tmp_path)
    bot = subprocess.Popen([sys.executable, "-m", "pmm.cli", "start", "-c", _config(tmp_path), "--plain",
                            "--metrics-port", "0", "--db", url], cwd=REPO, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        port = None
        lines = []
        while port is None:
            line = bot.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
            if found := re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", line):
                port = int(found.group(1))

        before = _wait("both quotes resting", lambda: (m := _scrape(port)).get("pmm_open_orders") == 2 and m)
        assert before["pmm_fills_total"] == 0 and before["pmm_position"] == 0
        assert before["pmm_quoting"] == 1 and before["pmm_kill_switch_tripped"] == 0
        assert before["pmm_reconnects_total"] == 0 and 0 <= before["pmm_book_age_seconds"] < 5
        assert before['pmm_order_round_trip_seconds_count{action="place"}'] == 2

        after = _wait("the fill", lambda: (m := _scrape(port))["pmm_fills_total"] >= 1
                      and m["pmm_open_orders"] == 1 and m)
        db = open_engine(url)
        try:
            run = queries.list_runs(db)[-1]
            fills = _wait("the fill in the store", lambda: queries.fills(db, run_id=run.run_id))
        finally:
            db.dispose()
        assert after["pmm_fills_total"] == len(fills) == 1
        signed = sum((f.amount if f.side is Side.BUY else -f.amount for f in fills), Decimal(0))
        assert after["pmm_position"] == float(signed) == 0.01
        assert after["pmm_quoting"] == 0  # a position is open: exits only
        assert after["pmm_fees"] == pytest.approx(float(fills[0].fee))
        assert after["pmm_realized_pnl"] == 0 and after["pmm_funding"] == 0
        # The bid, the ask, then the take-profit were answered; the ask's cancel too.
        assert after['pmm_order_round_trip_seconds_count{action="place"}'] == 3
        assert after['pmm_order_round_trip_seconds_count{action="cancel"}'] == 1
        assert 0 < after['pmm_order_round_trip_seconds_sum{action="place"}'] < 30

        bot.send_signal(signal.SIGINT)
        assert bot.wait(60) == 0
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait()
        bot.stdout.close()


def _order(status: OrderStatus, created: float, updated: float, cancel_sent: float | None = None) -> TrackedOrder:
    request = OrderRequest(client_id="pmm-1", market="BTC-USDT", side=Side.BUY, order_type=None,  # type: ignore
                           amount=Decimal("0.01"), price=Decimal("65000"))
    return TrackedOrder(request=request, created_ts=created, status=status, updated_ts=updated,
                        cancel_sent_ts=cancel_sent)


def _status(**overrides):
    payload = {"connector": "sim_perpetual", "market": "BTC-USDT", "positions": [], "orders": [], "quoting": True,
               "session": {"unrealized_pnl": "0", "realized_pnl": "0", "fees": "0", "funding": "0",
                           "net_pnl": "0"}, "book_age_s": 0.2, "reconnects": 0, "rate_limit_use": None,
               "kill_switch": None}
    payload.update(overrides)
    return payload


def test_each_bot_has_its_own_registry_and_the_kill_switch_shows():
    first, second = BotMetrics("sim_perpetual", "BTC-USDT"), BotMetrics("sim_perpetual", "ETH-USDT")
    first.read_status_from(lambda: _status(kill_switch="session loss 120 > max_session_loss 100",
                                           reconnects=3, rate_limit_use=0.25))
    second.read_status_from(lambda: _status(positions=[{"side": "short", "amount": "0.5"}]))
    first.recorder.order_changed(_order(OrderStatus.PENDING_NEW, 10.0, 10.0))
    first.recorder.order_changed(_order(OrderStatus.OPEN, 10.0, 10.04))
    a, b = _samples(first.exposition().decode()), _samples(second.exposition().decode())
    assert a["pmm_kill_switch_tripped"] == 1 and b["pmm_kill_switch_tripped"] == 0
    assert a["pmm_reconnects_total"] == 3 and a["pmm_rate_limit_use_ratio"] == 0.25
    assert "pmm_rate_limit_use_ratio" not in b  # a venue without rate limits reports none
    assert a["pmm_position"] == 0 and b["pmm_position"] == -0.5
    assert a['pmm_order_round_trip_seconds_count{action="place"}'] == 1
    assert a['pmm_order_round_trip_seconds_bucket{action="place",le="0.05"}'] == 1
    assert a['pmm_order_round_trip_seconds_bucket{action="place",le="0.025"}'] == 0
    assert b.get('pmm_order_round_trip_seconds_count{action="place"}', 0) == 0


def test_two_bots_serve_side_by_side_and_a_taken_port_is_a_usage_error():
    async def scenario() -> None:
        first, second = BotMetrics("sim_perpetual", "BTC-USDT"), BotMetrics("sim_perpetual", "ETH-USDT")
        port = await first.serve(0)
        try:
            assert await second.serve(0) != port
            await second.close()
            with pytest.raises(ConfigError, match=f"127.0.0.1:{port}.*--metrics-port"):
                await BotMetrics("sim_perpetual", "SOL-USDT").serve(port)
        finally:
            await first.close()

    asyncio.run(scenario())


def test_a_taken_metrics_port_stops_pmm_start_with_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "pmm.cli", "start", "-c", str(CONFIGS / "quickstart.yml"),
                               "--fast", "--duration", "60", "--plain", "--metrics-port", str(port),
                               "--db", db_url(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"Cannot serve metrics on 127.0.0.1:{port}" in done.stderr
    db = open_engine(db_url(tmp_path))
    try:
        assert queries.list_runs(db) == []  # nothing started
    finally:
        db.dispose()


def test_the_venues_rate_limit_use():
    from pmm.connectors.binance_perpetual.rest import BinanceRestClient
    from pmm.connectors.common.rate_limits import RateLimiter

    clock = SimpleNamespace(t=120.5)
    clock.now = lambda: clock.t
    limiter = RateLimiter(clock)  # type: ignore[arg-type]
    assert limiter.use() == 0.0
    limiter.note("/v5/order/create", limit=10, remaining=4, reset_ts=121.0)
    limiter.note("/v5/market/tickers", limit=50, remaining=45, reset_ts=121.0)
    assert limiter.use() == pytest.approx(0.6)
    clock.t = 122.0  # reset passed: refilled
    assert limiter.use() == 0.0

    rest = BinanceRestClient("http://127.0.0.1:1", clock=clock, weight_limit=2400)  # type: ignore[arg-type]
    rest._minute, rest.used_weight_1m = 2, 600
    assert rest.rate_limit_use() == pytest.approx(0.25)
    clock.t = 185.0  # the next minute: the weight is spent
    assert rest.rate_limit_use() == 0.0
