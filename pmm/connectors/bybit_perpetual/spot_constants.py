"""Bybit v5 *spot* public market data literals: the `bybit` price source (spot_feed.py) and its
loopback server (server/spot.py). Public endpoints and topics only: no keys, no orders.

Sources: Bybit v5 docs ("Get Instruments Info" for category=spot, "Get Orderbook", WebSocket public
"Orderbook": spot depths 1, 50, 200, 1000), reference/exchange_apis.md §B1, §B3, §B5. The spot book
follows the linear rules: a snapshot first, then deltas with `u` = previous `u` + 1; `u` = 1 is a
restart (a fresh snapshot).
"""

from __future__ import annotations

from typing import Final

#: The id a config names in `price_source_derivative` for Bybit's spot market.
SPOT_SOURCE_ID: Final = "bybit"

REST_URL: Final = "https://api.bybit.com"
WS_URL: Final = "wss://stream.bybit.com"
WS_PUBLIC_SPOT_PATH: Final = "/v5/public/spot"

CATEGORY_SPOT: Final = "spot"
ORDERBOOK_DEPTHS: Final = (1, 50, 200, 1000)
ORDERBOOK_DEPTH: Final = 50  # pushed every 20 ms on spot; deep enough for a reference price
REST_ORDERBOOK_DEFAULT_LIMIT: Final = 1
REST_ORDERBOOK_MAX_LIMIT: Final = 200
