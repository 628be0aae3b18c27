"""Binance server: the user data stream (ORDER_TRADE_UPDATE, ACCOUNT_UPDATE for fills and funding,
ACCOUNT_CONFIG_UPDATE), listenKey lifecycle, connection lifetime, and the funding income rows."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from test_server_kit import FAST, KEY, SYMBOL, event_of, rest_client, run, serving, static_settings, ws_connect

from pmm.connectors.binance_perpetual.server import ServerOptions

D = Decimal
ORDER = "/fapi/v1/order"


def market(qty: str, side: str, **extra: str) -> dict[str, str]:
    return {"symbol": SYMBOL, "side": side, "type": "MARKET", "quantity": qty, **extra}


@pytest.mark.parametrize("path", ["/private/ws?listenKey={key}", "/private/ws/{key}", "/ws/{key}",
                                  "/private/stream?listenKey={key}", "/private/stream"])
def test_fill_arrives_as_order_trade_update_then_account_update(path: str) -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            key = await rest.listen_key()
            async with ws_connect(server, path.format(key=key)) as ws:
                if "{key}" not in path:  # the official SDK subscribes the listenKey on /private/stream
                    await ws.send({"method": "SUBSCRIBE", "params": [key], "id": "b7f1c1e2"})
                    assert await ws.next() == {"result": None, "id": "b7f1c1e2"}
                await rest.signed("POST", ORDER, market("0.01", "BUY", newClientOrderId="open-1"))
                await rest.signed("POST", ORDER, market("0.01", "SELL", newClientOrderId="close-1"))
                new = await ws.until(event_of("ORDER_TRADE_UPDATE"))
                combined = "stream" in new
                if combined:
                    assert new["stream"] == key
                    new = new["data"]
                assert (new["o"]["x"], new["o"]["X"], new["o"]["c"]) == ("NEW", "NEW", "open-1")
                messages = [await ws.next() for _ in range(5)]
                kinds = [(m.get("data", m))["e"] for m in messages]
                assert kinds == ["ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE", "ORDER_TRADE_UPDATE", "ORDER_TRADE_UPDATE",
                                 "ACCOUNT_UPDATE"]
                fill1, account1, _, fill2, account2 = (m.get("data", m) for m in messages)
                o = fill1["o"]
                assert (o["x"], o["X"], o["S"], o["o"], o["ps"]) == ("TRADE", "FILLED", "BUY", "MARKET", "BOTH")
                assert (o["l"], o["z"], o["L"], o["N"], o["m"], o["R"]) == ("0.010", "0.010", "65000.1", "USDT", False,
                                                                            False)
                assert D(o["n"]) == D("0.32500050") and D(o["rp"]) == 0 and isinstance(o["t"], int) and o["t"] > 0
                assert account1["a"]["m"] == "ORDER"
                [balance] = account1["a"]["B"]
                assert balance["a"] == "USDT" and D(balance["wb"]) == D("10000") - D("0.32500050")
                [position] = account1["a"]["P"]
                assert (position["s"], position["pa"], position["ps"], position["mt"]) == (SYMBOL, "0.010", "BOTH",
                                                                                         "cross")
                assert D(position["ep"]) == D("65000.1")
                o = fill2["o"]
                assert (o["x"], o["c"], o["L"]) == ("TRADE", "close-1", "64999.9")
                assert D(o["rp"]) == D("-0.002") and D(o["n"]) == D("0.32499950")
                [position] = account2["a"]["P"]
                assert D(position["pa"]) == 0 and D(position["cr"]) == D("-0.002")

    run(scenario())


def test_cancel_and_venue_expiry_on_the_stream() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            key = await rest.listen_key()
            async with ws_connect(server, f"/private/ws?listenKey={key}") as ws:
                limit = {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "60000",
                         "timeInForce": "GTC", "newClientOrderId": "rest-1"}
                _, ack, _ = await rest.signed("POST", ORDER, limit)
                await rest.signed("DELETE", ORDER, {"symbol": SYMBOL, "orderId": ack["orderId"]})
                canceled = await ws.until(lambda m: m.get("o", {}).get("x") == "CANCELED")
                o = canceled["o"]
                assert (o["X"], o["i"], o["er"]) == ("CANCELED", ack["orderId"], "0")
                # A reduce-only order left without a position is expired by the venue (er 4).
                await rest.signed("POST", ORDER, market("0.01", "BUY"))
                await rest.signed("POST", ORDER, {**limit, "side": "SELL", "price": "70000", "reduceOnly": "true",
                                                  "newClientOrderId": "tp-1"})
                await rest.signed("POST", ORDER, market("0.01", "SELL"))
                expired = await ws.until(lambda m: m.get("o", {}).get("c") == "tp-1" and m["o"]["x"] == "EXPIRED")
                assert (expired["o"]["X"], expired["o"]["er"], expired["o"]["R"]) == ("EXPIRED", "4", True)

    run(scenario())


@pytest.mark.parametrize("margin_type", ["CROSSED", "ISOLATED"])
def test_funding_arrives_as_account_update_and_income(margin_type: str) -> None:
    async def scenario() -> None:
        settings = static_settings(rate="0.001", funding_interval_s=0.25)
        async with serving(settings) as server, rest_client(server) as rest:
            if margin_type == "ISOLATED":
                await rest.signed("POST", "/fapi/v1/marginType", {"symbol": SYMBOL, "marginType": margin_type})
            key = await rest.listen_key()
            async with ws_connect(server, f"/private/ws?listenKey={key}") as ws:
                await rest.signed("POST", ORDER, market("0.1", "BUY"))
                update = await ws.until(lambda m: m.get("e") == "ACCOUNT_UPDATE" and m["a"]["m"] == "FUNDING_FEE",
                                        timeout=3)
                [balance] = update["a"]["B"]
                [payment] = server.exchange.funding_payments_since(0)[:1]
                # Longs pay a positive rate: 0.1 BTC * 65000 mark * 0.001.
                assert payment.amount == D("-6.5") and D(balance["bc"]) == payment.amount
                if margin_type == "CROSSED":
                    assert "P" not in update["a"]  # cross funding carries the balance only (docs)
                else:
                    [position] = update["a"]["P"]
                    assert (position["mt"], position["pa"]) == ("isolated", "0.100") and D(position["iw"]) > 0
                _, rows, _ = await rest.signed("GET", "/fapi/v1/income", {"incomeType": "FUNDING_FEE"})
                assert rows[0]["incomeType"] == "FUNDING_FEE" and D(rows[0]["income"]) == D("-6.5")
                assert rows[0]["time"] == payment.funding_time_ms and rows[0]["symbol"] == SYMBOL
                _, history, _ = await rest.public("/fapi/v1/fundingRate", symbol=SYMBOL)
                assert history and D(history[0]["fundingRate"]) == D("0.001")

    run(scenario())


def test_listen_key_lifecycle_and_expiry() -> None:
    options = ServerOptions(tick_s=0.01, listen_key_ttl_s=0.3)

    async def scenario() -> None:
        async with serving(options=options) as server, rest_client(server) as rest:
            headers = {"X-MBX-APIKEY": KEY}
            _, first, _ = await rest.raw("POST", "/fapi/v1/listenKey", headers=headers)
            _, again, _ = await rest.raw("POST", "/fapi/v1/listenKey", headers=headers)
            assert again == first  # the live key is returned (and extended)
            _, kept, _ = await rest.raw("PUT", "/fapi/v1/listenKey", query=f"listenKey={first['listenKey']}",
                                        headers=headers)
            assert kept == first
            async with ws_connect(server, f"/private/ws?listenKey={first['listenKey']}") as ws:
                expired = await ws.until(event_of("listenKeyExpired"), timeout=2)
                assert expired["listenKey"] == first["listenKey"] and isinstance(expired["E"], int)
                status, err, _ = await rest.raw("PUT", "/fapi/v1/listenKey", headers=headers)
                assert (status, err["code"]) == (400, -1125)
                await rest.signed("POST", ORDER, market("0.01", "BUY"))
                with pytest.raises(asyncio.TimeoutError):
                    await ws.next(timeout=0.2)  # silence after expiry
            _, fresh, _ = await rest.raw("POST", "/fapi/v1/listenKey", headers=headers)
            assert fresh["listenKey"] != first["listenKey"]
            async with ws_connect(server, f"/private/ws/{fresh['listenKey']}") as ws:
                status, body, _ = await rest.raw("DELETE", "/fapi/v1/listenKey", headers=headers)
                assert (status, body) == (200, {})
                with pytest.raises(ConnectionError):
                    await ws.next(timeout=2)  # the server closes sockets of a deleted key

    run(scenario())


def test_connections_are_dropped_after_their_lifetime() -> None:
    options = ServerOptions(tick_s=0.01, ws_max_age_s=0.2)

    async def scenario() -> None:
        async with serving(options=options) as server, ws_connect(server, "/ws/btcusdt@markPrice@1s") as ws:
            with pytest.raises(ConnectionError):
                while True:
                    await ws.next(timeout=2)

    run(scenario())


def test_events_filter_and_leverage_config_update() -> None:
    async def scenario() -> None:
        async with serving(options=FAST) as server, rest_client(server) as rest:
            key = await rest.listen_key()
            events = "ACCOUNT_CONFIG_UPDATE/ACCOUNT_UPDATE"
            async with ws_connect(server, f"/private/ws?listenKey={key}&events={events}") as ws:
                await rest.signed("POST", ORDER, market("0.01", "BUY"))
                await rest.signed("POST", "/fapi/v1/leverage", {"symbol": SYMBOL, "leverage": 7})
                first = await ws.next()
                second = await ws.next()
                assert first["e"] == "ACCOUNT_UPDATE"  # no ORDER_TRADE_UPDATE on this connection
                assert second == {"e": "ACCOUNT_CONFIG_UPDATE", "E": second["E"], "T": second["T"],
                                  "ac": {"s": SYMBOL, "l": 7}}

    run(scenario())
