"""OKX v5 USDT-margined swaps (`BTC-USDT-SWAP`): every literal the client and the server share.

Plain module data and functions (connector ids, hosts, symbol mapping, contract sizes, paths,
channels, capabilities), so the kit can wrap it in a `VenueSpec`. Sources:
reference/exchange_apis_more.md §G (OKX v5 docs), §L, §O; exchange_apis.md §C1.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Final

from pmm.connectors.common.venue_spec import Capabilities, Hosts, SymbolMapping, VenueSpec

# --- connector ids and hosts ----------------------------------------------------------------------

VENUE: Final = "okx"
CONNECTOR_ID: Final = "okx_perpetual"
TESTNET_CONNECTOR_ID: Final = "okx_perpetual_testnet"   # OKX demo trading
PAPER_TRADE_CONNECTOR_ID: Final = "okx_perpetual_paper_trade"
CONNECTOR_IDS: Final = (CONNECTOR_ID, TESTNET_CONNECTOR_ID, PAPER_TRADE_CONNECTOR_ID)

# Demo trading uses the live REST host plus this header ("1"); python-okx always sends it ("0" live).
SIMULATED_TRADING_HEADER: Final = "x-simulated-trading"
# The docs name openapi.okx.com (2026-06); www.okx.com (ccxt, python-okx) serves the same paths.
REST_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "https://openapi.okx.com",
    TESTNET_CONNECTOR_ID: "https://openapi.okx.com",
}
# The WebSocket host; `ws_endpoint` appends /ws/v5 and the public, private or business path.
WS_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "wss://ws.okx.com:8443",
    TESTNET_CONNECTOR_ID: "wss://wspap.okx.com:8443",
}
WS_BASE_PATH: Final = "/ws/v5"
WS_PUBLIC_PATH: Final = "/public"
WS_PRIVATE_PATH: Final = "/private"
WS_BUSINESS_PATH: Final = "/business"  # candles and algo-order pushes


def ws_endpoint(ws_url: str, path: str) -> str:
    """The URL of one socket: a host (or a URL already ending in /ws/v5) + /ws/v5 + `path`."""
    base = ws_url.rstrip("/")
    return (base if base.endswith(WS_BASE_PATH) else base + WS_BASE_PATH) + path


def is_demo(connector_id: str) -> bool:
    return connector_id == TESTNET_CONNECTOR_ID


# --- symbols and contract sizes -------------------------------------------------------------------

INST_TYPE: Final = "SWAP"
SWAP_SUFFIX: Final = "-SWAP"
QUOTE_ASSETS: Final = ("USDT",)


def to_venue_symbol(market: str) -> str:
    """pmm's "BTC-USDT" -> OKX's instId "BTC-USDT-SWAP"."""
    return market.upper() + SWAP_SUFFIX


def from_venue_symbol(inst_id: str) -> str:
    """OKX's instId "BTC-USDT-SWAP" -> pmm's "BTC-USDT" (an instId without the suffix is kept)."""
    return inst_id[:-len(SWAP_SUFFIX)] if inst_id.endswith(SWAP_SUFFIX) else inst_id


def contracts_to_base(contracts: Decimal, ct_val: Decimal, ct_mult: Decimal = Decimal(1)) -> Decimal:
    """Contracts (order, position and book sizes on a SWAP) -> base asset: sz x ctVal x ctMult."""
    return contracts * ct_val * ct_mult


def base_to_contracts(base: Decimal, ct_val: Decimal, lot_sz: Decimal, ct_mult: Decimal = Decimal(1)) -> Decimal:
    """Base asset -> contracts, down to a multiple of `lotSz`: never bigger than asked."""
    contracts = base / (ct_val * ct_mult)
    lots = (contracts / lot_sz).to_integral_value(rounding=ROUND_DOWN)
    return lots * lot_sz


# --- REST paths (envelope {"code": "0", "msg": "", "data": [...]}) ---------------------------------

SERVER_TIME_PATH: Final = "/api/v5/public/time"
INSTRUMENTS_PATH: Final = "/api/v5/public/instruments"
BOOKS_PATH: Final = "/api/v5/market/books"
TICKER_PATH: Final = "/api/v5/market/ticker"
TRADES_PATH: Final = "/api/v5/market/trades"
MARK_PRICE_PATH: Final = "/api/v5/public/mark-price"
INDEX_TICKERS_PATH: Final = "/api/v5/market/index-tickers"
FUNDING_RATE_PATH: Final = "/api/v5/public/funding-rate"
FUNDING_RATE_HISTORY_PATH: Final = "/api/v5/public/funding-rate-history"
ORDER_PATH: Final = "/api/v5/trade/order"                       # POST place, GET one order
BATCH_ORDERS_PATH: Final = "/api/v5/trade/batch-orders"
CANCEL_ORDER_PATH: Final = "/api/v5/trade/cancel-order"
CANCEL_BATCH_PATH: Final = "/api/v5/trade/cancel-batch-orders"
AMEND_ORDER_PATH: Final = "/api/v5/trade/amend-order"
CANCEL_ALL_AFTER_PATH: Final = "/api/v5/trade/cancel-all-after"  # the dead-man switch
ORDERS_PENDING_PATH: Final = "/api/v5/trade/orders-pending"
ORDERS_HISTORY_PATH: Final = "/api/v5/trade/orders-history"
FILLS_PATH: Final = "/api/v5/trade/fills"                        # 3 days
FILLS_HISTORY_PATH: Final = "/api/v5/trade/fills-history"        # 3 months
ALGO_ORDER_PATH: Final = "/api/v5/trade/order-algo"
CANCEL_ALGOS_PATH: Final = "/api/v5/trade/cancel-algos"
ALGO_PENDING_PATH: Final = "/api/v5/trade/orders-algo-pending"
BALANCE_PATH: Final = "/api/v5/account/balance"
POSITIONS_PATH: Final = "/api/v5/account/positions"
ACCOUNT_CONFIG_PATH: Final = "/api/v5/account/config"
SET_POSITION_MODE_PATH: Final = "/api/v5/account/set-position-mode"
SET_LEVERAGE_PATH: Final = "/api/v5/account/set-leverage"
TRADE_FEE_PATH: Final = "/api/v5/account/trade-fee"
BILLS_PATH: Final = "/api/v5/account/bills"                      # 7 days
BILLS_ARCHIVE_PATH: Final = "/api/v5/account/bills-archive"      # 3 months
ASSET_CURRENCIES_PATH: Final = "/api/v5/asset/currencies"        # ccxt loads it with keys set

# Calls whose outcome may be unknown after a timeout (the order may or may not exist).
ORDER_CALL_PATHS: Final = frozenset({ORDER_PATH, BATCH_ORDERS_PATH, CANCEL_ORDER_PATH, CANCEL_BATCH_PATH,
                                     AMEND_ORDER_PATH, ALGO_ORDER_PATH, CANCEL_ALGOS_PATH})

BATCH_MAX: Final = 20           # batch-orders and cancel-batch-orders take at most 20 orders
PAGE_LIMIT: Final = 100         # fills, bills, orders: 100 rows per page
FILLS_RECENT_MS: Final = 3 * 24 * 3600 * 1000   # /trade/fills keeps 3 days, fills-history 3 months
BILLS_RECENT_MS: Final = 7 * 24 * 3600 * 1000   # /account/bills keeps 7 days, bills-archive 3 months
BILL_TYPE_FUNDING: Final = "8"
BILL_SUBTYPE_FUNDING_EXPENSE: Final = "173"
BILL_SUBTYPE_FUNDING_INCOME: Final = "174"

# --- enums on the wire ----------------------------------------------------------------------------

POS_MODE_NET: Final = "net_mode"
POS_MODE_HEDGE: Final = "long_short_mode"
MGN_MODE_CROSS: Final = "cross"
MGN_MODE_ISOLATED: Final = "isolated"
ORD_TYPES: Final = ("limit", "market", "post_only", "fok", "ioc", "optimal_limit_ioc")
ORDER_STATES: Final = ("live", "partially_filled", "filled", "canceled", "mmp_canceled")
CLORDID_MAX_LEN: Final = 32     # case-sensitive alphanumeric, unique among live orders
CANCEL_SOURCE_POST_ONLY: Final = "31"   # a post-only order that would have taken liquidity

# --- WebSocket channels and keepalive -------------------------------------------------------------

CHANNEL_BOOKS: Final = "books"          # 400-level snapshot, then 100 ms increments chained by seqId
CHANNEL_TRADES: Final = "trades"
CHANNEL_MARK_PRICE: Final = "mark-price"
CHANNEL_INDEX_TICKERS: Final = "index-tickers"   # instId is the index, "BTC-USDT"
CHANNEL_FUNDING_RATE: Final = "funding-rate"
CHANNEL_TICKERS: Final = "tickers"
CHANNEL_ORDERS: Final = "orders"
CHANNEL_POSITIONS: Final = "positions"
CHANNEL_ACCOUNT: Final = "account"
CHANNEL_ALGO_ORDERS: Final = "orders-algo"      # on /business
WS_LOGIN_PATH: Final = "/users/self/verify"     # WS login signs ts + "GET" + this
WS_PING: Final = "ping"                          # text frames; the server drops after 30 s of silence
WS_PONG: Final = "pong"
WS_PING_INTERVAL_S: Final = 20.0

# --- capabilities ---------------------------------------------------------------------------------

KEY_PASSPHRASE: Final = True     # OKX keys carry a passphrase (`pmm connect NAME` asks for it)
HEDGE_MODE: Final = True
DEAD_MAN_SWITCH: Final = True    # cancel-all-after {timeOut}: 0 disarms, else 10..120 s
DEAD_MAN_MIN_S: Final = 10
DEAD_MAN_MAX_S: Final = 120
CONDITIONAL_ORDERS: Final = True  # algo orders (ordType "conditional"), trigger on mark or last
SPOT_FEED: Final = None           # no OKX spot feed yet

# --- the registry's description -------------------------------------------------------------------

_HERE = "pmm.connectors.okx_perpetual"

SPEC: Final = VenueSpec(
    venue=CONNECTOR_ID,
    display_name="OKX",
    builder=f"{_HERE}.build:build",
    testnet_id=TESTNET_CONNECTOR_ID,
    paper_trade_id=PAPER_TRADE_CONNECTOR_ID,
    paper_builder=f"{_HERE}.build:build_paper",
    live_hosts=Hosts(rest=REST_URLS[CONNECTOR_ID], ws=WS_URLS[CONNECTOR_ID],
                     public_ws_path=WS_BASE_PATH + WS_PUBLIC_PATH, private_ws_path=WS_BASE_PATH + WS_PRIVATE_PATH),
    testnet_hosts=Hosts(rest=REST_URLS[TESTNET_CONNECTOR_ID], ws=WS_URLS[TESTNET_CONNECTOR_ID],
                        public_ws_path=WS_BASE_PATH + WS_PUBLIC_PATH, private_ws_path=WS_BASE_PATH + WS_PRIVATE_PATH),
    symbols=SymbolMapping("{base}-{quote}" + SWAP_SUFFIX, quote_assets=QUOTE_ASSETS),
    contract_sizes=True,
    capabilities=Capabilities(hedge_mode=HEDGE_MODE, dead_man_switch=DEAD_MAN_SWITCH,
                              conditional_orders=CONDITIONAL_ORDERS, passphrase_name="passphrase"),
    spot_feed_id=None,  # no OKX spot feed yet: `price_source_derivative: okx` is refused at load
    spot_feed=f"{_HERE}.build:build_price_feed",  # its perpetual ids as price sources
    server=f"{_HERE}.server:make_server",
    public_time_path=SERVER_TIME_PATH,
)
