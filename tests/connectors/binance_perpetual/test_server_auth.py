"""Binance server: signatures over the exact received bytes, every client's parameter placement,
API-key and timestamp checks, request weights, 429 then 418."""

from __future__ import annotations

import pytest
from test_server_kit import KEY, SYMBOL, MinuteStartClock, rest_client, run, serving, sign

from pmm.connectors.binance_perpetual.server import ServerOptions
from pmm.connectors.binance_perpetual.server.auth import hmac_hex, signature_valid, split_signature

# Official vector, USD-M "SIGNED Endpoint Examples for POST /fapi/v1/order" (exchange_apis.md §A2).
DOC_SECRET = "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9"
DOC_MESSAGE = (
    "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
)
DOC_SIGNATURE = "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"


def test_official_hmac_vector() -> None:
    assert hmac_hex(DOC_SECRET, DOC_MESSAGE.encode()) == DOC_SIGNATURE
    signed = f"{DOC_MESSAGE}&signature={DOC_SIGNATURE}"
    assert signature_valid(DOC_SECRET, signed, "")  # all in the query string
    assert signature_valid(DOC_SECRET, "", signed)  # all in the body
    assert signature_valid(DOC_SECRET, signed.upper().replace("SYMBOL", "symbol"), "") is False
    assert signature_valid(DOC_SECRET, f"{DOC_MESSAGE}&signature={DOC_SIGNATURE.upper()}", "")  # case-insensitive


def test_mixed_query_and_body_are_concatenated_without_separator() -> None:
    # The docs' mixed example, recomputed without its stray space (exchange_apis.md §A2 gotcha 2).
    query = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC"
    body = "quantity=1&price=9000&recvWindow=5000&timestamp=1591702613943"
    expected = "30baaf0fab549bbeda7f5ef201898b34122da25fd23c646cac2c529aebe670a4"
    assert signature_valid(DOC_SECRET, query, f"{body}&signature={expected}")
    assert not signature_valid(DOC_SECRET, query + "&", f"{body}&signature={expected}")


def test_split_signature_keeps_everything_else_verbatim() -> None:
    assert split_signature("b=2&a=%2F1&signature=ab") == ("b=2&a=%2F1", "ab")
    assert split_signature("a=1") == ("a=1", None)


@pytest.mark.parametrize("style", ["ccxt", "connector", "python-binance", "sdk"])
def test_each_clients_placement_is_accepted(style: str) -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            order = {"symbol": SYMBOL, "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "64000",
                     "timeInForce": "GTX", "newClientOrderId": f"oid-{style}"}
            status, body, _ = await rest.signed("POST", "/fapi/v1/order", order, style=style)
            assert status == 200, body
            assert body["status"] == "NEW" and body["clientOrderId"] == f"oid-{style}"
            status, body, _ = await rest.signed("GET", "/fapi/v3/positionRisk", {"symbol": SYMBOL}, style=style)
            assert status == 200, body
            status, body, _ = await rest.signed("DELETE", "/fapi/v1/order",
                                                {"symbol": SYMBOL, "origClientOrderId": f"oid-{style}"}, style=style)
            assert status == 200 and body["status"] == "CANCELED", body

    run(scenario())


@pytest.mark.parametrize("style", ["ccxt", "connector", "python-binance", "sdk"])
def test_a_tampered_byte_is_rejected(style: str) -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            status, body, _ = await rest.signed("GET", "/fapi/v1/openOrders", {"symbol": SYMBOL}, style=style,
                                                tamper=True)
            assert (status, body["code"]) == (400, -1022)
            assert body["msg"] == "Signature for this request is not valid."

    run(scenario())


def test_signature_over_raw_bytes_not_a_reserialisation() -> None:
    """Percent-encoding and order are kept exactly as sent: re-encoding would break this one."""

    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            query = f"symbol=BTCUSDT&newClientOrderId=a%2Fb%3Ac&timestamp={rest.now_ms()}"
            status, body, _ = await rest.raw("GET", "/fapi/v1/openOrders",
                                             query=f"{query}&signature={sign(query)}", headers={"X-MBX-APIKEY": KEY})
            assert status == 200, body

    run(scenario())


