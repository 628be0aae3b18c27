"""A WebSocket connection that stays up: connect, run a venue session, report, reconnect.

The venue supplies the session (`session(ws, up)`): it performs its handshake (authenticate,
subscribe, wait for the acknowledgements), calls `up()` once the stream is trustworthy, then reads
until the connection ends and returns why. This class owns everything around it:

- `ConnectionChanged(connected=True)` when the session calls `up()`, `connected=False` when a
  connection that was up ends, plus the `on_connected` / `on_disconnected` callbacks;
- reconnects with exponential back-off (reset after a connection that came up), and at once after
  `reconnect(reason)`;
- `send()` on the current connection, `stop()` that ends it all.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from pmm.connectors.base import Emit
from pmm.connectors.common.backoff import Backoff
from pmm.core.clock import Clock
from pmm.core.events import ConnectionChanged
from pmm.log_repeats import SAME_UP_TO_FIGURES

log = logging.getLogger("pmm.connectors.ws")

UrlSource = str | Callable[[], Awaitable[str]]
Session = Callable[[ClientConnection, Callable[[], None]], Awaitable[str]]
Sleep = Callable[[float], Awaitable[None]]


class ReconnectingWebSocket:
    """Runs `session` over a fresh connection for as long as it is started."""

    def __init__(self, *, name: str, connector_id: str, url: UrlSource, session: Session, emit: Emit,
                 clock: Clock, on_connected: Callable[[], None] | None = None,
                 on_disconnected: Callable[[str], None] | None = None, backoff: Backoff | None = None,
                 open_timeout_s: float = 10.0, max_size: int = 2 ** 24, sleep: Sleep = asyncio.sleep,
                 redact: Callable[[str], str] = lambda url: url, ping_interval_s: float | None = None,
                 ping_timeout_s: float | None = None) -> None:
        self.name = name
        self.connector_id = connector_id
        self._url = url
        self._session = session
        self._emit = emit
        self._clock = clock
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self.backoff = backoff or Backoff()
        self._open_timeout_s = open_timeout_s
        self._max_size = max_size
        self._sleep = sleep
        self._redact = redact
        # Library pings (None: the venue session pings, or nobody does); a half-open connection is
        # then noticed within ping_interval_s + ping_timeout_s.
        self._ping_interval_s, self._ping_timeout_s = ping_interval_s, ping_timeout_s
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None
        self._stopping = False
        self._requested_reason: str | None = None
        self.connected = False
        self.connections = 0  # connections that came up so far
        self.last_reason = ""

    def __repr__(self) -> str:
        return f"ReconnectingWebSocket({self.name!r}, connected={self.connected})"

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"ws-{self.name}")

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if self._ws is not None:
            await self._ws.close()
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        self.connected = False

    async def reconnect(self, reason: str) -> None:
        """Drop the connection now and connect again at once (no back-off)."""
        self._requested_reason = reason
        if self._ws is not None:
            await self._ws.close()

    async def send(self, text: str) -> bool:
        """Send on the current connection; False when there is none (the next one resubscribes)."""
        ws = self._ws
        if ws is None:
            return False
        try:
            await ws.send(text)
        except ConnectionClosed:
            return False
        return True

    async def _resolve_url(self) -> str:
        return self._url if isinstance(self._url, str) else await self._url()

    async def _run(self) -> None:
        while not self._stopping:
            reason = "closed"
            url = self.name
            try:
                url = await self._resolve_url()
                async with connect(url, ping_interval=self._ping_interval_s, ping_timeout=self._ping_timeout_s,
                                   max_size=self._max_size,
                                   open_timeout=self._open_timeout_s, close_timeout=2) as ws:
                    self._ws = ws
                    reason = await self._session(ws, self._up)
            except asyncio.CancelledError:
                raise
            except ConnectionClosed as exc:
                reason = f"connection closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
            except (OSError, TimeoutError, InvalidHandshake, InvalidURI) as exc:
                reason = f"cannot connect to {self._redact(url)}: {type(exc).__name__}: {exc}"
            except Exception as exc:  # noqa: BLE001 - a URL source failing, a protocol surprise: reconnect, never die
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                self._ws = None
            if self._stopping:
                break
            immediate = self._requested_reason is not None
            if immediate:
                reason, self._requested_reason = self._requested_reason or reason, None
            was_connected, self.connected = self.connected, False
            self.last_reason = reason
            if was_connected:
                now = self._clock.now()
                self._emit(ConnectionChanged(self.connector_id, self.name, False, reason, now, now))
                if self._on_disconnected is not None:
                    self._on_disconnected(reason)
            if immediate:
                log.info("%s stream: %s; reconnecting now", self.name, reason)
                continue
            if was_connected:
                self.backoff.reset()
            delay = self.backoff.next()
            # While the venue stays down this repeats with a new delay: one line a minute (pmm.log_repeats).
            log.warning("%s stream: %s; reconnecting in %.1f s", self.name, reason, delay, extra=SAME_UP_TO_FIGURES)
            await self._sleep(delay)

    def _up(self) -> None:
        self.connected = True
        self.connections += 1
        now = self._clock.now()
        self._emit(ConnectionChanged(self.connector_id, self.name, True, "connected", now, now))
        if self._on_connected is not None:
            self._on_connected()
