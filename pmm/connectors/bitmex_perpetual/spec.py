"""BitMEX USDT-margined linear perpetuals (`XBTUSDT`, `ETHUSDT`): every literal client and server share.

Plain module data and functions (connector ids, hosts, symbol mapping, contract sizes, paths,
tables, capabilities), so the kit can wrap it in a `VenueSpec`. Sources: BitMEX's API explorer
(swagger 1.2.0 definitions of Order, Execution, Position, Margin, Instrument, OrderBookL2) and
reference/exchange_apis_more.md §P (what ccxt and bitmex-ws send and expect back).

BitMEX's inverse contracts (`XBTUSD`, margined in XBt) are out of scope: pmm's simulator and its
accounting are linear and USDT-margined, so a market that names one is refused with that reason.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Final

from pmm.connectors.common.venue_spec import Capabilities, Hosts, SymbolMapping, VenueSpec

# --- connector ids and hosts ----------------------------------------------------------------------

VENUE: Final = "bitmex"
CONNECTOR_ID: Final = "bitmex_perpetual"
TESTNET_CONNECTOR_ID: Final = "bitmex_perpetual_testnet"   # testnet.bitmex.com
PAPER_TRADE_CONNECTOR_ID: Final = "bitmex_perpetual_paper_trade"
CONNECTOR_IDS: Final = (CONNECTOR_ID, TESTNET_CONNECTOR_ID, PAPER_TRADE_CONNECTOR_ID)

REST_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "https://www.bitmex.com",
    TESTNET_CONNECTOR_ID: "https://testnet.bitmex.com",
}
WS_URLS: Final[dict[str, str]] = {
    CONNECTOR_ID: "wss://ws.bitmex.com",
    TESTNET_CONNECTOR_ID: "wss://ws.testnet.bitmex.com",
}
WS_PATH: Final = "/realtime"   # one socket for public and private tables


def ws_endpoint(ws_url: str) -> str:
    """The socket's URL: a host (or a URL already ending in /realtime) + /realtime."""
    base = ws_url.rstrip("/")
    return base if base.endswith(WS_PATH) else base + WS_PATH


# --- symbols and contract sizes -------------------------------------------------------------------

QUOTE_ASSETS: Final = ("USDT",)
BASE_ALIASES: Final = (("BTC", "XBT"),)   # BitMEX spells bitcoin XBT
SETTLE_CURRENCY: Final = "USDt"           # BitMEX's name of USDT as a margin currency
LINEAR_PERPETUAL_TYP: Final = "FFWCSX"    # instrument `typ` of a perpetual swap
_PMM_BASE: Final = {venue: ours for ours, venue in BASE_ALIASES}


def to_venue_symbol(market: str) -> str:
    """pmm's "BTC-USDT" -> BitMEX's "XBTUSDT"."""
    base, _, quote = market.upper().partition("-")
    return dict(BASE_ALIASES).get(base, base) + quote


def from_venue_symbol(symbol: str) -> str:
    """BitMEX's "XBTUSDT" -> pmm's "BTC-USDT" (a symbol without a known quote is kept)."""
    for quote in QUOTE_ASSETS:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            base = symbol[:-len(quote)]
            return f"{_PMM_BASE.get(base, base)}-{quote}"
    return symbol


SPOT_FEED_ID: Final = "bitmex"   # BitMEX's spot market data, a price source (`price_source_derivative`)
SPOT_TYP: Final = "IFXXXP"        # instrument `typ` of a spot pair


def to_spot_symbol(market: str) -> str:
    """pmm's "BTC-USDT" -> BitMEX's spot pair "XBT_USDT"."""
    base, _, quote = market.upper().partition("-")
    return f"{dict(BASE_ALIASES).get(base, base)}_{quote}"


