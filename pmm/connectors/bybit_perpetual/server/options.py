"""Tunables of the Bybit server. Defaults are the real venue's; tests shrink them."""

from __future__ import annotations

from dataclasses import dataclass, field

from pmm.connectors.bybit_perpetual import constants as c


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """Limits and timings of the simulated venue (exchange_apis.md §B5–§B7)."""

    # How long the clock task may sleep between two advances of the simulated exchange.
    tick_s: float = 0.02
    # Per-UID per-endpoint requests per rolling second (signed endpoints); others use the default.
    endpoint_limits_per_s: dict[str, int] = field(default_factory=lambda: dict(c.ENDPOINT_LIMITS_PER_S))
    default_limit_per_s: int = 50
    # Per-IP requests per rolling window; breaching it is HTTP 403 for `ip_ban_s`.
    ip_limit_requests: int = c.IP_LIMIT_REQUESTS
    ip_limit_window_s: float = c.IP_LIMIT_WINDOW_S
    ip_ban_s: float = c.IP_BAN_S
    # A connection with no message from the client for this long is cut (the venue's 10 minutes).
    ws_idle_cutoff_s: float = c.WS_IDLE_CUTOFF_S
    # Level-1 books re-send a snapshot after this long without a change.
    level1_resnapshot_s: float = c.LEVEL1_RESNAPSHOT_S
    # A client that falls this many messages behind is disconnected (as a slow consumer).
    ws_send_queue_max: int = 10_000
    # Disconnection Protection (DCP) is enabled for the account (Bybit's account manager turns it on).
    # False: an account without it, whose POST /v5/order/disconnected-cancel-all is refused.
    dcp_enabled: bool = True
