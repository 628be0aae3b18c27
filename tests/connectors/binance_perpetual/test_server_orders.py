"""Binance server: orders placed, rejected with Binance's codes, cancelled, queried; account settings."""

from __future__ import annotations

from decimal import Decimal

import pytest
from test_server_kit import SYMBOL, rest_client, run, serving, static_settings

from pmm.connectors.binance_perpetual.constants import ErrorCode as E
from pmm.connectors.binance_perpetual.server.codes import REJECTION_CODES, rejection_error

D = Decimal
ORDER = "/fapi/v1/order"


def limit(price: str, qty: str = "0.01", side: str = "BUY", tif: str = "GTC", **extra: str) -> dict[str, str]:
    return {"symbol": SYMBOL, "side": side, "type": "LIMIT", "quantity": qty, "price": price, "timeInForce": tif,
            **extra}


def market(qty: str, side: str = "BUY", **extra: str) -> dict[str, str]:
    return {"symbol": SYMBOL, "side": side, "type": "MARKET", "quantity": qty, **extra}


# Every rejection code the simulator has (pmm/sim/validation.py) maps to a Binance code.
@pytest.mark.parametrize(("sim_code", "binance_code"), [
    ("unknown_market", -1121), ("duplicate_client_id", -4116), ("invalid_amount", -4003), ("off_step", -4023),
    ("invalid_price", -4001), ("off_tick", -4014), ("position_side_mismatch", -4061), ("below_min_size", -4004),
    ("below_min_notional", -4164), ("no_liquidity", -1112), ("reduce_only_rejected", -2022),
    ("post_only_would_cross", -5022), ("insufficient_margin", -2019), ("something_new", -2010),
])
def test_rejection_table(sim_code: str, binance_code: int) -> None:
    err = rejection_error(sim_code, amount=D("0.015"), qty_places=3, min_notional=D("5"))
    assert err.code == binance_code and err.status == 400
    if sim_code != "something_new":
        assert REJECTION_CODES[sim_code] == binance_code


def test_too_many_decimals_is_a_precision_error() -> None:
    assert rejection_error("off_step", amount=D("0.0015"), qty_places=3, min_notional=D("5")).code == E.BAD_PRECISION
    msg = rejection_error("below_min_notional", amount=D("1"), qty_places=3, min_notional=D("100")).msg
    assert msg == "Order's notional must be no smaller than 100 (unless you choose reduce only)"


def test_place_query_cancel() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            status, ack, _ = await rest.signed("POST", ORDER, limit("64000", newClientOrderId="q-1"))
            assert status == 200 and ack["status"] == "NEW" and ack["executedQty"] == "0.000"
            assert isinstance(ack["orderId"], int) and ack["price"] == "64000.0" and ack["origQty"] == "0.010"
            [report] = server.exchange.open_orders()
            assert server.desk.by_sim[report.client_id].client_id == "q-1" and report.price == D("64000")
            status, got, _ = await rest.signed("GET", ORDER, {"symbol": SYMBOL, "orderId": ack["orderId"]})
            assert got["clientOrderId"] == "q-1" and "time" in got
            status, opened, _ = await rest.signed("GET", "/fapi/v1/openOrders", {"symbol": SYMBOL})
            assert [o["orderId"] for o in opened] == [ack["orderId"]]
            status, gone, _ = await rest.signed("DELETE", ORDER, {"symbol": SYMBOL, "orderId": ack["orderId"]})
            assert status == 200 and gone["status"] == "CANCELED"
            assert server.exchange.open_orders() == []
            status, got, _ = await rest.signed("GET", ORDER, {"symbol": SYMBOL, "origClientOrderId": "q-1"})
            assert got["status"] == "CANCELED"  # closed orders stay queryable
            status, err, _ = await rest.signed("DELETE", ORDER, {"symbol": SYMBOL, "orderId": ack["orderId"]})
            assert (status, err["code"], err["msg"]) == (400, -2011, "Unknown order sent.")

    run(scenario())


def test_unknown_orders() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            _, err, _ = await rest.signed("DELETE", ORDER, {"symbol": SYMBOL, "origClientOrderId": "never"})
            assert err["code"] == -2011
            _, err, _ = await rest.signed("GET", ORDER, {"symbol": SYMBOL, "orderId": 999})
            assert (err["code"], err["msg"]) == (-2013, "Order does not exist.")
            _, err, _ = await rest.signed("DELETE", ORDER, {"symbol": SYMBOL})
            assert err["code"] == -1102

    run(scenario())


