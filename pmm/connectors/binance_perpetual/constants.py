"""Every Binance USD-M futures literal pmm uses: hosts, paths, weights, stream names, enums, codes.

Shared by the client (`rest`, `ws`, `feed`, `gateway`, ...) and the venue server (`server*.py`).
Append only: other modules import these names.

Sources: reference/exchange_apis.md §A (Binance USD-M docs, scraped 2026-05-28).
"""

from __future__ import annotations

from decimal import Decimal
from enum import IntEnum
from typing import Final

from pmm.connectors.binance_perpetual.spec import SPEC

# --- connector ids and hosts ----------------------------------------------------------------------

# The literals themselves are in `spec.py` (the registry reads them without importing this module).
CONNECTOR_ID: Final = SPEC.venue
TESTNET_CONNECTOR_ID: Final = str(SPEC.testnet_id)

REST_URLS: Final[dict[str, str]] = {i: SPEC.hosts(i).rest for i in SPEC.keyed_connector_ids}
WS_URLS: Final[dict[str, str]] = {i: SPEC.hosts(i).ws for i in SPEC.keyed_connector_ids}

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
WS_PUBLIC_STREAM_PATH: Final = SPEC.hosts(CONNECTOR_ID).public_ws_path  # "/public/stream"
WS_MARKET_STREAM_PATH: Final = "/market/stream"
WS_PRIVATE_PATH: Final = SPEC.hosts(CONNECTOR_ID).private_ws_path  # "/private/ws"
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
QUOTE_ASSETS: Final[tuple[str, ...]] = SPEC.symbols.quote_assets

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


# --- loopback venue server (server*.py) -----------------------------------------------------------
# What the server needs beyond the client's names above (which it also uses).

FUNDING_INFO_PATH: Final = "/fapi/v1/fundingInfo"
BOOK_TICKER_PATH: Final = "/fapi/v1/ticker/bookTicker"
TICKER_PRICE_PATH: Final = "/fapi/v1/ticker/price"
TICKER_PRICE_V2_PATH: Final = "/fapi/v2/ticker/price"
OPEN_ORDER_PATH: Final = "/fapi/v1/openOrder"
ALL_ORDERS_PATH: Final = "/fapi/v1/allOrders"
ACCOUNT_V2_PATH: Final = "/fapi/v2/account"
BALANCE_V2_PATH: Final = "/fapi/v2/balance"
POSITION_RISK_V2_PATH: Final = "/fapi/v2/positionRisk"
LEVERAGE_BRACKET_PATH: Final = "/fapi/v1/leverageBracket"
SYMBOL_CONFIG_PATH: Final = "/fapi/v1/symbolConfig"
TICKER_24HR_PATH: Final = "/fapi/v1/ticker/24hr"
AGG_TRADES_PATH: Final = "/fapi/v1/aggTrades"
TRADES_PATH: Final = "/fapi/v1/trades"
KLINES_PATH: Final = "/fapi/v1/klines"
# Spot side-calls ccxt's binanceusdm makes in load_markets when it has keys (exchange_apis.md §0.4).
SAPI_CAPITAL_CONFIG_PATH: Final = "/sapi/v1/capital/config/getall"
SAPI_MARGIN_ALL_PAIRS_PATH: Final = "/sapi/v1/margin/allPairs"

