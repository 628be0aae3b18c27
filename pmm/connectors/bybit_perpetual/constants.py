"""Every Bybit v5 (linear USDT perpetual) literal pmm uses: hosts, paths, topics, enums, retCodes.

Shared by the client (`rest`, `ws`, `feed`, `gateway`, ...) and the venue server (`server*.py`).
Append only: other modules import these names.

Sources: reference/exchange_apis.md §B, §D4 (Bybit v5 docs, repo `bybit-exchange/docs`, `docs/v5/`).
"""

from __future__ import annotations

from decimal import Decimal
from enum import IntEnum
from typing import Final

from pmm.connectors.bybit_perpetual.spec import SPEC

# --- connector ids and hosts ----------------------------------------------------------------------

# The literals themselves are in `spec.py` (the registry reads them without importing this module).
CONNECTOR_ID: Final = SPEC.venue
TESTNET_CONNECTOR_ID: Final = str(SPEC.testnet_id)

REST_URLS: Final[dict[str, str]] = {i: SPEC.hosts(i).rest for i in SPEC.keyed_connector_ids}
# The WebSocket base; the public linear and private paths below are appended to it.
WS_URLS: Final[dict[str, str]] = {i: SPEC.hosts(i).ws for i in SPEC.keyed_connector_ids}
WS_PUBLIC_LINEAR_PATH: Final = SPEC.hosts(CONNECTOR_ID).public_ws_path
WS_PRIVATE_PATH: Final = SPEC.hosts(CONNECTOR_ID).private_ws_path

# The key store / environment name is per connector id (pmm.credentials); these are the live ones.
API_KEY_ENV: Final = "PMM_BYBIT_PERPETUAL_API_KEY"
API_SECRET_ENV: Final = "PMM_BYBIT_PERPETUAL_API_SECRET"

CATEGORY_LINEAR: Final = "linear"
ACCOUNT_TYPE_UNIFIED: Final = "UNIFIED"

# --- REST paths -----------------------------------------------------------------------------------

SERVER_TIME_PATH: Final = "/v5/market/time"
INSTRUMENTS_INFO_PATH: Final = "/v5/market/instruments-info"
ORDERBOOK_PATH: Final = "/v5/market/orderbook"
TICKERS_PATH: Final = "/v5/market/tickers"
FUNDING_HISTORY_PATH: Final = "/v5/market/funding/history"
ORDER_CREATE_PATH: Final = "/v5/order/create"
ORDER_CANCEL_PATH: Final = "/v5/order/cancel"
ORDER_CANCEL_ALL_PATH: Final = "/v5/order/cancel-all"
ORDER_REALTIME_PATH: Final = "/v5/order/realtime"
ORDER_HISTORY_PATH: Final = "/v5/order/history"
EXECUTION_LIST_PATH: Final = "/v5/execution/list"
POSITION_LIST_PATH: Final = "/v5/position/list"
SET_LEVERAGE_PATH: Final = "/v5/position/set-leverage"
SWITCH_MODE_PATH: Final = "/v5/position/switch-mode"
SET_MARGIN_MODE_PATH: Final = "/v5/account/set-margin-mode"
WALLET_BALANCE_PATH: Final = "/v5/account/wallet-balance"
TRANSACTION_LOG_PATH: Final = "/v5/account/transaction-log"
FEE_RATE_PATH: Final = "/v5/account/fee-rate"
ACCOUNT_INFO_PATH: Final = "/v5/account/info"
QUERY_API_PATH: Final = "/v5/user/query-api"
COIN_QUERY_INFO_PATH: Final = "/v5/asset/coin/query-info"


# Page sizes (documented maxima).
ORDER_REALTIME_PAGE_LIMIT: Final = 50
EXECUTION_PAGE_LIMIT: Final = 100
POSITION_PAGE_LIMIT: Final = 200
TRANSACTION_LOG_PAGE_LIMIT: Final = 50
# execution/list and transaction-log answer at most 7 days per request.
HISTORY_WINDOW_MS: Final = 7 * 24 * 3600 * 1000

