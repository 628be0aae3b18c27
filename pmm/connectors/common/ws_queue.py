"""One WebSocket connection's outgoing messages: a queue drained by a task, so publishing never
awaits a slow client; a client that falls too far behind is dropped as a slow consumer."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)


class QueuedSocket:
    """Send side of one server WebSocket (aiohttp); `abort()` cuts TCP without a close frame."""

    def __init__(self, ws: web.WebSocketResponse, transport: Any, queue_max: int, *,
                 name: str = "venue server") -> None:
        self.ws = ws
        self.transport = transport
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._queue_max = queue_max
        self._name = name  # the server's name in log lines
        self.closing = False

    def send(self, text: str) -> None:
        if self.closing:
            return
        if self._queue.qsize() >= self._queue_max:
            log.warning("%s: a WebSocket client fell %d messages behind; dropping it", self._name, self._queue_max)
            self.abort()
            return
        self._queue.put_nowait(text)

    def abort(self) -> None:
        """Cut the TCP connection without a close frame (what a network drop looks like)."""
        self.closing = True
        if self.transport is not None:
            self.transport.abort()
        self._queue.put_nowait(None)

    def finish(self) -> None:
        """Stop sending; whatever is queued before this still goes out."""
        self.closing = True
        self._queue.put_nowait(None)

    async def pump(self) -> None:
        while (text := await self._queue.get()) is not None:
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return