# Weights of the paths above; parameter-dependent weights in the two tables after it.
SERVER_EXTRA_WEIGHTS: Final[dict[tuple[str, str], int]] = {
    ("GET", DEPTH_PATH): 10,  # default limit 500
    ("GET", FUNDING_INFO_PATH): 0,
    ("GET", BOOK_TICKER_PATH): 2,
    ("GET", TICKER_PRICE_PATH): 1,
    ("GET", TICKER_PRICE_V2_PATH): 1,
    ("GET", OPEN_ORDER_PATH): 1,
    ("GET", ALL_ORDERS_PATH): 5,
    ("GET", ACCOUNT_V2_PATH): 5,
    ("GET", BALANCE_V2_PATH): 5,
    ("GET", POSITION_RISK_V2_PATH): 5,
    ("GET", LEVERAGE_BRACKET_PATH): 1,
    ("GET", SYMBOL_CONFIG_PATH): 5,
    ("GET", TICKER_24HR_PATH): 1,
    ("GET", AGG_TRADES_PATH): 20,
    ("GET", TRADES_PATH): 5,
    ("GET", SAPI_CAPITAL_CONFIG_PATH): 10,
    ("GET", SAPI_MARGIN_ALL_PAIRS_PATH): 1,
}
# Weight when the optional `symbol` is left out (every symbol is returned).
NO_SYMBOL_WEIGHTS: Final[dict[tuple[str, str], int]] = {
    ("GET", OPEN_ORDERS_PATH): 40,
    ("GET", PREMIUM_INDEX_PATH): 10,
    ("GET", BOOK_TICKER_PATH): 5,
    ("GET", TICKER_PRICE_PATH): 2,
    ("GET", TICKER_PRICE_V2_PATH): 2,
    ("GET", TICKER_24HR_PATH): 40,
}
# klines: weight by `limit` (default 500): below 100 -> 1, below 500 -> 2, up to 1000 -> 5, above -> 10.
KLINES_LIMIT_WEIGHTS: Final = ((100, 1), (500, 2), (1001, 5))
KLINES_MAX_WEIGHT: Final = 10
DEFAULT_KLINES_LIMIT: Final = 500
DEPTH_LIMITS: Final = (5, 10, 20, 50, 100, 500, 1000)
DEFAULT_DEPTH_LIMIT: Final = 500

MAX_RECV_WINDOW_MS: Final = 60000
TIMESTAMP_AHEAD_TOLERANCE_MS: Final = 1000  # a timestamp may run this far ahead of server time

# Codes the ErrorCode enum above does not list.
ERR_PARAM_NOT_REQUIRED: Final = -1106
ERR_NO_DEPTH: Final = -1112
ERR_BAD_RECV_WINDOW: Final = -1131
ERR_INVALID_NEW_ORDER_RESP_TYPE: Final = -1136
ERR_BAD_INTERVAL: Final = -1120
ERR_TOO_LONG_WINDOW: Final = -1127
ERR_INVALID_DEPTH_LIMIT: Final = -4021
ERR_INVALID_PRICE_MATCH: Final = -5037