# --- per-UID per-endpoint rolling 1 s limits (UTA Pro defaults, linear) -----------------------------

ENDPOINT_LIMITS_PER_S: Final[dict[str, int]] = {
    ORDER_CREATE_PATH: 10,
    ORDER_CANCEL_PATH: 10,
    ORDER_CANCEL_ALL_PATH: 10,
    ORDER_REALTIME_PATH: 50,
    ORDER_HISTORY_PATH: 50,
    EXECUTION_LIST_PATH: 50,
    POSITION_LIST_PATH: 50,
    SET_LEVERAGE_PATH: 10,
    SWITCH_MODE_PATH: 10,
    WALLET_BALANCE_PATH: 50,
    TRANSACTION_LOG_PATH: 25,
}
# IP limit: 600 requests per 5 s across every host; breaching it is HTTP 403 and a 10 minute wait.
IP_LIMIT_REQUESTS: Final = 600
IP_LIMIT_WINDOW_S: Final = 5.0
IP_BAN_S: Final = 600.0

# --- headers --------------------------------------------------------------------------------------

API_KEY_HEADER: Final = "X-BAPI-API-KEY"
TIMESTAMP_HEADER: Final = "X-BAPI-TIMESTAMP"
SIGN_HEADER: Final = "X-BAPI-SIGN"
RECV_WINDOW_HEADER: Final = "X-BAPI-RECV-WINDOW"
SIGN_TYPE_HEADER: Final = "X-BAPI-SIGN-TYPE"
SIGN_TYPE_HMAC: Final = "2"
LIMIT_HEADER: Final = "X-Bapi-Limit"
LIMIT_STATUS_HEADER: Final = "X-Bapi-Limit-Status"
LIMIT_RESET_HEADER: Final = "X-Bapi-Limit-Reset-Timestamp"
CONTENT_TYPE_JSON: Final = "application/json"

# --- signing / timing -----------------------------------------------------------------------------

RECV_WINDOW_MS: Final = 5000
# Accepted when server_time - recv_window <= timestamp < server_time + 1000.
TIMESTAMP_AHEAD_TOLERANCE_MS: Final = 1000
WS_AUTH_PREFIX: Final = "GET/realtime"
WS_AUTH_EXPIRES_S: Final = 10.0  # how far ahead the WS auth `expires` is set

# --- HTTP statuses with a meaning of their own ----------------------------------------------------

HTTP_UNAUTHORIZED: Final = 401
HTTP_FORBIDDEN: Final = 403  # IP rate limit breached ("access too frequent"): wait 10 minutes
HTTP_NOT_FOUND: Final = 404
HTTP_TOO_MANY_REQUESTS: Final = 429  # system-level protection: retry

# --- envelope -------------------------------------------------------------------------------------

RET_CODE: Final = "retCode"
RET_MSG: Final = "retMsg"
RESULT: Final = "result"
RET_EXT_INFO: Final = "retExtInfo"
TIME: Final = "time"

# --- WebSocket ------------------------------------------------------------------------------------

WS_OP_SUBSCRIBE: Final = "subscribe"
WS_OP_UNSUBSCRIBE: Final = "unsubscribe"
WS_OP_AUTH: Final = "auth"
WS_OP_PING: Final = "ping"
WS_OP_PONG: Final = "pong"  # the private socket answers a ping with op "pong"
WS_PING_INTERVAL_S: Final = 20.0  # the docs recommend a ping every 20 s
WS_PONG_TIMEOUT_S: Final = 10.0
WS_IDLE_CUTOFF_S: Final = 600.0  # the venue drops a connection silent for 10 minutes
WS_BACKOFF_INITIAL_S: Final = 0.5
WS_BACKOFF_MAX_S: Final = 30.0
WS_ACK_TIMEOUT_S: Final = 10.0

