"""The kit server's REST middleware, request parsing and stream hub, through a toy venue dialect
(no real venue): what runs in which order, and how each refusal reaches the venue's words."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from yarl import URL

from pmm.connectors.common.fault_injector import Failure
from pmm.connectors.common.server.faults import KitFaults
from pmm.connectors.common.server.kit_server import KitServer, Route, WindowLimiter
from pmm.connectors.common.server.stream_hub import Conn, StreamHub
from pmm.connectors.common.server.wire import BadBody, Fields, ParamError, WireError, WireRequest
from pmm.connectors.common.sim_driver import SimDriver
from pmm.core.clock import VirtualClock
from pmm.sim.exchange import SimExchange
from pmm.sim.settings import SimMarketSettings, SimSettings, StaticMarket


class ToyDialect:
    """A venue that answers {"ok": data} and {"err": code, "why": msg}; signed means header X-Key: k."""

    def success(self, data: Any) -> Any:
        return {"ok": data}

    def refusal(self, err: WireError) -> Any:
        return {"err": err.code, "why": err.msg}

    def verify(self, req: WireRequest) -> None:
        if req.headers.get("X-Key") != "k":
            raise WireError("AUTH", "bad key", 401)

    def param_error(self, err: ParamError) -> WireError:
        return WireError("PARAM", f"{'missing' if err.missing else 'bad'} {err.name}", 400)

    def bad_body(self) -> WireError:
        return WireError("JSON", "not json", 400)

    def not_found(self, req: WireRequest) -> WireError:
        return WireError("404", f"no {req.path}", 404)

    def rate_limited(self, req: WireRequest) -> WireError:
        return WireError("SLOW", "too many", 429)

    def injected(self, failure: Failure) -> WireError:
        return WireError(failure.code or "INJ", failure.msg or "injected", failure.status)

    def internal_error(self) -> WireError:
        return WireError("BUG", "internal", 500)


class ToyStreams:
    """Subscribes text "sub:<key>", logs in with "login", echoes anything else."""

    def __init__(self, hub: StreamHub) -> None:
        self.hub = hub
        self.closed: list[str] = []

    def on_open(self, conn: Conn) -> None:
        self.hub.send(conn, {"welcome": conn.kind, **conn.query})

    def on_text(self, conn: Conn, text: str) -> None:
        if text == "login":
            conn.logged_in = True
            self.hub.send(conn, "logged in")
        elif text.startswith("sub:"):
            self.hub.send(conn, {"subscribed": self.hub.subscribe(conn, text[4:])})
        elif text.startswith("unsub:"):
            self.hub.send(conn, {"unsubscribed": self.hub.unsubscribe(conn, text[6:])})
        else:
            self.hub.send(conn, {"echo": text})

    def on_close(self, conn: Conn) -> None:
        self.closed.append(conn.kind)


class ToyServer(KitServer):
    venue = "Toy"

    def __init__(self, exchange: SimExchange, clock: VirtualClock) -> None:
        super().__init__(exchange, host="127.0.0.1", port=0, clock=clock)
        self.faults = KitFaults()
        self.driver = SimDriver(exchange, clock, 0.01)
        self.dialect = ToyDialect()
        self.limiter = WindowLimiter(clock)
        self.hub = StreamHub(clock, self.faults, name="Toy", idle_cutoff_s=30.0)
        self.faults.bind(self.hub)
        self.streams = ToyStreams(self.hub)
        self.hub.dialect = self.streams
        self.calls: list[str] = []

    async def echo(self, req: WireRequest) -> Any:
        self.calls.append(req.target)
        fields = req.fields()
        if fields.text("boom"):
            raise RuntimeError("a bug in a handler")
        return {"target": req.target, "n": fields.integer("n"), "flag": fields.boolean("flag")}

    def routes(self) -> list[Route]:
        return [Route("GET", "/echo", self.echo), Route("POST", "/echo", self.echo, signed=True),
                Route("GET", "/limited", self.echo, limit=(2, 1.0))]

    def response_headers(self, route: Route, req: WireRequest) -> dict[str, str]:
        return {"X-Route": route.path}

    def ws_paths(self) -> dict[str, str]:
        return {"/ws/public": "public", "/ws/private": "private"}


@asynccontextmanager
async def toy() -> AsyncIterator[tuple[ToyServer, aiohttp.ClientSession]]:
    book = StaticMarket(bids=((Decimal("99"), Decimal("1")),), asks=((Decimal("101"), Decimal("1")),))
    exchange = SimExchange(SimSettings(markets=(SimMarketSettings("BTC-USDT", book),)))
    server = ToyServer(exchange, VirtualClock(1_767_225_700.0))
    await server.start()
    session = aiohttp.ClientSession()
    try:
        yield server, session
    finally:
        await session.close()
        await server.stop()
        exchange.close()


async def _get(session: aiohttp.ClientSession, url: str | URL, **kwargs: Any) -> tuple[int, Any]:
    async with session.request(kwargs.pop("method", "GET"), url, **kwargs) as resp:
        return resp.status, json.loads(await resp.text())


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 30))


def test_middleware_answers_in_the_venue_words():
    async def go() -> None:
        async with toy() as (server, session):
            base = server.rest_url
            status, body = await _get(session, URL(f"{base}/echo?n=5&flag=true&x=%2F", encoded=True))
            assert (status, body) == (200, {"ok": {"target": "/echo?n=5&flag=true&x=%2F", "n": 5, "flag": True}})
            assert await _get(session, f"{base}/echo?n=1.5") == (400, {"err": "PARAM", "why": "bad n"})
            assert await _get(session, f"{base}/echo", method="POST", data=b"{}") == (
                401, {"err": "AUTH", "why": "bad key"})
            assert await _get(session, f"{base}/echo", method="POST", data=b"{", headers={"X-Key": "k"}) == (
                400, {"err": "JSON", "why": "not json"})
            status, body = await _get(session, f"{base}/echo", method="POST", headers={"X-Key": "k"},
                                      data=b'{"n": 2, "flag": "", "x": null}')
            assert status == 200 and body["ok"]["n"] == 2 and body["ok"]["flag"] is False
            assert await _get(session, f"{base}/nowhere") == (404, {"err": "404", "why": "no /nowhere"})
            assert (await _get(session, f"{base}/echo?boom=1"))[0] == 500
            assert [(await _get(session, f"{base}/limited"))[0] for _ in range(3)] == [200, 200, 429]
            async with session.get(f"{base}/limited") as resp:  # a refusal carries no success headers
                assert resp.status == 429 and "X-Route" not in resp.headers
            async with session.get(f"{base}/echo") as resp:
                assert resp.headers["X-Route"] == "/echo"
            server.clock.advance_to(server.clock.now() + 1.0)  # type: ignore[attr-defined]
            assert (await _get(session, f"{base}/limited"))[0] == 200
    run(go())


def test_injected_failures_skip_or_run_the_handler():
    async def go() -> None:
        async with toy() as (server, session):
            server.faults.fail_next("/echo", 503, code=7, retry_after=1.5)
            async with session.get(f"{server.rest_url}/echo?n=1") as resp:
                assert resp.status == 503 and resp.headers["Retry-After"] == "1.5"
                assert json.loads(await resp.text()) == {"err": 7, "why": "injected"}
            assert server.calls == []
            server.faults.fail_next("/echo", 504, execute=True)
            assert (await _get(session, f"{server.rest_url}/echo?n=2"))[0] == 504
            assert server.calls == ["/echo?n=2"]  # carried out, its answer lost
    run(go())


def test_unknown_handler_errors_are_logged(caplog: pytest.LogCaptureFixture):
    async def go() -> None:
        async with toy() as (server, session):
            with caplog.at_level(logging.ERROR):
                assert await _get(session, f"{server.rest_url}/echo?boom=1") == (500, {"err": "BUG", "why": "internal"})
    run(go())
    assert "GET /echo failed" in caplog.text


def test_hub_subscriptions_fan_out_and_frame_faults():
    async def go() -> None:
        async with toy() as (server, session):
            a = await session.ws_connect(f"{server.ws_url}/ws/public")
            b = await session.ws_connect(f"{server.ws_url}/ws/private?token=t1")
            assert await a.receive_json() == {"welcome": "public"}
            assert await b.receive_json() == {"welcome": "private", "token": "t1"}  # the dialect sees the query
            for ws in (a, b):
                await ws.send_str("sub:k1")
                assert await ws.receive_json() == {"subscribed": True}
            await a.send_str("sub:k1")
            assert await a.receive_json() == {"subscribed": False}
            server.hub.publish("k1", {"n": 1})
            assert await a.receive_json() == {"n": 1} and await b.receive_json() == {"n": 1}
            server.faults.duplicate_next_frames("depth")
            server.hub.publish("k1", {"n": 2}, shape="depth")
            for ws in (a, b):  # the frame is sent twice, to every subscriber
                assert [await ws.receive_json(), await ws.receive_json()] == [{"n": 2}, {"n": 2}]
            await b.send_str("unsub:k1")
            assert await b.receive_json() == {"unsubscribed": True}
            server.hub.publish("k1", {"n": 3})
            assert await a.receive_json() == {"n": 3}
            await b.send_str("hello")
            assert await b.receive_json() == {"echo": "hello"}  # nothing of k1 reached b
            await b.send_str("login")
            assert await b.receive_str() == "logged in"
            assert server.faults.expire_logins() == 1
            assert (await b.receive()).type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert server.faults.drop_sockets("market") == 1  # the alias of "public"
            assert (await a.receive()).type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
            await asyncio.sleep(0)
    run(go())


def test_a_connection_renders_its_own_frames_and_a_close_sends_what_was_queued_first():
    async def go() -> None:
        async with toy() as (server, session):
            wrapped = await session.ws_connect(f"{server.ws_url}/ws/public")
            await wrapped.receive_json()
            [conn] = server.hub.clients
            conn.render = lambda key, text: [f'{{"key":"{key}","data":{text}}}', text]  # two frames
            plain = await session.ws_connect(f"{server.ws_url}/ws/public")
            await plain.receive_json()
            for ws in (wrapped, plain):
                await ws.send_str("sub:k1")
                await ws.receive_json()
            server.hub.publish("k1", {"n": 1})
            assert await wrapped.receive_json() == {"key": "k1", "data": {"n": 1}}
            assert await wrapped.receive_json() == {"n": 1}
            assert await plain.receive_json() == {"n": 1}  # no render: the frame as published
            server.hub.send(conn, {"last": True})
            server.hub.close(conn, 4000, b"bye")
            assert await wrapped.receive_json() == {"last": True}
            closing = await wrapped.receive()
            assert (closing.type, closing.data) == (aiohttp.WSMsgType.CLOSE, 4000)
    run(go())


def test_a_hub_with_a_heartbeat_pings_its_sockets():
    async def go() -> None:
        async with toy() as (server, session):
            server.hub = StreamHub(server.clock, server.faults, name="Toy", idle_cutoff_s=30.0, heartbeat_s=0.05)
            server.hub.dialect = ToyStreams(server.hub)
            ws = await session.ws_connect(f"{server.ws_url}/ws/public", autoping=False)
            assert await ws.receive_json() == {"welcome": "public"}
            assert (await ws.receive()).type is aiohttp.WSMsgType.PING  # without a heartbeat: none
            await ws.close()
    run(go())


def test_fields_read_parameters_as_venues_do():
    fields = Fields({"a": "", "b": None, "c": True, "d": Decimal("0.50"), "e": 7, "f": [1], "g": "x"})
    assert [fields.text(k) for k in "abcdeg"] == [None, None, "true", "0.50", "7", "x"]
    assert "a" not in fields and "e" in fields
    with pytest.raises(ParamError) as bad:
        fields.text("f")
    assert bad.value.name == "f" and not bad.value.missing
    with pytest.raises(ParamError) as missing:
        fields.required("a")
    assert missing.value.missing
    assert fields.decimal("d") == Decimal("0.5") and fields.integer("e") == 7 and fields.boolean("c")
    with pytest.raises(ParamError):
        fields.integer("d")
    with pytest.raises(ParamError):
        fields.choice("g", ("y", "z"))
    assert fields.choice("a", ("y",), "y") == "y"


def test_wire_requests_keep_the_raw_bytes_and_parse_json_with_decimals():
    req = WireRequest("post", "/p", "/p?q=a%20b&r=", b'[{"px": 1.10}, {"px": "2"}]', {})
    assert (req.method, req.query, req.query_params) == ("POST", "q=a%20b&r=", {"q": "a b", "r": ""})
    assert [item.decimal("px") for item in req.items()] == [Decimal("1.10"), Decimal("2")]
    with pytest.raises(BadBody):
        req.fields()  # an array where one object is expected
    lone = WireRequest("POST", "/p", "/p", b'{"px": "3"}', {})
    assert [i.text("px") for i in lone.items()] == ["3"]
    with pytest.raises(BadBody):
        WireRequest("POST", "/p", "/p", b"[1, 2]", {}).items()
    assert WireRequest("GET", "/p", "/p?x=1", b"", {}).fields().text("x") == "1"


def test_an_order_book_restart_runs_the_servers_own_and_needs_one():
    hub = StreamHub(VirtualClock(0.0), KitFaults(), name="Toy", idle_cutoff_s=30.0)
    unbound = KitFaults()
    unbound.bind(hub)
    with pytest.raises(RuntimeError, match="no order book restart"):
        unbound.restart_orderbook()
    restarts: list[str] = []

    def restart() -> int:
        restarts.append("books")
        return 3

    faults = KitFaults()
    faults.bind(hub, restart_books=restart)
    assert faults.restart_orderbook() == 3 and restarts == ["books"]


def test_a_window_says_what_is_left_and_when_it_frees_up():
    clock = VirtualClock(100.0)
    windows = WindowLimiter(clock)
    assert windows.window_state("/x", (2, 1.0)) == (2, 101.0)  # nothing counted yet
    assert windows.admit("/x", (2, 1.0))
    clock.advance_to(100.25)
    assert windows.admit("/x", (2, 1.0))
    assert windows.window_state("/x", (2, 1.0)) == (0, 101.0)
    assert not windows.admit("/x", (2, 1.0))
    clock.advance_to(101.05)  # the first one left the window
    assert windows.admit("/x", (2, 1.0)) and windows.window_state("/x", (2, 1.0)) == (0, 101.25)
