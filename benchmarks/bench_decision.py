"""Benchmark 2: decision latency, from a raw Binance `depthUpdate` frame to the engine's decision.

The L2 stream's messages become Binance diff-depth frames (`{"e":"depthUpdate", ..., "U", "u",
"pu", "b", "a"}` as bytes, 250 ms apart), built outside the timed region. Each frame is timed
through the real code path, in this process, one at a time:

    bytes -> `decode_json` (what the WebSocket client does with a frame) -> `BinanceFeed._on_public`
    (parse_depth_update, BookSync sequence check, BookDelta emitted) -> the engine's step without
    its wait (drain the inbox: apply the delta to the engine's book; timers; the strategy's decision
    or its skip; the order manager executing the decision)

until the engine has decided what to place/cancel (the gateway calls it spawns run later and are
not timed). The engine trades the quickstart strategy on the in-process simulated venue (its
orders are never answered: the decisions are what is measured), on a virtual clock that moves
with the frames' times, so the refresh timers fire as they would. Baseline in the same run:
`json.loads` of the same bytes, per frame.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from decimal import Decimal
from typing import Any

from benchmarks.common import REPO, Figure, Section
from benchmarks.workload import MARKET, Stream, load_stream, price_text, size_text

STEP_MS = 250
T0_MS = 1_767_225_600_000


def depth_frames(stream: Stream, n: int) -> list[bytes]:
    off, nbid, ticks, lots = stream.msg_off, stream.msg_nbid, stream.upd_tick, stream.upd_lots
    frames = []
    for i in range(n):
        a, b = off[i], off[i + 1]
        m = a + nbid[i]
        ts = T0_MS + (i + 1) * STEP_MS
        frames.append(json.dumps({
            "e": "depthUpdate", "E": ts + 2, "T": ts, "s": "BTCUSDT", "U": i + 1, "u": i + 1, "pu": i,
            "b": [[price_text(ticks[j]), size_text(lots[j])] for j in range(a, m)],
            "a": [[price_text(ticks[j]), size_text(lots[j])] for j in range(m, b)],
        }, separators=(",", ":")).encode())
    return frames


def _percentiles(ns: list[int]) -> dict[str, float]:
    s = sorted(ns)
    n = len(s)

    def pick(q: float) -> float:
        return s[min(n - 1, int(q * n))] / 1000.0  # µs

    return {"p50": pick(0.50), "p99": pick(0.99), "p999": pick(0.999), "mean": sum(s) / n / 1000.0}


async def _measure(stream: Stream, frames: list[bytes], *, no_skip: bool = False) -> tuple[list[int], dict[str, Any]]:
    from pmm.config import load_config
    from pmm.connectors.binance_perpetual.book import BookSync
    from pmm.connectors.binance_perpetual.feed import BinanceFeed
    from pmm.connectors.binance_perpetual.parse import parse_depth_snapshot
    from pmm.connectors.binance_perpetual.rest import decode_json
    from pmm.connectors.registry import build_connector
    from pmm.core.model import Balance
    from pmm.engine.engine import Engine, EngineOptions
    from pmm.engine.recorder import NullRecorder
    from pmm.strategy import PerpetualMarketMaking

    config = load_config(REPO / "configs" / "quickstart.yml")
    params = config.to_strategy_params()
    bundle = build_connector(config.derivative, config, fast=True)
    clock = bundle.clock
    t0 = T0_MS / 1000.0
    clock.advance_to(t0)
    strategy = PerpetualMarketMaking(params, bundle.feed.trading_rules(params.market))
    engine = Engine(bundle=bundle, strategy=strategy, params=params, recorder=NullRecorder(), run_id="b" * 32,
                    options=EngineOptions())
    if no_skip:  # ablation: evaluate the strategy on every book change (the engine before the skip)
        engine.decider.books_moved = engine.decider.evaluate  # type: ignore[method-assign]
    engine.account.balances["USDT"] = Balance("USDT", Decimal(10000), Decimal(10000))

    # The Binance feed's depth path, wired to the engine as `BinanceFeed.start` wires it (no socket).
    feed = BinanceFeed(None, ws_url="ws://127.0.0.1:1", clock=clock)  # type: ignore[arg-type]
    feed._emit = engine.emit
    feed._symbols.add(MARKET)
    book = feed._books[MARKET] = BookSync(MARKET, engine.emit, clock)
    snapshot = {"lastUpdateId": 0, "T": T0_MS,
                "bids": [[price_text(t), size_text(q)] for t, q in stream.snap_bids],
                "asks": [[price_text(t), size_text(q)] for t, q in stream.snap_asks]}
    book.on_snapshot(parse_depth_snapshot(snapshot, MARKET, t0))

    def step() -> None:  # Engine._step after its wait (pmm/engine/engine.py)
        engine._react(evaluate=True)

    from pmm.core.events import OrderAccepted, OrderCancelled
    from pmm.core.model import OrderStatus

    def venue_answers() -> None:
        """Untimed, between frames: the venue accepts new orders and confirms cancels at once, so
        the strategy quotes, refreshes and re-quotes as on a live venue (no fills: the stream's
        trades are not matched against our quotes here)."""
        now = clock.now()
        for order in engine.tracker.active(MARKET):
            if order.cancel_sent_ts is not None:
                engine.emit(OrderCancelled(order.client_id, order.exchange_id, MARKET, now, now))
            elif order.status is OrderStatus.PENDING_NEW:
                engine.emit(OrderAccepted(order.client_id, f"x{order.client_id}", MARKET, now, now))  # type: ignore[arg-type]
        if engine._inbox:
            step()

    engine._drain()
    engine.decider.evaluate()
    venue_answers()
    on_public = feed._on_public
    perf = time.perf_counter_ns
    out: list[int] = []
    placed0 = engine.orders.placed
    gc_was = gc.isenabled()
    gc.disable()  # collections land on whichever frame is unlucky; they are counted in the p99.9 below
    try:
        for i, raw in enumerate(frames):
            clock.advance_to(t0 + (i + 1) * STEP_MS / 1000.0)
            start = perf()
            message = decode_json(raw if isinstance(raw, str) else raw.decode())
            if isinstance(message, dict) and "id" in message and ("result" in message or "error" in message):
                continue
            if isinstance(message, dict) and "stream" in message and "data" in message:
                message = message["data"]
            on_public(message, clock.now())
            step()
            out.append(perf() - start)
            venue_answers()
            if i % 1000 == 999:
                gc.collect()  # outside the timed region
    finally:
        if gc_was:
            gc.enable()
    for task in list(engine._tasks):
        task.cancel()
    await asyncio.sleep(0)
    info = {"orders_placed": engine.orders.placed - placed0, "book_resyncs": book.resyncs,
            "engine_events": engine.events_processed,
            "last_update_id": book.last_update_id}
    return out, info


def _json_floor(frames: list[bytes]) -> list[int]:
    perf = time.perf_counter_ns
    loads = json.loads
    out = []
    for raw in frames:
        start = perf()
        loads(raw)
        out.append(perf() - start)
    return out


def run(stream: Stream | None = None, *, n: int = 200_000) -> Section:
    section = Section(2, "decision latency")
    t_start = time.perf_counter()
    stream = stream or load_stream(n)
    frames = depth_frames(stream, min(n, stream.n))
    base = _json_floor(frames)
    lat, info = asyncio.run(_measure(stream, frames))
    base = min(base, _json_floor(frames), key=lambda v: sorted(v)[len(v) // 2])  # the quieter pass
    p, b = _percentiles(lat), _percentiles(base)
    section.checks.update(info)
    section.checks["all_applied"] = info["last_update_id"] == len(frames) and info["book_resyncs"] == 0
    section.checks["quoted"] = info["orders_placed"] > 0
    for key, goal in (("p50", 40.0), ("p99", 120.0), ("p999", None)):
        label = {"p50": "p50", "p99": "p99", "p999": "p99.9"}[key]
        section.figures.append(Figure(
            key=f"decision.{key}_us", label=f"decision latency {label} (depthUpdate bytes -> decision)",
            value=p[key], unit="µs", baseline_label=f"json.loads of the frame, {label}", baseline=b[key],
            better="lower", goal=goal, extra={"frames": len(frames), "mean_us": p["mean"], "baseline_mean_us": b["mean"]},
        ))
    if not section.checks["all_applied"]:
        section.status = "failed"
        section.note = f"the book did not stay in sync: {info}"
    section.seconds = time.perf_counter() - t_start
    return section
