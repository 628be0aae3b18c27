"""listenKey keep-alive and renewal with an injected clock; the private socket on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

from test_client_fakes import (
    API_KEY,
    API_SECRET,
    FakeBinance,
    StepClock,
    fixture,
    wait_until,
)

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.auth import BinanceAuth
from pmm.connectors.binance_perpetual.rest import BinanceRestClient
from pmm.connectors.binance_perpetual.streams import ListenKey, UserStream
from pmm.core.clock import LiveClock
from pmm.core.events import ConnectionChanged
from pmm.errors import ExchangeUnavailable


class FakeRest:
    """Answers listenKey calls; `fail_put` makes keep-alives fail as for -1125."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[str, str]] | None]] = []
        self.keys = iter(f"key{n}" for n in range(1, 100))
        self.fail_put = False

    async def with_key(self, method: str, path: str, params: list[tuple[str, str]] | None = None) -> Any:
        assert path == c.LISTEN_KEY_PATH
        self.calls.append((method, params))
        if method == "POST":
            return {"listenKey": next(self.keys)}
        if method == "PUT" and self.fail_put:
            raise ExchangeUnavailable("Binance refused PUT: This listenKey does not exist. (code -1125)")
        return {}

    def methods(self) -> list[str]:
        return [m for m, _ in self.calls]


def test_keepalive_every_30_minutes() -> None:
    async def main() -> None:
        clock, rest = StepClock(), FakeRest()
        key = ListenKey(rest, clock)  # type: ignore[arg-type]
        assert await key.obtain() == "key1"
        stream = UserStream(rest, ws_url="ws://127.0.0.1:9", clock=clock, connector_id="x",  # type: ignore[arg-type]
                            on_event=lambda m, t: None, emit=lambda e: None)
        stream.listen_key = key
        clock.advance(29 * 60)
        await stream.tick()
        assert rest.methods() == ["POST"]
        clock.advance(60)
        await stream.tick()
        assert rest.methods() == ["POST", "PUT"] and rest.calls[1][1] == [("listenKey", "key1")]
        assert key.extended_ts == clock.now() and key.key == "key1"
        clock.advance(29 * 60)
        await stream.tick()
        assert rest.methods() == ["POST", "PUT"]
        clock.advance(60)
        await stream.tick()
        assert rest.methods() == ["POST", "PUT", "PUT"]
        assert await key.obtain() == "key1"  # still valid: no new POST

    asyncio.run(main())


def test_failed_keepalive_renews_the_key() -> None:
    async def main() -> None:
        clock, rest = StepClock(), FakeRest()
        stream = UserStream(rest, ws_url="ws://127.0.0.1:9", clock=clock, connector_id="x",  # type: ignore[arg-type]
                            on_event=lambda m, t: None, emit=lambda e: None)
        await stream.listen_key.obtain()
        rest.fail_put = True
        clock.advance(31 * 60)
        await stream.tick()
        assert stream.listen_key.key is None  # forgotten: the reconnect obtains a new one
        url = await stream._url()
        assert url.endswith("/private/ws?listenKey=key2")
        assert rest.methods() == ["POST", "PUT", "POST"]

    asyncio.run(main())


def test_key_past_its_validity_is_replaced_without_a_keepalive() -> None:
    async def main() -> None:
        clock, rest = StepClock(), FakeRest()
        key = ListenKey(rest, clock)  # type: ignore[arg-type]
        await key.obtain()
        clock.advance(61 * 60)  # e.g. the process was suspended
        assert key.expired()
        assert await key.obtain() == "key2"

    asyncio.run(main())


def test_listen_key_expired_event_renews_and_reconnects_on_loopback() -> None:
    async def main() -> None:
        fake = FakeBinance()
        await fake.start()
        keys = iter(["firstkey", "secondkey"])
        fake.reply("POST", c.LISTEN_KEY_PATH, lambda _: (200, {"listenKey": next(keys)}, {}))
        fake.reply("DELETE", c.LISTEN_KEY_PATH, (200, {}, {}))
        clock = LiveClock()
        rest = BinanceRestClient(fake.rest_url, clock=clock, auth=BinanceAuth(API_KEY, API_SECRET, clock))
        received: list[Any] = []
        events: list[Any] = []
        stream = UserStream(rest, ws_url=fake.ws_url, clock=clock, connector_id="binance_perpetual",
                            on_event=lambda m, t: received.append(m), emit=events.append,
                            ws_options={"backoff_initial_s": 0.01})
        try:
            await stream.start()
            await wait_until(lambda: len(fake.ws_clients["private"]) == 1 and stream.ws.connected)
            await fake.push("private", fixture("ws_order_trade_update_new.json"))
            await wait_until(lambda: len(received) == 1)
            await fake.push("private", fixture("ws_listen_key_expired.json"))
            await wait_until(lambda: stream.ws.connections == 2)
            assert len(fake.calls("POST", c.LISTEN_KEY_PATH)) == 2
            assert stream.listen_key.key == "secondkey"
            down = [e for e in events if isinstance(e, ConnectionChanged) and not e.connected]
            assert down and "expired" in down[0].reason
            assert all(r.get("e") != "listenKeyExpired" for r in received)
        finally:
            await stream.stop()
            await rest.close()
            await fake.stop()
        assert fake.calls("DELETE", c.LISTEN_KEY_PATH)[0].param("listenKey") == "secondkey"

    asyncio.run(main())
