"""Binance server: conditional orders on the Algo Service (/fapi/v1/algoOrder), held, listed by
openAlgoOrders, fired when the price crosses, canceled, pushed as ALGO_UPDATE in the documented shapes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from test_client_fakes import wait_until
from test_server_kit import SYMBOL, event_of, fixture, rest_client, run, serving, ws_connect
from test_server_shapes import shape_problems

from pmm.connectors.common.server.triggers import TriggerOn

D = Decimal
ORDER, ALGO = "/fapi/v1/order", "/fapi/v1/algoOrder"


def market(qty: str, side: str) -> dict[str, str]:
    return {"symbol": SYMBOL, "side": side, "type": "MARKET", "quantity": qty}


def stop(trigger: str, **extra: str) -> dict[str, str]:
    return {"algoType": "CONDITIONAL", "symbol": SYMBOL, "side": "SELL", "type": "STOP_MARKET",
            "triggerPrice": trigger, **extra}


async def next_algo_update(ws: Any) -> dict[str, Any]:
    message = await ws.until(event_of("ALGO_UPDATE"))
    return dict(message.get("data", message))


def test_a_stop_on_the_last_price_rests_then_closes_the_whole_position() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            key = await rest.listen_key()
            async with ws_connect(server, f"/private/ws/{key}") as ws:
                await rest.signed("POST", ORDER, market("0.02", "BUY"))  # long 0.02; last 65000.1
                status, refused, _ = await rest.signed("POST", ORDER, {**market("0.02", "SELL"), "type": "STOP_MARKET",
                                                                       "stopPrice": "64000"})
                assert (status, refused["code"]) == (400, -4120)  # stops live on the Algo Service now
                status, refused, _ = await rest.signed("POST", ALGO, stop("65100", closePosition="true"))
                assert refused["code"] == -2021  # a sell stop above the last price would fire at once
                status, placed, _ = await rest.signed("POST", ALGO, stop("65000.0", closePosition="true",
                                                                         clientAlgoId="sl-1"))
                assert status == 200, placed
                assert shape_problems(placed, fixture("rest_new_algo_order.json")) == []
                assert (placed["algoStatus"], placed["clientAlgoId"], placed["triggerPrice"], placed["workingType"],
                        placed["closePosition"]) == ("NEW", "sl-1", "65000.0", "CONTRACT_PRICE", True)
                new = await next_algo_update(ws)
                assert shape_problems(new, fixture("ws_algo_update.json")) == []
                assert (new["o"]["X"], new["o"]["caid"], new["o"]["aid"]) == ("NEW", "sl-1", placed["algoId"])
                _, listed, _ = await rest.signed("GET", "/fapi/v1/openAlgoOrders", {"symbol": SYMBOL})
                assert [a["algoId"] for a in listed] == [placed["algoId"]]
                _, plain_orders, _ = await rest.signed("GET", "/fapi/v1/openOrders", {"symbol": SYMBOL})
                assert plain_orders == []

                await rest.signed("POST", ORDER, market("0.005", "SELL"))  # trades at 64999.9: through the stop
                triggered = await next_algo_update(ws)
                assert (triggered["o"]["X"], triggered["o"]["caid"]) == ("TRIGGERED", "sl-1")
                filled = await ws.until(lambda m: event_of("ORDER_TRADE_UPDATE")(m)
                                        and m.get("data", m)["o"]["c"] == "sl-1" and m.get("data", m)["o"]["X"]
                                        == "FILLED")
                o = filled.get("data", filled)["o"]
                assert (o["S"], o["o"], o["z"], o["R"]) == ("SELL", "MARKET", "0.015", True)
                assert server.exchange.positions() == []
                _, done, _ = await rest.signed("GET", ALGO, {"algoId": placed["algoId"]})
                assert done["algoStatus"] == "FINISHED" and done["actualOrderId"] == str(o["i"])
                _, listed, _ = await rest.signed("GET", "/fapi/v1/openAlgoOrders", {"symbol": SYMBOL})
                assert listed == []

    run(scenario())


def test_a_mark_price_stop_rests_until_canceled_and_fires_on_the_mark() -> None:
    async def scenario() -> None:
        async with serving() as server, rest_client(server) as rest:
            await rest.signed("POST", ORDER, market("0.01", "BUY"))
            params = stop("64000", quantity="0.01", reduceOnly="true", workingType="MARK_PRICE", clientAlgoId="sl-2")
            _, placed, _ = await rest.signed("POST", ALGO, params)
            status, canceled, _ = await rest.signed("DELETE", ALGO, {"clientAlgoId": "sl-2"})
            assert status == 200 and (canceled["algoId"], canceled["code"]) == (placed["algoId"], "200")
            status, again, _ = await rest.signed("DELETE", ALGO, {"clientAlgoId": "sl-2"})
            assert (status, again["code"]) == (400, -2013)
            _, query, _ = await rest.signed("GET", ALGO, {"algoId": placed["algoId"]})
            assert query["algoStatus"] == "CANCELED"

            await rest.signed("POST", ALGO, {**params, "clientAlgoId": "sl-3"})
            server.algos.triggers.on_price("BTC-USDT", TriggerOn.LAST, D("63000"))  # the last price: not its trigger
            assert [t.client_id for t in server.algos.triggers.live()] == ["sl-3"]
            server.algos.triggers.on_price("BTC-USDT", TriggerOn.MARK, D("63990"))  # the mark falls through it
            await wait_until(lambda: server.exchange.positions() == [])
            _, gone, _ = await rest.signed("DELETE", "/fapi/v1/algoOpenOrders", {"symbol": SYMBOL})
            assert gone["code"] == 200 and server.algos.triggers.live() == []

    run(scenario())
