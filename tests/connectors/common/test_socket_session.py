"""`SocketSession._session`: a connection's handshake, "up", early frames and read, without a venue."""

from __future__ import annotations

import asyncio
from typing import Any

from pmm.connectors.common.socket_session import Early, HandshakeFailed, SocketSession


class Toy(SocketSession):
    def __init__(self, refuse: str | None = None, hang: bool = False) -> None:
        self.name = "toy"
        self.bad_frames = 0
        self._ack_timeout_s = 0.05
        self.up_event = asyncio.Event()
        self.seen: list[Any] = []
        self._on_message = self._handle
        self._refuse, self._hang = refuse, hang

    def _handle(self, message: Any, recv_ts: float) -> None:
        if message == "poison":
            raise ValueError("cannot read it")
        self.seen.append(message)

    async def _handshake(self, ws: Any, early: Early) -> None:
        if self._hang:
            await asyncio.sleep(1)
        if self._refuse:
            raise HandshakeFailed(self._refuse)
        early.extend([("early-1", 1.0), ("poison", 1.0), ("early-2", 1.0)])

    async def _after_up(self, ws: Any) -> None:
        self.seen.append("optional subscriptions sent")

    async def _read(self, ws: Any) -> str:
        self.seen.append("reading")
        return "socket closed"


def test_a_session_is_up_after_its_handshake_and_hands_on_what_came_early() -> None:
    async def go() -> None:
        toy, ups = Toy(), []
        assert await toy._session(None, lambda: ups.append(1)) == "socket closed"  # type: ignore[arg-type]
        assert ups == [1] and toy.up_event.is_set()
        assert toy.seen == ["optional subscriptions sent", "early-1", "early-2", "reading"]
        assert toy.bad_frames == 1  # the frame its handler failed on, not the stream

        refused, ups = Toy(refuse="login refused by the venue"), []
        assert await refused._session(None, lambda: ups.append(1)) == "login refused by the venue"  # type: ignore[arg-type]
        slow = Toy(hang=True)
        assert await slow._session(None, lambda: ups.append(1)) == "no answer to login/subscribe within 0.05 s"  # type: ignore[arg-type]
        assert ups == [] and not refused.up_event.is_set() and not slow.up_event.is_set()

    asyncio.run(asyncio.wait_for(go(), 10))
