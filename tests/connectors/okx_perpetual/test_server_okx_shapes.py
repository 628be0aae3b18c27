"""The OKX server's REST answers: the envelope, public market data with contract sizes, account
views, the refusals with their code and HTTP status, and requests as python-okx and ccxt send them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from test_server_okx_kit import SYMBOL, Venue, run, running

from pmm.connectors.okx_perpetual.auth import KEY_HEADER


def _with(check, **kwargs):
    async def go():
        async with running(**kwargs) as venue:
            await check(venue)
    run(go())


def test_public_market_data_in_okx_shapes():
    async def check(venue: Venue):
        ts = await venue.get("/api/v5/public/time", signed=False)
        assert ts.status == 200 and ts.body == {"code": "0", "msg": "", "data": [{"ts": "1767225700000"}]}
        inst = (await venue.get("/api/v5/public/instruments", {"instType": "SWAP"}, signed=False)).data
        assert len(inst) == 1
        assert {k: inst[0][k] for k in ("instId", "ctVal", "ctValCcy", "lotSz", "minSz", "tickSz", "settleCcy",
                                        "ctType", "state", "uly", "instFamily")} == {
            "instId": SYMBOL, "ctVal": "0.001", "ctValCcy": "BTC", "lotSz": "1", "minSz": "1", "tickSz": "0.1",
            "settleCcy": "USDT", "ctType": "linear", "state": "live", "uly": "BTC-USDT", "instFamily": "BTC-USDT"}
        for other in ("SPOT", "FUTURES", "OPTION"):
            assert (await venue.get("/api/v5/public/instruments", {"instType": other, "uly": "BTC-USD"},
                                    signed=False)).data == []
        book = (await venue.get("/api/v5/market/books", {"instId": SYMBOL, "sz": "1"}, signed=False)).data[0]
        assert book["bids"] == [["64990.0", "1000", "0", "1"]] and book["asks"] == [["65010.0", "1000", "0", "1"]]
        assert isinstance(book["seqId"], int)
        ticker = (await venue.get("/api/v5/market/ticker", {"instId": SYMBOL}, signed=False)).data[0]
        assert ticker["bidPx"] == "64990.0" and ticker["askSz"] == "1000" and ticker["instType"] == "SWAP"
        mark = (await venue.get("/api/v5/public/mark-price", {"instType": "SWAP", "instId": SYMBOL},
                                signed=False)).data
        assert mark == [{"instType": "SWAP", "instId": SYMBOL, "markPx": "65000.0", "ts": "1767225700000"}]
        index = (await venue.get("/api/v5/market/index-tickers", {"instId": "BTC-USDT"}, signed=False)).data
        assert index[0]["idxPx"] == "65000.0" and index[0]["instId"] == "BTC-USDT"
        funding = (await venue.get("/api/v5/public/funding-rate", {"instId": SYMBOL}, signed=False)).data[0]
        assert funding["fundingRate"] == "0.0001" and funding["method"] == "current_period"
        assert int(funding["nextFundingTime"]) - int(funding["fundingTime"]) == 8 * 3600 * 1000
    _with(check)


def test_unknown_instrument_and_bad_parameters_are_refused_with_okx_codes():
    async def check(venue: Venue):
        unknown = await venue.get("/api/v5/market/books", {"instId": "ETH-USDT-SWAP"}, signed=False)
        assert unknown.status == 200 and unknown.code == "51001" and unknown.data == []
        missing = await venue.get("/api/v5/market/books", signed=False)
        assert missing.status == 400 and missing.code == "50014" and "instId" in missing.body["msg"]
        bad = await venue.get("/api/v5/market/books", {"instId": SYMBOL, "sz": "401"}, signed=False)
        assert bad.status == 400 and bad.code == "51000"
        nowhere = await venue.get("/api/v5/market/candles", {"instId": SYMBOL}, signed=False)
        assert nowhere.status == 404 and nowhere.code == "50005"
    _with(check)


def test_signed_endpoints_refuse_unsigned_and_wrongly_signed_requests():
    async def check(venue: Venue):
        unsigned = await venue.get("/api/v5/account/balance", signed=False)
        assert unsigned.status == 401 and unsigned.code == "50103"
        headers = venue.auth.headers("GET", "/api/v5/account/balance")
        wrong_key = await venue.get("/api/v5/account/balance", headers={**headers, KEY_HEADER: "nope"})
        assert wrong_key.status == 401 and wrong_key.code == "50111"
        tampered = await venue.get("/api/v5/account/balance", {"ccy": "USDT"}, headers=headers)
        assert tampered.status == 401 and tampered.code == "50113"
    _with(check)


@pytest.mark.parametrize("style", ["python-okx", "ccxt"])
def test_orders_as_each_client_sends_them(style):
    async def check(venue: Venue):
        # python-okx: ", " separators and empty-string fields; ccxt: compact JSON, reduceOnly bool.
        body: dict[str, Any] = {"instId": SYMBOL, "tdMode": "cross", "side": "buy", "ordType": "post_only", "sz": "3",
                                "px": "64000",
                "clOrdId": "c1", "posSide": "", "reduceOnly": "", "tag": "", "ccy": "", "attachAlgoOrds": None}
        if style == "ccxt":
            body = {k: v for k, v in body.items() if v not in ("", None)} | {"reduceOnly": False}
        placed = await venue.post("/api/v5/trade/order", body, style=style)
        assert placed.code == "0", placed.body
        item = placed.data[0]
        assert item["sCode"] == "0" and item["clOrdId"] == "c1" and item["ordId"].isdigit()
        assert set(item) == {"clOrdId", "ordId", "tag", "ts", "sCode", "sMsg", "subCode"}
        assert placed.body["inTime"].isdigit() and placed.body["outTime"].isdigit()
        [row] = await venue.pending()
        assert (row["ordId"], row["sz"], row["px"], row["state"], row["ordType"], row["posSide"]) == (
            item["ordId"], "3", "64000.0", "live", "post_only", "net")
        one = await venue.get("/api/v5/trade/order", {"instId": SYMBOL, "clOrdId": "c1"})
        assert one.data[0]["ordId"] == item["ordId"]
    _with(check)


def test_batch_orders_answer_per_item_with_partial_and_total_failure():
    async def check(venue: Venue):
        ok = {"instId": SYMBOL, "tdMode": "cross", "side": "buy", "ordType": "limit", "sz": "1", "px": "64000"}
        batch = await venue.post("/api/v5/trade/batch-orders", [ok, {**ok, "sz": "1.5"}, {**ok, "instId": "X-SWAP"}])
        assert batch.status == 200 and batch.code == "2" and batch.body["msg"] == "Bulk operation partially succeeded."
        assert [i["sCode"] for i in batch.data] == ["0", "51121", "51001"]
        assert batch.data[1]["ordId"] == "" and batch.data[1]["sMsg"]
        failed = await venue.post("/api/v5/trade/batch-orders", [{**ok, "side": "up"}])
        assert failed.code == "1" and failed.body["msg"] == "All operations failed"
        assert failed.data[0]["sCode"] == "51000" and "side" in failed.data[0]["sMsg"]
        too_many = await venue.post("/api/v5/trade/batch-orders", [ok] * 21)
        assert too_many.code == "51111"
        not_json = await venue.post("/api/v5/trade/batch-orders", None, raw="[{")
        assert not_json.status == 400 and not_json.code == "50002"
    _with(check)


def test_refusals_by_the_simulator_map_to_okx_codes():
    async def check(venue: Venue):
        below = await venue.order("buy", "0", "64000")
        assert below.data[0]["sCode"] == "51000"
        broke = await venue.order("buy", "100000", "64000")  # 100 BTC on a 10,000 USDT account
        assert broke.code == "1" and broke.data[0]["sCode"] == "51008"
        reduce = await venue.order("sell", "1", "65000", reduceOnly=True)  # nothing to reduce
        assert reduce.data[0]["sCode"] == "51169"
        first = await venue.order("buy", "1", "64000", cl="dup1")
        assert first.data[0]["sCode"] == "0"
        dup = await venue.order("buy", "1", "64000", cl="dup1")
        assert dup.data[0]["sCode"] == "51016"
        refused = await venue.order("buy", "100000", "64000", cl="never1")
        assert refused.data[0]["sCode"] == "51008"
        unknown = await venue.get("/api/v5/trade/order", {"instId": SYMBOL, "clOrdId": "never1"})
        assert unknown.code == "51603"  # a refused request never became an order
        hedge_side = await venue.order("buy", "1", "64000", posSide="long")  # net mode takes net only
        assert hedge_side.data[0]["sCode"] == "51000" and "posSide" in hedge_side.data[0]["sMsg"]
    _with(check)


def test_account_views_and_settings():
    async def check(venue: Venue):
        balance = (await venue.get("/api/v5/account/balance", {"ccy": "USDT"})).data[0]
        [usdt] = balance["details"]
        assert usdt["ccy"] == "USDT" and usdt["cashBal"] == "10000.00000000" and balance["totalEq"] == "10000.00000000"
        config = (await venue.get("/api/v5/account/config")).data[0]
        assert config["posMode"] == "net_mode" and config["acctLv"] == "2"
        lever = await venue.post("/api/v5/account/set-leverage", {"lever": 25, "mgnMode": "cross", "instId": SYMBOL})
        assert lever.code == "0" and lever.data == [{"lever": "25", "mgnMode": "cross", "instId": SYMBOL,
                                                     "posSide": "net"}]
        assert venue.exchange.leverage("BTC-USDT") == 25
        too_high = await venue.post("/api/v5/account/set-leverage", {"lever": "51", "mgnMode": "cross",
                                                                     "instId": SYMBOL})
        assert too_high.code == "59102"
        hedge = await venue.post("/api/v5/account/set-position-mode", {"posMode": "long_short_mode"})
        assert hedge.code == "0" and (await venue.get("/api/v5/account/config")).data[0]["posMode"] == \
            "long_short_mode"
        await venue.order("buy", "1", "64000", posSide="long")
        blocked = await venue.post("/api/v5/account/set-position-mode", {"posMode": "net_mode"})
        assert blocked.code == "59000"
        fees = (await venue.get("/api/v5/account/trade-fee", {"instType": "SWAP"})).data[0]
        assert fees["maker"] == "-0.0002" and fees["taker"] == "-0.0005"
        assert (await venue.get("/api/v5/asset/currencies")).data == []
    _with(check)


def test_a_fill_shows_in_positions_fills_and_bills():
    async def check(venue: Venue):
        placed = await venue.order("buy", "1500", "65020", cl="take1")  # 1.5 BTC across two ask levels
        order_id = placed.data[0]["ordId"]
        [pos] = await venue.positions()
        assert pos["pos"] == "1500" and pos["posSide"] == "net" and pos["mgnMode"] == "cross"
        assert pos["avgPx"] == "65013.33333333" and pos["instType"] == "SWAP"
        fills = (await venue.get("/api/v5/trade/fills-history", {"instType": "SWAP", "instId": SYMBOL})).data
        assert [(f["fillPx"], f["fillSz"]) for f in fills] == [("65020.0", "500"), ("65010.0", "1000")]
        assert all(f["ordId"] == order_id and f["execType"] == "T" and f["fee"].startswith("-") for f in fills)
        recent = (await venue.get("/api/v5/trade/fills", {"instId": SYMBOL, "limit": "1"})).data
        assert recent == fills[:1]
        older = (await venue.get("/api/v5/trade/fills", {"after": fills[0]["billId"]})).data
        assert older == fills[1:]
        order = (await venue.get("/api/v5/trade/order", {"instId": SYMBOL, "ordId": order_id})).data[0]
        assert order["state"] == "filled" and order["accFillSz"] == "1500" and order["avgPx"] == "65013.33333333"
        bills = (await venue.get("/api/v5/account/bills", {"type": "2"})).data
        assert len(bills) == 2 and all(b["type"] == "2" and b["subType"] == "1" for b in bills)
        assert json.loads(json.dumps(bills))[0]["balChg"].startswith("-")  # the fee
    _with(check)


@pytest.mark.parametrize("flag", ["0", "1"])
def test_the_demo_trading_header_is_accepted_either_way(flag):
    # python-okx always sends x-simulated-trading ("0" live, "1" demo); the simulated account is both.
    async def check(venue: Venue):
        headers = {**venue.auth.headers("GET", "/api/v5/account/config"), "x-simulated-trading": flag}
        answer = await venue.get("/api/v5/account/config", headers=headers)
        assert answer.status == 200 and answer.code == "0"
    _with(check)
