"""Public topic names of the Bybit server: `orderbook.{depth}.{symbol}`, `tickers.{symbol}`,
`publicTrade.{symbol}` (exchange_apis.md §B5), `kline.{interval}.{symbol}`. A name is parsed into
(kind, symbol, depth) or the `ret_msg` Bybit answers a subscription to it with."""

from __future__ import annotations

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.server.klines import INTERVALS
from pmm.connectors.bybit_perpetual.server.wire import SymbolMap

Topic = tuple[str, str, int | None]


class TopicParser:
    def __init__(self, symbols: SymbolMap) -> None:
        self._symbols = symbols

    def parse(self, name: str) -> Topic | str:
        """(kind, symbol, depth) of a public topic, or the error message for it."""
        parts = name.split(".")
        depth: int | None = None
        if len(parts) == 3 and parts[0] + "." == c.TOPIC_ORDERBOOK_PREFIX:
            if not parts[1].isdigit() or int(parts[1]) not in c.SERVER_ORDERBOOK_DEPTHS:
                return c.WS_MSG_HANDLER_NOT_FOUND.format(topic=name)
            kind, depth, symbol = "orderbook", int(parts[1]), parts[2]
        elif len(parts) == 3 and parts[0] + "." == c.TOPIC_KLINE_PREFIX:
            if parts[1] not in INTERVALS:
                return c.WS_MSG_HANDLER_NOT_FOUND.format(topic=name)
            kind, symbol = "kline", parts[2]
        elif len(parts) == 2 and parts[0] + "." in (c.TOPIC_TICKERS_PREFIX, c.TOPIC_PUBLIC_TRADE_PREFIX):
            kind, symbol = ("tickers" if parts[0] + "." == c.TOPIC_TICKERS_PREFIX else "publicTrade"), parts[1]
        else:
            return c.WS_MSG_HANDLER_NOT_FOUND.format(topic=name)
        if self._symbols.market(symbol) is None:
            return c.WS_MSG_INVALID_TOPIC.format(topic=name)
        return kind, symbol, depth
