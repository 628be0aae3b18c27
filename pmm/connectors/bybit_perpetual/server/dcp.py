"""Disconnection Protection (DCP) of the Bybit server: `POST /v5/order/disconnected-cancel-all` and
the private `dcp` topics (docs `v5/order/dcp.mdx`, `v5/websocket/private/dcp.mdx`).

- The endpoint sets one product's window: `timeWindow` whole seconds in [3, 300] (required),
  `product` OPTIONS (the default), DERIVATIVES or SPOT; anything else is 10001 "params error".
  It answers `{}`. An account without DCP (`ServerOptions.dcp_enabled` False, or `enabled` set
  False at run time) is refused with retCode 10005 "Permission denied": Bybit documents no code for
  it, so this one is the simulator's choice (pmm's client takes any refusal but "not now" as "not
  available").
- A private connection that subscribed `dcp` (every product) or `dcp.future` / `dcp.spot` /
  `dcp.option` guards those products. When a guarding connection closes for any reason (client
  gone, cut, expired; an unsubscribe first ends the guard without one) and no other open
  connection guards the product, the product's timer starts on the server clock; a guarding
  connection that then pings (a reconnection that resumed its heartbeat) stops it. When it runs
  out, every open order of the product is cancelled with cancelType CancelByDCP, pushed on the
  order topic. The venue lists only linear perpetuals, i.e. DERIVATIVES.
- Only products whose window was set are protected (on Bybit an enabled account starts at 10 s;
  here nothing is cancelled for a client that never set a window).
- `history` keeps (what, product, server time) for tests: "started", "resumed", "fired".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server import params as p
from pmm.connectors.bybit_perpetual.constants import RetCode as R
from pmm.connectors.bybit_perpetual.server.auth import RawRequest
from pmm.connectors.bybit_perpetual.server.codes import api_error, param_error
from pmm.connectors.bybit_perpetual.server.options import ServerOptions
from pmm.connectors.common.server.desk_order import Cause
from pmm.connectors.common.server.order_desk import OrderDesk
from pmm.core.clock import Clock

log = logging.getLogger(__name__)

NOT_ENABLED_MSG = ("Permission denied: Disconnection Protection (DCP) is not enabled for this account; "
                   "contact your client manager")


class DisconnectProtection:
    """The account's DCP windows, the connections that guard them, and the timers (module doc)."""

    def __init__(self, options: ServerOptions, clock: Clock, desk: OrderDesk) -> None:
        self.enabled = options.dcp_enabled
        self._clock = clock
        self._desk = desk
        self.windows: dict[str, int] = {}  # product -> timeWindow (s)
        self.deadlines: dict[str, float] = {}  # product -> server time its orders are cancelled
        self.history: list[tuple[str, str, float]] = []
        self._guards: dict[Any, frozenset[str]] = {}  # open private connection -> products it guards

    @property
    def fired(self) -> list[str]:
        """Products whose orders DCP cancelled, in order."""
        return [product for what, product, _ in self.history if what == "fired"]

    def guarded(self, product: str = c.DCP_PRODUCT_DERIVATIVES) -> int:
        """How many open connections guard `product` right now."""
        return sum(product in products for products in self._guards.values())

    # --- REST -----------------------------------------------------------------------------------

    async def set_window(self, req: RawRequest) -> dict[str, Any]:
        if not self.enabled:
            raise api_error(R.PERMISSION_DENIED, NOT_ENABLED_MSG)
        product = req.text("product") or c.DCP_PRODUCT_OPTIONS
        if product not in c.DCP_PRODUCTS:
            raise param_error(f"params error: product {product} is invalid (one of {', '.join(c.DCP_PRODUCTS)})")
        window = p.integer(req, "timeWindow")
        if window is None:
            raise param_error("params error: timeWindow is required")
        if not c.DCP_WINDOW_MIN_S <= window <= c.DCP_WINDOW_MAX_S:
            raise param_error(f"params error: timeWindow must be between {c.DCP_WINDOW_MIN_S} and "
                              f"{c.DCP_WINDOW_MAX_S}, was {window}")
        self.windows[product] = window
        return {}

    # --- the private connections (called by StreamHub) ------------------------------------------

    def on_subscriptions(self, conn: Any, topics: Iterable[str]) -> None:
        """The connection's topics changed: what it guards is what its `dcp` topics name."""
        products = frozenset(product for topic in topics for product in c.DCP_TOPIC_PRODUCTS.get(topic, ()))
        if products:
            self._guards[conn] = products
        else:
            self._guards.pop(conn, None)

    def on_ping(self, conn: Any) -> None:
        """A guarding connection's heartbeat: a reconnection resumed, the running timers stop."""
        now = self._clock.now()
        for product in self._guards.get(conn, ()):
            if self.deadlines.pop(product, None) is not None:
                self.history.append(("resumed", product, now))

    def on_closed(self, conn: Any) -> None:
        """A connection ended: start the timer of each product nobody guards any more."""
        products = self._guards.pop(conn, frozenset())
        now = self._clock.now()
        for product in sorted(products):
            window = self.windows.get(product)
            if window is None or not self.enabled or product in self.deadlines or self.guarded(product):
                continue
            self.deadlines[product] = now + window
            self.history.append(("started", product, now))
            log.info("DCP: the last connection guarding %s is gone; its orders are cancelled in %d s unless one "
                     "reconnects and pings", product, window)

    # --- time -----------------------------------------------------------------------------------

    def on_tick(self, now: float) -> None:
        for product, deadline in sorted(self.deadlines.items()):
            if now >= deadline:
                del self.deadlines[product]
                cancelled = self._cancel(product)
                self.history.append(("fired", product, now))
                log.warning("DCP: no connection resumed within %d s: cancelling the account's %d open %s order(s)",
                            self.windows.get(product, 0), cancelled, product)

    def _cancel(self, product: str) -> int:
        if product != c.DCP_PRODUCT_DERIVATIVES:
            return 0  # the simulated venue has no spot or option orders
        return self._desk.cancel_now([o for o in self._desk.open_orders() if o.cause is not Cause.USER], Cause.DEAD_MAN)
