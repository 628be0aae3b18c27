"""Bybit server answers carry every field of Bybit's documented examples (the verbatim doc payloads
kept by the client tests in fixtures/, exchange_apis.md §E2), at every nesting level we serve."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from test_server_bybit_kit import StepClock, Venue, run, running, static_settings

from pmm.core.events import Trade
from pmm.core.model import Side, TradeId

FIXTURES = Path(__file__).parent / "fixtures"
# Fields of the docs' examples the simulated venue does not serve (newer, or another product's).
NOT_SERVED = {"symbolId"}
OPEN_MAPS = {"cumFeeDetail"}  # coin -> amount: the keys are data, not field names


def _doc(name: str) -> Any:
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"documented example {name} is not in fixtures/")
    return json.loads(path.read_text())


def _first(payload: Any) -> dict[str, Any]:
    body = payload.get("result", payload)
    if isinstance(body, dict) and "list" in body:
        body = body["list"]
    elif isinstance(body, dict) and "data" in body:
        body = body["data"]
    return body[0] if isinstance(body, list) else body


def _missing(documented: dict[str, Any], ours: dict[str, Any], where: str = "") -> list[str]:
    gaps = []
    for key, value in documented.items():
        if key in NOT_SERVED:
            continue
        if key not in ours:
            gaps.append(where + key)
        elif isinstance(value, dict) and value and isinstance(ours[key], dict) and key not in OPEN_MAPS:
            gaps += _missing(value, ours[key], f"{where}{key}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict) and ours[key]:
            gaps += _missing(value[0], ours[key][0], f"{where}{key}[].")
    return gaps


async def _served(venue: Venue) -> dict[str, dict[str, Any]]:
    """One answer / message of each kind from a venue that traded, paid funding and streamed."""
    public = await venue.ws()
    await public.send({"op": "subscribe", "args": ["orderbook.50.BTCUSDT", "tickers.BTCUSDT"]})
    await public.recv()
    book, ticker = await public.recv(), await public.recv()
    private = await venue.private()
    await venue.order("Buy", "0.5", "64000", link="resting")
    await venue.order("Buy", "1", link="taker")
    venue.step(venue.exchange.funding_info("BTC-USDT").next_funding_ts - venue.clock.now())
    pushed: dict[str, dict[str, Any]] = {}
    for msg in await private.drain(0.1):
        pushed.setdefault(msg["topic"], msg)
    await public.send({"op": "subscribe", "args": ["publicTrade.BTCUSDT"]})
    await public.until(lambda m: m.get("op") == "subscribe")
    now = venue.clock.now()
    venue.server.streams.on_public(Trade("BTC-USDT", TradeId("t1"), Decimal("65001"), Decimal("0.1"), Side.SELL,
                                         now, now))
    trade = await public.until(lambda m: m.get("topic") == "publicTrade.BTCUSDT")
    get = venue.get
    return {
        "rest_instruments_info.json": _first((await get("/v5/market/instruments-info", {"category": "linear"},
                                                        signed=False)).body),
        "rest_tickers_inverse.json": _first((await get("/v5/market/tickers", {"category": "linear"},
                                                       signed=False)).body),
        "rest_open_orders.json": _first((await get("/v5/order/realtime", {"category": "linear"})).body),
        "rest_execution_list.json": _first((await get("/v5/execution/list", {"category": "linear"})).body),
        "rest_position_list.json": _first((await get("/v5/position/list", {"category": "linear",
                                                                            "symbol": "BTCUSDT"})).body),
        "rest_wallet_balance.json": _first((await get("/v5/account/wallet-balance",
                                                      {"accountType": "UNIFIED"})).body),
        "rest_transaction_log_settlement.json": _first((await get("/v5/account/transaction-log",
                                                                  {"accountType": "UNIFIED"})).body),
        "rest_fee_rate.json": _first((await get("/v5/account/fee-rate", {"category": "linear"})).body),
        "rest_server_time.json": (await get("/v5/market/time", signed=False)).body["result"],
        "rest_create_order.json": (await venue.order("Buy", "0.01", "60000")).body["result"],
        "ws_orderbook_snapshot.json": book,
        "ws_ticker_snapshot.json": ticker,
        "ws_public_trade.json": trade,
        "ws_order_option_filled.json": pushed["order"],
        "ws_execution_taker_fill.json": pushed["execution"],
        "ws_position_hedge.json": pushed["position"],
        "ws_wallet.json": pushed["wallet"],
    }


DOCUMENTED = ["rest_instruments_info.json", "rest_tickers_inverse.json", "rest_open_orders.json",
              "rest_execution_list.json", "rest_position_list.json", "rest_wallet_balance.json",
              "rest_transaction_log_settlement.json", "rest_fee_rate.json", "rest_server_time.json",
              "rest_create_order.json", "ws_orderbook_snapshot.json", "ws_ticker_snapshot.json",
              "ws_public_trade.json", "ws_order_option_filled.json", "ws_execution_taker_fill.json",
              "ws_position_hedge.json", "ws_wallet.json"]


@pytest.fixture(scope="module")
def served() -> dict[str, dict[str, Any]]:
    async def go():
        async with running(static_settings(funding_interval_s=60.0), clock=StepClock()) as venue:
            venue.step()
            return await _served(venue)
    return run(go())


@pytest.mark.parametrize("name", DOCUMENTED)
def test_documented_fields_are_served(name, served):
    documented = _doc(name)
    ours = served[name]
    if name.startswith("ws_"):
        assert _missing({k: v for k, v in documented.items() if k != "data"}, ours) == []
        ours, documented = _first(ours), _first(documented)
    else:
        ours, documented = ours, _first(documented)
    assert _missing(documented, ours) == []
