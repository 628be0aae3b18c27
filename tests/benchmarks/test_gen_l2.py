"""The workload generator lives in the repository: its format, its determinism, a replay of its stream."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

np = pytest.importorskip("numpy")

from benchmarks import gen_l2  # noqa: E402
from helpers import REPO  # noqa: E402

N = 3000
KEYS = {"snap_bid_tick": np.int64, "snap_bid_lots": np.int64, "snap_ask_tick": np.int64, "snap_ask_lots": np.int64,
        "msg_off": np.int64, "msg_nbid": np.int32, "upd_tick": np.int64, "upd_lots": np.int64,
        "trade_msg": np.int32, "trade_tick": np.int64, "trade_lots": np.int64, "trade_side": np.int8}


@pytest.fixture(scope="module")
def stream():
    return gen_l2.generate(N, seed=11)


def test_same_seed_same_stream_other_seed_another(stream):
    again = gen_l2.generate(N, seed=11)
    assert all(np.array_equal(stream[k], again[k]) for k in stream)
    other = gen_l2.generate(N, seed=12)
    assert not np.array_equal(stream["upd_tick"][:200], other["upd_tick"][:200])
    assert str(other["final_hash"]) != str(stream["final_hash"])


def test_arrays_have_the_documented_names_types_and_shapes(stream):
    assert set(KEYS) | {"final_hash", "seed", "final_levels", "final_best"} == set(stream)
    for key, dtype in KEYS.items():
        assert stream[key].dtype == dtype, key
    bids, asks = stream["snap_bid_tick"], stream["snap_ask_tick"]
    assert len(bids) == len(asks) == 1000
    assert (np.diff(bids) < 0).all() and (np.diff(asks) > 0).all(), "best level first"
    assert bids[0] < asks[0] and (stream["snap_bid_lots"] > 0).all() and (stream["snap_ask_lots"] > 0).all()
    off = stream["msg_off"]
    assert len(off) == N + 1 and off[0] == 0 and off[-1] == len(stream["upd_tick"]) == len(stream["upd_lots"])
    counts = np.diff(off)
    assert (counts >= 1).all() and (counts <= 64).all()
    assert len(stream["msg_nbid"]) == N and (stream["msg_nbid"] >= 0).all() and (stream["msg_nbid"] <= counts).all()
    assert int(stream["seed"]) == 11 and len(str(stream["final_hash"])) == 64


def test_replaying_the_stream_never_crosses_and_ends_on_the_final_hash(stream):
    bids = dict(zip(stream["snap_bid_tick"].tolist(), stream["snap_bid_lots"].tolist()))
    asks = dict(zip(stream["snap_ask_tick"].tolist(), stream["snap_ask_lots"].tolist()))
    off, nbid = stream["msg_off"].tolist(), stream["msg_nbid"].tolist()
    ticks, lots = stream["upd_tick"].tolist(), stream["upd_lots"].tolist()
    removals = 0
    for i in range(N):
        a, b = off[i], off[i + 1]
        for side, lo, hi in ((bids, a, a + nbid[i]), (asks, a + nbid[i], b)):
            seen = ticks[lo:hi]
            assert len(set(seen)) == len(seen), f"message {i} updates a level twice"
            for t, q in zip(seen, lots[lo:hi]):
                if q:
                    side[t] = q
                else:
                    removals += 1
                    side.pop(t, None)
        assert max(bids) < min(asks), f"crossed after message {i}"
    assert gen_l2.book_hash([(t / 10, q / 1000) for t, q in bids.items()],
                            [(t / 10, q / 1000) for t, q in asks.items()]) == str(stream["final_hash"])
    assert stream["final_best"].tolist() == [max(bids), min(asks)]
    assert stream["final_levels"].tolist() == [len(bids), len(asks)]
    # The model's character (benchmarks/README.md): about 5 updates a message, ~15% removals.
    assert 3 < len(ticks) / N < 8 and 0.08 < removals / len(ticks) < 0.25


def test_each_trade_is_carried_by_its_message(stream):
    off, nbid, ticks = stream["msg_off"].tolist(), stream["msg_nbid"].tolist(), stream["upd_tick"].tolist()
    trades = list(zip(*(stream[k].tolist() for k in ("trade_msg", "trade_tick", "trade_lots", "trade_side"))))
    assert 0.1 * N < len(trades) < 0.3 * N
    for msg, tick, taken, side in trades:
        a = off[msg]
        side_ticks = ticks[a + nbid[msg]:off[msg + 1]] if side == 1 else ticks[a:a + nbid[msg]]
        assert side in (1, -1) and taken >= 1 and tick in side_ticks


def test_the_hash_ignores_level_order():
    levels = [(60000.1, 0.25), (59999.9, 1.0)]
    assert gen_l2.book_hash(levels, levels[:1]) == gen_l2.book_hash(levels[::-1], levels[:1])
    assert gen_l2.book_hash(levels, levels[:1]) != gen_l2.book_hash(levels[:1], levels)


def test_command_line_writes_the_npz(tmp_path):
    out = tmp_path / "l2.npz"
    done = subprocess.run([sys.executable, "-m", "benchmarks.gen_l2", "-n", "200", "--seed", "5", "-o", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "200 messages" in done.stdout
    expected = gen_l2.generate(200, seed=5)
    with np.load(out) as written:
        assert set(written.files) == set(expected)
        assert all(np.array_equal(written[k], expected[k]) for k in expected)


_REFERENCE = REPO.parent / "shared" / "bench" / "gen_l2.py"


@pytest.mark.skipif(not _REFERENCE.is_file(), reason="the original shared generator is not beside this checkout")
def test_same_stream_as_the_original_shared_generator():
    spec = importlib.util.spec_from_file_location("shared_gen_l2", _REFERENCE)
    assert spec is not None and spec.loader is not None
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    theirs, ours = reference.gen(2000, seed=20261121), gen_l2.generate(2000, seed=20261121)
    assert set(theirs) == set(ours)
    for key in theirs:
        assert theirs[key].dtype == ours[key].dtype and np.array_equal(theirs[key], ours[key]), key
