"""Bybit server: signatures over the exact bytes received (pybit's and ccxt's styles), the
timestamp window, keys, WebSocket auth, and the envelope on every answer."""

from __future__ import annotations

import json

import pytest
from test_server_bybit_kit import (
    API_KEY,
    API_SECRET,
    ENVELOPE_KEYS,
    StepClock,
    Venue,
    run,
    running,
    static_settings,
)

from pmm.connectors.bybit_perpetual.server.auth import sign_rest, sign_ws_auth

WALLET = "/v5/account/wallet-balance"


def test_locally_computed_vectors_of_the_reference():
    # exchange_apis.md §B2: secret `bybit-test-secret`, the docs' sign strings.
    assert sign_rest(API_SECRET, "1658384314791", "XXXXXXXXXX", "5000",
                     "category=option&symbol=BTC-29JUL22-25000-C") == (
        "603cf75a23e0bd0a5226adb8f4f42accf1a7b89145fc1c05d3ec5f6855b26c67")
    # The docs' POST example is signed at 1658385579423.
    assert sign_rest(API_SECRET, "1658385579423", "XXXXXXXXXX", "5000", '{"category": "option"}') == (
        "0b6c1a0303aa265223e936cc8820dba57780ea6063a9e08473dcb575c5ca3a7c")
    assert sign_ws_auth(API_SECRET, 1662350400000) == (
        "e5afa359fdaabfeeae6a8755687997f43c4696196a957502edf608dcd3c83caa")
    assert sign_ws_auth(API_SECRET, "1662350400000") == sign_ws_auth(API_SECRET, 1662350400000)


def _with(check):
    async def go():
        async with running(static_settings(), clock=StepClock()) as venue:
            venue.step()
            await check(venue)
    run(go())


@pytest.mark.parametrize("style", ["pybit", "ccxt"])
def test_signed_requests_in_each_client_style_are_accepted(style):
    async def check(venue: Venue):
        wallet = await venue.get(WALLET, {"accountType": "UNIFIED", "coin": "USDT"}, style=style)
        assert wallet.status == 200 and wallet.code == 0, wallet.body
        placed = await venue.order("Buy", "0.01", "64000", tif="PostOnly", link=f"{style}-1", style=style,
                                   positionIdx=0)
        assert placed.code == 0, placed.body
        assert placed.result["orderLinkId"] == f"{style}-1"
    _with(check)


def test_the_signature_covers_the_exact_bytes():
    async def check(venue: Venue):
        # pybit's ", " JSON and ccxt's compact JSON of the same order differ in bytes: each is
        # checked over what was sent, so a re-serialising server would fail one of them.
        body = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Limit", "qty": "0.01",
                "price": "64000"}
        spaced, compact = json.dumps(body), json.dumps(body, separators=(",", ":"))
        assert spaced != compact
        for text in (spaced, compact):
            answer = await venue.post("/v5/order/create", {}, raw=text, headers=venue.headers(text, style="ccxt"))
            assert answer.code == 0, answer.body
        # One byte changed after signing -> 10004.
        headers = venue.headers(compact, style="pybit")
        tampered = compact.replace("64000", "64001")
        answer = await venue.post("/v5/order/create", {}, raw=tampered, headers=headers)
        assert answer.status == 200 and answer.code == 10004
        assert answer.body["retMsg"].startswith("error sign!")
        # The same for a GET query string (key order matters: sorted vs as sent).
        query = "coin=USDT&accountType=UNIFIED"
        headers = venue.headers("accountType=UNIFIED&coin=USDT", style="pybit")
        async with venue.session.get(f"{venue.server.rest_url}{WALLET}?{query}", headers=headers) as resp:
            assert (await resp.json())["retCode"] == 10004
        headers = venue.headers(query, style="ccxt")
        async with venue.session.get(f"{venue.server.rest_url}{WALLET}?{query}", headers=headers) as resp:
            assert (await resp.json())["retCode"] == 0
    _with(check)


def test_timestamp_outside_the_window_is_10002():
    async def check(venue: Venue):
        now_ms = int(venue.clock.now() * 1000)
        query = "accountType=UNIFIED"
        for ts in (now_ms - 5001, now_ms + 1000):
            answer = await venue.get(WALLET, {"accountType": "UNIFIED"},
                                     headers=venue.headers(query, style="pybit", timestamp=ts))
            assert answer.status == 200 and answer.code == 10002, answer.body
            assert f"req_timestamp[{ts}]" in answer.body["retMsg"]
        for ts in (now_ms - 5000, now_ms + 999):
            answer = await venue.get(WALLET, {"accountType": "UNIFIED"},
                                     headers=venue.headers(query, style="pybit", timestamp=ts))
            assert answer.code == 0, answer.body
    _with(check)