# Documented messages ({placeholders} filled by the server).
ERROR_MESSAGES: Final[dict[int, str]] = {
    -1000: "An unknown error occured while processing the request.",
    -1001: "Internal error; unable to process your request. Please try again.",
    -1003: "Too many requests; current limit of IP({ip}) is {limit} requests per minute. Please use the "
    "websocket for live updates to avoid polling the API.",
    -1015: "Too many new orders; current limit is {limit} orders per {interval}.",
    -1021: "Timestamp for this request is outside of the recvWindow.",
    -1022: "Signature for this request is not valid.",
    -1102: "Mandatory parameter '{param}' was not sent, was empty/null, or malformed.",
    -1106: "Parameter '{param}' sent when not required.",
    -1111: "Precision is over the maximum defined for this asset.",
    -1112: "No orders on book for symbol.",
    -1115: "Invalid timeInForce.",
    -1116: "Invalid orderType.",
    -1117: "Invalid side.",
    -1120: "Invalid interval.",
    -1121: "Invalid symbol.",
    -1125: "This listenKey does not exist. Please use `POST /fapi/v1/listenKey` to recreate `listenKey`",
    -1127: "More than {hours} hours between startTime and endTime.",
    -1130: "Data sent for parameter '{param}' is not valid.",
    -1131: "recvWindow must be less than 60000",
    -1136: "Invalid newOrderRespType.",
    -2010: "NEW_ORDER_REJECTED",
    -2011: "Unknown order sent.",
    -2013: "Order does not exist.",
    -2021: "Order would immediately trigger.",
    -4120: "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
    -2014: "API-key format invalid.",
    -2015: "Invalid API-key, IP, or permissions for action.",
    -2019: "Margin is insufficient.",
    -2020: "Unable to fill.",
    -2022: "ReduceOnly Order is rejected.",
    -4001: "Price less than 0.",
    -4003: "Quantity less than or equal to zero.",
    -4004: "Quantity less than min quantity.",
    -4014: "Price not increased by tick size.",
    -4015: "Client order id is not valid.",
    -4021: "'{limit}' is not valid depth limit.",
    -4023: "Qty not increased by step size.",
    -4028: "Leverage {leverage} is not valid",
    -4046: "No need to change margin type.",
    -4047: "Margin type cannot be changed if there exists open orders.",
    -4048: "Margin type cannot be changed if there exists position.",
    -4059: "No need to change position side.",
    -4060: "Invalid position side.",
    -4061: "Order's position side does not match user's setting.",
    -4067: "Position side cannot be changed if there exists open orders.",
    -4068: "Position side cannot be changed if there exists position.",
    -4116: "clientOrderId is duplicated",
    -4164: "Order's notional must be no smaller than {notional} (unless you choose reduce only)",
    -5021: "Due to the order could not be filled immediately, the FOK order has been rejected.",
    -5022: "Due to the order could not be executed as maker, the Post Only order will be rejected.",
    -5037: "Invalid price match",
}
IP_BANNED_MESSAGE: Final = (
    "Way too many requests; IP({ip}) banned until {until_ms}. Please use the websocket for live updates to avoid bans."
)
SERVICE_UNAVAILABLE_MESSAGE: Final = "Service Unavailable."
UNKNOWN_EXECUTION_MESSAGE: Final = "Unknown error, please check your request or try again later."
# HTTP status Binance pairs with a code when it is not 400.
ERROR_HTTP_STATUS: Final[dict[int, int]] = {
    -2014: HTTP_UNAUTHORIZED,
    -2015: HTTP_UNAUTHORIZED,
    -1003: HTTP_TOO_MANY_REQUESTS,
    -1015: HTTP_TOO_MANY_REQUESTS,
    -1000: 500,
    -1001: 503,
}

RESP_TYPE_ACK: Final = "ACK"
RESP_TYPE_RESULT: Final = "RESULT"
# ORDER_TRADE_UPDATE `er` (expiry reason).
EXPIRY_NONE: Final = "0"
EXPIRY_IOC_REMAINDER: Final = "2"
EXPIRY_REDUCE_ONLY: Final = "4"
EXPIRY_LIQUIDATION: Final = "5"
EXPIRY_MARKET_REMAINDER: Final = "9"
INCOME_REALIZED_PNL: Final = "REALIZED_PNL"
INCOME_COMMISSION: Final = "COMMISSION"
ACCOUNT_UPDATE_REASON_ORDER: Final = "ORDER"
CLIENT_ORDER_ID_PATTERN: Final = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
LIQUIDATION_CLIENT_ID_PREFIX: Final = "autoclose-"
EVENT_BOOK_TICKER: Final = "bookTicker"
EVENT_24HR_TICKER: Final = "24hrTicker"
EVENT_24HR_MINI_TICKER: Final = "24hrMiniTicker"
EVENT_KLINE: Final = "kline"

