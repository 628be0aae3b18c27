"""`pmm backtest` on small hand-made recordings whose fills are worked out by hand: each queue model,
the same market as Tardis.dev CSVs, a resync in the recording, a corrupt line, a --from window."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from helpers import write_config
from pmm.cli import app

T = 1_767_225_600.0
HEADER = {"type": "header", "format": "pmm-replay", "version": 2, "connector": "sim_perpetual", "market": "BTC-USDT",
          "rules": {"tick_size": "0.1", "step_size": "0.001", "min_size": "0.001", "min_notional": "5",
                    "max_leverage": 50}, "ts": T}
# The book the bot quotes into: mid 100, so bid_spread 0.1 % puts its bid of 1 at 99.9, behind the 5 shown there.
START = [
    {"type": "snapshot", "ts": T, "bids": [["99.9", "5"], ["99.8", "10"]], "asks": [["100.1", "5"], ["100.2", "10"]]},
    {"type": "mark", "ts": T, "mark_price": "100", "index_price": "100"},
    {"type": "funding", "ts": T, "rate": "0.0001", "next_funding_ts": T + 28800},
]
# What happens at the bid's level, then through it.
TAPE = [
    {"type": "trade", "ts": T + 1, "price": "99.9", "amount": "3", "side": "sell"},  # 3 of the 5 ahead traded
    {"type": "delta", "ts": T + 2, "bids": [["99.9", "2"]]},  # the book shows the trade
    {"type": "delta", "ts": T + 3, "bids": [["99.9", "1"]]},  # one cancelled: ahead of us or not?
    {"type": "trade", "ts": T + 4, "price": "99.9", "amount": "1.2", "side": "sell"},
    {"type": "trade", "ts": T + 5, "price": "99.8", "amount": "2", "side": "sell"},  # through our price
    {"type": "mark", "ts": T + 6, "mark_price": "100", "index_price": "100"},
]

# Worked out by hand (pmm/sim/queue.py):
# - none: the first print at 99.9 (3) fills the whole bid (1) at T+1.
# - risk_averse: ahead 5; the print of 3 leaves 2; the level going 5 -> 2 and 2 -> 1 caps it at 1 (no
#   cancel counted ahead of us); the print of 1.2 takes that 1 and fills 0.2 at T+4; the print
#   through 99.9 fills the remaining 0.8 at T+5.
# - probabilistic (f(x) = x^3): ahead 5, then 2 after the print. Level 5 -> 2 (a decrease of 3): front 2,
#   back 3, a decrease is behind us with p = 27 / (27 + 8) = 27/35, so ahead = 2 - (8/35) * 3 = 46/35
#   (= 1.3142857...). Level 2 -> 1: front 46/35, back 24/35, p = 24^3 / (24^3 + 46^3) = 13824 / 111160,
#   ahead = 46/35 - (97336 / 111160) = 0.43865300467794170564951421... The print of 1.2 fills
#   1.2 - 0.438653... = 0.76134699532205829435048578... at T+4, the print through fills the rest at T+5.
# - trade_through: no print at 99.9 fills it; the print through 99.9 (2 at 99.8) fills all of it at T+5.
_AHEAD = Decimal(46) / Decimal(35) - Decimal(97336) / Decimal(111160)
_PLACES = Decimal("1e-15")  # the model computes in 28 significant digits, in another order than here


def _amount(value: Decimal | str) -> str:
    return str(Decimal(value).quantize(_PLACES).normalize())


EXPECTED = {
    "none": [(1.0, "1")],
    "risk_averse": [(4.0, "0.2"), (5.0, "0.8")],
    "trade_through": [(5.0, "1")],
    "probabilistic": [(4.0, _amount(Decimal("1.2") - _AHEAD)), (5.0, _amount(1 - (Decimal("1.2") - _AHEAD)))],
}


def write_recording(path: Path, rows: list[dict], header: bool = True) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in ([HEADER] if header else []) + rows))
    return path


def config(tmp_path: Path) -> Path:
    # Quotes that stay where they are for 10 s (the tapes are shorter) and no stop-loss in these few seconds.
    return write_config(tmp_path, bid_spread=0.1, ask_spread=0.1, order_amount=1, order_refresh_time=10)


def backtest(tmp_path: Path, data: list[Path], *args: str) -> tuple[int, str, dict | None]:
    report = tmp_path / "report"
    result = CliRunner().invoke(app, ["backtest", "-c", str(config(tmp_path)), *[a for p in data for a in
                                                                                ("--data", str(p))],
                                      "--report", str(report), *args])
    path = report / "report.json"
    return result.exit_code, result.output, json.loads(path.read_text()) if path.exists() else None


def buy_fills(report: dict) -> list[tuple[float, str]]:
    return [(round(f["ts"] - T, 3), _amount(f["amount"])) for f in report["fill_list"] if f["side"] == "buy"]


@pytest.mark.parametrize("queue", list(EXPECTED))
def test_each_queue_model_gives_the_fills_worked_out_by_hand(queue, tmp_path):
    data = write_recording(tmp_path / "q.jsonl", START + TAPE)
    code, output, report = backtest(tmp_path, [data], "--queue", queue, "--latency-ms", "0")
    assert code == 0, output
    assert buy_fills(report) == EXPECTED[queue]
    assert all(f["price"] == "99.9" and f["liquidity"] == "maker" and f["purpose"] == "quote"
               for f in report["fill_list"] if f["side"] == "buy")
    assert report["model"]["queue"] == queue and report["model"]["latency_ms"] == 0


def _tardis(tmp_path: Path) -> list[Path]:
    us = lambda t: str(int((T + t) * 1_000_000))  # noqa: E731
    venue = lambda t: str(int((T + t) * 1_000_000) - 20_000)  # noqa: E731 - the venue's time: 20 ms earlier
    book = ["exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount"]
    for side, levels in (("bid", [("99.9", "5"), ("99.8", "10")]), ("ask", [("100.1", "5"), ("100.2", "10")])):
        book += [f"x,BTCUSDT,{venue(0)},{us(0)},true,{side},{p},{a}" for p, a in levels]
    book += [f"x,BTCUSDT,{venue(2)},{us(2)},false,bid,99.9,2", f"x,BTCUSDT,{venue(3)},{us(3)},false,bid,99.9,1"]
    trades = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount",
              f"x,BTCUSDT,{venue(1)},{us(1)},t1,sell,99.9,3", f"x,BTCUSDT,{venue(4)},{us(4)},t2,sell,99.9,1.2",
              f"x,BTCUSDT,{venue(5)},{us(5)},t3,sell,99.8,2"]
    ticker = ["exchange,symbol,timestamp,local_timestamp,funding_timestamp,funding_rate,predicted_funding_rate,"
              "open_interest,last_price,index_price,mark_price",
              f"x,BTCUSDT,{venue(0)},{us(0)},{us(28800)},0.0001,0.0001,1000,100,100,100",
              f"x,BTCUSDT,{venue(6)},{us(6)},{us(28800)},0.0001,0.0001,1000,100,100,100"]
    paths = []
    for name, lines in (("incremental_book_L2", book), ("trades", trades), ("derivative_ticker", ticker)):
        path = tmp_path / f"x_{name}_2026-01-01_BTCUSDT.csv"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def test_several_recordings_are_played_one_after_the_other(tmp_path):
    first = write_recording(tmp_path / "a.jsonl", START + TAPE[:3])
    second = write_recording(tmp_path / "b.jsonl", TAPE[3:])
    # Given in any order: they are played in time order, as one recording.
    code, output, report = backtest(tmp_path, [second, first], "--queue", "risk_averse", "--latency-ms", "0")
    assert code == 0, output
    assert buy_fills(report) == EXPECTED["risk_averse"]
    overlapping = write_recording(tmp_path / "c.jsonl", TAPE[1:])
    code, output, _ = backtest(tmp_path, [first, overlapping])
    assert code == 2 and "starts before the data before it ends" in output


def test_tardis_csv_exports_give_the_same_fills(tmp_path):
    code, output, report = backtest(tmp_path, _tardis(tmp_path), "--queue", "risk_averse", "--latency-ms", "0")
    assert code == 0, output
    assert buy_fills(report) == EXPECTED["risk_averse"]
    # The venue's times are 20 ms before the local ones: the recorded latency.
    code, output, report = backtest(tmp_path, _tardis(tmp_path), "--latency-ms", "recorded")
    assert code == 0, output
    assert report["model"]["latency_ms"] == pytest.approx(20, abs=0.01)


def test_no_fill_while_the_recorded_book_resyncs_and_trading_resumes_after_the_next_snapshot(tmp_path):
    rows = START + [
        {"type": "resync", "ts": T + 1, "reason": "sequence gap"},
        {"type": "trade", "ts": T + 2, "price": "99.0", "amount": "5", "side": "sell"},  # through: would fill
        {"type": "snapshot", "ts": T + 3, "bids": [["99.9", "5"]], "asks": [["100.1", "5"]]},
        # (the bot cancelled its quotes at the resync; it quotes again order_refresh_time after it last did)
        {"type": "trade", "ts": T + 12, "price": "99.0", "amount": "5", "side": "sell"},
        {"type": "mark", "ts": T + 13, "mark_price": "100", "index_price": "100"},
    ]
    code, output, report = backtest(tmp_path, [write_recording(tmp_path / "gap.jsonl", rows)], "--latency-ms", "0")
    assert code == 0, output
    assert buy_fills(report) == [(12.0, "1")], "nothing fills on the broken book; the bot quotes again after it"
    assert any("resync" in r["reason"] for r in report["quoting"]["not_quoting"])


def test_a_corrupt_line_stops_with_its_position(tmp_path):
    data = write_recording(tmp_path / "bad.jsonl", START + TAPE[:2])
    with data.open("a") as f:
        f.write('{"type": "trade", "ts": 1767225610, "price": "99.9"\n')
    code, output, _ = backtest(tmp_path, [data], "--latency-ms", "0")
    assert code == 2
    assert f"Replay file `{data}` line 7: not valid JSON" in output


def test_a_window_starts_from_the_book_recorded_before_it(tmp_path):
    data = write_recording(tmp_path / "q.jsonl", START + TAPE)
    # From T+1.5 the print of 3 at T+1 is not played; the bot quotes into the book as it stood (a
    # snapshot built from the lines before), so the first print at its price is the one at T+4.
    code, output, report = backtest(tmp_path, [data], "--queue", "none", "--latency-ms", "0",
                                    "--from", str(T + 1.5), "--to", str(T + 4.5))
    assert code == 0, output
    assert buy_fills(report) == [(4.0, "1")]
    assert report["data"]["from_ts"] == T + 1.5 and report["data"]["to_ts"] == T + 4


def test_a_recording_of_another_market_is_refused(tmp_path):
    data = write_recording(tmp_path / "eth.jsonl", [])
    data.write_text(data.read_text().replace("BTC-USDT", "ETH-USDT"))
    code, output, _ = backtest(tmp_path, [data])
    assert code == 2 and "is a recording of ETH-USDT, but the config's `market` is BTC-USDT" in output
