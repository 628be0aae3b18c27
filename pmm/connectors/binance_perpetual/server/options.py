"""Tunables of the Binance server. Defaults are the real venue's; tests shrink them."""

from __future__ import annotations

from dataclasses import dataclass

from pmm.connectors.binance_perpetual import constants as c


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Limits and timings of the simulated venue (exchange_apis.md §A5–§A7)."""

    # How long the clock task may sleep between two advances of the simulated exchange.
    tick_s: float = 0.02
    # REQUEST_WEIGHT per IP per minute; order counts per 10 s and per minute.
    weight_limit_per_min: int = c.REQUEST_WEIGHT_LIMIT_1M
    orders_limit_per_10s: int = c.ORDER_LIMIT_10S
    orders_limit_per_min: int = c.ORDER_LIMIT_1M
    # After this many 429 answers in a row the IP is banned (418) for `ban_s` seconds.
    ban_after_429s: int = 5
    ban_s: float = c.DEFAULT_BAN_S
    # A listenKey lapses this long after its creation or last keepalive.
    listen_key_ttl_s: float = c.LISTEN_KEY_VALIDITY_S
    # Every WebSocket connection is dropped after this long (the venue's 24 h rule).
    ws_max_age_s: float = c.WS_MAX_LIFETIME_S
    # Server pings every this many seconds (Binance: 3 min); a connection without pong is closed.
    ws_ping_interval_s: float = 180.0
    # A client that falls this many messages behind is disconnected (as a slow consumer).
    ws_send_queue_max: int = 10_000
