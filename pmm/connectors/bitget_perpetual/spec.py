"""Bitget mix v2 USDT-M futures (`productType=USDT-FUTURES`, symbol `BTCUSDT`): every literal the
client and the server share.

Plain module data and functions (connector ids, hosts, symbols, paths, channels, enums,
capabilities), so the kit can wrap it in a `VenueSpec`. Sizes on Bitget's wire are in the base coin
(no contracts). Sources: reference/exchange_apis_more.md §0 item 6, §J (Bitget docs), §L, §O.
"""

from __future__ import annotations

import re
from typing import Final

from pmm.connectors.common.venue_spec import Capabilities, Hosts, SymbolMapping, VenueSpec

# --- connector ids and hosts ----------------------------------------------------------------------

CONNECTOR_ID: Final = "bitget_perpetual"
TESTNET_CONNECTOR_ID: Final = "bitget_perpetual_testnet"   # Bitget demo trading
PAPER_TRADE_CONNECTOR_ID: Final = "bitget_perpetual_paper_trade"
SPOT_FEED_ID: Final = "bitget"                               # Bitget spot as a price source
CONNECTOR_IDS: Final = (CONNECTOR_ID, TESTNET_CONNECTOR_ID, PAPER_TRADE_CONNECTOR_ID)

# Demo trading: the live REST host with this header ("1") and demo keys; its own WebSocket host.
DEMO_HEADER: Final = "paptrading"
REST_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "https://api.bitget.com",
    TESTNET_CONNECTOR_ID: "https://api.bitget.com",
}
WS_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "wss://ws.bitget.com",
    TESTNET_CONNECTOR_ID: "wss://wspap.bitget.com",
}
WS_PUBLIC_PATH: Final = "/v2/ws/public"
WS_PRIVATE_PATH: Final = "/v2/ws/private"


def ws_endpoint(ws_url: str, path: str) -> str:
    """The URL of one socket: a host (or a URL already ending in the path's /v2/ws) + `path`."""
    base = ws_url.rstrip("/")
    for suffix in (WS_PUBLIC_PATH, WS_PRIVATE_PATH):
        if base.endswith(suffix):
            base = base[:-len(suffix)]
    if base.endswith("/v2/ws"):
        base = base[:-len("/v2/ws")]
    return base + path


def is_demo(connector_id: str) -> bool:
    return connector_id == TESTNET_CONNECTOR_ID


# --- symbols --------------------------------------------------------------------------------------

PRODUCT_TYPE: Final = "USDT-FUTURES"
SPOT_INST_TYPE: Final = "SPOT"
MARGIN_COIN: Final = "USDT"
QUOTE_ASSETS: Final = ("USDT",)


def to_venue_symbol(market: str) -> str:
    """pmm's "BTC-USDT" -> Bitget's "BTCUSDT"."""
    return market.upper().replace("-", "")


def from_venue_symbol(symbol: str) -> str:
    """Bitget's "BTCUSDT" (any case) -> pmm's "BTC-USDT"; a symbol without a known quote is kept."""
    upper = symbol.upper()
    for quote in QUOTE_ASSETS:
        if upper.endswith(quote) and len(upper) > len(quote):
            return f"{upper[:-len(quote)]}-{quote}"
    return upper


# --- REST paths (envelope {"code": "00000", "msg": "success", "requestTime", "data"}) ---------------

SERVER_TIME_PATH: Final = "/api/v2/public/time"
CONTRACTS_PATH: Final = "/api/v2/mix/market/contracts"
MERGE_DEPTH_PATH: Final = "/api/v2/mix/market/merge-depth"
TICKER_PATH: Final = "/api/v2/mix/market/ticker"
TICKERS_PATH: Final = "/api/v2/mix/market/tickers"
RECENT_FILLS_PATH: Final = "/api/v2/mix/market/fills"
FILLS_HISTORY_MARKET_PATH: Final = "/api/v2/mix/market/fills-history"
SYMBOL_PRICE_PATH: Final = "/api/v2/mix/market/symbol-price"
CURRENT_FUND_RATE_PATH: Final = "/api/v2/mix/market/current-fund-rate"
FUNDING_TIME_PATH: Final = "/api/v2/mix/market/funding-time"
HISTORY_FUND_RATE_PATH: Final = "/api/v2/mix/market/history-fund-rate"
PLACE_ORDER_PATH: Final = "/api/v2/mix/order/place-order"
CANCEL_ORDER_PATH: Final = "/api/v2/mix/order/cancel-order"
BATCH_CANCEL_PATH: Final = "/api/v2/mix/order/batch-cancel-orders"
CANCEL_ALL_PATH: Final = "/api/v2/mix/order/cancel-all-orders"
ORDER_DETAIL_PATH: Final = "/api/v2/mix/order/detail"
ORDERS_PENDING_PATH: Final = "/api/v2/mix/order/orders-pending"
ORDERS_HISTORY_PATH: Final = "/api/v2/mix/order/orders-history"
FILLS_PATH: Final = "/api/v2/mix/order/fills"
FILL_HISTORY_PATH: Final = "/api/v2/mix/order/fill-history"
PLACE_PLAN_PATH: Final = "/api/v2/mix/order/place-plan-order"
CANCEL_PLAN_PATH: Final = "/api/v2/mix/order/cancel-plan-order"
PLACE_TPSL_PATH: Final = "/api/v2/mix/order/place-tpsl-order"
PLAN_PENDING_PATH: Final = "/api/v2/mix/order/orders-plan-pending"
ACCOUNTS_PATH: Final = "/api/v2/mix/account/accounts"
ACCOUNT_PATH: Final = "/api/v2/mix/account/account"
ALL_POSITION_PATH: Final = "/api/v2/mix/position/all-position"
SINGLE_POSITION_PATH: Final = "/api/v2/mix/position/single-position"
SET_LEVERAGE_PATH: Final = "/api/v2/mix/account/set-leverage"
SET_MARGIN_MODE_PATH: Final = "/api/v2/mix/account/set-margin-mode"
SET_POSITION_MODE_PATH: Final = "/api/v2/mix/account/set-position-mode"
BILL_PATH: Final = "/api/v2/mix/account/bill"
SPOT_SYMBOLS_PATH: Final = "/api/v2/spot/public/symbols"
SPOT_TICKERS_PATH: Final = "/api/v2/spot/market/tickers"
SPOT_ORDERBOOK_PATH: Final = "/api/v2/spot/market/orderbook"

