"""The replay file format (docs/replay_format.md): parsing, time mapping, and bad-line errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from pmm.core.events import BookDelta, BookSnapshot, FundingInfoUpdated, Trade
from pmm.core.model import Side
from pmm.errors import ConfigError
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import ReplayMarket, SimMarketSettings

from .simkit import START, Recorder, replay_market, settings

D = Decimal

GOOD = """\
{"type":"snapshot","ts":1700000000.0,"bids":[["99.0","3"],["99.5","1.2"],["98","0"]],"asks":[["100.5","0.8"]]}

# comments and blank lines are skipped
{"type":"delta","ts_ms":1700000001500,"bids":[["99.5","0"],["99.4","2"]],"asks":[]}
{"type":"trade","ts":1700000002.0,"price":"100.1","amount":"0.01","side":"buy"}
{"type":"trade","ts":1700000002.0,"market":"ETH-USDT","price":"2000","amount":"1","side":"sell"}
{"type":"mark","ts":1700000003.0,"mark_price":"100.0","index_price":"99.98"}
{"type":"funding","ts":1700000004.0,"rate":"0.0001","next_funding_ts":1700006400}
"""


def test_replay_records_become_events_at_shifted_times(tmp_path):
    path = tmp_path / "good.jsonl"
    path.write_text(GOOD)
    ex = SimExchange(settings(replay_market(path)))
    rec = Recorder.on(ex)
    ex.advance_to(START)
    (snapshot,) = rec.of(BookSnapshot)
    # Levels come out best first, empty ones dropped.
    assert snapshot.bids == ((D("99.5"), D("1.2")), (D("99.0"), D("3"))) and snapshot.ts == START
    assert ex.next_event_time() == START + 1.5  # ts_ms, relative to the first record
    ex.advance_to(START + 10)
    (delta,) = rec.of(BookDelta)
    assert delta.update_id > snapshot.update_id
    assert ex.book("BTC-USDT").levels(Side.BUY) == [(D("99.4"), D("2")), (D("99.0"), D("3"))]
    (trade,) = rec.of(Trade)  # the ETH-USDT line belongs to another market
    assert (trade.price, trade.amount, trade.aggressor, trade.ts) == (D("100.1"), D("0.01"), Side.BUY, START + 2)
    info = ex.funding_info("BTC-USDT")
    assert (info.mark_price, info.index_price, info.rate) == (D("100.0"), D("99.98"), D("0.0001"))
    marks = [e.info.mark_price for e in rec.of(FundingInfoUpdated)]
    assert marks[:2] == [D("100.0"), D("99.95")]  # the mid, until the file gives a mark
    assert marks[-1] == D("100.0")
    assert ex.next_event_time() == START + 8 * 3600  # file exhausted: only funding remains


def test_replay_speed_compresses_time(tmp_path):
    path = tmp_path / "good.jsonl"
    path.write_text(GOOD)
    ex = SimExchange(settings(SimMarketSettings("BTC-USDT", ReplayMarket(path, speed=2.0))))
    ex.advance_to(START)
    assert ex.next_event_time() == START + 0.75


BAD_LINES = [
    ("{not json", "not valid JSON"),
    ('["a list"]', "JSON object"),
    ('{"type":"quote","ts":1}', "`type`"),
    ('{"type":"trade","price":"1","amount":"1","side":"buy"}', "`ts`"),
    ('{"type":"trade","ts":1,"ts_ms":1000,"price":"1","amount":"1","side":"buy"}', "exactly one"),
    ('{"type":"trade","ts":"soon","price":"1","amount":"1","side":"buy"}', "`ts`"),
    ('{"type":"trade","ts":1,"price":"abc","amount":"1","side":"buy"}', "`price`"),
    ('{"type":"trade","ts":1,"price":"1","amount":"0","side":"buy"}', "`amount`"),
    ('{"type":"trade","ts":1,"price":"1","amount":"1","side":"up"}', "`side`"),
    ('{"type":"snapshot","ts":1,"bids":[["1"]],"asks":[]}', "[price, size]"),
    ('{"type":"snapshot","ts":1,"bids":[["1","-2"]],"asks":[]}', "`size`"),
    ('{"type":"mark","ts":1}', "`mark_price`"),
    ('{"type":"funding","ts":1,"rate":null}', "`rate`"),
    ('{"type":"trade","ts":0.5,"price":"1","amount":"1","side":"buy"}', "backwards"),
]


@pytest.mark.parametrize(("line", "message"), BAD_LINES)
def test_a_bad_line_names_the_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        '{"type":"snapshot","ts":1,"bids":[["99","1"]],"asks":[["101","1"]]}\n'
        '{"type":"trade","ts":2,"price":"100","amount":"1","side":"buy"}\n\n' + line + "\n"
    )
    ex = SimExchange(settings(replay_market(path)))
    ex.advance_to(START)
    with pytest.raises(ConfigError) as caught:
        ex.advance_to(START + 100)
    text = str(caught.value)
    assert str(path) in text and "line 4" in text and message in text


def test_a_bad_first_line_fails_at_construction(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"type":"snapshot","ts":1,"bids":[[99.5,"1"]],"asks":"none"}\n')
    with pytest.raises(ConfigError, match="line 1"):
        SimExchange(settings(replay_market(path)))


def test_a_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="Cannot open replay file"):
        SimExchange(settings(replay_market(tmp_path / "missing.jsonl")))


def test_reading_ahead_keeps_positions_and_raises_a_bad_line_only_when_reached(tmp_path):
    from pmm.sim.replay import _READ_AHEAD, ReplayReader

    lines = ['{"type":"snapshot","ts":1,"bids":[["99","1"]],"asks":[["101","1"]]}', "# a comment", ""]
    lines += [f'{{"type":"delta","ts":{2 + i},"bids":[["99","{1 + i % 5}"]],"asks":[]}}' for i in range(_READ_AHEAD + 40)]
    lines.insert(100, '{"type":"delta","ts":98.5,"market":"ETH-USDT","bids":[],"asks":[]}')  # another market's line
    lines.append('{"type":"delta","ts":1,"bids":[],"asks":[]}')  # time goes backwards
    lines.append('{"type":"delta","ts":9999,"bids":[],"asks":[]}')
    path = tmp_path / "long.jsonl"
    path.write_text("\n".join(lines) + "\n")
    ends, offset = [], 0  # (byte offset, line number) after each line
    for n, line in enumerate(lines, 1):
        offset += len(line) + 1
        ends.append((offset, n))
    reader = ReplayReader(path, "BTC-USDT")
    good = [n for n, line in enumerate(lines, 1) if line.startswith("{") and "ETH" not in line][:-2]
    for n in good:
        record = reader.read()
        assert record is not None and (reader.offset, reader.line_no) == ends[n - 1]
    with pytest.raises(ConfigError, match=f"line {len(lines) - 1}: time goes backwards"):
        reader.read()
    assert reader.line_no == len(lines) - 1
    last = reader.read()  # reading on continues after the bad line, as it always did
    assert last is not None and last.ts == 9999 and reader.read() is None
    reader.close()


def test_a_bad_line_inside_a_read_ahead_batch_comes_after_the_records_before_it(tmp_path):
    from pmm.sim.replay import ReplayReader

    lines = [f'{{"type":"delta","ts":{i},"bids":[["99","1"]],"asks":[]}}' for i in range(100)]
    lines[50] = '{"type":"delta","ts":50,"bids":"none"}'
    path = tmp_path / "bad_inside.jsonl"
    path.write_text("\n".join(lines) + "\n")
    reader = ReplayReader(path, "BTC-USDT")
    seen = [reader.read().ts for _ in range(50)]
    with pytest.raises(ConfigError, match="line 51: `bids`"):
        reader.read()
    while (record := reader.read()) is not None:
        seen.append(record.ts)
    assert seen == [float(i) for i in range(100) if i != 50]
    reader.close()
