"""Every Binance USD-M futures literal pmm uses: hosts, paths, weights, stream names, enums, codes.

Shared by the client (`rest`, `ws`, `feed`, `gateway`, ...) and the venue server (`server*.py`).
Append only: other modules import these names.

Sources: reference/exchange_apis.md §A (Binance USD-M docs, scraped 2026-05-28).
"""

from __future__ import annotations

from decimal import Decimal
from enum import IntEnum
from typing import Final

# --- connector ids and hosts ----------------------------------------------------------------------

CONNECTOR_ID: Final = "binance_perpetual"
TESTNET_CONNECTOR_ID: Final = "binance_perpetual_testnet"

# The testnet host is in flux (docs: demo-fapi.binance.com; ccxt/hummingbot/SDK "testnet":
# testnet.binancefuture.com). Both are overridable with `connector.rest_url` / `connector.ws_url`.
REST_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "https://fapi.binance.com",
    TESTNET_CONNECTOR_ID: "https://testnet.binancefuture.com",
}
WS_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "wss://fstream.binance.com",
    TESTNET_CONNECTOR_ID: "wss://fstream.binancefuture.com",
}

API_KEY_ENV: Final = "PMM_BINANCE_PERPETUAL_API_KEY"
API_SECRET_ENV: Final = "PMM_BINANCE_PERPETUAL_API_SECRET"

# --- REST paths -----------------------------------------------------------------------------------

PING_PATH: Final = "/fapi/v1/ping"
TIME_PATH: Final = "/fapi/v1/time"
EXCHANGE_INFO_PATH: Final = "/fapi/v1/exchangeInfo"
DEPTH_PATH: Final = "/fapi/v1/depth"
PREMIUM_INDEX_PATH: Final = "/fapi/v1/premiumIndex"
FUNDING_RATE_PATH: Final = "/fapi/v1/fundingRate"
ORDER_PATH: Final = "/fapi/v1/order"
OPEN_ORDERS_PATH: Final = "/fapi/v1/openOrders"
ALL_OPEN_ORDERS_PATH: Final = "/fapi/v1/allOpenOrders"
USER_TRADES_PATH: Final = "/fapi/v1/userTrades"
INCOME_PATH: Final = "/fapi/v1/income"
LEVERAGE_PATH: Final = "/fapi/v1/leverage"
POSITION_SIDE_DUAL_PATH: Final = "/fapi/v1/positionSide/dual"
MARGIN_TYPE_PATH: Final = "/fapi/v1/marginType"
LISTEN_KEY_PATH: Final = "/fapi/v1/listenKey"
COMMISSION_RATE_PATH: Final = "/fapi/v1/commissionRate"
ACCOUNT_PATH: Final = "/fapi/v3/account"
BALANCE_PATH: Final = "/fapi/v3/balance"
POSITION_RISK_PATH: Final = "/fapi/v3/positionRisk"

# --- request weights (IP REQUEST_WEIGHT per minute) -----------------------------------------------

REQUEST_WEIGHT_LIMIT_1M: Final = 2400
ORDER_LIMIT_1M: Final = 1200
ORDER_LIMIT_10S: Final = 300
# Client-side budget: stay below the venue's limit so a burst never reaches a 429.
WEIGHT_SAFETY_FRACTION: Final = Decimal("0.9")

