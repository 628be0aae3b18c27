"""Binance server: every answer and event carries at least the fields of the documented payload,
with the documented JSON types (fixtures: reference/exchange_apis.md §E1, in fixtures/)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from test_server_kit import (
    KEY,
    SYMBOL,
    event_of,
    fixture,
    rest_client,
    run,
    serving,
    static_settings,
    synthetic_settings,
    ws_connect,
)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float | Decimal):
        return "number"
    if value is None:
        return "any"
    return type(value).__name__


# The docs' order examples are trailing-stop orders; these fields exist only for those, and the
# simulator has none (the user-stream equivalents AP/cr are sent, as every documented field is).
TRAILING_STOP_ONLY = {"activatePrice", "priceRate", "callbackRate"}


def shape_problems(actual: Any, documented: Any, where: str = "") -> list[str]:
    """Documented keys missing from `actual`, or present with another JSON type (recursively;
    lists are compared by their first elements)."""
    if documented is None or _kind(documented) == "any":
        return []
    if _kind(actual) != _kind(documented):
        return [f"{where or '.'}: {_kind(actual)} instead of {_kind(documented)} ({actual!r})"]
    if isinstance(documented, dict):
        problems = []
        for key, value in documented.items():
            if key in TRAILING_STOP_ONLY:
                continue
            if key not in actual:
                problems.append(f"{where}.{key}: missing")
            else:
                problems += shape_problems(actual[key], value, f"{where}.{key}")
        return problems
    if isinstance(documented, list) and documented and actual:
        return shape_problems(actual[0], documented[0], f"{where}[0]")
    return []


def check(name: str, actual: Any, collected: dict[str, list[str]]) -> None:
    documented = fixture(name)
    if documented is not None:
        collected[name] = shape_problems(actual, documented)


def test_rest_and_stream_payloads_match_the_documented_shapes() -> None:
    if fixture("rest_new_order.json") is None:
        pytest.skip("the documented payload fixtures (fixtures/rest_*.json, ws_*.json) are not present")
    found: dict[str, list[str]] = {}

    async def scenario() -> None:
        settings = static_settings(rate="0.001", funding_interval_s=0.25)
        async with serving(settings) as server, rest_client(server) as rest:
            _, created, _ = await rest.raw("POST", "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": KEY})
            check("rest_listen_key.json", created, found)
            key = created["listenKey"]
            async with ws_connect(server, f"/private/ws?listenKey={key}") as user, \
                    ws_connect(server, "/ws") as market:
                await market.send({"method": "SUBSCRIBE", "id": 1,
                                   "params": ["btcusdt@depth", "btcusdt@markPrice@1s"]})
                limit = {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "60000",
                         "timeInForce": "GTC"}
                _, new, _ = await rest.signed("POST", "/fapi/v1/order", limit)
                check("rest_new_order.json", new, found)
                _, opened, _ = await rest.signed("GET", "/fapi/v1/openOrders", {"symbol": SYMBOL})
                check("rest_open_orders.json", opened, found)
                _, cancelled, _ = await rest.signed("DELETE", "/fapi/v1/order", {"symbol": SYMBOL,
                                                                                 "orderId": new["orderId"]})
                check("rest_cancel_order.json", cancelled, found)
                await rest.signed("POST", "/fapi/v1/order", {"symbol": SYMBOL, "side": "BUY", "type": "MARKET",
                                                             "quantity": "0.1"})
                _, leverage, _ = await rest.signed("POST", "/fapi/v1/leverage", {"symbol": SYMBOL, "leverage": 21})
                check("rest_leverage.json", leverage, found)
                for name, path, params in [
                    ("rest_account_v3.json", "/fapi/v3/account", {}),
                    ("rest_balance_v3.json", "/fapi/v3/balance", {}),
                    ("rest_position_risk_oneway.json", "/fapi/v3/positionRisk", {"symbol": SYMBOL}),
                    ("rest_position_risk_v2_hedge.json", "/fapi/v2/positionRisk", {"symbol": SYMBOL}),
                    ("rest_user_trades.json", "/fapi/v1/userTrades", {"symbol": SYMBOL}),
                    ("rest_commission_rate.json", "/fapi/v1/commissionRate", {"symbol": SYMBOL}),
                ]:
                    _, body, _ = await rest.signed("GET", path, params)
                    check(name, body, found)
                new_event = await user.until(lambda m: m.get("o", {}).get("x") == "NEW")
                check("ws_order_trade_update_new.json", new_event, found)
                canceled_event = await user.until(lambda m: m.get("o", {}).get("x") == "CANCELED")
                check("ws_order_trade_update_canceled.json", canceled_event, found)
                fill_event = await user.until(lambda m: m.get("o", {}).get("x") == "TRADE")
                check("ws_order_trade_update_filled.json", fill_event, found)
                account_event = await user.until(event_of("ACCOUNT_UPDATE"))
                check("ws_account_update_order.json", account_event, found)
                config_event = await user.until(event_of("ACCOUNT_CONFIG_UPDATE"))
                check("ws_account_config_update.json", config_event, found)
                funding_event = await user.until(lambda m: m.get("a", {}).get("m") == "FUNDING_FEE", timeout=3)
                check("ws_account_update_funding_fee.json", funding_event, found)
                _, income, _ = await rest.signed("GET", "/fapi/v1/income", {"incomeType": "FUNDING_FEE"})
                check("rest_income_funding_fee.json", income, found)
                _, income, _ = await rest.signed("GET", "/fapi/v1/income")
                check("rest_income.json", income, found)
                _, history, _ = await rest.public("/fapi/v1/fundingRate", symbol=SYMBOL)
                check("rest_funding_rate_history.json", history, found)
                check("ws_mark_price_update.json", await market.until(event_of("markPriceUpdate"), timeout=3), found)
                server.faults.expire_listen_key()
                check("ws_listen_key_expired.json", await user.until(event_of("listenKeyExpired")), found)
            for name, path, params in [
                ("rest_exchange_info.json", "/fapi/v1/exchangeInfo", {}),
                ("rest_depth_snapshot.json", "/fapi/v1/depth", {"symbol": SYMBOL}),
                ("rest_premium_index.json", "/fapi/v1/premiumIndex", {"symbol": SYMBOL}),
                ("rest_error_invalid_symbol.json", "/fapi/v1/depth", {"symbol": "XYZUSDT"}),
            ]:
                _, body, _ = await rest.public(path, **params)
                check(name, body, found)

    run(scenario())
    problems = [f"{name}: {problem}" for name, ps in found.items() for problem in ps]
    assert not problems, "\n".join(problems)
    assert len(found) >= 20


def test_streamed_market_events_match_the_documented_shapes() -> None:
    if fixture("ws_depth_update.json") is None:
        pytest.skip("the documented payload fixtures are not present")
    found: dict[str, list[str]] = {}

    async def scenario() -> None:
        async with serving(synthetic_settings()) as server, ws_connect(server, "/ws") as ws:
            await ws.send({"method": "SUBSCRIBE", "params": ["btcusdt@depth", "btcusdt@aggTrade"], "id": 1})
            check("ws_depth_update.json", await ws.until(event_of("depthUpdate")), found)
            check("ws_agg_trade.json", await ws.until(event_of("aggTrade"), timeout=5), found)

    run(scenario())
    problems = [f"{name}: {problem}" for name, ps in found.items() for problem in ps]
    assert not problems, "\n".join(problems)


def test_trade_statistics_match_the_documented_shapes() -> None:
    """24 h tickers, recent trades and klines, once the market has printed trades."""
    found: dict[str, list[str]] = {}
    answers: dict[str, Any] = {}

    async def scenario() -> None:
        async with serving(synthetic_settings()) as server, ws_connect(server, "/ws") as ws, \
                rest_client(server) as rest:
            await ws.send({"method": "SUBSCRIBE", "id": 1,
                           "params": ["btcusdt@aggTrade", "btcusdt@ticker", "btcusdt@miniTicker", "btcusdt@kline_1m"]})
            await ws.until(event_of("aggTrade"), timeout=5)
            check("ws_kline.json", await ws.until(event_of("kline"), timeout=5), found)
            check("ws_ticker.json", await ws.until(event_of("24hrTicker"), timeout=5), found)
            check("ws_mini_ticker.json", await ws.until(event_of("24hrMiniTicker"), timeout=5), found)
            for name, path, params in [
                ("rest_ticker_24hr.json", "/fapi/v1/ticker/24hr", {"symbol": SYMBOL}),
                ("rest_agg_trades.json", "/fapi/v1/aggTrades", {"symbol": SYMBOL}),
                ("rest_trades.json", "/fapi/v1/trades", {"symbol": SYMBOL}),
                ("rest_klines.json", "/fapi/v1/klines", {"symbol": SYMBOL, "interval": "1m"}),
            ]:
                _, answers[name], _ = await rest.public(path, **params)
                check(name, answers[name], found)
            _, answers["rest_symbol_config.json"], _ = await rest.signed("GET", "/fapi/v1/symbolConfig",
                                                                         {"symbol": SYMBOL})
            check("rest_symbol_config.json", answers["rest_symbol_config.json"], found)

    run(scenario())
    problems = [f"{name}: {problem}" for name, ps in found.items() for problem in ps]
    assert not problems, "\n".join(problems)
    assert len(found) == 8
    assert all(answers[name] for name in ("rest_agg_trades.json", "rest_trades.json", "rest_klines.json"))
    assert [type(v).__name__ for v in answers["rest_klines.json"][0]] == [
        "int", "str", "str", "str", "str", "str", "int", "str", "int", "str", "str", "str"]
