"""`pmm record` against every venue's loopback server (the registry's): what a recording holds, a
sequence gap recorded as a resync, Ctrl-C closing a valid file, and the replay reader reading it."""

from __future__ import annotations

import asyncio
import gzip
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers import REPO, write_config
from pmm.backtest.record import record
from pmm.config import load_config
from pmm.errors import ConfigError
from pmm.sim.replay import ReplayReader
from venue_servers import VENUES, running_server

RECORD_S = 4.0


def _config(tmp_path: Path, venue: str, server) -> Path:
    return write_config(tmp_path, derivative=venue,
                        connector=f"{{rest_url: '{server.rest_url}', ws_url: '{server.ws_url}'}}")


def _lines(path: Path) -> list[dict]:
    with gzip.open(path, "rt") as f:
        return [json.loads(line) for line in f]


@pytest.mark.parametrize("venue", list(VENUES))
def test_record_writes_the_public_feed_of_every_venue(venue, tmp_path):
    out = tmp_path / "rec.jsonl.gz"
    with running_server(venue) as server:
        config = _config(tmp_path, venue, server)
        proc = subprocess.run([sys.executable, "-m", "pmm.cli", "record", "--connector", venue, "--market",
                               "btc-usdt", "--duration", str(RECORD_S), "--out", str(out), "-c", str(config)],
                              cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "recorded" in proc.stdout and str(out) in proc.stdout
    assert "recording 00:00:0" in proc.stderr  # the progress line
    lines = _lines(out)
    header, body, end = lines[0], lines[1:-1], lines[-1]
    assert header["type"] == "header" and header["version"] == 2 and header["connector"] == venue
    assert header["market"] == "BTC-USDT" and header["rules"]["tick_size"] == "0.1"
    kinds = [line["type"] for line in body]
    assert {"snapshot", "delta", "trade", "mark", "funding"} <= set(kinds), kinds
    first_book = next(k for k in kinds if k in ("snapshot", "delta"))
    assert first_book == "snapshot", "a recording's book starts with a snapshot"
    assert "resync" not in kinds, "a clean feed records no resync"
    times = [line["ts"] for line in body]
    assert times == sorted(times)
    assert all(line["market"] == "BTC-USDT" for line in body)
    assert all("update_id" in line for line in body if line["type"] in ("snapshot", "delta"))
    trade = next(line for line in body if line["type"] == "trade")
    assert trade["side"] in ("buy", "sell") and float(trade["price"]) > 0 and "venue_ts" in trade
    funding = next(line for line in body if line["type"] == "funding")
    assert funding["next_funding_ts"] > funding["ts"]
    assert end == {**end, "type": "end", "records": len(body), "reason": f"--duration of {RECORD_S:g} s reached"}
    # The replay reader reads it as it is (compressed, header and end skipped).
    reader = ReplayReader(out, "BTC-USDT")
    count = 0
    while reader.read() is not None:
        count += 1
    reader.close()
    assert count == len(body)


@pytest.mark.parametrize("venue", list(VENUES))
def test_a_sequence_gap_is_recorded_as_a_resync_then_a_snapshot(venue, tmp_path):
    out = tmp_path / "gap.jsonl.gz"
    with running_server(venue) as server:
        config = load_config(_config(tmp_path, venue, server))

        async def run() -> None:
            task = asyncio.create_task(record(venue, "BTC-USDT", out, duration_s=RECORD_S + 2, config=config,
                                              install_signal_handlers=False))
            await asyncio.sleep(1.5)
            server.call(lambda: server.server.faults.skip_depth_update_ids(1))
            await task

        asyncio.run(run())
    kinds = [line["type"] for line in _lines(out)]
    assert "resync" in kinds, kinds
    after = kinds[kinds.index("resync") + 1:]
    book_after = [k for k in after if k in ("snapshot", "delta")]
    assert book_after and book_after[0] == "snapshot", "after a resync the book starts again from a snapshot"
    assert _lines(out)[-1]["resyncs"] >= 1


def test_ctrl_c_closes_a_valid_file(tmp_path):
    venue = next(iter(VENUES))
    out = tmp_path / "ctrl-c.jsonl.gz"
    with running_server(venue) as server:
        config = _config(tmp_path, venue, server)
        proc = subprocess.Popen([sys.executable, "-m", "pmm.cli", "record", "--connector", venue, "--market",
                                 "BTC-USDT", "--out", str(out), "-c", str(config)],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 60
        # The compressor is flushed every second of data: wait for more than the header.
        while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 400):
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    lines = _lines(out)  # a whole gzip file: reading it to the end raises nothing
    assert lines[-1]["type"] == "end" and lines[-1]["reason"] == "received SIGINT"
    assert any(line["type"] == "snapshot" for line in lines)
    assert "received SIGINT" in stdout


def test_a_cut_off_recording_is_reported_with_its_position(tmp_path):
    path = tmp_path / "whole.jsonl.gz"
    rows = [{"type": "header", "format": "pmm-replay", "version": 2, "market": "BTC-USDT", "ts": 1.0}]
    rows += [{"type": "delta", "ts": 1.0 + i, "bids": [["100", str(i)]], "asks": []} for i in range(2000)]
    path.write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in rows).encode()))
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(path.read_bytes()[:-200])
    reader = ReplayReader(cut, "BTC-USDT")
    read = 0
    with pytest.raises(ConfigError, match=r"after line \d+: the compressed data is cut off"):
        while reader.read() is not None:
            read += 1
    assert 0 < read < 2000


def test_a_recording_of_a_newer_format_is_refused(tmp_path):
    path = tmp_path / "new.jsonl"
    path.write_text(json.dumps({"type": "header", "format": "pmm-replay", "version": 99}) + "\n")
    with pytest.raises(ConfigError, match="line 1: recorded in replay format version 99; .* upgrade pmm"):
        ReplayReader(path, "BTC-USDT").read()


def test_record_refuses_the_simulated_exchange_and_unknown_connectors():
    for connector, why in (("sim_perpetual", "has no public feed to record"), ("nope", "Unknown connector")):
        proc = subprocess.run([sys.executable, "-m", "pmm.cli", "record", "--connector", connector, "--market",
                               "BTC-USDT", "--out", "/dev/null"], cwd=REPO, capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 2 and why in proc.stderr


def test_an_unreachable_venue_exits_4_and_writes_nothing(tmp_path):
    venue = next(iter(VENUES))
    config = write_config(tmp_path, derivative=venue,
                          connector="{rest_url: 'http://127.0.0.1:1', ws_url: 'ws://127.0.0.1:1'}")
    out = tmp_path / "none.jsonl.gz"
    proc = subprocess.run([sys.executable, "-m", "pmm.cli", "record", "--connector", venue, "--market", "BTC-USDT",
                           "--duration", "2", "--out", str(out), "-c", str(config)], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 4, proc.stderr
    assert "127.0.0.1:1" in proc.stderr and not out.exists()
