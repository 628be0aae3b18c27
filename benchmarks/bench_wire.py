"""Benchmark 3: wire-to-wire on loopback, from a depth frame leaving the venue to the order request
it forces arriving at the venue.

The Binance-dialect server (`BinanceServer` over a `SimExchange`) runs in this process on
127.0.0.1; the real bot (`pmm start --plain` on a binance_local-like config) runs in a child
process against it. The market is an `ExternalMarket`: it moves only when this benchmark feeds it
a `BookDelta` through `SimExchange.feed`, so every frame goes the production path (venue book ->
`MarketStreams` -> one `depthUpdate` with consistent U/u/pu ids -> the WebSocket hub) and nothing
else moves the book. Each frame shifts the mid so that one of the bot's two quotes falls inside its
`minimum_spread` (never through it: nothing fills), so the bot must send exactly one
`DELETE /fapi/v1/order` for that order. Two clocks would need syncing; here one `perf_counter`
stamps both ends: when the server writes the frame to the socket (after aiohttp has built it), and
when the request enters the server's aiohttp app (a middleware).

A cycle: the bot quotes both sides -> frame A cancels one -> frame B cancels the other -> the bot
re-quotes when `order_refresh_time` (0.2 s) has passed. Which side goes first is chosen so that
the mid oscillates around its start over thousands of frames. 0.2 s keeps the bot under Binance's
order-count limits (1200 placements a minute), which it also counts itself.

Baseline, same run: an aiohttp WebSocket server here, a `websockets` client (the bot's library and
connect options) in a child process echoing each frame; time from `send_str` to the echo's arrival.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from benchmarks.common import REPO, Figure, Section, child_env, pmm_command

MARKET, SYMBOL = "BTC-USDT", "BTCUSDT"
TICK, HOME, LEVEL_SIZE = Decimal("0.1"), Decimal(65000), Decimal("2.5")
SPREAD_PCT, MIN_SPREAD_PCT = Decimal("0.05"), Decimal("0.02")  # config percents: 0.05 %, 0.02 %
REFRESH_S = 0.2
KEY, SECRET = "bench-wire-key", "bench-wire-secret"
SETTLE_S = 0.01  # after each answer, let the bot read the replies and user events before the next frame
TIMEOUT_S = 2.0
ECHO_CLIENT = """
import asyncio, sys
from websockets.asyncio.client import connect
async def main():  # the connect options of pmm/connectors/common/reconnecting_ws.py
    async with connect(sys.argv[1], ping_interval=None, max_size=2 ** 24, open_timeout=10, close_timeout=2) as ws:
        async for frame in ws:
            await ws.send(frame)
asyncio.run(main())
"""


def _book(mid_ticks: int) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """Five levels a side, one tick apart, touch one tick either side of the mid."""
    return (tuple(((mid_ticks - k) * TICK, LEVEL_SIZE) for k in range(1, 6)),
            tuple(((mid_ticks + k) * TICK, LEVEL_SIZE) for k in range(1, 6)))


def _diff(old: tuple[Any, ...], new: tuple[Any, ...]) -> tuple[Any, ...]:
    keep = {p for p, _ in new}
    return tuple(new) + tuple((p, Decimal(0)) for p, _ in old if p not in keep)


class _WriteStamps:
    """Once armed, stamps the next write on a socket: the moment a frame goes to the kernel.

    Stamped there, not before `send_str`: building the frame (and deflating it, for the
    permessage-deflate the bot's client negotiates with aiohttp) is the venue's work, not the bot's.
    """

    def __init__(self, transport: Any, times: list[float]) -> None:
        self.times = times
        self.armed = False
        write = transport.write

        def stamped(data: Any) -> None:
            if self.armed:
                self.armed = False
                self.times.append(time.perf_counter())
            write(data)

        transport.write = stamped


class _DepthWs:
    """Stands in for the bot's depth connection (`WsClient.ws`): arms the stamp for a depthUpdate."""

    def __init__(self, ws: web.WebSocketResponse, stamps: _WriteStamps) -> None:
        self._ws, self.stamps = ws, stamps

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ws, name)

    async def send_str(self, data: str, compress: int | None = None) -> None:
        self.stamps.armed = "depthUpdate" in data[:80]
        await self._ws.send_str(data, compress=compress)


def _server_class() -> Any:
    from pmm.connectors.binance_perpetual import constants as c
    from pmm.connectors.binance_perpetual.server import BinanceServer

    class TimedServer(BinanceServer):
        """BinanceServer + an outermost middleware noting order requests (time, method, params)."""

        requests: list[tuple[float, str, str]]
        depth_gets = 0

        def _add_routes(self, app: web.Application) -> None:
            self.requests, self.arrived = [], asyncio.Event()

            @web.middleware
            async def note(request: web.Request, handler: Any) -> web.StreamResponse:
                t = time.perf_counter()  # first thing: before the body is read and checked
                if request.path == c.ORDER_PATH and request.method in ("POST", "DELETE"):
                    self.requests.append((t, request.method, request.query_string))
                    self.arrived.set()
                elif request.path == c.DEPTH_PATH:
                    self.depth_gets += 1  # one at start; more means the bot resynced its book
                return await handler(request)

            app.middlewares.append(note)
            super()._add_routes(app)

    return TimedServer