# (method, path) -> weight. Order placement counts on the account order limits instead (weight 0).
WEIGHTS: Final[dict[tuple[str, str], int]] = {
    ("GET", PING_PATH): 1,
    ("GET", TIME_PATH): 1,
    ("GET", EXCHANGE_INFO_PATH): 1,
    ("GET", PREMIUM_INDEX_PATH): 1,
    ("GET", FUNDING_RATE_PATH): 1,
    ("POST", ORDER_PATH): 0,
    ("DELETE", ORDER_PATH): 1,
    ("GET", ORDER_PATH): 1,
    ("GET", OPEN_ORDERS_PATH): 1,
    ("DELETE", ALL_OPEN_ORDERS_PATH): 1,
    ("GET", USER_TRADES_PATH): 5,
    ("GET", INCOME_PATH): 30,
    ("POST", LEVERAGE_PATH): 1,
    ("POST", POSITION_SIDE_DUAL_PATH): 1,
    ("GET", POSITION_SIDE_DUAL_PATH): 30,
    ("POST", MARGIN_TYPE_PATH): 1,
    ("POST", LISTEN_KEY_PATH): 1,
    ("PUT", LISTEN_KEY_PATH): 1,
    ("DELETE", LISTEN_KEY_PATH): 1,
    ("GET", COMMISSION_RATE_PATH): 20,
    ("GET", ACCOUNT_PATH): 5,
    ("GET", BALANCE_PATH): 5,
    ("GET", POSITION_RISK_PATH): 5,
}
DEFAULT_WEIGHT: Final = 1

# GET /fapi/v1/depth: limit -> weight.
DEPTH_LIMIT_WEIGHTS: Final[dict[int, int]] = {5: 2, 10: 2, 20: 2, 50: 2, 100: 5, 500: 10, 1000: 20}
DEPTH_SNAPSHOT_LIMIT: Final = 1000

# --- headers --------------------------------------------------------------------------------------

API_KEY_HEADER: Final = "X-MBX-APIKEY"
USED_WEIGHT_HEADER: Final = "X-MBX-USED-WEIGHT-1M"
ORDER_COUNT_10S_HEADER: Final = "X-MBX-ORDER-COUNT-10S"
ORDER_COUNT_1M_HEADER: Final = "X-MBX-ORDER-COUNT-1M"
RETRY_AFTER_HEADER: Final = "Retry-After"

# --- signing / timing -----------------------------------------------------------------------------

RECV_WINDOW_MS: Final = 5000
SIGNATURE_PARAM: Final = "signature"
TIMESTAMP_PARAM: Final = "timestamp"
RECV_WINDOW_PARAM: Final = "recvWindow"

# --- HTTP statuses with a meaning of their own ----------------------------------------------------

HTTP_TOO_MANY_REQUESTS: Final = 429
HTTP_IP_BANNED: Final = 418
HTTP_UNAUTHORIZED: Final = 401
HTTP_WAF_LIMIT: Final = 403
HTTP_BACKEND_TIMEOUT: Final = 408
# When a 418 carries no Retry-After: the shortest documented ban.
DEFAULT_BAN_S: Final = 120.0

# --- WebSocket ------------------------------------------------------------------------------------

# Routed endpoints: depth on /public, mark price and trades on /market, account on /private.
WS_PUBLIC_STREAM_PATH: Final = "/public/stream"
WS_MARKET_STREAM_PATH: Final = "/market/stream"
WS_PRIVATE_PATH: Final = "/private/ws"
WS_LISTEN_KEY_PARAM: Final = "listenKey"

DEPTH_STREAM: Final = "{symbol}@depth@100ms"
MARK_PRICE_STREAM: Final = "{symbol}@markPrice@1s"
AGG_TRADE_STREAM: Final = "{symbol}@aggTrade"

WS_SUBSCRIBE: Final = "SUBSCRIBE"
WS_UNSUBSCRIBE: Final = "UNSUBSCRIBE"
# A connection lives at most 24 h; rotate before the venue cuts it.
WS_MAX_LIFETIME_S: Final = 24 * 3600.0
WS_ROTATE_AFTER_S: Final = 23 * 3600.0
WS_PING_INTERVAL_S: Final = 60.0
WS_PING_TIMEOUT_S: Final = 30.0
WS_BACKOFF_INITIAL_S: Final = 0.5
WS_BACKOFF_MAX_S: Final = 30.0

# listenKey: valid 60 min, extended by PUT; hummingbot keeps it alive every 30 min.
LISTEN_KEY_VALIDITY_S: Final = 3600.0
LISTEN_KEY_KEEPALIVE_S: Final = 1800.0

