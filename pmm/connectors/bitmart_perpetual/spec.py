"""BitMart Futures V2 USDT-margined perpetuals (`BTCUSDT`): every literal the client and the server share.

Plain module data and functions (connector ids, hosts, symbol mapping, contract sizes, paths,
channels, enums, capabilities), so the kit can wrap it in a `VenueSpec`. Sources:
reference/exchange_apis_more.md §K (BitMart Futures V2 docs), §L, §O; exchange_apis.md §C.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Final

from pmm.connectors.common.venue_spec import Capabilities, Hosts, SymbolMapping, VenueSpec

# --- connector ids and hosts ----------------------------------------------------------------------

CONNECTOR_ID: Final = "bitmart_perpetual"
TESTNET_CONNECTOR_ID: Final = "bitmart_perpetual_testnet"   # BitMart's simulated trading (same keys)
PAPER_TRADE_CONNECTOR_ID: Final = "bitmart_perpetual_paper_trade"
CONNECTOR_IDS: Final = (CONNECTOR_ID, TESTNET_CONNECTOR_ID, PAPER_TRADE_CONNECTOR_ID)

REST_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "https://api-cloud-v2.bitmart.com",
    TESTNET_CONNECTOR_ID: "https://demo-api-cloud-v2.bitmart.com",
}
# The WebSocket host; the public socket is <host>/api?protocol=1.1, the private one <host>/user?protocol=1.1.
WS_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "wss://openapi-ws-v2.bitmart.com",
    TESTNET_CONNECTOR_ID: "wss://openapi-wsdemo-v2.bitmart.com",
}
WS_PUBLIC_PATH: Final = "/api"
WS_PRIVATE_PATH: Final = "/user"
WS_PROTOCOL_QUERY: Final = "?protocol=1.1"


def ws_endpoint(ws_url: str, path: str) -> str:
    """The URL of one socket: a host + `path` + `?protocol=1.1` (a URL already naming the path is kept)."""
    base = ws_url.rstrip("/")
    if base.endswith(path) or base.endswith(path + WS_PROTOCOL_QUERY):
        return base if "?" in base else base + WS_PROTOCOL_QUERY
    return base + path + WS_PROTOCOL_QUERY


# --- symbols and contract sizes -------------------------------------------------------------------

QUOTE_ASSETS: Final = ("USDT",)
SYMBOLS: Final = SymbolMapping("{base}{quote}", quote_assets=QUOTE_ASSETS)


def to_venue_symbol(market: str) -> str:
    """pmm's "BTC-USDT" -> BitMart's "BTCUSDT"."""
    return SYMBOLS.to_venue(market.upper())


def from_venue_symbol(symbol: str) -> str:
    """BitMart's "BTCUSDT" -> pmm's "BTC-USDT" (a symbol on no known quote is kept)."""
    return SYMBOLS.to_market(symbol) or symbol


def contracts_to_base(contracts: Decimal, contract_size: Decimal) -> Decimal:
    """Contracts (order, position and book sizes) -> base asset: vol x contract_size."""
    return contracts * contract_size


def base_to_contracts(base: Decimal, contract_size: Decimal, vol_step: Decimal) -> Decimal:
    """Base asset -> contracts, down to a multiple of `vol_precision`: never bigger than asked."""
    steps = (base / contract_size / vol_step).to_integral_value(rounding=ROUND_DOWN)
    return steps * vol_step


# --- REST paths (envelope {"code": 1000, "message": "Ok", "data": ..., "trace"}) -----------------

SERVER_TIME_PATH: Final = "/system/time"
DETAILS_PATH: Final = "/contract/public/details"
DEPTH_PATH: Final = "/contract/public/depth"
FUNDING_RATE_PATH: Final = "/contract/public/funding-rate"
FUNDING_RATE_HISTORY_PATH: Final = "/contract/public/funding-rate-history"
MARKET_TRADE_PATH: Final = "/contract/public/market-trade"
SUBMIT_ORDER_PATH: Final = "/contract/private/submit-order"
CANCEL_ORDER_PATH: Final = "/contract/private/cancel-order"
CANCEL_ORDERS_PATH: Final = "/contract/private/cancel-orders"         # every order of one symbol
CANCEL_ALL_AFTER_PATH: Final = "/contract/private/cancel-all-after"  # the dead-man switch, per symbol
SUBMIT_PLAN_ORDER_PATH: Final = "/contract/private/submit-plan-order"
CANCEL_PLAN_ORDER_PATH: Final = "/contract/private/cancel-plan-order"
CURRENT_PLAN_ORDER_PATH: Final = "/contract/private/current-plan-order"
ORDER_PATH: Final = "/contract/private/order"
OPEN_ORDERS_PATH: Final = "/contract/private/get-open-orders"
ORDER_HISTORY_PATH: Final = "/contract/private/order-history"
TRADES_PATH: Final = "/contract/private/trades"
TRANSACTION_HISTORY_PATH: Final = "/contract/private/transaction-history"
ASSETS_PATH: Final = "/contract/private/assets-detail"
POSITION_PATH: Final = "/contract/private/position"
POSITION_V2_PATH: Final = "/contract/private/position-v2"
SUBMIT_LEVERAGE_PATH: Final = "/contract/private/submit-leverage"
SET_POSITION_MODE_PATH: Final = "/contract/private/set-position-mode"
GET_POSITION_MODE_PATH: Final = "/contract/private/get-position-mode"
TRADE_FEE_PATH: Final = "/contract/private/trade-fee-rate"
CURRENCIES_PATH: Final = "/account/v1/currencies"   # spot host; ccxt loads it with its markets

# Calls whose outcome may be unknown after a timeout (the order may or may not exist).
ORDER_CALL_PATHS: Final = frozenset({SUBMIT_ORDER_PATH, CANCEL_ORDER_PATH, CANCEL_ORDERS_PATH,
                                     SUBMIT_PLAN_ORDER_PATH, CANCEL_PLAN_ORDER_PATH})

TRADES_MAX_WINDOW_S: Final = 7 * 24 * 3600   # /trades: at most 7 days between start_time and end_time (seconds)
TRANSACTIONS_PAGE: Final = 1000               # transaction-history page_size maximum
FLOW_TYPE_FUNDING: Final = "3"                # transaction-history flow_type of funding fees
FUNDING_FEE_TYPE: Final = "Funding Fee"       # ... and the `type` its rows carry

# --- enums on the wire ----------------------------------------------------------------------------

# `side`: hedge mode 1 buy_open_long, 2 buy_close_short, 3 sell_close_long, 4 sell_open_short;
# one-way mode 1 buy, 2 buy reduce-only, 3 sell reduce-only, 4 sell.
SIDE_BUY_OPEN: Final = 1
SIDE_BUY_CLOSE: Final = 2
SIDE_SELL_CLOSE: Final = 3
SIDE_SELL_OPEN: Final = 4
MODE_GTC: Final = 1
MODE_FOK: Final = 2
MODE_IOC: Final = 3
MODE_MAKER_ONLY: Final = 4
STATE_APPROVAL: Final = 1
STATE_CHECK: Final = 2     # open
STATE_FINISH: Final = 4    # filled or canceled: deal_size tells which
POSITION_MODE_ONE_WAY: Final = "one_way_mode"
POSITION_MODE_HEDGE: Final = "hedge_mode"
OPEN_TYPE_CROSS: Final = "cross"
OPEN_TYPE_ISOLATED: Final = "isolated"
POSITION_LONG: Final = 1
POSITION_SHORT: Final = 2
PRICE_WAY_UP: Final = 1     # plan order fires when the price rises to the trigger
PRICE_WAY_DOWN: Final = 2   # ... falls to it
PRICE_TYPE_LAST: Final = 1
PRICE_TYPE_FAIR: Final = 2  # the mark ("fair") price
# `futures/order` push actions.
ACTION_MATCH: Final = 1
ACTION_SUBMIT: Final = 2
ACTION_CANCEL: Final = 3
CLIENT_ORDER_ID_MAX_LEN: Final = 32   # case-sensitive letters and digits

# --- WebSocket channels and keepalive -------------------------------------------------------------

CHANNEL_DEPTH: Final = "futures/depthIncrease50"    # + ":BTCUSDT@100ms": snapshot, then versioned updates
DEPTH_SPEED: Final = "100ms"
CHANNEL_TRADE: Final = "futures/trade"
CHANNEL_TICKER: Final = "futures/ticker"           # last, mark and index prices
CHANNEL_FUNDING: Final = "futures/fundingRate"
CHANNEL_ORDER: Final = "futures/order"
CHANNEL_POSITION: Final = "futures/position"
CHANNEL_ASSET: Final = "futures/asset"             # + ":USDT"
WS_LOGIN_SUFFIX: Final = "bitmart.WebSocket"       # WS login signs ts#memo#bitmart.WebSocket
WS_PING_INTERVAL_S: Final = 15.0                   # BitMart closes a socket without data for 20 s


def depth_topic(symbol: str) -> str:
    return f"{CHANNEL_DEPTH}:{symbol}@{DEPTH_SPEED}"


def topic(channel: str, symbol: str) -> str:
    return f"{channel}:{symbol}"


# --- capabilities ---------------------------------------------------------------------------------

HEDGE_MODE: Final = True
DEAD_MAN_SWITCH: Final = True     # cancel-all-after {symbol, timeout}: 0 disarms, else at least 5 s
DEAD_MAN_MIN_S: Final = 5
CONDITIONAL_ORDERS: Final = True  # plan orders (stop_loss / take_profit), trigger on last or fair price

# --- the registry's description -------------------------------------------------------------------

_HERE = "pmm.connectors.bitmart_perpetual"

SPEC: Final = VenueSpec(
    venue=CONNECTOR_ID,
    display_name="BitMart",
    builder=f"{_HERE}.build:build",
    testnet_id=TESTNET_CONNECTOR_ID,
    paper_trade_id=PAPER_TRADE_CONNECTOR_ID,
    paper_builder=f"{_HERE}.build:build_paper",
    live_hosts=Hosts(rest=REST_URLS[CONNECTOR_ID], ws=WS_URLS[CONNECTOR_ID],
                     public_ws_path=WS_PUBLIC_PATH + WS_PROTOCOL_QUERY,
                     private_ws_path=WS_PRIVATE_PATH + WS_PROTOCOL_QUERY),
    testnet_hosts=Hosts(rest=REST_URLS[TESTNET_CONNECTOR_ID], ws=WS_URLS[TESTNET_CONNECTOR_ID],
                        public_ws_path=WS_PUBLIC_PATH + WS_PROTOCOL_QUERY,
                        private_ws_path=WS_PRIVATE_PATH + WS_PROTOCOL_QUERY),
    symbols=SYMBOLS,
    contract_sizes=True,
    capabilities=Capabilities(hedge_mode=HEDGE_MODE, dead_man_switch=DEAD_MAN_SWITCH,
                              conditional_orders=CONDITIONAL_ORDERS, passphrase_name="memo"),
    spot_feed_id="bitmart",  # BitMart spot's public data as a price source (`spot_feed.py`)
    spot_feed=f"{_HERE}.build:build_price_feed",  # `bitmart`, or its perpetual ids
    spot_server=f"{_HERE}.server.spot:BitmartSpotServer",
    server=f"{_HERE}.server:make_server",
    public_time_path=SERVER_TIME_PATH,
)