TOPIC_ORDERBOOK: Final = "orderbook.{depth}.{symbol}"
TOPIC_TICKERS: Final = "tickers.{symbol}"
TOPIC_PUBLIC_TRADE: Final = "publicTrade.{symbol}"
TOPIC_ORDERBOOK_PREFIX: Final = "orderbook."
TOPIC_TICKERS_PREFIX: Final = "tickers."
TOPIC_PUBLIC_TRADE_PREFIX: Final = "publicTrade."
TOPIC_KLINE: Final = "kline.{interval}.{symbol}"
TOPIC_KLINE_PREFIX: Final = "kline."
ORDERBOOK_DEPTHS: Final = (1, 50, 200, 1000)
ORDERBOOK_DEPTH: Final = 200  # 100 ms pushes, deep enough for quoting and the taker filter

TOPIC_ORDER: Final = "order"
TOPIC_EXECUTION: Final = "execution"
TOPIC_POSITION: Final = "position"
TOPIC_WALLET: Final = "wallet"
PRIVATE_TOPICS: Final = (TOPIC_ORDER, TOPIC_EXECUTION, TOPIC_POSITION, TOPIC_WALLET)

TYPE_SNAPSHOT: Final = "snapshot"
TYPE_DELTA: Final = "delta"
# `u` == 1 on an orderbook message: the service restarted; treat it as a snapshot.
ORDERBOOK_RESTART_UPDATE_ID: Final = 1

# --- enums ----------------------------------------------------------------------------------------

SIDE_BUY: Final = "Buy"
SIDE_SELL: Final = "Sell"

ORDER_TYPE_LIMIT: Final = "Limit"
ORDER_TYPE_MARKET: Final = "Market"
ORDER_TYPE_UNKNOWN: Final = "UNKNOWN"

TIF_GTC: Final = "GTC"
TIF_IOC: Final = "IOC"
TIF_FOK: Final = "FOK"
TIF_POST_ONLY: Final = "PostOnly"

POSITION_IDX_ONEWAY: Final = 0
POSITION_IDX_HEDGE_BUY: Final = 1
POSITION_IDX_HEDGE_SELL: Final = 2

POSITION_MODE_MERGED_SINGLE: Final = 0  # one-way
POSITION_MODE_BOTH_SIDES: Final = 3  # hedge

MARGIN_MODE_ISOLATED: Final = "ISOLATED_MARGIN"
MARGIN_MODE_REGULAR: Final = "REGULAR_MARGIN"  # cross
MARGIN_MODE_PORTFOLIO: Final = "PORTFOLIO_MARGIN"

ORDER_STATUS_NEW: Final = "New"
ORDER_STATUS_PARTIALLY_FILLED: Final = "PartiallyFilled"
ORDER_STATUS_UNTRIGGERED: Final = "Untriggered"
ORDER_STATUS_REJECTED: Final = "Rejected"
ORDER_STATUS_PARTIALLY_FILLED_CANCELED: Final = "PartiallyFilledCanceled"  # spot only
ORDER_STATUS_FILLED: Final = "Filled"
ORDER_STATUS_CANCELLED: Final = "Cancelled"
ORDER_STATUS_TRIGGERED: Final = "Triggered"
ORDER_STATUS_DEACTIVATED: Final = "Deactivated"

# Conditional orders (docs `order/create-order.mdx`, `enum.mdx`): a create with `triggerPrice` rests
# Untriggered until the trigger price (`triggerBy`) moves the way `triggerDirection` says.
TRIGGER_DIRECTION_RISE: Final = 1  # fires when the price rises to triggerPrice
TRIGGER_DIRECTION_FALL: Final = 2  # fires when the price falls to triggerPrice
TRIGGER_BY_LAST: Final = "LastPrice"
TRIGGER_BY_MARK: Final = "MarkPrice"
STOP_ORDER_TYPE_STOP: Final = "Stop"  # a conditional order's stopOrderType
ORDER_FILTER_ORDER: Final = "Order"  # realtime / cancel-all: active orders only
ORDER_FILTER_STOP: Final = "StopOrder"  # conditional orders only