# --- event names ----------------------------------------------------------------------------------

EVENT_DEPTH_UPDATE: Final = "depthUpdate"
EVENT_AGG_TRADE: Final = "aggTrade"
EVENT_TRADE: Final = "trade"
EVENT_MARK_PRICE: Final = "markPriceUpdate"
EVENT_ORDER_TRADE_UPDATE: Final = "ORDER_TRADE_UPDATE"
EVENT_ACCOUNT_UPDATE: Final = "ACCOUNT_UPDATE"
EVENT_ACCOUNT_CONFIG_UPDATE: Final = "ACCOUNT_CONFIG_UPDATE"
EVENT_LISTEN_KEY_EXPIRED: Final = "listenKeyExpired"
EVENT_TRADE_LITE: Final = "TRADE_LITE"
EVENT_MARGIN_CALL: Final = "MARGIN_CALL"

# --- enums ----------------------------------------------------------------------------------------

SIDE_BUY: Final = "BUY"
SIDE_SELL: Final = "SELL"

ORDER_TYPE_LIMIT: Final = "LIMIT"
ORDER_TYPE_MARKET: Final = "MARKET"
ORDER_TYPE_LIQUIDATION: Final = "LIQUIDATION"

TIF_GTC: Final = "GTC"
TIF_IOC: Final = "IOC"
TIF_FOK: Final = "FOK"
TIF_GTX: Final = "GTX"  # post-only
TIF_GTD: Final = "GTD"

POSITION_SIDE_BOTH: Final = "BOTH"
POSITION_SIDE_LONG: Final = "LONG"
POSITION_SIDE_SHORT: Final = "SHORT"

MARGIN_TYPE_ISOLATED: Final = "ISOLATED"
MARGIN_TYPE_CROSSED: Final = "CROSSED"
# Positions and ACCOUNT_UPDATE spell margin types in lowercase.
MARGIN_TYPE_ISOLATED_LOWER: Final = "isolated"
MARGIN_TYPE_CROSS_LOWER: Final = "cross"

STATUS_NEW: Final = "NEW"
STATUS_PARTIALLY_FILLED: Final = "PARTIALLY_FILLED"
STATUS_FILLED: Final = "FILLED"
STATUS_CANCELED: Final = "CANCELED"
STATUS_EXPIRED: Final = "EXPIRED"
STATUS_EXPIRED_IN_MATCH: Final = "EXPIRED_IN_MATCH"

EXEC_NEW: Final = "NEW"
EXEC_CANCELED: Final = "CANCELED"
EXEC_CALCULATED: Final = "CALCULATED"  # liquidation execution
EXEC_EXPIRED: Final = "EXPIRED"
EXEC_TRADE: Final = "TRADE"
EXEC_AMENDMENT: Final = "AMENDMENT"

INCOME_FUNDING_FEE: Final = "FUNDING_FEE"
ACCOUNT_UPDATE_REASON_FUNDING_FEE: Final = "FUNDING_FEE"

TRUE: Final = "true"
FALSE: Final = "false"

# Quote assets, longest first, to split a symbol like "BTCUSDT" when exchangeInfo is not at hand.
QUOTE_ASSETS: Final[tuple[str, ...]] = ("FDUSD", "USDT", "USDC", "BUSD", "BTC", "ETH", "BNB")

# --- defaults when the account endpoints are not (yet) read ----------------------------------------

DEFAULT_MAKER_FEE: Final = Decimal("0.0002")
DEFAULT_TAKER_FEE: Final = Decimal("0.0005")
# exchangeInfo carries no leverage cap; leverageBrackets (signed) does. 125x is the venue-wide max.
DEFAULT_MAX_LEVERAGE: Final = 125
DEFAULT_FUNDING_INTERVAL_S: Final = 8 * 3600.0