async def _wait(predicate: Any, timeout: float, step: float = 0.001) -> bool:
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(step)
    return True


def _pct(ns: list[float], q: float) -> float:
    s = sorted(ns)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


async def _wire(n: int, workdir: Path) -> tuple[list[float], dict[str, Any]]:
    from pmm.connectors.binance_perpetual.server.options import ServerOptions
    from pmm.core.events import BookDelta, BookSnapshot, FundingInfoUpdated
    from pmm.core.model import FundingInfo, Side
    from pmm.sim.exchange import SimExchange
    from pmm.sim.settings import ExternalMarket, SimMarketSettings, SimSettings

    exchange = SimExchange(SimSettings(markets=(SimMarketSettings(MARKET, ExternalMarket()),)))
    server = _server_class()(exchange, api_key=KEY, api_secret=SECRET, options=ServerOptions(
        orders_limit_per_10s=10**6, orders_limit_per_min=10**6))
    await server.start()
    mid = int(HOME / TICK)
    book = _book(mid)
    now = server.clock.now()
    exchange.feed(BookSnapshot(MARKET, book[0], book[1], 0, now, now), now)
    exchange.feed(FundingInfoUpdated(FundingInfo(MARKET, HOME, HOME, Decimal(0), now + 8 * 3600), now, now), now)

    config = yaml.safe_load((REPO / "configs" / "binance_local.yml").read_text(encoding="utf-8"))
    config.update(bid_spread=float(SPREAD_PCT), ask_spread=float(SPREAD_PCT), minimum_spread=float(MIN_SPREAD_PCT),
                  order_refresh_time=REFRESH_S, connector={"rest_url": server.rest_url, "ws_url": server.ws_url})
    (workdir / "wire.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    env = child_env(PMM_BINANCE_PERPETUAL_API_KEY=KEY, PMM_BINANCE_PERPETUAL_API_SECRET=SECRET)
    bot = await asyncio.create_subprocess_exec(
        *pmm_command(), "start", "-c", str(workdir / "wire.yml"), "--plain", "--db", f"sqlite:///{workdir}/wire.sqlite",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, cwd=workdir)
    lines: list[str] = []

    async def read() -> None:  # keep the pipe drained; the tail explains a failure
        assert bot.stdout is not None
        async for raw in bot.stdout:
            lines.append(raw.decode(errors="replace").rstrip())

    reader = asyncio.create_task(read())
    stamps: list[float] = []  # the depth frames' socket writes
    samples: list[float] = []
    missing = wrong = 0
    try:
        def quotes() -> dict[Side, Any]:
            return {o.side: o for o in exchange.open_orders(MARKET)}

        for _ in range(n):
            if not quotes():  # both sides cancelled: the bot re-quotes after order_refresh_time
                if not await _wait(lambda: len(quotes()) == 2 or bot.returncode is not None, 30.0):
                    raise RuntimeError("the bot did not quote within 30 s:\n" + "\n".join(lines[-20:]))
                await asyncio.sleep(SETTLE_S)  # its POST answers and user events land first
            if bot.returncode is not None:
                raise RuntimeError(f"the bot exited {bot.returncode}:\n" + "\n".join(lines[-20:]))
            live = quotes()
            # A cycle's net move is toward the side attacked second (the first frame moves the mid
            # by about spread - min/2, the second back across by about twice that): attack first
            # the side away from HOME, so the mid oscillates around it.
            side = Side.SELL if (len(live) == 2 and mid * TICK > HOME) or Side.BUY not in live else Side.BUY
            order = live[side]
            m = MIN_SPREAD_PCT / 200  # half the minimum spread, as a fraction: well inside it
            target = order.price * (1 + m) if side is Side.BUY else order.price / (1 + m)
            mid, old = int((target / TICK).to_integral_value()), book
            book = _book(mid)
            for client in server.hub.clients:  # (re)wrap the bot's depth connection
                if ("depth", SYMBOL) in client.subscriptions and not isinstance(client.ws, _DepthWs):
                    client.ws = _DepthWs(client.ws, _WriteStamps(client.transport, stamps))
            sent, asked = len(stamps), len(server.requests)
            server.arrived.clear()
            now = server.clock.now()
            exchange.feed(BookDelta(MARKET, _diff(old[0], book[0]), _diff(old[1], book[1]), 0, now, now), now)
            try:  # event-driven, no polling while timing: this process is the venue
                await asyncio.wait_for(server.arrived.wait(), TIMEOUT_S)
            except TimeoutError:
                pass
            if len(server.requests) == asked or len(stamps) == sent:
                missing += 1
                continue
            t_req, method, query = server.requests[asked]
            wire_id = server.desk.by_sim[order.client_id].client_id  # the venue order behind the sim's
            if method != "DELETE" or f"origClientOrderId={wire_id}" not in query:
                wrong += 1  # the first request after the frame is not the cancel it forced
            samples.append(t_req - stamps[sent])
            await _wait(lambda s=side: s not in quotes(), TIMEOUT_S)
            await asyncio.sleep(SETTLE_S)
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGINT)  # the bot's clean stop
            try:
                await asyncio.wait_for(bot.wait(), 20.0)
            except TimeoutError:
                bot.kill()
                await bot.wait()
        await reader
        await server.stop()
        exchange.close()
    info = {"frames": n, "missing": missing, "wrong_request": wrong, "depth_snapshots": server.depth_gets,
            "bot_exit": bot.returncode, "frames_sent": len(stamps)}
    return samples, info