REJECT_NO_ERROR: Final = "EC_NoError"
REJECT_POST_ONLY_WILL_TAKE_LIQUIDITY: Final = "EC_PostOnlyWillTakeLiquidity"
REJECT_NO_IMMEDIATE_QTY_TO_FILL: Final = "EC_NoImmediateQtyToFill"

CANCEL_TYPE_UNKNOWN: Final = "UNKNOWN"
CANCEL_TYPE_BY_USER: Final = "CancelByUser"
CANCEL_TYPE_BY_REDUCE_ONLY: Final = "CancelByReduceOnly"
CANCEL_TYPE_BY_PREPARE_LIQ: Final = "CancelByPrepareLiq"
CANCEL_TYPE_BY_DCP: Final = "CancelByDCP"

EXEC_TYPE_TRADE: Final = "Trade"
EXEC_TYPE_ADL_TRADE: Final = "AdlTrade"
EXEC_TYPE_FUNDING: Final = "Funding"
EXEC_TYPE_BUST_TRADE: Final = "BustTrade"
EXEC_TYPE_DELIVERY: Final = "Delivery"
EXEC_TYPE_SETTLE: Final = "Settle"
EXEC_TYPE_BLOCK_TRADE: Final = "BlockTrade"
EXEC_TYPE_MOVE_POSITION: Final = "MovePosition"
# Executions that change the position (an order of ours, or the venue closing it).
TRADE_EXEC_TYPES: Final = frozenset({EXEC_TYPE_TRADE, EXEC_TYPE_ADL_TRADE, EXEC_TYPE_BUST_TRADE,
                                     EXEC_TYPE_DELIVERY, EXEC_TYPE_SETTLE, EXEC_TYPE_BLOCK_TRADE,
                                     EXEC_TYPE_MOVE_POSITION})

TRANSACTION_TYPE_TRADE: Final = "TRADE"
TRANSACTION_TYPE_SETTLEMENT: Final = "SETTLEMENT"  # funding

CONTRACT_TYPE_LINEAR_PERPETUAL: Final = "LinearPerpetual"
INSTRUMENT_STATUS_TRADING: Final = "Trading"

# Quote assets, longest first, to split a symbol like "BTCUSDT" when instruments-info is not at hand.
QUOTE_ASSETS: Final[tuple[str, ...]] = SPEC.symbols.quote_assets

# --- defaults when the account endpoints are not (yet) read ----------------------------------------

DEFAULT_MAKER_FEE: Final = Decimal("0.0002")
DEFAULT_TAKER_FEE: Final = Decimal("0.00055")
DEFAULT_FUNDING_INTERVAL_MIN: Final = 480