def test_post_only_that_would_cross_is_rejected() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            status, err, _ = await rest.signed("POST", ORDER, limit("65000.1", tif="GTX"))
            assert (status, err["code"]) == (400, -5022)
            assert err["msg"].startswith("Due to the order could not be executed as maker, the Post Only order")
            assert server.exchange.open_orders() == []

    run(scenario())


def test_market_order_fills_and_result_shows_it() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            _, result, _ = await rest.signed("POST", ORDER, market("3", newOrderRespType="RESULT"))
            assert result["status"] == "FILLED" and result["executedQty"] == "3.000"
            # 2 @ 65000.1 + 1 @ 65000.2
            assert D(result["cumQuote"]) == D("195000.4") and D(result["avgPrice"]) == D("65000.13333333")
            _, ack, _ = await rest.signed("POST", ORDER, market("0.01", side="SELL"))
            assert ack["status"] == "NEW"  # ACK answers at acceptance, as Binance does

    run(scenario())


def test_ioc_takes_what_it_can_and_expires_the_rest() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            ioc = limit("65000.1", qty="3", tif="IOC", newOrderRespType="RESULT")
            _, result, _ = await rest.signed("POST", ORDER, ioc)
            assert (result["status"], result["executedQty"]) == ("EXPIRED", "2.000")
            assert server.exchange.open_orders() == []
            _, err, _ = await rest.signed("POST", ORDER, limit("65000.2", qty="5", tif="FOK"))
            assert err["code"] == -5021  # only 4 up to 65000.2
            fok = limit("65000.3", qty="1", tif="FOK", newOrderRespType="RESULT")
            _, result, _ = await rest.signed("POST", ORDER, fok)
            assert result["status"] == "FILLED"

    run(scenario())


@pytest.mark.parametrize(("params", "code"), [
    (limit("64000.05"), -4014),
    (limit("64000", qty="0.0015"), -1111),
    (limit("64000", qty="0.00001"), -1111),
    (limit("100", qty="0.001"), -4164),
    (limit("64000", qty="1000"), -2019),
    (limit("64000", reduceOnly="true"), -2022),
    (limit("64000", positionSide="LONG"), -4061),
    (limit("64000", tif="GTD"), -1115),
    ({**limit("64000"), "side": "UP"}, -1117),
    ({**limit("64000"), "type": "STOP"}, -4120),  # stops go to the Algo Service (/fapi/v1/algoOrder)
    ({**limit("64000"), "type": "ICEBERG"}, -1116),
    ({**limit("64000"), "symbol": "ETHUSDT"}, -1121),
    ({k: v for k, v in limit("64000").items() if k != "price"}, -1102),
    ({**limit("64000"), "newClientOrderId": "has spaces"}, -4015),
    ({**market("0.01"), "price": "1"}, -1106),
])
def test_order_parameter_and_rule_errors(params: dict[str, str], code: int) -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            status, err, _ = await rest.signed("POST", ORDER, params)
            assert (status, err["code"]) == (400, code), err
            assert server.exchange.open_orders() == []

    run(scenario())


def test_duplicate_client_id_of_an_open_order() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            await rest.signed("POST", ORDER, limit("64000", newClientOrderId="dup"))
            _, err, _ = await rest.signed("POST", ORDER, limit("63000", newClientOrderId="dup"))
            assert err["code"] == -4116

    run(scenario())


def test_cancel_all_and_open_orders() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            for price in ("60000", "61000"):
                await rest.signed("POST", ORDER, limit(price))
            _, done, _ = await rest.signed("DELETE", "/fapi/v1/allOpenOrders", {"symbol": SYMBOL})
            assert done == {"code": 200, "msg": "The operation of cancel all open order is done."}
            _, opened, _ = await rest.signed("GET", "/fapi/v1/openOrders")
            assert opened == [] and server.exchange.open_orders() == []
            _, every, _ = await rest.signed("GET", "/fapi/v1/allOrders", {"symbol": SYMBOL})
            assert [o["status"] for o in every] == ["CANCELED", "CANCELED"]

    run(scenario())


