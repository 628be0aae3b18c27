"""Bybit server lifecycle: loopback only, serve_forever as the CLI runs it, stop closes sockets."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from test_server_bybit_kit import API_KEY, API_SECRET, run, static_settings

from pmm.connectors.bybit_perpetual.server import BybitServer, serve_forever
from pmm.sim.exchange import SimExchange


def test_only_loopback():
    with pytest.raises(ValueError, match="loopback"):
        BybitServer(SimExchange(static_settings()), api_key=API_KEY, api_secret=API_SECRET, host="0.0.0.0")


def test_serve_forever_until_cancelled():
    async def go():
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(serve_forever(static_settings(), port=0, api_key=API_KEY, api_secret=API_SECRET,
                                                 on_ready=ready.set_result))
        port = await asyncio.wait_for(ready, 5)
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/v5/market/time") as resp:
                assert (await resp.json())["retCode"] == 0
            ws = await session.ws_connect(f"ws://127.0.0.1:{port}/v5/public/linear")
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            msg = await ws.receive(timeout=2)
            assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            with pytest.raises(aiohttp.ClientConnectionError):
                await session.get(f"http://127.0.0.1:{port}/v5/market/time")
    run(go())
