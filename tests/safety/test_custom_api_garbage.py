"""Bad input from a `price_source: custom_api` (issue 6): an API that answers garbage - non-numeric,
NaN, negative, zero, huge, slow, an enormous body, an error status, bytes that are not text - marks
the price source not ready, and the bot stops quoting with the reason shown; a good price brings the
quotes back. (tests/engine/test_price_sources.py covers a plain price and one garbage answer.)
"""

from __future__ import annotations

import asyncio
import functools
import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from helpers import db_url, write_config
from hypothesis import given, settings
from hypothesis import strategies as st

from pmm.app import StartOptions, run_bot
from pmm.config import load_config
from pmm.core.clock import LiveClock
from pmm.core.model import OrderPurpose
from pmm.engine import custom_api
from pmm.engine.custom_api import CustomApiPriceSource, parse_price

TIMEOUT_S = 0.5  # the test's custom API client timeout (the bot's default is 5 s)
ENORMOUS = b"6" * (8 * 1024 * 1024)  # 8 MiB of digits: a number, but no API answers that

# (name, what the API does, a word the reason must contain)
GARBAGE: list[tuple[str, dict[str, Any], str]] = [
    ("non-numeric", {"body": b"not-a-price"}, "'not-a-price', not a number"),
    ("NaN", {"body": b"NaN"}, "'NaN', not a positive price"),
    ("negative", {"body": b"-65000"}, "'-65000', not a positive price"),
    ("zero", {"body": b"0"}, "'0', not a positive price"),
    ("huge", {"body": b"1e40"}, "'1e40', not a plausible price"),
    ("infinite", {"body": b"Infinity"}, "'Infinity', not a positive price"),
    ("empty", {"body": b""}, "'', not a number"),
    ("json", {"body": b'{"price": 65000}'}, "not a number"),
    ("not text", {"body": b"\xff\xfe\x00\x01"}, "not a number"),
    ("enormous", {"body": ENORMOUS}, "answered more than 1024 bytes"),
    ("HTTP 500", {"status": 500, "body": b"65000"}, "answered HTTP 500"),
    ("slow", {"delay": TIMEOUT_S * 4, "body": b"65000"}, "unreachable: TimeoutError"),
]


class PriceApi:
    """A local HTTP server whose answer the test changes at will."""

    def __init__(self) -> None:
        self.behaviour: dict[str, Any] = {"body": b"65000"}
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _price(self, request: web.Request) -> web.StreamResponse:
        behaviour = self.behaviour
        if behaviour.get("delay"):
            await asyncio.sleep(behaviour["delay"])
        return web.Response(status=behaviour.get("status", 200), body=behaviour["body"])

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/price", self._price)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/price"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


# --- the parser -----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=50), st.binary(max_size=50).map(lambda b: b.decode("utf-8", "replace")),
                 st.decimals(allow_nan=True, allow_infinity=True).map(str),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr)))
def test_parse_price_is_a_plausible_positive_price_or_a_reason(body):
    price, reason = parse_price(body)
    if price is None:
        assert reason.startswith("custom API answered")
    else:
        assert price.is_finite() and Decimal(0) < price < Decimal("1e13")


# --- one fetch --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "behaviour", "word"), GARBAGE, ids=[g[0] for g in GARBAGE])
def test_each_garbage_answer_is_not_a_price(name, behaviour, word):
    async def main() -> tuple[Any, str, float]:
        api = PriceApi()
        await api.start()
        api.behaviour = behaviour
        source = CustomApiPriceSource(api.url, 1.0, LiveClock(), lambda e: None, timeout_s=TIMEOUT_S)
        try:
            async with aiohttp.ClientSession() as session:
                t0 = time.monotonic()
                price, reason = await source.fetch_once(session)
                return price, reason, time.monotonic() - t0
        finally:
            await api.stop()

    price, reason, took = asyncio.run(main())
    assert price is None, f"{name}: {price}"
    assert word in reason, reason
    assert took < TIMEOUT_S + 1.0, "a slow or enormous answer must not hold the source up"


# --- the bot ------------------------------------------------------------------------------------------


def test_garbage_from_the_custom_api_stops_quoting_with_the_reason_and_good_prices_resume_it(tmp_path, monkeypatch):
    monkeypatch.setattr(custom_api, "CustomApiPriceSource", functools.partial(CustomApiPriceSource,
                                                                                timeout_s=TIMEOUT_S))
    outcomes: dict[str, dict[str, Any]] = {}

    async def main() -> None:
        api = PriceApi()
        await api.start()
        try:
            # The simulated market trades near 65000; the API's good answer is 64000, so quotes
            # from the API's price are easy to tell from quotes from the book.
            api.behaviour = {"body": b"64000"}
            config = load_config(write_config(tmp_path, "sim_custom_api.yml", price_source_custom_api=api.url,
                                              custom_api_update_interval=0.5, order_refresh_time=1))

            def on_engine(engine: Any) -> None:
                asyncio.get_running_loop().create_task(drive(engine, api))

            await run_bot(config, StartOptions(db_url=db_url(tmp_path), duration_s=120.0),
                          install_signal_handlers=False, on_engine=on_engine)
        finally:
            await api.stop()

    def quotes(engine: Any) -> list[Any]:
        return [o for o in engine.tracker.active(engine.market) if o.request.purpose is OrderPurpose.QUOTE
                and o.cancel_sent_ts is None]

    async def until(predicate: Any, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            await asyncio.sleep(0.02)
        return predicate()

    async def drive(engine: Any, api: PriceApi) -> None:
        try:
            for name, behaviour, word in [("good", {"body": b"64000"}, ""), *GARBAGE, ("good again", {"body": b"64000"},
                                                                                      "")]:
                api.behaviour = behaviour
                result: dict[str, Any] = {}
                outcomes[name] = result
                if not word:
                    result["price"] = await until(lambda: engine.custom_price == Decimal(64000), 5)
                    result["quoting"] = await until(lambda: bool(quotes(engine)) and engine.last_decision.quoting, 5)
                    result["prices"] = sorted(str(o.request.price) for o in quotes(engine))
                    continue
                result["not ready"] = await until(lambda word=word: engine.custom_price is None and word in
                                                  engine.custom_price_reason, 5)
                result["reason shown"] = await until(
                    lambda word=word: engine.last_decision is not None and word in engine.last_decision.reason, 3)
                result["not quoting"] = not engine.last_decision.quoting
                placed = engine.orders.placed
                await asyncio.sleep(0.5)  # the pulled quotes' cancels are confirmed meanwhile
                result["placed while not ready"] = engine.orders.placed - placed
                result["quotes resting"] = len(quotes(engine))
                result["reason"] = engine.last_decision.reason
        finally:
            engine.request_stop("custom API campaign finished")

    asyncio.run(main())
    for name, result in outcomes.items():
        if name.startswith("good"):
            assert result["price"] and result["quoting"], f"{name}: {result}"
            assert all(Decimal(p) < Decimal(64000) * Decimal("1.01") for p in result["prices"]), result
            continue
        assert result["not ready"], f"{name}: the source is still ready: {result}"
        assert result["reason shown"] and result["not quoting"], f"{name}: {result}"
        assert result["placed while not ready"] == 0, f"{name}: quotes were placed from garbage: {result}"
        assert result["quotes resting"] == 0, f"{name}: a quote priced before the garbage is still resting: {result}"
    assert len(outcomes) == len(GARBAGE) + 2