async def _echo(n: int, frame: str) -> list[float]:
    """Round trips of `frame`: aiohttp server (here) -> websockets client (child) -> back."""
    got: asyncio.Queue[float] = asyncio.Queue()
    peer: list[web.WebSocketResponse] = []
    stamps: list[_WriteStamps] = []

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=180.0, timeout=2.0)  # as the Binance server's hub
        await ws.prepare(request)
        peer.append(ws)
        stamps.append(_WriteStamps(request.transport, []))
        async for _ in ws:
            got.put_nowait(time.perf_counter())
        return ws

    app = web.Application()
    app.router.add_get("/echo", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client = await asyncio.create_subprocess_exec(sys.executable, "-c", ECHO_CLIENT, f"ws://127.0.0.1:{port}/echo",
                                                  env=child_env())
    out: list[float] = []
    try:
        if not await _wait(lambda: bool(peer), 20.0):
            raise RuntimeError("the echo client did not connect")
        for _ in range(n):
            stamps[0].armed = True  # as for the depth frames: from the socket write
            await peer[0].send_str(frame)
            out.append(await asyncio.wait_for(got.get(), TIMEOUT_S) - stamps[0].times[-1])
            await asyncio.sleep(SETTLE_S)  # same spacing as the frames, so the peer is as idle
    finally:
        client.terminate()
        await client.wait()
        await runner.cleanup()
    return out


def _frame_text() -> str:
    """A depthUpdate as the benchmark's frames look on the wire (about 20 levels)."""
    import json

    bids, asks = _book(650_000), _book(649_700)
    levels = [[str(p), str(s)] for p, s in _diff(bids[0], asks[0])]
    return json.dumps({"stream": "btcusdt@depth@100ms", "data": {
        "e": "depthUpdate", "E": 1, "T": 1, "s": SYMBOL, "U": 1001, "u": 1020, "pu": 1000,
        "b": levels, "a": levels}}, separators=(",", ":"))


def run(*, n: int = 600, warmup: int | None = None) -> Section:
    """`n` timed frames after `warmup` (default: n/20, 2 to 20) whose samples are dropped."""
    warmup = min(20, max(2, n // 20)) if warmup is None else warmup
    section = Section(3, "wire-to-wire")
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pmm-bench-wire-") as tmp:
        lat, info = asyncio.run(_wire(n + warmup, Path(tmp)))
    echo = asyncio.run(_echo(n + warmup, _frame_text()))[warmup:]
    lat = lat[warmup:]
    section.checks.update(info)
    section.checks["every_frame_answered"] = info["missing"] == 0 and info["wrong_request"] == 0
    section.checks["book_in_sync"] = info["depth_snapshots"] == 1
    us = [x * 1e6 for x in lat]
    base = [x * 1e6 for x in echo]
    extra = {"samples": len(us), "warmup_dropped": warmup, "p90_us": _pct(us, 0.90), "max_us": max(us, default=0),
             "echo_p90_us": _pct(base, 0.90), "echo_max_us": max(base, default=0)}
    for key, q, goal in (("p50", 0.50, 300.0), ("p99", 0.99, 1000.0)):
        section.figures.append(Figure(
            key=f"wire.{key}_us", label=f"wire-to-wire {key} (depth frame sent -> cancel received)",
            value=_pct(us, q), unit="µs", baseline_label=f"WebSocket echo round trip, {key}",
            baseline=_pct(base, q), better="lower", goal=goal, extra=extra))
    if not (section.checks["every_frame_answered"] and section.checks["book_in_sync"]):
        section.status = "failed"
        section.note = f"frames without their cancel, or the bot resynced: {info}"
    section.seconds = time.perf_counter() - t_start
    return section
