"""Gate.io Futures APIv4, USDT-settled perpetuals (`BTC_USDT`): every literal client and server share.

Plain module data and functions (connector ids, hosts, symbol mapping, contract sizes, paths,
channels, capabilities), so the kit can wrap it in a `VenueSpec`. Sources:
reference/exchange_apis_more.md §0 item 4, §H (Gate APIv4 and futures WebSocket docs), §L, §O.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Final

from pmm.connectors.common.venue_spec import Capabilities, Hosts, SymbolMapping, VenueSpec

# --- connector ids and hosts ----------------------------------------------------------------------

CONNECTOR_ID: Final = "gate_io_perpetual"
TESTNET_CONNECTOR_ID: Final = "gate_io_perpetual_testnet"  # Gate's TestNet (separate keys)
PAPER_TRADE_CONNECTOR_ID: Final = "gate_io_perpetual_paper_trade"
SPOT_FEED_ID: Final = "gate_io"
CONNECTOR_IDS: Final = (CONNECTOR_ID, TESTNET_CONNECTOR_ID, PAPER_TRADE_CONNECTOR_ID)

# REST hosts; every path below starts with /api/v4 (signed as sent, prefix included).
REST_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "https://api.gateio.ws",
    TESTNET_CONNECTOR_ID: "https://api-testnet.gateapi.io",
}
WS_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "wss://fx-ws.gateio.ws",
    TESTNET_CONNECTOR_ID: "wss://ws-testnet.gate.com",
}
# The USDT-settled futures socket: live and TestNet name it differently (§H1).
WS_PATHS: Final[dict[str, str]] = {
    CONNECTOR_ID: "/v4/ws/usdt",
    TESTNET_CONNECTOR_ID: "/v4/ws/futures/usdt",
}
WS_PATH_PREFIX: Final = "/v4/ws"


def ws_endpoint(ws_url: str, connector_id: str = CONNECTOR_ID) -> str:
    """The socket URL: a host plus the environment's path, or a URL that already names a path."""
    base = ws_url.rstrip("/")
    if WS_PATH_PREFIX in base:
        return base
    return base + WS_PATHS.get(connector_id, WS_PATHS[CONNECTOR_ID])


# --- symbols and contract sizes -------------------------------------------------------------------

SETTLE: Final = "usdt"
QUOTE_ASSETS: Final = ("USDT",)


def to_venue_symbol(market: str) -> str:
    """pmm's "BTC-USDT" -> Gate's contract "BTC_USDT"."""
    return market.upper().replace("-", "_")


def from_venue_symbol(contract: str) -> str:
    """Gate's contract "BTC_USDT" -> pmm's "BTC-USDT"."""
    return contract.replace("_", "-")


def contracts_to_base(contracts: Decimal, multiplier: Decimal) -> Decimal:
    """Contracts (order, position, book and trade sizes) -> base asset: size x quanto_multiplier."""
    return contracts * multiplier


def base_to_contracts(base: Decimal, multiplier: Decimal) -> Decimal:
    """Base asset -> whole contracts, rounded down: never bigger than asked."""
    return (base / multiplier).to_integral_value(rounding=ROUND_DOWN)


# --- REST paths -----------------------------------------------------------------------------------

API: Final = "/api/v4"
FUTURES: Final = f"{API}/futures/{SETTLE}"
SERVER_TIME_PATH: Final = f"{API}/spot/time"
ACCOUNT_DETAIL_PATH: Final = f"{API}/account/detail"          # user_id (private channel payloads)
CONTRACTS_PATH: Final = f"{FUTURES}/contracts"                 # + /{contract}
ORDER_BOOK_PATH: Final = f"{FUTURES}/order_book"
TRADES_PATH: Final = f"{FUTURES}/trades"
TICKERS_PATH: Final = f"{FUTURES}/tickers"
FUNDING_RATE_PATH: Final = f"{FUTURES}/funding_rate"          # settled rates [{t, r}]
ORDERS_PATH: Final = f"{FUTURES}/orders"                       # POST place, GET list, DELETE cancel-all
BATCH_ORDERS_PATH: Final = f"{FUTURES}/batch_orders"
COUNTDOWN_PATH: Final = f"{FUTURES}/countdown_cancel_all"      # the dead-man switch
MY_TRADES_PATH: Final = f"{FUTURES}/my_trades"
MY_TRADES_TIMERANGE_PATH: Final = f"{FUTURES}/my_trades_timerange"
ACCOUNTS_PATH: Final = f"{FUTURES}/accounts"
ACCOUNT_BOOK_PATH: Final = f"{FUTURES}/account_book"
POSITIONS_PATH: Final = f"{FUTURES}/positions"                 # + /{contract}, + /{contract}/leverage
DUAL_POSITIONS_PATH: Final = f"{FUTURES}/dual_comp/positions"  # + /{contract} (hedge mode)
DUAL_MODE_PATH: Final = f"{FUTURES}/dual_mode"
PRICE_ORDERS_PATH: Final = f"{FUTURES}/price_orders"           # + /{id}: price-triggered orders


def order_path(order_ref: str) -> str:
    """One order by id or by its `t-` text."""
    return f"{ORDERS_PATH}/{order_ref}"


def leverage_path(contract: str) -> str:
    return f"{POSITIONS_PATH}/{contract}/leverage"


def price_order_path(order_id: str) -> str:
    return f"{PRICE_ORDERS_PATH}/{order_id}"


PAGE_LIMIT: Final = 1000        # my_trades_timerange and account_book return at most 1000 rows
FUNDING_RATE_LIMIT: Final = 1000