def from_spot_symbol(symbol: str) -> str:
    """BitMEX's "XBT_USDT" -> pmm's "BTC-USDT" (a symbol without "_" is kept)."""
    base, sep, quote = symbol.partition("_")
    return f"{_PMM_BASE.get(base, base)}-{quote}" if sep else symbol


def is_inverse_market(market: str) -> bool:
    """A market BitMEX margins in the base coin ("BTC-USD" is XBTUSD): out of scope."""
    return market.upper().partition("-")[2] == "USD"


def contracts_to_base(contracts: Decimal, multiplier: Decimal) -> Decimal:
    """Contracts (orders, book, trades, fills, positions) -> base asset: qty / underlyingToPositionMultiplier."""
    return contracts / multiplier


def base_to_contracts(base: Decimal, multiplier: Decimal, lot_size: Decimal) -> Decimal:
    """Base asset -> contracts, down to a multiple of `lotSize`: never bigger than asked."""
    lots = (base * multiplier / lot_size).to_integral_value(rounding=ROUND_DOWN)
    return lots * lot_size


# --- REST paths (answers are the rows themselves; errors {"error": {"message", "name"}}) ---------

API_PREFIX: Final = "/api/v1"
INSTRUMENT_PATH: Final = API_PREFIX + "/instrument"
INSTRUMENT_ACTIVE_PATH: Final = API_PREFIX + "/instrument/active"
ORDER_BOOK_PATH: Final = API_PREFIX + "/orderBook/L2"
TRADE_PATH: Final = API_PREFIX + "/trade"
FUNDING_PATH: Final = API_PREFIX + "/funding"                  # settled funding rates (public)
ORDER_PATH: Final = API_PREFIX + "/order"                      # POST place, PUT amend, DELETE cancel, GET list
ORDER_ALL_PATH: Final = API_PREFIX + "/order/all"              # DELETE: cancel-all
CANCEL_ALL_AFTER_PATH: Final = API_PREFIX + "/order/cancelAllAfter"  # the dead-man switch
EXECUTION_PATH: Final = API_PREFIX + "/execution"
TRADE_HISTORY_PATH: Final = API_PREFIX + "/execution/tradeHistory"   # balance-affecting executions
POSITION_PATH: Final = API_PREFIX + "/position"
LEVERAGE_PATH: Final = API_PREFIX + "/position/leverage"
ISOLATE_PATH: Final = API_PREFIX + "/position/isolate"         # enabled true = isolated, false = cross
MARGIN_PATH: Final = API_PREFIX + "/user/margin"
WALLET_PATH: Final = API_PREFIX + "/user/wallet"
COMMISSION_PATH: Final = API_PREFIX + "/user/commission"
WALLET_ASSETS_PATH: Final = API_PREFIX + "/wallet/assets"      # ccxt loads it first
USER_PATH: Final = API_PREFIX + "/user"
ROOT_PATH: Final = API_PREFIX + "/"                            # public: {"name", "version", "timestamp"}

ORDER_CALL_PATHS: Final = frozenset({ORDER_PATH, ORDER_ALL_PATH})
PAGE_LIMIT: Final = 500          # `count` of a list: at most 500 rows (1000 on some tables)
CLORDID_MAX_LEN: Final = 36

# --- enums on the wire ----------------------------------------------------------------------------

ORD_TYPES: Final = ("Limit", "Market", "Stop", "StopLimit")
EXEC_POST_ONLY: Final = "ParticipateDoNotInitiate"
EXEC_REDUCE_ONLY: Final = "ReduceOnly"
EXEC_CLOSE: Final = "Close"
EXEC_MARK_PRICE: Final = "MarkPrice"     # trigger a stop on the mark price
EXEC_LAST_PRICE: Final = "LastPrice"
EXEC_TYPE_TRADE: Final = "Trade"
EXEC_TYPE_FUNDING: Final = "Funding"
ORDER_STATES: Final = ("New", "PartiallyFilled", "Filled", "Canceled", "Rejected", "Expired", "Stopped",
                       "Untriggered", "Triggered", "PendingNew", "PendingCancel")
