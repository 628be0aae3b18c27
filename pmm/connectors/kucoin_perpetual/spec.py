"""KuCoin Futures USDT-margined perpetuals (`XBTUSDTM`): every literal the client and the server share.

Plain module data and functions (connector ids, hosts, symbol mapping, lot sizes, paths, topics,
capabilities), wrapped in a `VenueSpec` for the registry. Sources: reference/exchange_apis_more.md
§0 item 5, §I (KuCoin's OpenAPI specs in kucoin-universal-sdk), §L, §O.

KuCoin has no futures sandbox: there is no testnet connector id (`pmm exchange-sim
kucoin_perpetual` is the dry run). WebSocket endpoints are not fixed hosts: `POST
/api/v1/bullet-public` (or the signed `bullet-private`) issues a token, the endpoint, the ping
interval and the ping timeout for each connection.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Final

from pmm.connectors.common.venue_spec import Capabilities, Hosts, SymbolMapping, VenueSpec

# --- connector ids and hosts ----------------------------------------------------------------------

CONNECTOR_ID: Final = "kucoin_perpetual"
PAPER_TRADE_CONNECTOR_ID: Final = "kucoin_perpetual_paper_trade"
SPOT_FEED_ID: Final = "kucoin"
NO_TESTNET: Final = ("KuCoin has no futures sandbox (its old sandbox was retired): use "
                     f"`{PAPER_TRADE_CONNECTOR_ID}` for paper trading on the real market data, or "
                     f"`pmm exchange-sim {CONNECTOR_ID}` for a dry run against a simulated KuCoin.")

REST_URL: Final = "https://api-futures.kucoin.com"
SPOT_REST_URL: Final = "https://api.kucoin.com"
# Only a fallback for messages and the spec: the endpoint a socket connects to comes from the bullet.
WS_URL: Final = "wss://ws-api-futures.kucoin.com"

# --- symbols and lot sizes ------------------------------------------------------------------------

QUOTE_ASSETS: Final = ("USDT",)
BASE_ALIASES: Final = (("BTC", "XBT"),)  # KuCoin spells bitcoin XBT on futures
SYMBOLS: Final = SymbolMapping("{base}{quote}M", quote_assets=QUOTE_ASSETS, base_aliases=BASE_ALIASES)


def to_venue_symbol(market: str) -> str:
    """pmm's "BTC-USDT" -> KuCoin's "XBTUSDTM"."""
    return SYMBOLS.to_venue(market.upper())


def from_venue_symbol(symbol: str) -> str:
    """KuCoin's "XBTUSDTM" -> pmm's "BTC-USDT" (a symbol that fits no template is kept)."""
    return SYMBOLS.to_market(symbol) or symbol


def to_spot_symbol(market: str) -> str:
    """pmm's "BTC-USDT" -> KuCoin spot's "BTC-USDT" (spot keeps BTC)."""
    return market.upper()


def lots_to_base(lots: Decimal, multiplier: Decimal) -> Decimal:
    """Lots (order, position and book sizes) -> base asset: lots x multiplier."""
    return lots * multiplier


def base_to_lots(base: Decimal, multiplier: Decimal, lot_size: Decimal) -> Decimal:
    """Base asset -> lots, down to a multiple of `lotSize`: never bigger than asked."""
    steps = (base / multiplier / lot_size).to_integral_value(rounding=ROUND_DOWN)
    return steps * lot_size


# --- REST paths (envelope {"code": "200000", "data": ...}) ----------------------------------------

SERVER_TIME_PATH: Final = "/api/v1/timestamp"
BULLET_PUBLIC_PATH: Final = "/api/v1/bullet-public"
BULLET_PRIVATE_PATH: Final = "/api/v1/bullet-private"
CONTRACTS_ACTIVE_PATH: Final = "/api/v1/contracts/active"
CONTRACT_PATH: Final = "/api/v1/contracts/{symbol}"
LEVEL2_SNAPSHOT_PATH: Final = "/api/v1/level2/snapshot"
TICKER_PATH: Final = "/api/v1/ticker"
TRADE_HISTORY_PATH: Final = "/api/v1/trade/history"
MARK_PRICE_PATH: Final = "/api/v1/mark-price/{symbol}/current"
FUNDING_RATE_PATH: Final = "/api/v1/funding-rate/{symbol}/current"
FUNDING_RATES_PATH: Final = "/api/v1/contract/funding-rates"
ORDERS_PATH: Final = "/api/v1/orders"                              # POST place, GET list, DELETE cancel-all (v1)
ORDER_PATH: Final = "/api/v1/orders/{orderId}"                     # GET one, DELETE cancel
CLIENT_ORDER_PATH: Final = "/api/v1/orders/client-order/{clientOid}"  # GET / DELETE by clientOid
CANCEL_ALL_V3_PATH: Final = "/api/v3/orders"
STOP_ORDERS_PATH: Final = "/api/v1/stopOrders"                     # GET list, DELETE cancel all stops
FILLS_PATH: Final = "/api/v1/fills"
ACCOUNT_OVERVIEW_PATH: Final = "/api/v1/account-overview"
POSITIONS_PATH: Final = "/api/v1/positions"
POSITION_PATH: Final = "/api/v1/position"
CROSS_LEVERAGE_PATH: Final = "/api/v2/changeCrossUserLeverage"
GET_CROSS_LEVERAGE_PATH: Final = "/api/v2/getCrossUserLeverage"
MARGIN_MODE_PATH: Final = "/api/v2/position/getMarginMode"
CHANGE_MARGIN_MODE_PATH: Final = "/api/v2/position/changeMarginMode"
POSITION_MODE_PATH: Final = "/api/v2/position/getPositionMode"
SWITCH_POSITION_MODE_PATH: Final = "/api/v2/position/switchPositionMode"
FUNDING_HISTORY_PATH: Final = "/api/v1/funding-history"

PAGE_SIZE: Final = 100          # orders and fills: at most 1000 a page; 100 keeps answers small
FUNDING_PAGE: Final = 100       # funding-history maxCount
CLIENT_OID_MAX_LEN: Final = 40  # [A-Za-z0-9_-], unique among live orders
OK_CODE: Final = "200000"

# Rate-limit headers on private pools (reset = ms until the pool refills).
RATE_LIMIT_HEADER: Final = "gw-ratelimit-limit"
RATE_REMAINING_HEADER: Final = "gw-ratelimit-remaining"
RATE_RESET_HEADER: Final = "gw-ratelimit-reset"

# --- enums on the wire ----------------------------------------------------------------------------

MARGIN_CROSS: Final = "CROSS"
MARGIN_ISOLATED: Final = "ISOLATED"
POSITION_MODE_ONE_WAY: Final = "0"
POSITION_MODE_HEDGE: Final = "1"
STOP_PRICE_LAST: Final = "TP"   # trade (last) price
STOP_PRICE_MARK: Final = "MP"
STOP_PRICE_INDEX: Final = "IP"

# --- WebSocket topics -----------------------------------------------------------------------------

TOPIC_LEVEL2: Final = "/contractMarket/level2"           # + ":SYMBOL"; `sequence` + 1 per change
TOPIC_EXECUTION: Final = "/contractMarket/execution"     # trades (subject "match")
TOPIC_INSTRUMENT: Final = "/contract/instrument"         # mark.index.price, funding.rate
TOPIC_ANNOUNCEMENT: Final = "/contract/announcement"     # funding.begin / funding.end
TOPIC_TICKER: Final = "/contractMarket/ticker"
TOPIC_TICKER_V2: Final = "/contractMarket/tickerV2"
TOPIC_TRADE_ORDERS: Final = "/contractMarket/tradeOrders"   # all symbols; ":SYMBOL" for one
TOPIC_POSITION: Final = "/contract/position"                # + ":SYMBOL"
TOPIC_POSITION_ALL: Final = "/contract/positionAll"
TOPIC_WALLET: Final = "/contractAccount/wallet"
TOPIC_ADVANCED_ORDERS: Final = "/contractMarket/advancedOrders"  # stop orders
TOPIC_SPOT_LEVEL2: Final = "/market/level2"                 # spot: + ":BTC-USDT"
TOPIC_SPOT_MATCH: Final = "/market/match"

# --- capabilities ---------------------------------------------------------------------------------

HEDGE_MODE: Final = True         # positionSide LONG / SHORT when the account is in hedge mode
DEAD_MAN_SWITCH: Final = False   # KuCoin Futures has no cancel-all-after
CONDITIONAL_ORDERS: Final = True  # stop orders: `stop` up/down, `stopPriceType` TP/MP/IP, reduceOnly

# --- the registry's description -------------------------------------------------------------------

_HERE = "pmm.connectors.kucoin_perpetual"

SPEC: Final = VenueSpec(
    venue=CONNECTOR_ID,
    display_name="KuCoin",
    builder=f"{_HERE}.build:build",
    no_testnet_reason=NO_TESTNET,
    paper_trade_id=PAPER_TRADE_CONNECTOR_ID,
    paper_builder=f"{_HERE}.build:build_paper",
    live_hosts=Hosts(rest=REST_URL, ws=WS_URL),
    symbols=SYMBOLS,
    contract_sizes=True,
    capabilities=Capabilities(hedge_mode=HEDGE_MODE, dead_man_switch=DEAD_MAN_SWITCH,
                              conditional_orders=CONDITIONAL_ORDERS, passphrase_name="passphrase"),
    spot_feed_id=SPOT_FEED_ID,
    spot_feed=f"{_HERE}.build:build_price_feed",
    spot_server=f"{_HERE}.server:make_spot_server",
    server=f"{_HERE}.server:make_server",
    public_time_path=SERVER_TIME_PATH,
)