class ErrorCode(IntEnum):
    """Binance USD-M error codes (docs `error-code.md`); names as documented."""

    UNKNOWN = -1000
    DISCONNECTED = -1001
    UNAUTHORIZED = -1002
    TOO_MANY_REQUESTS = -1003
    UNEXPECTED_RESP = -1006
    TIMEOUT = -1007
    REQUEST_THROTTLED = -1008
    TOO_MANY_ORDERS = -1015
    SERVICE_SHUTTING_DOWN = -1016
    INVALID_TIMESTAMP = -1021
    INVALID_SIGNATURE = -1022
    NOT_FOUND = -1099
    ILLEGAL_CHARS = -1100
    TOO_MANY_PARAMETERS = -1101
    MANDATORY_PARAM_EMPTY_OR_MALFORMED = -1102
    UNKNOWN_PARAM = -1103
    BAD_PRECISION = -1111
    INVALID_TIF = -1115
    INVALID_ORDER_TYPE = -1116
    INVALID_SIDE = -1117
    BAD_SYMBOL = -1121
    INVALID_LISTEN_KEY = -1125
    INVALID_PARAMETER = -1130
    NEW_ORDER_REJECTED = -2010
    CANCEL_REJECTED = -2011
    NO_SUCH_ORDER = -2013
    BAD_API_KEY_FMT = -2014
    REJECTED_MBX_KEY = -2015
    API_KEYS_LOCKED = -2017
    BALANCE_NOT_SUFFICIENT = -2018
    MARGIN_NOT_SUFFICIENT = -2019
    UNABLE_TO_FILL = -2020
    ORDER_WOULD_IMMEDIATELY_TRIGGER = -2021
    REDUCE_ONLY_REJECT = -2022
    USER_IN_LIQUIDATION = -2023
    POSITION_NOT_SUFFICIENT = -2024
    MAX_OPEN_ORDER_EXCEEDED = -2025
    REDUCE_ONLY_ORDER_TYPE_NOT_SUPPORTED = -2026
    MAX_LEVERAGE_RATIO = -2027
    MIN_LEVERAGE_RATIO = -2028
    PRICE_LESS_THAN_ZERO = -4001
    PRICE_GREATER_THAN_MAX_PRICE = -4002
    QTY_LESS_THAN_ZERO = -4003
    QTY_LESS_THAN_MIN_QTY = -4004
    QTY_GREATER_THAN_MAX_QTY = -4005
    PRICE_LESS_THAN_MIN_PRICE = -4013
    PRICE_NOT_INCREASED_BY_TICK_SIZE = -4014
    INVALID_CL_ORD_ID_LEN = -4015
    PRICE_HIGHER_THAN_MULTIPLIER_UP = -4016
    QTY_NOT_INCREASED_BY_STEP_SIZE = -4023
    PRICE_LOWER_THAN_MULTIPLIER_DOWN = -4024
    INVALID_LEVERAGE = -4028
    NO_NEED_TO_CHANGE_MARGIN_TYPE = -4046
    THERE_EXISTS_OPEN_ORDERS = -4047
    THERE_EXISTS_QUANTITY = -4048
    NO_NEED_TO_CHANGE_POSITION_SIDE = -4059
    INVALID_POSITION_SIDE = -4060
    POSITION_SIDE_NOT_MATCH = -4061
    REDUCE_ONLY_CONFLICT = -4062
    POSITION_SIDE_CHANGE_EXISTS_OPEN_ORDERS = -4067
    POSITION_SIDE_CHANGE_EXISTS_QUANTITY = -4068
    DUPLICATED_CLIENT_ORDER_ID = -4116
    REDUCE_ONLY_MARGIN_CHECK_FAILED = -4118
    MARKET_ORDER_REJECT = -4131
    MIN_NOTIONAL = -4164
    FOK_ORDER_REJECT = -5021
    GTX_ORDER_REJECT = -5022
    ME_RECVWINDOW_REJECT = -5028
