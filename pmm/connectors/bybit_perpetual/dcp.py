"""Bybit's Disconnection Protection (DCP): the venue-side dead-man switch of the Bybit gateway.

DCP is Bybit's answer to the cancel-all countdown other venues renew, with a different shape (docs
`v5/order/dcp.mdx`, `v5/websocket/private/dcp.mdx`):

- `POST /v5/order/disconnected-cancel-all {"product": "DERIVATIVES", "timeWindow": N}` sets the
  window (whole seconds in [3, 300]) for the account's perpetuals and futures; it is not a timer
  to renew, so pmm sends it once per window value (the engine's re-arms every third of
  `dead_man_switch_s` cost nothing after that). Bybit says a new setting needs about 10 s to take
  effect.
- It only fires for private connections that subscribed the `dcp` topic: once every one of them is
  disconnected for `timeWindow` seconds without a reconnection that resumes its "ping", Bybit
  cancels every open order of the product (cancelType `CancelByDCP` on the order topic). So once
  the window is set, the private stream subscribes `dcp` on this and every later connection and
  pings as soon as a connection is up; after that its heartbeat goes on as always (`streams.py`: a ping
  every 20 s, a socket silent for 30 s is replaced).
- Bybit enables DCP per account (the account manager does). For an account without it the endpoint
  answers an error whose retCode Bybit does not document; every non-zero retCode but the "not now"
  ones (`errors.DCP_REFUSALS`) is taken as "not available": one clear warning, no `dcp`
  subscription, no further requests; the bot keeps its own disconnect safety (`disconnect_cancel_s`).
- `disarm()` (a clean shutdown, after the bot cancelled its orders) unsubscribes `dcp` before the
  socket closes, so the planned disconnection is not a reason to cancel the account's other orders
  (Bybit's docs do not say what an unsubscribe does to a running DCP; the simulator ends the
  connection's guard).

DCP covers the whole account's derivatives, not one market: `market` only names the caller's market
in messages.
"""

from __future__ import annotations

import logging
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.errors import DCP_REFUSALS
from pmm.connectors.bybit_perpetual.rest import BybitRestClient
from pmm.connectors.bybit_perpetual.streams import BybitWebSocket

log = logging.getLogger("pmm.bybit.dcp")


class Dcp:
    """DCP for one account (see module doc): `arm(market, seconds)`, `disarm(market)`."""

    def __init__(self, rest: BybitRestClient, socket: BybitWebSocket, *,
                 product: str = c.DCP_PRODUCT_DERIVATIVES, topic: str = c.TOPIC_DCP) -> None:
        self._rest = rest
        self._socket = socket
        self.product = product
        self.topic = topic
        self.window: int | None = None  # the timeWindow the venue accepted, while armed
        self.unavailable: str | None = None  # why DCP is not available to this account, once known
        self._clamp_warned: float | None = None

    @property
    def armed(self) -> bool:
        return self.window is not None

    async def arm(self, market: str, seconds: float) -> None:
        """Set the window (once per value) and subscribe `dcp`. A "not now" refusal raises (the
        engine logs it and the next arm retries); any other refusal makes DCP unavailable."""
        if self.unavailable is not None:
            return
        window = self._window(seconds)
        if window != self.window:
            reply: Any = await self._rest.post(
                c.DCP_PATH, {"product": self.product, "timeWindow": window}, accept_codes=DCP_REFUSALS,
                what=f"set Bybit's Disconnection Protection (DCP) window to {window} s")
            code = reply.get(c.RET_CODE) if isinstance(reply, dict) else None
            if isinstance(code, int) and code in DCP_REFUSALS:
                self._not_available(market, code, str(reply.get(c.RET_MSG) or "no message"))
                return
            if self.window is None:
                log.info("Bybit Disconnection Protection (DCP) armed for %s (the account's %s orders): cancelled by "
                         "Bybit if the private stream stays down for %d s", market, self.product, window)
            else:
                log.info("Bybit Disconnection Protection (DCP) window changed from %d s to %d s", self.window, window)
            self.window = window
        await self._watch()

    async def disarm(self, market: str) -> None:
        """Unsubscribe `dcp` so the planned disconnection of a clean shutdown does not trigger it."""
        if self.window is None:
            return
        self.window = None
        self._socket.ping_on_connect = False
        await self._socket.unsubscribe([self.topic])
        log.info("Bybit Disconnection Protection (DCP) released for %s: the private stream unsubscribed `%s`",
                 market, self.topic)

    def _window(self, seconds: float) -> int:
        wanted = round(seconds)
        window = min(max(wanted, c.DCP_WINDOW_MIN_S), c.DCP_WINDOW_MAX_S)
        if window != seconds and self._clamp_warned != seconds:
            self._clamp_warned = seconds
            if window != wanted:
                log.warning("dead_man_switch_s %g is outside Bybit DCP's timeWindow range [%d, %d] s; using %d s",
                            seconds, c.DCP_WINDOW_MIN_S, c.DCP_WINDOW_MAX_S, window)
            else:
                log.info("dead_man_switch_s %g rounded to %d s (Bybit DCP's timeWindow is whole seconds)",
                         seconds, window)
        return window

    async def _watch(self) -> None:
        """Subscribe `dcp` (this and later connections) and resume the heartbeat at once."""
        self._socket.ping_on_connect = True
        if await self._socket.subscribe([self.topic]):  # False: already asked for, or not connected now
            await self._socket.ping()

    def _not_available(self, market: str, code: int, msg: str) -> None:
        self.unavailable = f"retCode {code}: {msg}"
        log.warning("Bybit Disconnection Protection (DCP) is not available to this account (Bybit answered "
                    "retCode %d: %s). DCP must be enabled for the account by Bybit (your account manager). Until "
                    "then nothing on Bybit's side cancels the orders of %s if the bot dies or loses its connection; "
                    "the bot relies on its own disconnect safety (risk.disconnect_cancel_s).", code, msg, market)