# WebSocket: path shapes, methods and stream names ("<symbol lowercase>@<stream>").
WS_ROUTES: Final = ("public", "market", "private")
WS_RAW_SEGMENT: Final = "ws"  # raw events
WS_COMBINED_SEGMENT: Final = "stream"  # {"stream": ..., "data": ...}
WS_STREAMS_PARAM: Final = "streams"
WS_EVENTS_PARAM: Final = "events"
WS_LIST_SUBSCRIPTIONS: Final = "LIST_SUBSCRIPTIONS"
WS_SET_PROPERTY: Final = "SET_PROPERTY"
WS_GET_PROPERTY: Final = "GET_PROPERTY"
WS_PROPERTY_COMBINED: Final = "combined"
STREAM_DEPTH: Final = "depth"  # "@depth", "@depth@100ms", "@depth@500ms"; "@depth<5|10|20>[@speed]" partial
STREAM_DEPTH_SPEEDS: Final = ("100ms", "250ms", "500ms")
STREAM_PARTIAL_DEPTH_LEVELS: Final = (5, 10, 20)
STREAM_AGG_TRADE: Final = "aggTrade"
STREAM_TRADE: Final = "trade"
STREAM_MARK_PRICE: Final = "markPrice"  # every 3 s; "@markPrice@1s" every second
STREAM_BOOK_TICKER: Final = "bookTicker"
STREAM_ALL_MARK_PRICE: Final = "!markPrice@arr"  # "[@1s]"
STREAM_TICKER: Final = "ticker"  # 24 h statistics, every 2 s
STREAM_MINI_TICKER: Final = "miniTicker"
STREAM_KLINE_PREFIX: Final = "kline_"  # "<symbol>@kline_<interval>", every 250 ms
STREAM_KLINE_INTERVALS: Final = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d", "3d",
                                 "1w", "1M")
STREAM_ALL_TICKERS: Final = "!ticker@arr"  # every second, the symbols that changed
STREAM_ALL_MINI_TICKERS: Final = "!miniTicker@arr"
STREAM_ALL_BOOK_TICKERS: Final = "!bookTicker"
WS_INVALID_STREAM_MESSAGE: Final = "Invalid request: invalid stream"
MARK_PRICE_INTERVAL_S: Final = 3.0
MARK_PRICE_FAST_INTERVAL_S: Final = 1.0


# --- dead-man switch (appended) ----------------------------------------------------------------
COUNTDOWN_CANCEL_ALL_PATH: Final = "/fapi/v1/countdownCancelAll"
WEIGHTS[("POST", COUNTDOWN_CANCEL_ALL_PATH)] = 10

# --- conditional orders: Binance's Algo Service (since 2025-12-09 STOP / TAKE_PROFIT orders are
# refused on /fapi/v1/order with -4120 STOP_ORDER_SWITCH_ALGO and go to these endpoints) ----------
ALGO_ORDER_PATH: Final = "/fapi/v1/algoOrder"  # POST place, DELETE cancel, GET query
OPEN_ALGO_ORDERS_PATH: Final = "/fapi/v1/openAlgoOrders"
ALGO_OPEN_ORDERS_PATH: Final = "/fapi/v1/algoOpenOrders"  # DELETE: cancel all of a symbol
ALGO_TYPE_CONDITIONAL: Final = "CONDITIONAL"
ORDER_TYPE_STOP_MARKET: Final = "STOP_MARKET"
ORDER_TYPE_STOP: Final = "STOP"  # a limit order when triggered
ORDER_TYPE_TAKE_PROFIT_MARKET: Final = "TAKE_PROFIT_MARKET"
ORDER_TYPE_TAKE_PROFIT: Final = "TAKE_PROFIT"
WORKING_TYPE_MARK: Final = "MARK_PRICE"
WORKING_TYPE_CONTRACT: Final = "CONTRACT_PRICE"  # the last price; Binance's default
ALGO_STATUS_NEW: Final = "NEW"
ALGO_STATUS_CANCELED: Final = "CANCELED"
ALGO_STATUS_TRIGGERED: Final = "TRIGGERED"
ALGO_STATUS_FINISHED: Final = "FINISHED"
ALGO_STATUS_REJECTED: Final = "REJECTED"
EVENT_ALGO_UPDATE: Final = "ALGO_UPDATE"
ERR_STOP_ORDER_SWITCH_ALGO: Final = -4120
WEIGHTS[("POST", ALGO_ORDER_PATH)] = 0  # counts on the order limits, as new orders do
WEIGHTS[("DELETE", ALGO_ORDER_PATH)] = 1
WEIGHTS[("GET", ALGO_ORDER_PATH)] = 1
WEIGHTS[("GET", OPEN_ALGO_ORDERS_PATH)] = 1
WEIGHTS[("DELETE", ALGO_OPEN_ORDERS_PATH)] = 1