# Calls whose outcome may be unknown after a timeout (the order may or may not exist).
ORDER_CALL_PATHS: Final = frozenset({PLACE_ORDER_PATH, CANCEL_ORDER_PATH, BATCH_CANCEL_PATH, CANCEL_ALL_PATH,
                                     PLACE_PLAN_PATH, CANCEL_PLAN_PATH, PLACE_TPSL_PATH})

PAGE_LIMIT: Final = 100         # fills, bills, orders: at most 100 rows per page (`idLessThan` pages on)
BILL_SPAN_MS: Final = 30 * 24 * 3600 * 1000   # bills: startTime..endTime at most 30 days apart
BUSINESS_FUNDING: Final = "contract_settle_fee"

# --- enums on the wire ----------------------------------------------------------------------------

POS_MODE_ONE_WAY: Final = "one_way_mode"
POS_MODE_HEDGE: Final = "hedge_mode"
MARGIN_CROSSED: Final = "crossed"
MARGIN_ISOLATED: Final = "isolated"
FORCES: Final = ("gtc", "ioc", "fok", "post_only")
ORDER_STATES: Final = ("live", "partially_filled", "filled", "canceled")
CLIENT_OID_MAX_LEN: Final = 50
CLIENT_OID_PATTERN: Final = re.compile(r"^[0-9A-Za-z\-+_#]{1,50}$")
TRIGGER_MARK: Final = "mark_price"
TRIGGER_LAST: Final = "fill_price"
PLAN_NORMAL: Final = "normal_plan"

# --- WebSocket channels and keepalive -------------------------------------------------------------

CHANNEL_BOOKS: Final = "books"        # full-depth snapshot, then updates with seq and a CRC32 checksum
CHANNEL_TRADE: Final = "trade"
CHANNEL_TICKER: Final = "ticker"      # last, bid/ask, mark, index, fundingRate, nextFundingTime
CHANNEL_ORDERS: Final = "orders"
CHANNEL_FILL: Final = "fill"
CHANNEL_POSITIONS: Final = "positions"
CHANNEL_ACCOUNT: Final = "account"
CHANNEL_PLAN: Final = "orders-algo"
INST_ID_ALL: Final = "default"        # private channels: every symbol
WS_LOGIN_PATH: Final = "/user/verify"  # WS login signs ts + "GET" + this
WS_PING: Final = "ping"                # text frames; the server drops after 2 minutes without one
WS_PONG: Final = "pong"
WS_PING_INTERVAL_S: Final = 25.0
CHECKSUM_DEPTH: Final = 25            # levels per side the book checksum covers

# --- capabilities ---------------------------------------------------------------------------------

HEDGE_MODE: Final = True
DEAD_MAN_SWITCH: Final = False    # mix v2 has no cancel-all-after (only the unified account does)
CONDITIONAL_ORDERS: Final = True  # plan orders (normal_plan), trigger on mark or last price

# --- the registry's description -------------------------------------------------------------------

_HERE = "pmm.connectors.bitget_perpetual"

SPEC: Final = VenueSpec(
    venue=CONNECTOR_ID,
    display_name="Bitget",
    builder=f"{_HERE}.build:build",
    testnet_id=TESTNET_CONNECTOR_ID,
    paper_trade_id=PAPER_TRADE_CONNECTOR_ID,
    paper_builder=f"{_HERE}.build:build_paper",
    live_hosts=Hosts(rest=REST_URLS[CONNECTOR_ID], ws=WS_URLS[CONNECTOR_ID],
                     public_ws_path=WS_PUBLIC_PATH, private_ws_path=WS_PRIVATE_PATH),
    testnet_hosts=Hosts(rest=REST_URLS[TESTNET_CONNECTOR_ID], ws=WS_URLS[TESTNET_CONNECTOR_ID],
                        public_ws_path=WS_PUBLIC_PATH, private_ws_path=WS_PRIVATE_PATH),
    symbols=SymbolMapping("{base}{quote}", quote_assets=QUOTE_ASSETS),
    contract_sizes=False,
    capabilities=Capabilities(hedge_mode=HEDGE_MODE, dead_man_switch=DEAD_MAN_SWITCH,
                              conditional_orders=CONDITIONAL_ORDERS, passphrase_name="passphrase"),
    spot_feed_id=SPOT_FEED_ID,
    spot_feed=f"{_HERE}.build:build_price_feed",
    spot_server=f"{_HERE}.server.spot:BitgetSpotServer",
    server=f"{_HERE}.server:make_server",
    public_time_path=SERVER_TIME_PATH,
)
