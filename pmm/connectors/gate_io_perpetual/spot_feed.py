"""`GateSpotFeed`: Gate *spot* public market data as a pmm `MarketDataFeed`, for
`price_source: external_market` with `price_source_derivative: gate_io` (no keys, no orders).

- Trading rules from `GET /api/v4/spot/currency_pairs/{pair}`: tick `10^-precision`, step
  `10^-amount_precision`, minimum size `min_base_amount`, minimum notional `min_quote_amount`; a
  pair Gate does not list (or does not trade) is a config error naming `price_source_market`.
- Order book: `spot.order_book_update` (`[pair, "100ms"]`) on `/ws/v4/`, synced by the same id rule
  as the futures book (`feed.GateFeed`): a REST snapshot `GET /api/v4/spot/order_book?with_id=true`,
  pushes with `u` < id+1 dropped, the first applied spanning id+1, then `U` = the last `u` + 1; a
  gap rebuilds. Spot levels are `[price, amount]` pairs in the base asset, not contracts.
- Trades: `spot.trades` (one trade per push, `side` the taker's). Spot has no mark price or funding.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from pmm.connectors.common.payloads import Payload, book_levels, dec
from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.feed import GateFeed
from pmm.connectors.gate_io_perpetual.parse import BookUpdate, Contract, seconds
from pmm.connectors.gate_io_perpetual.rest import GateRestClient
from pmm.connectors.gate_io_perpetual.streams import Sub
from pmm.core.clock import Clock
from pmm.core.events import BookSnapshot, Trade
from pmm.core.model import ZERO, Side, TradeId, TradingRules
from pmm.errors import ConfigError, PmmError

_ONE = Decimal(1)


def parse_spot_pair(row: Payload, market: str) -> TradingRules:
    """GET /spot/currency_pairs/{pair} -> the pair's trading rules (refused unless tradable)."""
    pair = spec.to_venue_symbol(market)
    if row.get("id") != pair:
        raise _unlisted(market)
    if row.get("trade_status") not in (None, "tradable"):
        raise ConfigError(f"Gate spot {pair} is not tradable (trade_status {row.get('trade_status')}); choose "
                          "another `price_source_market`.")
    step = Decimal(1).scaleb(-int(row["amount_precision"]))
    return TradingRules(market, str(row.get("base") or market.split("-")[0]), str(row.get("quote") or "USDT"),
                        Decimal(1).scaleb(-int(row["precision"])), step, dec(row.get("min_base_amount") or str(step)),
                        dec(row.get("min_quote_amount") or "0"), 1)


def _unlisted(market: str) -> ConfigError:
    return ConfigError(f"Gate spot does not list `{spec.to_venue_symbol(market)}` (`price_source_market` {market}). "
                       "Use a pair Gate trades on spot, such as BTC-USDT, or another `price_source_derivative`.")


def parse_spot_update(result: Payload, recv_ts: float) -> BookUpdate:
    """A `spot.order_book_update` push: `U`..`u`, levels `[price, amount]` (0 removes), `t` in ms."""
    return BookUpdate(int(result["U"]), int(result["u"]), result.get("full") is True,
                      book_levels(result.get("b") or ()), book_levels(result.get("a") or ()),
                      int(str(result["t"])) / 1000 if result.get("t") else recv_ts)


def parse_spot_snapshot(body: Payload, market: str, recv_ts: float) -> tuple[int, BookSnapshot]:
    """GET /spot/order_book?with_id=true -> (id, snapshot); `current` is in ms on spot."""
    current = body.get("current")
    ts = int(str(current)) / 1000 if current not in (None, "") else recv_ts
    return int(body["id"]), BookSnapshot(market, book_levels(body.get("bids", ())), book_levels(body.get("asks", ())),
                                         int(body["id"]), ts, recv_ts)


def parse_spot_trade(row: Payload, market: str, recv_ts: float) -> Trade:
    side = {"buy": Side.BUY, "sell": Side.SELL}[str(row["side"])]
    ts = float(str(row["create_time_ms"])) / 1000 if row.get("create_time_ms") else seconds(row.get("create_time"))
    return Trade(market, TradeId(str(row["id"])), dec(row["price"]), dec(row["amount"]), side, ts or recv_ts, recv_ts)


class GateSpotFeed(GateFeed):
    """Gate spot public market data (see module docstring). `rest` needs no keys."""

    book_channel, trades_channel, ping_channel = (spec.SPOT_CHANNEL_BOOK_UPDATE, spec.SPOT_CHANNEL_TRADES,
                                                  spec.SPOT_CHANNEL_PING)

    def __init__(self, rest: GateRestClient, *, ws_url: str, clock: Clock, **options: Any) -> None:
        super().__init__(rest, ws_url=ws_url, clock=clock, connector_id=spec.SPOT_FEED_ID, **options)
        self._ws_url = spec.spot_ws_endpoint(ws_url)
        self._rules: dict[str, TradingRules] = {}

    def __repr__(self) -> str:
        return f"GateSpotFeed(rest={self._rest.base_url!r}, ws={self._ws_url!r})"

    async def prepare(self, markets: Sequence[str]) -> None:
        """Load the pairs' trading rules. Idempotent; on a refusal the REST session it opened is
        closed again (nothing else may be holding it yet)."""
        try:
            for market in markets:
                if market not in self._rules:
                    try:
                        row = await self._rest.public(f"{spec.SPOT_PAIRS_PATH}/{spec.to_venue_symbol(market)}")
                    except PmmError:
                        raise _unlisted(market) from None
                    rules = self._rules[market] = parse_spot_pair(row, market)
                    # Spot sizes are base units already: the book converts with a multiplier of 1.
                    self._contracts[market] = Contract(market, spec.to_venue_symbol(market), rules.base, rules.quote,
                                                       rules.tick_size, _ONE, ZERO, 1, ZERO, ZERO)
        except BaseException:
            await self._rest.close_if_unused()
            raise

    def trading_rules(self, market: str) -> TradingRules:
        rules = self._rules.get(market)
        if rules is None:
            raise RuntimeError(f"trading rules of {market} are not loaded: await GateSpotFeed.prepare([{market!r}])")
        return rules

    def _subscriptions(self, name: str) -> list[Sub]:
        return [Sub(spec.SPOT_CHANNEL_BOOK_UPDATE, (name, spec.BOOK_INTERVAL)), Sub(spec.SPOT_CHANNEL_TRADES, (name,))]

    async def _read_contract_funding(self, market: str) -> None:
        return None  # spot has no mark price or funding

    async def _read_snapshot(self, contract: Contract) -> tuple[int, BookSnapshot]:
        body = await self._rest.public(spec.SPOT_ORDER_BOOK_PATH, [
            ("currency_pair", contract.name), ("limit", str(spec.BOOK_LEVELS)), ("with_id", "true")])
        return parse_spot_snapshot(body, contract.market, self._clock.now())

    def _book_update(self, result: dict[str, Any], contract: Contract, recv_ts: float) -> BookUpdate:
        return parse_spot_update(result, recv_ts)

    def _trades(self, result: Any, recv_ts: float) -> list[Trade]:
        rows = result if isinstance(result, list) else [result] if isinstance(result, dict) else []
        trades = []
        for row in rows:
            market = self._market_of(row.get("currency_pair"))
            if market is not None:
                trades.append(parse_spot_trade(row, market, recv_ts))
        return trades