def test_timestamp_outside_recv_window_and_ahead_of_server() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            status, body, _ = await rest.signed("GET", "/fapi/v3/balance", style="connector",
                                                timestamp=rest.now_ms() - 6000)
            assert (status, body["code"]) == (400, -1021)
            assert body["msg"] == "Timestamp for this request is outside of the recvWindow."
            status, body, _ = await rest.signed("GET", "/fapi/v3/balance", style="ccxt", timestamp=rest.now_ms() - 6000)
            assert status == 200  # ccxt sends recvWindow=10000
            status, body, _ = await rest.signed("GET", "/fapi/v3/balance", style="connector",
                                                timestamp=rest.now_ms() + 5000)
            assert body["code"] == -1021 and "ahead" in body["msg"]
            status, body, _ = await rest.raw("GET", "/fapi/v3/balance", query="recvWindow=5000",
                                             headers={"X-MBX-APIKEY": KEY})
            assert body["code"] == -1102 and "'timestamp'" in body["msg"]

    run(scenario())


def test_api_key_checks() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            status, body, _ = await rest.raw("GET", "/fapi/v3/account", query=f"timestamp={rest.now_ms()}")
            assert (status, body["code"]) == (401, -2014)
            status, body, _ = await rest.signed("GET", "/fapi/v3/account", key="someoneElsesKey")
            assert (status, body["code"]) == (401, -2015)
            status, body, _ = await rest.raw("POST", "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": KEY})
            assert status == 200 and len(body["listenKey"]) == 64
            status, body, _ = await rest.raw("POST", "/fapi/v1/listenKey")
            assert body["code"] == -2014

    run(scenario())


def test_weights_are_counted_in_the_used_weight_header() -> None:
    async def scenario() -> None:
        async with serving(clock=MinuteStartClock()) as server, rest_client(server) as rest:
            _, _, headers = await rest.public("/fapi/v1/ping")
            first = int(headers["X-MBX-USED-WEIGHT-1M"])
            _, _, headers = await rest.public("/fapi/v1/depth", symbol=SYMBOL, limit=1000)
            assert int(headers["X-MBX-USED-WEIGHT-1M"]) == first + 20
            _, _, headers = await rest.signed("GET", "/fapi/v1/income")
            assert int(headers["X-MBX-USED-WEIGHT-1M"]) == first + 50
            _, _, headers = await rest.signed("POST", "/fapi/v1/order", {"symbol": SYMBOL, "side": "BUY",
                                              "type": "LIMIT", "quantity": "0.01", "price": "60000",
                                              "timeInForce": "GTC"})
            assert int(headers["X-MBX-USED-WEIGHT-1M"]) == first + 50  # orders count on ORDERS instead
            assert headers["X-MBX-ORDER-COUNT-1M"] == "1" and headers["X-MBX-ORDER-COUNT-10S"] == "1"

    run(scenario())


def test_rate_limit_answers_429_then_418() -> None:
    options = ServerOptions(tick_s=0.01, weight_limit_per_min=30, ban_after_429s=2, ban_s=90.0)

    async def scenario() -> None:
        async with serving(options=options, clock=MinuteStartClock()) as server, rest_client(server) as rest:
            statuses = []
            for _ in range(20):
                status, body, headers = await rest.public("/fapi/v1/depth", symbol=SYMBOL, limit=100)  # weight 5
                statuses.append(status)
                if status == 429:
                    assert body["code"] == -1003 and "Too many requests" in body["msg"]
                    assert 1 <= int(headers["Retry-After"]) <= 60
                if status == 418:
                    assert body["code"] == -1003 and "banned until" in body["msg"]
                    assert 85 <= int(headers["Retry-After"]) <= 90
                    break
            # Six calls fit in 30, the next two are 429s, the one after them is banned.
            assert statuses[:6] == [200] * 6 and statuses[6:] == [429, 429, 418]
            status, _, _ = await rest.public("/fapi/v1/ping")
            assert status == 418  # everything is refused while banned

    run(scenario())
