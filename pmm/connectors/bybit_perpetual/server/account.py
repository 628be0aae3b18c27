"""Account and position endpoints of the Bybit server: position list, leverage, position mode,
margin mode (UTA account-wide `set-margin-mode` and classic per-symbol `switch-isolated`), wallet,
transaction log, fee rates, and the account/key information ccxt reads before its first private
call (exchange_apis.md §B3, §D4).

The simulator's settings are account-wide for the position mode and per market for leverage and
margin mode; Bybit's switch-mode takes a symbol or a coin and set-margin-mode is account-wide, so
both apply to every market. Refusals use Bybit's codes: 110043 leverage not modified, 110025 mode
not modified, 110024 / 110028 a position / open orders exist, 110026 margin mode not modified.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server import params as p
from pmm.connectors.bybit_perpetual.constants import RetCode as R
from pmm.connectors.bybit_perpetual.server.auth import RawRequest
from pmm.connectors.bybit_perpetual.server.codes import BybitApiError, api_error, param_error
from pmm.connectors.bybit_perpetual.server.ledger import Ledger
from pmm.connectors.bybit_perpetual.server.views import AccountViews
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap
from pmm.connectors.common.numbers import ms, parse_decimal, plain
from pmm.core.clock import Clock
from pmm.core.model import MarginMode, PositionMode
from pmm.sim.exchange import SimExchange

_DAY_MS = 24 * 3600 * 1000


class AccountHandlers:
    def __init__(self, exchange: SimExchange, symbols: SymbolMap, ledger: Ledger,
                 views: AccountViews, clock: Clock, api_key: str,
                 on_settings_changed: Callable[[str, float], None]) -> None:
        self._exchange = exchange
        self._symbols = symbols
        self._ledger = ledger
        self._views = views
        self._clock = clock
        self._api_key = api_key
        self._changed = on_settings_changed

    # --- positions and settings -----------------------------------------------------------------

    async def position_list(self, req: RawRequest) -> dict[str, Any]:
        category = p.category(req)
        if category in (c.CATEGORY_INVERSE, c.CATEGORY_OPTION):
            # The simulated account trades linear contracts only; a real account holding no inverse
            # or option position gets an empty list (ccxt.pro's watch_positions asks for inverse).
            return {"category": category, "list": [], "nextPageCursor": ""}
        symbol = p.linear_symbol_if_any(req, self._symbols)
        settle_coin = req.text("settleCoin")
        if symbol is None and settle_coin is None:
            raise param_error("params error: symbol or settleCoin is required")
        size = p.limit(req, 20, c.POSITION_PAGE_LIMIT)
        rows = self._views.positions(symbol, include_empty=symbol is not None)
        if settle_coin is not None:
            rows = [r for r in rows if self._symbols.grid(r["symbol"]).rules.quote == settle_coin]
        chunk, cursor = p.page(rows, req, size)
        return {"category": c.CATEGORY_LINEAR, "list": chunk, "nextPageCursor": cursor}

    def _leverage(self, req: RawRequest, name: str, max_leverage: int) -> int:
        value = parse_decimal(req.text(name))
        if value is None or value != value.to_integral_value() or not 1 <= value <= max_leverage:
            raise param_error(f"params error: {name} invalid: the simulated venue takes whole leverage from 1 to "
                              f"{max_leverage}, was {req.text(name)}")
        return int(value)

    async def set_leverage(self, req: RawRequest) -> dict[str, Any]:
        symbol, market = p.linear_symbol(req, self._symbols)
        max_leverage = self._symbols.grid(symbol).rules.max_leverage
        buy = self._leverage(req, "buyLeverage", max_leverage)
        sell = self._leverage(req, "sellLeverage", max_leverage)
        if buy != sell:
            raise param_error("params error: buyLeverage must equal sellLeverage (one leverage per symbol here)")
        if buy == self._exchange.leverage(market):
            raise api_error(R.LEVERAGE_NOT_MODIFIED)
        self._exchange.set_leverage(market, buy)
        self._changed(market, self._clock.now())
        return {}

    def _busy(self, markets: list[str]) -> BybitApiError | None:
        """110024 when a position exists, 110028 when open orders do (position mode rules)."""
        if any(pos.market in markets for pos in self._exchange.positions()):
            return api_error(R.MODE_HAS_POSITION)
        if any(order.market in markets for order in self._exchange.open_orders()):
            return api_error(R.MODE_HAS_ORDERS)
        return None

    async def switch_mode(self, req: RawRequest) -> dict[str, Any]:
        symbol = p.linear_symbol_if_any(req, self._symbols)
        if symbol is None and req.text("coin") is None:
            raise param_error("params error: symbol or coin is required")
        mode_code = p.integer(req, "mode")
        modes = {c.POSITION_MODE_MERGED_SINGLE: PositionMode.ONEWAY, c.POSITION_MODE_BOTH_SIDES: PositionMode.HEDGE}
        if mode_code not in modes:
            raise param_error("params error: mode must be 0 (one-way) or 3 (hedge)")
        mode = modes[mode_code]
        if mode is self._exchange.position_mode():
            raise api_error(R.POSITION_MODE_NOT_MODIFIED)
        busy = self._busy(self._exchange.markets())
        if busy is not None:
            raise busy
        self._exchange.set_position_mode(mode)
        return {}

    async def switch_isolated(self, req: RawRequest) -> dict[str, Any]:
        """Classic accounts' per-symbol margin mode: tradeMode 0 cross, 1 isolated, with leverage."""
        symbol, market = p.linear_symbol(req, self._symbols)
        trade_mode = p.integer(req, "tradeMode")
        if trade_mode not in (c.TRADE_MODE_CROSS, c.TRADE_MODE_ISOLATED):
            raise param_error("params error: tradeMode must be 0 (cross) or 1 (isolated)")
        max_leverage = self._symbols.grid(symbol).rules.max_leverage
        buy = self._leverage(req, "buyLeverage", max_leverage)
        mode = MarginMode.ISOLATED if trade_mode == c.TRADE_MODE_ISOLATED else MarginMode.CROSS
        if mode is self._exchange.margin_mode(market):
            raise api_error(R.MARGIN_MODE_NOT_MODIFIED)
        busy = self._busy([market])
        if busy is not None:
            raise BybitApiError(int(busy.code), "Margin mode cannot be switched while a position or open orders "
                                               "exist")
        self._exchange.set_margin_mode(market, mode)
        if buy != self._exchange.leverage(market):
            self._exchange.set_leverage(market, buy)
        self._changed(market, self._clock.now())
        return {}

    async def set_margin_mode(self, req: RawRequest) -> dict[str, Any]:
        """UTA account-wide margin mode: REGULAR_MARGIN (cross) or ISOLATED_MARGIN for every market."""
        wanted = req.text("setMarginMode")
        modes = {c.MARGIN_MODE_REGULAR: MarginMode.CROSS, c.MARGIN_MODE_ISOLATED: MarginMode.ISOLATED}
        if wanted == c.MARGIN_MODE_PORTFOLIO:
            raise self._margin_mode_failed("3400001", "Portfolio margin is not offered by the simulated venue")
        if wanted not in modes:
            raise param_error("params error: setMarginMode invalid")
        mode = modes[wanted]
        markets = [m for m in self._exchange.markets() if self._exchange.margin_mode(m) is not mode]
        if markets and self._busy(markets) is not None:
            raise self._margin_mode_failed("3400208", "You have open positions or orders; close them before "
                                                      "switching the margin mode")
        for market in markets:
            self._exchange.set_margin_mode(market, mode)
            self._changed(market, self._clock.now())
        return {"reasons": []}

    @staticmethod
    def _margin_mode_failed(reason_code: str, reason: str) -> BybitApiError:
        err = api_error(R.SET_MARGIN_MODE_FAILED_ACCOUNT)
        err.data = {"reasons": [{"reasonCode": reason_code, "reasonMsg": reason}]}
        return err

    # --- wallet and history ---------------------------------------------------------------------

    async def wallet_balance(self, req: RawRequest) -> dict[str, Any]:
        account_type = req.text("accountType")
        if account_type is None:
            raise param_error("params error: accountType is required")
        if account_type != c.ACCOUNT_TYPE_UNIFIED:
            raise param_error("accountType only support UNIFIED.")
        coin = req.text("coin")
        coins = set(coin.split(",")) if coin is not None else None
        return {"list": [self._views.wallet(coins)]}

    async def transaction_log(self, req: RawRequest) -> dict[str, Any]:
        account_type = req.text("accountType")
        if account_type is not None and account_type != c.ACCOUNT_TYPE_UNIFIED:
            raise param_error("accountType only support UNIFIED.")
        category = p.category(req, required=False)
        currency, base, kind = req.text("currency"), req.text("baseCoin"), req.text("type")
        size = p.limit(req, c.TRANSACTION_LOG_DEFAULT_LIMIT, c.TRANSACTION_LOG_PAGE_LIMIT)
        start, end = p.window(req, ms(self._clock.now()), _DAY_MS)
        if end - start > c.HISTORY_WINDOW_MS:
            raise param_error("params error: the time range between startTime and endTime must be <= 7 days")
        rows = [r for r in reversed(self._ledger.transactions)
                if (category is None or r["category"] == category) and (currency is None or r["currency"] == currency)
                and (kind is None or r["type"] == kind) and start <= int(r["transactionTime"]) <= end
                and (base is None or self._symbols.grid(r["symbol"]).rules.base == base)]
        chunk, cursor = p.page(rows, req, size)
        return {"list": chunk, "nextPageCursor": cursor}

    async def fee_rate(self, req: RawRequest) -> dict[str, Any]:
        p.linear(req, required=False)
        symbol = p.symbol(req, self._symbols, required=False)
        settings = self._exchange.settings
        symbols = [symbol] if symbol is not None else self._symbols.symbols()
        return {"list": [{"symbol": s, "baseCoin": "", "takerFeeRate": plain(settings.taker_fee),
                          "makerFeeRate": plain(settings.maker_fee)} for s in symbols]}

    # --- what ccxt reads first --------------------------------------------------------------------

    async def account_info(self, req: RawRequest) -> dict[str, Any]:
        isolated = any(self._exchange.margin_mode(m) is MarginMode.ISOLATED for m in self._exchange.markets())
        return {"unifiedMarginStatus": c.UNIFIED_MARGIN_STATUS_UTA2,
                "marginMode": c.MARGIN_MODE_ISOLATED if isolated else c.MARGIN_MODE_REGULAR,
                "isMasterTrader": False, "spotHedgingStatus": "OFF", "updatedTime": str(ms(self._clock.now())),
                "dcpStatus": "OFF", "timeWindow": 10, "smpGroup": 0}

    async def query_api(self, req: RawRequest) -> dict[str, Any]:
        # A Unified Trading Account reports `unified` 0 and `uta` 1; `unified` 1 is the older Unified
        # Margin Account, on which ccxt.pro's watch_balance waits for the wrong topic (§D6).
        return {"id": "1", "note": "pmm simulated venue", "apiKey": self._api_key, "readOnly": 0, "secret": "",
                "permissions": {"ContractTrade": ["Order", "Position"], "Spot": [], "Wallet": ["AccountTransfer"],
                                "Options": [], "Derivatives": [], "CopyTrading": [], "BlockTrade": [],
                                "Exchange": [], "NFT": [], "Affiliate": [], "Earn": []},
                "ips": ["*"], "type": 1, "deadlineDay": -1, "expiredAt": "", "createdAt": "2026-01-01T00:00:00Z",
                "unified": 0, "uta": 1, "userID": 1, "inviterID": 0, "vipLevel": "No VIP", "mktMakerLevel": "0",
                "affiliateID": 0, "rsaPublicKey": "", "isMaster": True, "parentUid": "0", "kycLevel": "LEVEL_DEFAULT",
                "kycRegion": ""}

    async def coin_query_info(self, req: RawRequest) -> dict[str, Any]:
        return {"rows": []}