def test_orders_with_latency_still_answer_synchronously() -> None:
    async def scenario() -> None:
        async with serving(static_settings(latency_s=0.05)) as server, rest_client(server) as rest:
            _, ack, _ = await rest.signed("POST", ORDER, limit("64000"))
            assert ack["status"] == "NEW"
            _, err, _ = await rest.signed("POST", ORDER, limit("70000", tif="GTX"))
            assert err["code"] == -5022
            _, gone, _ = await rest.signed("DELETE", ORDER, {"symbol": SYMBOL, "orderId": ack["orderId"]})
            assert gone["status"] == "CANCELED"

    run(scenario())


def test_leverage_margin_type_and_position_mode() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            _, body, _ = await rest.signed("POST", "/fapi/v1/leverage", {"symbol": SYMBOL, "leverage": 5})
            assert body["leverage"] == 5 and body["symbol"] == SYMBOL and server.exchange.leverage("BTC-USDT") == 5
            _, err, _ = await rest.signed("POST", "/fapi/v1/leverage", {"symbol": SYMBOL, "leverage": 500})
            assert err["code"] == -4028
            _, err, _ = await rest.signed("POST", "/fapi/v1/marginType", {"symbol": SYMBOL, "marginType": "CROSSED"})
            assert (err["code"], err["msg"]) == (-4046, "No need to change margin type.")
            _, ok, _ = await rest.signed("POST", "/fapi/v1/marginType", {"symbol": SYMBOL, "marginType": "ISOLATED"})
            assert ok == {"code": 200, "msg": "success"}
            _, err, _ = await rest.signed("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "false"})
            assert (err["code"], err["msg"]) == (-4059, "No need to change position side.")
            _, ok, _ = await rest.signed("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "true"})
            assert ok["code"] == 200
            _, mode, _ = await rest.signed("GET", "/fapi/v1/positionSide/dual")
            assert mode == {"dualSidePosition": True}
            _, rows, _ = await rest.signed("GET", "/fapi/v2/positionRisk", {"symbol": SYMBOL})
            assert [r["positionSide"] for r in rows] == ["LONG", "SHORT"] and rows[0]["marginType"] == "isolated"
            _, err, _ = await rest.signed("POST", ORDER, limit("64000"))
            assert err["code"] == -4061  # hedge mode needs LONG/SHORT
            _, ack, _ = await rest.signed("POST", ORDER, limit("64000", positionSide="LONG"))
            assert ack["positionSide"] == "LONG"
            _, err, _ = await rest.signed("POST", "/fapi/v1/positionSide/dual", {"dualSidePosition": "false"})
            assert err["code"] == -4067  # open orders block the switch
            _, err, _ = await rest.signed("POST", "/fapi/v1/marginType", {"symbol": SYMBOL, "marginType": "CROSSED"})
            assert err["code"] == -4047

    run(scenario())


def test_closed_orders_are_forgotten_as_binance_forgets_them() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            _, kept, _ = await rest.signed("POST", ORDER, limit("60000"))
            _, gone, _ = await rest.signed("POST", ORDER, limit("61000"))
            _, filled, _ = await rest.signed("POST", ORDER, {"symbol": SYMBOL, "side": "BUY", "type": "MARKET",
                                                             "quantity": "0.01"})
            await rest.signed("DELETE", ORDER, {"symbol": SYMBOL, "orderId": gone["orderId"]})
            now = server.clock.now()
            assert server.orders.prune(now + 2 * 86400) == 0
            assert server.orders.prune(now + 4 * 86400) == 1  # cancelled without a fill, after 3 days
            _, err, _ = await rest.signed("GET", ORDER, {"symbol": SYMBOL, "orderId": gone["orderId"]})
            assert err["code"] == -2013
            _, got, _ = await rest.signed("GET", ORDER, {"symbol": SYMBOL, "orderId": filled["orderId"]})
            assert got["status"] == "FILLED"
            assert server.orders.prune(now + 91 * 86400) == 1  # the filled one; the open one stays
            _, got, _ = await rest.signed("GET", ORDER, {"symbol": SYMBOL, "orderId": kept["orderId"]})
            assert got["status"] == "NEW"

    run(scenario())
