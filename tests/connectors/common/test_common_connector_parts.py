"""The venue-neutral parts in pmm/connectors/common/ on their own (each venue's tests cover them in use)."""

from __future__ import annotations

import asyncio
import logging
import pickle
from decimal import Decimal
from typing import Any

import pytest

from pmm.connectors.common.account_gateway import AccountGateway, PlacedOrder
from pmm.connectors.common.credentials import HmacCredentials, mask_key
from pmm.connectors.common.error_translation import ErrorTranslator
from pmm.connectors.common.fault_injector import FaultInjector
from pmm.connectors.common.rest_session import SharedRestSession, encode_body, encode_query
from pmm.connectors.common.symbols import ListedSymbols, MarketSymbols
from pmm.core.events import OrderCancelled, OrderFilled
from pmm.core.model import (
    ClientOrderId,
    ExchangeOrderId,
    FillReport,
    Liquidity,
    OrderRequest,
    OrderType,
    PositionSide,
    Side,
    TradeId,
    TradingRules,
)
from pmm.errors import ExchangeUnavailable, OrderError, OrderOutcomeUnknown, RateLimited

D = Decimal


class _Clock:
    def now(self) -> float:
        return 100.0


def test_fault_injector_method_filter_and_counts() -> None:
    faults = FaultInjector()
    faults.fail_next("/order", 503, method="delete", count=2)
    assert faults.take_failure("/order", "POST") is None
    assert faults.take_failure("/order/x", "DELETE") is not None
    assert faults.take_failure("/order", "DELETE") is not None
    assert faults.take_failure("/order", "DELETE") is None  # used up


class _AnyCase(ListedSymbols):
    symbol_of = staticmethod(lambda market: market.replace("-", ""))
    normalize_symbol = staticmethod(str.upper)


class _Quoted(MarketSymbols):
    quote_assets = ("USDT",)
    to_symbol = staticmethod(lambda market: market.replace("-", ""))


def test_symbol_maps_use_the_venue_hooks() -> None:
    rules = TradingRules("BTC-USDT", "BTC", "USDT", D("0.1"), D("0.001"), D("0.001"), D("5"), 100)
    listed = _AnyCase([rules])
    assert listed.symbol("BTC-USDT") == "BTCUSDT" and listed.market("btcusdt") == "BTC-USDT"
    assert listed.grid("BTCUSDT").price(D("100")) == "100.0"
    markets = _Quoted(["BTC-USDT"])
    assert markets("BTCUSDT") == "BTC-USDT" and markets.market("ETHUSDT") == "ETH-USDT"
    assert markets.market("XYZ") == "XYZ"


def _translator(**overrides: Any) -> ErrorTranslator:
    settings: dict[str, Any] = dict(
        venue="Venue", code_name="code", table={7: OrderError, 9: RateLimited}, unknown_outcome_codes=frozenset({1}),
        advice={RateLimited: "", ExchangeUnavailable: "Retrying.", OrderOutcomeUnknown: "Kept in flight."},
        ip_block_status=418, ip_block_message=lambda what, wait: f"banned: {what} ({wait})",
        unavailable_statuses={404: " Check the URL."})
    settings.update(overrides)
    return ErrorTranslator(**settings)


def test_error_translator_rules() -> None:
    t = _translator()
    assert str(t.translate(what="x", status=418, code=None, msg="", order_call=True, retry_after=3)) == "banned: x (3)"
    unknown = t.translate(what="place order a", status=500, code=1, msg="busy", order_call=True)
    assert isinstance(unknown, OrderOutcomeUnknown) and "Kept in flight." in str(unknown)
    limited = t.translate(what="x", status=429, code=None, msg="slow down", order_call=False, retry_after=2.0)
    assert isinstance(limited, RateLimited) and limited.retry_after == 2.0
    assert str(limited) == "Venue refused x: slow down (HTTP 429)."  # empty advice adds nothing
    rejected = t.translate(what="x", status=400, code=7, msg="bad", order_call=True)
    assert isinstance(rejected, OrderError) and rejected.code == "7"
    assert str(t.translate(what="x", status=404, code=None, msg="", order_call=False)) == \
        "Venue refused x: no message (HTTP 404). Check the URL. Retrying."
    assert isinstance(t.translate(what="x", status=400, code=None, msg="", order_call=False), ExchangeUnavailable)