class RetCode(IntEnum):
    """Bybit v5 retCodes pmm meets (docs `error.mdx`); names describe the documented meaning."""

    OK = 0
    SERVER_TIMEOUT = 10000
    PARAM_ERROR = 10001
    TIMESTAMP_OUT_OF_WINDOW = 10002
    INVALID_API_KEY = 10003
    INVALID_SIGN = 10004
    PERMISSION_DENIED = 10005
    TOO_MANY_VISITS = 10006
    AUTH_FAILED = 10007
    COMMON_BANNED = 10008
    IP_BANNED = 10009
    UNMATCHED_IP = 10010
    DUPLICATE_REQUEST = 10014
    SERVER_ERROR = 10016
    ROUTE_NOT_FOUND = 10017
    IP_RATE_LIMIT = 10018  # deprecated by Bybit, still mapped
    COMPLIANCE = 10024
    TRANSACTIONS_BANNED = 10027
    UNIFIED_ONLY = 10028
    SYMBOL_INVALID = 10029
    ORDER_NOT_EXIST = 110001
    PRICE_OUT_OF_RANGE = 110003
    WALLET_INSUFFICIENT = 110004
    POSITION_STATUS = 110005
    CANNOT_COVER_MARGIN = 110006
    AVAILABLE_INSUFFICIENT = 110007
    ORDER_COMPLETED_OR_CANCELLED = 110008
    TOO_MANY_STOP_ORDERS = 110009
    ORDER_CANCELLED = 110010
    LIQ_IMMEDIATELY = 110011
    INSUFFICIENT_AVAILABLE = 110012
    LEVERAGE_RISK_LIMIT = 110013
    QTY_EXCEEDS_RISK_LIMIT = 110016
    REDUCE_ONLY_RULE = 110017
    TOO_MANY_ACTIVE_ORDERS = 110020
    OPEN_INTEREST_LIMIT = 110021
    ONLY_REDUCE_ALLOWED = 110023
    MODE_HAS_POSITION = 110024
    POSITION_MODE_NOT_MODIFIED = 110025
    MARGIN_MODE_NOT_MODIFIED = 110026
    MODE_HAS_ORDERS = 110028
    HEDGE_NOT_SUPPORTED = 110029
    DUPLICATE_ORDER_ID = 110030
    ORDER_ILLEGAL = 110032
    LEVERAGE_CROSS_MODE = 110036
    LEVERAGE_PORTFOLIO_MODE = 110038
    WOULD_LIQUIDATE = 110040
    PRE_DELIVERY_REDUCE_ONLY = 110042
    LEVERAGE_NOT_MODIFIED = 110043
    MARGIN_INSUFFICIENT = 110044
    WALLET_INSUFFICIENT_2 = 110045
    SETTLEMENT_IN_PROGRESS = 110063
    TRADING_NOT_ALLOWED = 110066
    DUPLICATE_ORDER_LINK_ID = 110072
    SET_MARGIN_MODE_FAILED = 110073
    ORDER_PROCESSING = 110079
    LEVERAGE_EXCEEDS_RISK_TIER = 110086
    TRIGGER_NOT_ABOVE = 110092  # a rising conditional order's trigger is not above the price now
    TRIGGER_NOT_BELOW = 110093  # a falling conditional order's trigger is not below the price now
    NOTIONAL_TOO_LOW = 110094
    QTY_BELOW_MINIMUM = 170136
    ORDER_NOT_EXIST_SPOT = 170213
    POST_ONLY_REJECTED = 170218  # LIMIT-MAKER rejected for its price (spot's post-only code)
    SET_MARGIN_MODE_FAILED_ACCOUNT = 3400045


# === the loopback venue server (server*.py) =======================================================
# Names below are used by the Bybit-dialect server over the simulated exchange; the client may use
# them too. Sources as above (docs `error.mdx`, `enum.mdx`, `rate-limit.mdx`, `websocket/*`).

SWITCH_ISOLATED_PATH: Final = "/v5/position/switch-isolated"  # classic accounts' per-symbol margin mode
RECENT_TRADE_PATH: Final = "/v5/market/recent-trade"
KLINE_PATH: Final = "/v5/market/kline"

CATEGORY_SPOT: Final = "spot"
CATEGORY_INVERSE: Final = "inverse"
CATEGORY_OPTION: Final = "option"
CATEGORIES: Final = (CATEGORY_SPOT, CATEGORY_LINEAR, CATEGORY_INVERSE, CATEGORY_OPTION)

# Depths the server streams: the current linear set plus 500 (older linear docs); REST limits.
SERVER_ORDERBOOK_DEPTHS: Final = (1, 50, 200, 500, 1000)
REST_ORDERBOOK_DEFAULT_LIMIT: Final = 25
REST_ORDERBOOK_MAX_LIMIT: Final = 1000
# REST orderbook `u` matches the u of the deepest (1000-level) stream.
REST_ORDERBOOK_STREAM_DEPTH: Final = 1000
# Level-1 books re-send a snapshot (same u) after this long without a change.
LEVEL1_RESNAPSHOT_S: Final = 3.0
RECENT_TRADE_DEFAULT_LIMIT: Final = 500
RECENT_TRADE_MAX_LIMIT: Final = 1000
FUNDING_HISTORY_MAX_LIMIT: Final = 200
ORDER_REALTIME_DEFAULT_LIMIT: Final = 20
EXECUTION_DEFAULT_LIMIT: Final = 50
TRANSACTION_LOG_DEFAULT_LIMIT: Final = 20
CLOSED_ORDERS_KEPT: Final = 500  # order/realtime openOnly=1 answers the last 500 closed orders
DEFAULT_QUERY_WINDOW_MS: Final = 7 * 24 * 3600 * 1000  # no startTime/endTime: the last 7 days

