"""Each built benchmark once on a tiny input: correctness only, never timing.

Needs the `bench` extra (numpy for the workload generator `benchmarks/gen_l2.py`, sortedcontainers
for a baseline); skipped without it. Nothing outside the repository is needed.
"""

from __future__ import annotations

import json
from decimal import Decimal as D

import pytest

pytest.importorskip("numpy")
pytest.importorskip("sortedcontainers")

from benchmarks import (  # noqa: E402
    bench_book,
    bench_decision,
    bench_replay,
    bench_startup,
    bench_store,
    bench_wire,
    gen_l2,
    workload,
)
from benchmarks.run import main  # noqa: E402

N = 300  # messages of the tiny stream


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PMM_BENCH_CACHE", str(tmp_path / "cache"))


@pytest.fixture
def stream():
    return workload.load_stream(N)


def test_our_hash_is_the_generators():
    levels = [(D("60000.1"), D("0.250")), (D("59999.9"), D("1.000")), (D("59998.0"), D("0.001"))]
    floats = [(float(p), float(q)) for p, q in levels]
    assert workload.book_hash(levels, levels[:1]) == gen_l2.book_hash(floats, floats[:1])


def test_book_benchmark_ends_on_the_generators_hash_and_reads_like_the_baseline(stream):
    section = bench_book.run(stream, check_reads=N, chunk=100)
    assert section.status == "ok", section.checks
    assert section.checks["hash_match"] and section.checks["pmm_hash"] == stream.final_hash
    assert section.checks["reads_equal_baseline"] and section.checks["reads_checked_messages"] == N
    (figure,) = section.figures
    assert figure.key == "book.msgs_per_s" and figure.value > 0 and figure.baseline > 0


def test_replay_benchmark_runs_the_bot_over_the_whole_file(stream, tmp_path):
    path, records = bench_replay.replay_file(stream, tmp_path)
    assert records == 1 + N + sum(1 for t in stream.trades)
    first = json.loads(path.read_text().splitlines()[0])
    assert first["type"] == "snapshot" and len(first["bids"]) == len(stream.snap_bids)
    section = bench_replay.run(stream, workdir=tmp_path)
    assert section.status == "ok", section.checks
    assert section.checks["quoted"] and section.checks["replayed_to_the_end"]
    assert section.figures[0].extra["records"] == records


def test_decision_benchmark_keeps_the_book_in_sync_and_quotes(stream):
    section = bench_decision.run(stream, n=N)
    assert section.status == "ok", section.checks
    assert section.checks["all_applied"] and section.checks["quoted"]
    assert [f.key for f in section.figures] == ["decision.p50_us", "decision.p99_us", "decision.p999_us"]
    assert all(f.value > 0 and f.baseline > 0 for f in section.figures)


def test_wire_benchmark_gets_the_cancel_each_frame_forces():
    section = bench_wire.run(n=6, warmup=2)
    assert section.status == "ok", section.checks
    checks = section.checks
    assert checks["frames_sent"] == checks["frames"] == 8 and checks["missing"] == checks["wrong_request"] == 0
    assert checks["book_in_sync"] and checks["bot_exit"] == 0
    assert [f.key for f in section.figures] == ["wire.p50_us", "wire.p99_us"]
    assert all(f.value > 0 and f.baseline > 0 and f.extra["samples"] == 6 for f in section.figures)


def test_store_benchmark_commits_every_fill():
    section = bench_store.run(n=200)
    assert section.checks["all_fills_committed"]
    assert section.figures[0].value > 0 and section.figures[0].baseline > 0


def test_startup_and_memory_benchmarks_see_a_quote_and_rss():
    startup = bench_startup.run_startup(repeats=1, fills=200)
    assert startup.status == "ok" and startup.checks["quoted"]
    assert [f.key for f in startup.figures] == ["startup.help_ms", "startup.first_quote_ms", "startup.history_ms"]
    memory = bench_startup.run_memory(hold_s=0.0, days=0.01, sample_every=0.05)
    assert [f.key for f in memory.figures] == ["memory.peak_rss_mb", "memory.week_growth_mb"]
    assert memory.figures[0].value > 0 and "--duration" in memory.checks["week_stop_reason"]


def test_runner_writes_json_with_every_section(tmp_path, capsys):
    out = tmp_path / "latest.json"
    assert main(["--scale", "tiny", "--only", "1,2,3", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert {"scale", "params", "started", "seconds", "machine", "sections"} <= set(data)
    by_number = {s["number"]: s for s in data["sections"]}
    assert by_number[1]["status"] == "ok" and by_number[1]["checks"]["hash_match"]
    assert set(by_number[1]["figures"][0]) >= {"key", "value", "unit", "baseline", "baseline_label", "ratio",
                                                "goal", "goal_met", "extra"}
    assert by_number[2]["status"] == "ok" and by_number[2]["checks"]["all_applied"]
    assert by_number[3]["status"] == "ok" and by_number[3]["checks"]["every_frame_answered"]
    printed = capsys.readouterr().out
    assert "json.loads of the frame" in printed and "SortedDict" in printed


def test_backtest_benchmark_replays_the_whole_file_and_both_books_end_on_the_hash(stream, tmp_path):
    from benchmarks import bench_backtest

    section = bench_backtest.run_backtest_throughput(stream, workdir=tmp_path)
    assert section.status == "ok", section.checks
    assert section.checks["all_records"] and section.checks["replayed_to_the_end"] and section.checks["quoted"]
    books = bench_backtest.run_book_from_strings(stream)
    assert books.status == "ok", books.checks
    assert books.figures[0].value > 0 and books.figures[0].baseline > 0