# The `text` BitMEX gives a post-only order it canceled because it would have taken liquidity.
POST_ONLY_CANCEL_TEXT: Final = "Canceled: Order had execInst of ParticipateDoNotInitiate"

# --- WebSocket tables and keepalive ---------------------------------------------------------------

TABLE_BOOK: Final = "orderBookL2"          # full depth, rows keyed by (symbol, id, side)
TABLE_BOOK_25: Final = "orderBookL2_25"
TABLE_TRADE: Final = "trade"
TABLE_INSTRUMENT: Final = "instrument"     # mark, index (indicativeSettlePrice), funding rate and time
TABLE_QUOTE: Final = "quote"
TABLE_ORDER: Final = "order"
TABLE_EXECUTION: Final = "execution"       # fills and funding (execType Funding)
TABLE_POSITION: Final = "position"
TABLE_MARGIN: Final = "margin"
TABLE_WALLET: Final = "wallet"
PRIVATE_TABLES: Final = (TABLE_ORDER, TABLE_EXECUTION, TABLE_POSITION, TABLE_MARGIN, TABLE_WALLET)
BOOK_KEYS: Final = ("symbol", "id", "side")
WS_AUTH_METHOD: Final = "GET"              # authKeyExpires signs GET + /realtime + expires
WS_PING: Final = "ping"
WS_PONG: Final = "pong"
WS_PING_INTERVAL_S: Final = 5.0            # BitMEX: ping when nothing arrived for 5 s

# --- capabilities ---------------------------------------------------------------------------------

HEDGE_MODE: Final = False        # one position per symbol: BitMEX has no hedge mode
DEAD_MAN_SWITCH: Final = True    # cancelAllAfter {timeout ms}; 0 disarms
DEAD_MAN_MIN_S: Final = 15       # BitMEX suggests renewing every 15 s with a 60 s timeout
DEAD_MAN_MAX_S: Final = 600
CONDITIONAL_ORDERS: Final = True  # Stop / StopLimit with execInst ReduceOnly (and MarkPrice)
MARGIN_SCALE: Final = Decimal(1_000_000)   # USDt margin and wallet figures are millionths

# --- the registry's description -------------------------------------------------------------------

_HERE = "pmm.connectors.bitmex_perpetual"

SPEC: Final = VenueSpec(
    venue=CONNECTOR_ID,
    display_name="BitMEX",
    builder=f"{_HERE}.build:build",
    testnet_id=TESTNET_CONNECTOR_ID,
    paper_trade_id=PAPER_TRADE_CONNECTOR_ID,
    paper_builder=f"{_HERE}.build:build_paper",
    live_hosts=Hosts(rest=REST_URLS[CONNECTOR_ID], ws=WS_URLS[CONNECTOR_ID], public_ws_path=WS_PATH,
                     private_ws_path=WS_PATH),
    testnet_hosts=Hosts(rest=REST_URLS[TESTNET_CONNECTOR_ID], ws=WS_URLS[TESTNET_CONNECTOR_ID],
                        public_ws_path=WS_PATH, private_ws_path=WS_PATH),
    symbols=SymbolMapping("{base}{quote}", quote_assets=QUOTE_ASSETS, base_aliases=BASE_ALIASES),
    contract_sizes=True,
    capabilities=Capabilities(hedge_mode=HEDGE_MODE, dead_man_switch=DEAD_MAN_SWITCH,
                              conditional_orders=CONDITIONAL_ORDERS),
    spot_feed_id=SPOT_FEED_ID,  # the spot pairs (XBT_USDT) as a price source
    spot_feed=f"{_HERE}.build:build_price_feed",  # and its perpetual ids
    spot_server=f"{_HERE}.server:make_spot_server",
    server=f"{_HERE}.server:make_server",
    public_time_path=ROOT_PATH,
)