def test_credentials_are_masked_and_refuse_pickling() -> None:
    creds = HmacCredentials("ABCDEFGHIJKL", "s3cret-s3cret", _Clock(), 5000)  # type: ignore[arg-type]
    assert repr(creds) == "HmacCredentials(api_key='ABCD…IJKL')" and "s3cret" not in repr(vars(creds))
    assert mask_key("short") == "****"
    with pytest.raises(TypeError):
        pickle.dumps(creds._secret)
    creds.update_time_offset(100_500, 100.0, 100.0)
    assert creds.timestamp_ms() == 100_500


class _Gateway(AccountGateway):
    def __init__(self, fills: list[FillReport]) -> None:
        super().__init__(object(), connector_id="venue", venue=None, clock=_Clock(), sleep=asyncio.sleep,  # type: ignore[arg-type]
                         log=logging.getLogger("test"), default_fees=(D("0.0002"), D("0.0005")))
        self.live: dict[ClientOrderId, PlacedOrder] = {}
        self.fills = fills
        self.events: list[Any] = []
        self._emit = self.events.append

    def _live_orders(self) -> dict[ClientOrderId, PlacedOrder]:
        return self.live

    async def open_orders(self, market: str) -> list[Any]:
        return []

    async def fills_since(self, ts: float, market: str) -> list[FillReport]:
        return self.fills


def test_settling_a_vanished_order_emits_its_missed_fills_then_ends_it() -> None:
    cid = ClientOrderId("pmm-1")
    request = OrderRequest(cid, "BTC-USDT", Side.BUY, OrderType.LIMIT, D("2"), D("100"))
    fill = FillReport(TradeId("t1"), cid, ExchangeOrderId("9"), "BTC-USDT", Side.BUY, D("100"), D("1"), D("0.01"),
                      "USDT", Liquidity.MAKER, PositionSide.LONG, D("0"), 99.0)
    gateway = _Gateway([fill])
    gateway.live[cid] = PlacedOrder(request, 98.0, exchange_id=ExchangeOrderId("9"))  # side: the fill's
    asyncio.run(gateway._settle_live_orders())
    filled, cancelled = gateway.events
    assert isinstance(filled, OrderFilled) and filled.position_side is PositionSide.LONG and filled.remaining == 1
    assert isinstance(cancelled, OrderCancelled) and cid not in gateway.live
    assert gateway.fee_rates("BTC-USDT") == (D("0.0002"), D("0.0005"))


def test_rest_requests_are_sent_as_signed_and_an_unreadable_answer_is_classified() -> None:
    class Toy(SharedRestSession):
        venue = "Toy"

    query = encode_query([("symbol", "BTCUSDT"), ("cursor", "a b/c"), ("category", "linear")])
    assert query == "symbol=BTCUSDT&cursor=a+b%2Fc&category=linear"  # call order kept, encoded once
    assert encode_body({"qty": "0.01", "side": "Buy"}) == '{"qty":"0.01","side":"Buy"}'
    toy = Toy("https://example.test/", timeout_s=1.0)
    assert str(toy.url("/v5/x", query)) == f"https://example.test/v5/x?{query}"  # not encoded again
    order = toy.unreadable(200, "<html>", what="place order o-1", order_call=True)
    read = toy.unreadable(200, "<html>", what="read balances", order_call=False)
    assert isinstance(order, OrderOutcomeUnknown) and "Toy answered HTTP 200" in str(order)
    assert isinstance(read, ExchangeUnavailable) and not isinstance(read, OrderOutcomeUnknown)