def test_wrong_key_and_missing_headers():
    async def check(venue: Venue):
        query = "accountType=UNIFIED"
        answer = await venue.get(WALLET, {"accountType": "UNIFIED"},
                                 headers=venue.headers(query, style="pybit", key="other-key"))
        assert (answer.status, answer.code) == (401, 10003)
        answer = await venue.get(WALLET, {"accountType": "UNIFIED"}, headers={})
        assert (answer.status, answer.code) == (401, 10003)
        assert "X-BAPI-SIGN" in answer.body["retMsg"]
        answer = await venue.get(WALLET, {"accountType": "UNIFIED"},
                                 headers=venue.headers(query, style="pybit", secret="wrong-secret"))
        assert answer.code == 10004
        public = await venue.get("/v5/market/time", signed=False)
        assert public.code == 0 and set(public.result) == {"timeSecond", "timeNano"}
    _with(check)


def test_every_answer_is_the_envelope():
    async def check(venue: Venue):
        answers = [
            await venue.get("/v5/market/time", signed=False),
            await venue.get("/v5/market/instruments-info", {"category": "linear"}, signed=False),
            await venue.get("/v5/market/instruments-info", {"category": "spot"}, signed=False),
            await venue.get("/v5/market/orderbook", {"category": "linear", "symbol": "BTCUSDT"}, signed=False),
            await venue.get("/v5/market/orderbook", {"category": "linear", "symbol": "NOPE"}, signed=False),
            await venue.get("/v5/market/tickers", {"category": "linear", "symbol": "BTCUSDT"}, signed=False),
            await venue.get("/v5/market/funding/history", {"category": "linear", "symbol": "BTCUSDT"}, signed=False),
            await venue.get("/v5/market/recent-trade", {"category": "linear", "symbol": "BTCUSDT"}, signed=False),
            await venue.get(WALLET, {"accountType": "UNIFIED"}),
            await venue.get(WALLET, {"accountType": "CONTRACT"}),
            await venue.get("/v5/account/transaction-log", {"accountType": "UNIFIED", "category": "linear"}),
            await venue.get("/v5/account/info"),
            await venue.get("/v5/account/fee-rate", {"category": "linear", "symbol": "BTCUSDT"}),
            await venue.get("/v5/user/query-api"),
            await venue.get("/v5/asset/coin/query-info"),
            await venue.get("/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"}),
            await venue.get("/v5/order/realtime", {"category": "linear"}),
            await venue.get("/v5/order/history", {"category": "linear"}),
            await venue.get("/v5/execution/list", {"category": "linear"}),
            await venue.order("Buy", "0.01", "64000"),
            await venue.order("Buy", "0", "64000"),
            await venue.post("/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderId": "nope"}),
            await venue.post("/v5/order/cancel-all", {"category": "linear", "symbol": "BTCUSDT"}),
            await venue.post("/v5/position/set-leverage", {"category": "linear", "symbol": "BTCUSDT",
                                                           "buyLeverage": "20", "sellLeverage": "20"}),
            await venue.get("/v5/no/such/path", signed=False),
        ]
        for answer in answers:
            assert set(answer.body) == ENVELOPE_KEYS, answer.body
            assert isinstance(answer.body["retCode"], int) and isinstance(answer.body["retMsg"], str)
            assert isinstance(answer.body["result"], dict) and answer.body["retExtInfo"] == {}
            assert answer.body["time"] == int(venue.clock.now() * 1000)
        assert answers[-1].status == 404 and answers[-1].code == 10017
        assert answers[-3].result["list"] and answers[-2].code == 110043
    _with(check)


@pytest.mark.parametrize("expires_as", [int, str])
def test_websocket_auth_takes_expires_as_int_or_string(expires_as):
    async def check(venue: Venue):
        ws = await venue.ws("private")
        await ws.send({"op": "subscribe", "args": ["order"]})
        refused = await ws.recv()
        assert refused["success"] is False and refused["ret_msg"] == "Request not authorized"
        expires = int(venue.clock.now() * 1000) + 10_000
        await ws.send({"req_id": "10001", "op": "auth", "args": [API_KEY, expires_as(expires),
                                                                 sign_ws_auth(API_SECRET, expires)]})
        reply = await ws.recv()
        assert reply["success"] is True and reply["op"] == "auth" and reply["ret_msg"] == ""
        assert reply["req_id"] == "10001" and reply["conn_id"]
        await ws.close()
    _with(check)


def test_websocket_auth_refusals():
    async def check(venue: Venue):
        ws = await venue.ws("private")
        now = int(venue.clock.now() * 1000)
        cases = [
            ([API_KEY, now + 10_000, "0" * 64], "Invalid sign"),
            (["other", now + 10_000, sign_ws_auth(API_SECRET, now + 10_000)], "API key is invalid."),
            ([API_KEY, now - 1, sign_ws_auth(API_SECRET, now - 1)], "Params Error"),
            ([API_KEY, "soon", "x"], "Params Error"),
            ([API_KEY], "Params Error"),
        ]
        for args, message in cases:
            await ws.send({"op": "auth", "args": args})
            reply = await ws.recv()
            assert reply == {"success": False, "ret_msg": message, "op": "auth", "conn_id": reply["conn_id"]}
        public = await venue.ws("public")
        await public.send({"op": "auth", "args": [API_KEY, now + 10_000, sign_ws_auth(API_SECRET, now + 10_000)]})
        assert (await public.recv())["success"] is False
    _with(check)