# Headers: sizes as decimal strings (ccxt and the official SDKs send it), the rate-limit state.
SIZE_DECIMAL_HEADER: Final = "X-Gate-Size-Decimal"
RATE_REMAIN_HEADER: Final = "X-Gate-RateLimit-Requests-Remain"
RATE_LIMIT_HEADER: Final = "X-Gate-RateLimit-Limit"
RATE_RESET_HEADER: Final = "X-Gate-RateLimit-Reset-Timestamp"  # ms

# --- enums on the wire ----------------------------------------------------------------------------

TIFS: Final = ("gtc", "ioc", "poc", "fok")
FINISH_AS: Final = ("filled", "cancelled", "liquidated", "ioc", "auto_deleveraged", "reduce_only",
                    "position_closed", "reduce_out", "stp")
TEXT_PREFIX: Final = "t-"      # a client id: "t-" + at most 28 bytes of [0-9A-Za-z_.-]
TEXT_MAX_BODY: Final = 28
BOOK_LEVELS: Final = 100       # futures.order_book_update depth the client follows
BOOK_INTERVAL: Final = "100ms"
ACCOUNT_BOOK_FUNDING: Final = "fund"
ACCOUNT_BOOK_PNL: Final = "pnl"
ACCOUNT_BOOK_FEE: Final = "fee"
TRIGGER_RULE_RISES: Final = 1      # fire when the price is >= the trigger
TRIGGER_RULE_FALLS: Final = 2      # fire when the price is <= the trigger
PRICE_TYPE_LAST: Final = 0
PRICE_TYPE_MARK: Final = 1

# --- WebSocket channels and keepalive -------------------------------------------------------------

CHANNEL_BOOK_UPDATE: Final = "futures.order_book_update"
CHANNEL_TRADES: Final = "futures.trades"
CHANNEL_TICKERS: Final = "futures.tickers"
CHANNEL_ORDERS: Final = "futures.orders"
CHANNEL_USER_TRADES: Final = "futures.usertrades"
CHANNEL_POSITIONS: Final = "futures.positions"
CHANNEL_BALANCES: Final = "futures.balances"
CHANNEL_PING: Final = "futures.ping"
CHANNEL_PONG: Final = "futures.pong"
WS_PING_INTERVAL_S: Final = 15.0

# --- spot market data (the `gate_io` price source: public, no keys) --------------------------------

SPOT_REST_URL: Final = "https://api.gateio.ws"
SPOT_WS_URL: Final = "wss://api.gateio.ws"
SPOT_WS_PATH: Final = "/ws/v4/"
SPOT_PAIRS_PATH: Final = f"{API}/spot/currency_pairs"          # + /{currency_pair}
SPOT_ORDER_BOOK_PATH: Final = f"{API}/spot/order_book"
SPOT_TRADES_PATH: Final = f"{API}/spot/trades"
SPOT_CHANNEL_BOOK_UPDATE: Final = "spot.order_book_update"     # [pair, "100ms"]: U / u as futures
SPOT_CHANNEL_TRADES: Final = "spot.trades"
SPOT_CHANNEL_PING: Final = "spot.ping"
SPOT_CHANNEL_PONG: Final = "spot.pong"


def spot_ws_endpoint(ws_url: str) -> str:
    """The spot socket: a host plus /ws/v4/, or a URL that already names its path."""
    base = ws_url.rstrip("/")
    return base + "/" if base.endswith("/ws/v4") else base + SPOT_WS_PATH


# --- capabilities ---------------------------------------------------------------------------------

HEDGE_MODE: Final = True          # dual mode
DEAD_MAN_SWITCH: Final = True     # countdown_cancel_all {timeout}: 0 disarms, else at least 5 s
DEAD_MAN_MIN_S: Final = 5
CONDITIONAL_ORDERS: Final = True  # price-triggered orders on mark or last price

# --- the registry's description -------------------------------------------------------------------

_HERE = "pmm.connectors.gate_io_perpetual"

SPEC: Final = VenueSpec(
    venue=CONNECTOR_ID,
    display_name="Gate.io",
    builder=f"{_HERE}.build:build",
    testnet_id=TESTNET_CONNECTOR_ID,
    paper_trade_id=PAPER_TRADE_CONNECTOR_ID,
    paper_builder=f"{_HERE}.build:build_paper",
    live_hosts=Hosts(rest=REST_URLS[CONNECTOR_ID], ws=WS_URLS[CONNECTOR_ID],
                     public_ws_path=WS_PATHS[CONNECTOR_ID], private_ws_path=WS_PATHS[CONNECTOR_ID]),
    testnet_hosts=Hosts(rest=REST_URLS[TESTNET_CONNECTOR_ID], ws=WS_URLS[TESTNET_CONNECTOR_ID],
                        public_ws_path=WS_PATHS[TESTNET_CONNECTOR_ID],
                        private_ws_path=WS_PATHS[TESTNET_CONNECTOR_ID]),
    symbols=SymbolMapping("{base}_{quote}", quote_assets=QUOTE_ASSETS),
    contract_sizes=True,
    capabilities=Capabilities(hedge_mode=HEDGE_MODE, dead_man_switch=DEAD_MAN_SWITCH,
                              conditional_orders=CONDITIONAL_ORDERS),
    spot_feed_id=SPOT_FEED_ID,
    spot_feed=f"{_HERE}.build:build_price_feed",  # `gate_io` (spot) and its perpetual ids as price sources
    spot_server=f"{_HERE}.server.spot:make_spot_server",
    server=f"{_HERE}.server:make_server",
    public_time_path=SERVER_TIME_PATH,
)
