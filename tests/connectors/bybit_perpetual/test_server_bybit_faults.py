"""Bybit server fault injection (the Binance server's method names) and rate limits."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
from test_server_bybit_kit import API_KEY, API_SECRET, StepClock, Venue, run, running, static_settings

from pmm.connectors.bybit_perpetual.server import ServerOptions
from pmm.connectors.bybit_perpetual.server.auth import sign_ws_auth

CREATE = "/v5/order/create"
TIME = "/v5/market/time"


def _with(check, options=None):
    async def go():
        async with running(static_settings(), clock=StepClock(), options=options) as venue:
            venue.step()
            await check(venue)
    run(go())


async def _closed(ws) -> bool:
    msg = await ws.ws.receive(timeout=2)
    return msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING,
                        aiohttp.WSMsgType.ERROR)


def test_drop_sockets_by_kind():
    async def check(venue: Venue):
        public, private = await venue.ws(), await venue.private(["order"])
        assert venue.faults.drop_sockets("market") == 1
        assert await _closed(public)
        await private.send({"op": "ping"})
        assert (await private.recv())["op"] == "pong"
        assert venue.faults.drop_sockets("user") == 1
        assert await _closed(private)
        with pytest.raises(ValueError):
            venue.faults.drop_sockets("bogus")  # type: ignore[arg-type]
        assert venue.faults.drop_sockets("all") == 0
    _with(check)


def test_fail_next_answers_instead_of_the_venue():
    async def check(venue: Venue):
        venue.faults.fail_next(CREATE, 503)
        failed = await venue.order("Buy", "0.01", "64000", link="lost")
        assert failed.status == 503 and failed.code == 10016
        assert venue.exchange.open_orders() == []
        venue.faults.fail_next(CREATE, 502, execute=True)  # the order is placed, the answer is lost
        failed = await venue.order("Buy", "0.01", "64000", link="placed")
        assert failed.status == 502 and [o.client_id for o in venue.exchange.open_orders()] == ["placed"]
        venue.faults.fail_next(TIME, 200, code=10016, count=2)
        for _ in range(2):
            answer = await venue.get(TIME, signed=False)
            assert (answer.status, answer.code, answer.body["retMsg"]) == (200, 10016, "Internal System Error.")
        assert (await venue.get(TIME, signed=False)).code == 0
        venue.faults.fail_next(TIME, 429, retry_after=2)
        limited = await venue.get(TIME, signed=False)
        assert (limited.status, limited.code, limited.headers["Retry-After"]) == (429, 10006, "2")
        assert limited.headers["X-Bapi-Limit-Status"] == "0"
        venue.faults.fail_next("/v5/", 403)
        banned = await venue.get(TIME, signed=False)
        assert banned.status == 403 and "access too frequent" in banned.body
        venue.faults.fail_next("/v5/public", 500)  # a WebSocket upgrade refused
        with pytest.raises(aiohttp.WSServerHandshakeError):
            await venue.ws()
    _with(check)


def test_add_latency_before_and_after():
    async def check(venue: Venue):
        venue.faults.add_latency(0.2, TIME)
        venue.faults.add_latency(0.1, TIME, stage="after")
        started = time.monotonic()
        assert (await venue.get(TIME, signed=False)).code == 0
        assert time.monotonic() - started >= 0.3
        venue.faults.add_latency(0, TIME)
        venue.faults.add_latency(0, TIME, stage="after")
        started = time.monotonic()
        await venue.get(TIME, signed=False)
        assert time.monotonic() - started < 0.2
    _with(check)


def test_reject_next_order():
    async def check(venue: Venue):
        venue.faults.reject_next_order(110007)
        refused = await venue.order("Buy", "0.01", "64000", link="r1")
        assert (refused.code, refused.body["retMsg"]) == (110007, "Insufficient available balance")
        assert venue.exchange.open_orders() == []
        assert (await venue.order("Buy", "0.01", "64000", link="r2")).code == 0
    _with(check)


def test_expire_auth_and_reject_next_auth():
    async def check(venue: Venue):
        private = await venue.private(["order"])
        assert venue.faults.expire_listen_key() == 1  # Binance's name: ends the private sessions
        assert await _closed(private)
        venue.faults.reject_next_auth()
        ws = await venue.ws("private")
        expires = int(venue.clock.now() * 1000) + 10_000
        auth = {"op": "auth", "args": [API_KEY, expires, sign_ws_auth(API_SECRET, expires)]}
        await ws.send(auth)
        assert (await ws.recv())["ret_msg"] == "Params Error"
        await ws.send(auth)
        assert (await ws.recv())["success"] is True
        assert venue.faults.expire_auth() == 1
        assert await _closed(ws)
    _with(check)


def test_endpoint_rate_limit_headers_and_10006():
    async def check(venue: Venue):
        statuses = []
        for n in range(2):
            answer = await venue.order("Buy", "0.01", "64000", link=f"l{n}")
            assert answer.code == 0
            assert answer.headers["X-Bapi-Limit"] == "2"
            statuses.append(answer.headers["X-Bapi-Limit-Status"])
        assert statuses == ["1", "0"]
        over = await venue.order("Buy", "0.01", "64000", link="l2")
        assert over.code == 10006 and over.body["retMsg"] == "Too many visits. Exceeded the API Rate Limit."
        reset_ms = int(over.headers["X-Bapi-Limit-Reset-Timestamp"])
        assert reset_ms == int(venue.clock.now() * 1000) + 1000
        assert len(venue.exchange.open_orders()) == 2
        other = await venue.get("/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
        assert other.code == 0 and other.headers["X-Bapi-Limit"] == "50"  # limits are per endpoint
        venue.step(1.0)
        assert (await venue.order("Buy", "0.01", "64000", link="l3")).code == 0
        assert "X-Bapi-Limit" not in (await venue.get(TIME, signed=False)).headers  # public: IP limit only
    _with(check, ServerOptions(endpoint_limits_per_s={CREATE: 2}))


def test_ip_limit_is_403_and_a_ban():
    async def check(venue: Venue):
        for _ in range(4):
            assert (await venue.get(TIME, signed=False)).status == 200
        banned = await venue.get(TIME, signed=False)
        assert banned.status == 403 and "access too frequent" in banned.body
        venue.step(5.0)
        assert (await venue.get(TIME, signed=False)).status == 403  # still banned
        venue.step(10.0)
        assert (await venue.get(TIME, signed=False)).status == 200
    _with(check, ServerOptions(ip_limit_requests=4, ip_limit_window_s=5.0, ip_ban_s=12.0))


def test_idle_connections_are_cut():
    async def check(venue: Venue):
        ws = await venue.ws()
        venue.step(4.0)
        await ws.send({"op": "ping"})
        assert (await ws.recv())["ret_msg"] == "pong"
        venue.step(4.0)
        await asyncio.sleep(0)
        assert not ws.ws.closed
        venue.step(6.0)
        assert await _closed(ws)
    _with(check, ServerOptions(ws_idle_cutoff_s=5.0))
