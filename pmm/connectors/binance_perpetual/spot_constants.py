"""Binance *spot* public market data literals: the `binance` price source (spot_feed.py) and its
loopback server (server/spot.py). Public endpoints and streams only: no keys, no orders.

Sources: Binance spot API docs (REST `GET /api/v3/exchangeInfo`, `/api/v3/depth`,
`/api/v3/ticker/bookTicker`; WebSocket "Diff. Depth Stream" and "How to manage a local order book
correctly"), reference/exchange_apis.md §A5 ("Spot differs: it uses `U == prev u + 1`").
"""

from __future__ import annotations

from typing import Final

#: The id a config names in `price_source_derivative` for Binance's spot market.
SPOT_SOURCE_ID: Final = "binance"

REST_URL: Final = "https://api.binance.com"
WS_URL: Final = "wss://stream.binance.com:9443"

PING_PATH: Final = "/api/v3/ping"
TIME_PATH: Final = "/api/v3/time"
EXCHANGE_INFO_PATH: Final = "/api/v3/exchangeInfo"
DEPTH_PATH: Final = "/api/v3/depth"
BOOK_TICKER_PATH: Final = "/api/v3/ticker/bookTicker"

WS_RAW_PATH: Final = "/ws"  # raw events; `/stream?streams=` wraps them as {"stream", "data"}
DEPTH_STREAM: Final = "{symbol}@depth@100ms"
TRADE_STREAM: Final = "{symbol}@trade"

# Spot depth snapshots accept any limit up to 5000 (more is truncated); weight grows with it.
DEPTH_SNAPSHOT_LIMIT: Final = 1000
DEPTH_DEFAULT_LIMIT: Final = 100
DEPTH_MAX_LIMIT: Final = 5000
DEPTH_LIMIT_WEIGHTS: Final[tuple[tuple[int, int], ...]] = ((100, 5), (500, 25), (1000, 50), (5000, 250))

EVENT_DEPTH_UPDATE: Final = "depthUpdate"
EVENT_TRADE: Final = "trade"

STATUS_TRADING: Final = "TRADING"
FILTER_PRICE: Final = "PRICE_FILTER"
FILTER_LOT_SIZE: Final = "LOT_SIZE"
FILTER_NOTIONAL: Final = "NOTIONAL"  # current spot name; MIN_NOTIONAL is the older one
FILTER_MIN_NOTIONAL: Final = "MIN_NOTIONAL"

REQUEST_WEIGHT_LIMIT_1M: Final = 6000