# Categorised private topics (one category only).
TOPIC_ORDER_LINEAR: Final = "order.linear"
TOPIC_EXECUTION_LINEAR: Final = "execution.linear"
TOPIC_POSITION_LINEAR: Final = "position.linear"
PRIVATE_TOPIC_ALIASES: Final[dict[str, str]] = {
    TOPIC_ORDER: TOPIC_ORDER, TOPIC_ORDER_LINEAR: TOPIC_ORDER,
    TOPIC_EXECUTION: TOPIC_EXECUTION, TOPIC_EXECUTION_LINEAR: TOPIC_EXECUTION,
    TOPIC_POSITION: TOPIC_POSITION, TOPIC_POSITION_LINEAR: TOPIC_POSITION,
    TOPIC_WALLET: TOPIC_WALLET,
}
WS_MAX_ACTIVE_TIME_PARAM: Final = "max_active_time"  # private ?max_active_time=30s..600s

# WebSocket replies (`ret_msg`).
WS_MSG_PONG: Final = "pong"
WS_MSG_NOT_AUTHORIZED: Final = "Request not authorized"
WS_MSG_AUTH_PARAMS: Final = "Params Error"  # malformed or expired auth (what v5 answers)
WS_MSG_AUTH_BAD_KEY: Final = "API key is invalid."
WS_MSG_AUTH_BAD_SIGN: Final = "Invalid sign"
WS_MSG_ALREADY_AUTHED: Final = "Repeat auth"
WS_MSG_INVALID_OP: Final = "error:invalid op"
WS_MSG_INVALID_JSON: Final = "error:invalid request"
WS_MSG_INVALID_TOPIC: Final = "Invalid symbol :[{topic}]"
WS_MSG_HANDLER_NOT_FOUND: Final = "error:handler not found,topic:{topic}"
WS_MSG_ALREADY_SUBSCRIBED: Final = "error:already subscribed,topic:{topic}"
WS_MSG_NOT_SUBSCRIBED: Final = "error:not subscribed,topic:{topic}"

CREATE_TYPE_BY_USER: Final = "CreateByUser"
CREATE_TYPE_BY_LIQ: Final = "CreateByLiq"
REJECT_PER_CANCEL_REQUEST: Final = "EC_PerCancelRequest"
REJECT_NO_ENOUGH_QTY_TO_FILL: Final = "EC_NoEnoughQtyToFill"
SMP_TYPE_NONE: Final = "None"
POSITION_STATUS_NORMAL: Final = "Normal"
TRADE_MODE_CROSS: Final = 0
TRADE_MODE_ISOLATED: Final = 1
TPSL_MODE_FULL: Final = "Full"
TICK_PLUS: Final = "PlusTick"
TICK_ZERO_PLUS: Final = "ZeroPlusTick"
TICK_MINUS: Final = "MinusTick"
TICK_ZERO_MINUS: Final = "ZeroMinusTick"
UNIFIED_MARGIN_STATUS_UTA2: Final = 5  # account/info `unifiedMarginStatus` of a UTA 2.0 account
# A market order is an IOC limit at this fraction through the best opposite price (slippage guard).
MARKET_ORDER_SLIPPAGE: Final = Decimal("0.05")
ORDER_LINK_ID_PATTERN: Final = r"^[A-Za-z0-9_\-]{1,36}$"
SIGN_TYPES_ACCEPTED: Final = ("", "2")  # HMAC; RSA (sign type 1 with an RSA key) is not served

# retMsg texts, as the docs word them; `{...}` are filled in by the server.
RET_MSGS: Final[dict[int, str]] = {
    0: "OK",
    10000: "Server Timeout",
    10001: "Request parameter error.",
    10002: ("invalid request, please check your server timestamp or recv_window param. "
            "req_timestamp[{req}],server_timestamp[{server}],recv_window[{window}]"),
    10003: "API key is invalid.",
    10004: "error sign! origin_string[{origin}]",
    10005: "Permission denied, please check your API key permissions.",
    10006: "Too many visits. Exceeded the API Rate Limit.",
    10016: "Internal System Error.",
    10017: "Route not found.",
    110001: "Order does not exist.",
    110003: "Order price is out of permissible range",
    110004: "Insufficient wallet balance",
    110007: "Insufficient available balance",
    110008: "Order has been finished or canceled",
    110012: "Insufficient available balance.",
    110017: "Reduce-only rule not satisfied",
    110020: "Cannot have more than 500 active orders.",
    110024: "You have an existing position, so position mode cannot be switched",
    110025: "Position mode is not modified",
    110026: "Cross/isolated margin mode is not modified",
    110028: "Open orders exist, so you cannot change position mode",
    110029: "Hedge mode is not available for this symbol",
    110043: "Set leverage not modified",
    110044: "Insufficient available margin",
    110072: "OrderLinkedID is duplicate",
    110079: "The order is processing and can not be operated, please try again later",
    110092: "expect Rising, but trigger_price[{trigger}] <= current[{current}]",
    110093: "expect Falling, but trigger_price[{trigger}] >= current[{current}]",
    110094: "Order does not meet minimum order value {notional}USDT",
    170136: "Order quantity below the lower limit {min_qty}.",
    3400045: "Set margin mode failed",
}
HTTP_FORBIDDEN_TEXT: Final = "403 Forbidden: access too frequent. Your IP is blocked for {minutes} minutes."

# --- Disconnection Protection (DCP), Bybit's dead-man switch (appended) ---------------------------
# Docs `v5/order/dcp.mdx` and `v5/websocket/private/dcp.mdx`: the account's orders of a product are
# cancelled when every private connection that subscribed `dcp` stayed disconnected for `timeWindow`
# seconds without reconnecting and resuming its "ping". Bybit enables it per account (account manager).
DCP_PATH: Final = "/v5/order/disconnected-cancel-all"
DCP_PRODUCT_OPTIONS: Final = "OPTIONS"  # the endpoint's default product
DCP_PRODUCT_DERIVATIVES: Final = "DERIVATIVES"  # inverse / USDT / USDC perpetuals and futures
DCP_PRODUCT_SPOT: Final = "SPOT"
DCP_PRODUCTS: Final = (DCP_PRODUCT_OPTIONS, DCP_PRODUCT_DERIVATIVES, DCP_PRODUCT_SPOT)
DCP_WINDOW_MIN_S: Final = 3
DCP_WINDOW_MAX_S: Final = 300
# The private topic that arms it on a connection. Bybit announced per-product topics (`dcp.future`,
# `dcp.spot`, `dcp.option`, "the trigger logic remains the same") next to the original `dcp`, which
# its docs still show; pmm subscribes `dcp`, the simulator serves all four.
TOPIC_DCP: Final = "dcp"
TOPIC_DCP_FUTURE: Final = "dcp.future"
TOPIC_DCP_SPOT: Final = "dcp.spot"
TOPIC_DCP_OPTION: Final = "dcp.option"
DCP_TOPIC_PRODUCTS: Final[dict[str, tuple[str, ...]]] = {
    TOPIC_DCP: DCP_PRODUCTS,
    TOPIC_DCP_FUTURE: (DCP_PRODUCT_DERIVATIVES,),
    TOPIC_DCP_SPOT: (DCP_PRODUCT_SPOT,),
    TOPIC_DCP_OPTION: (DCP_PRODUCT_OPTIONS,),
}
