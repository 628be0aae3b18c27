"""The OKX server's WebSockets: ping/pong, subscribe acks and errors, the books seqId chain (with
an injected gap and the heartbeat), public channels, login, and the private channels (orders with
instType ANY or SWAP, positions, account, balance_and_position, orders-algo on /business)."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest
from test_server_okx_kit import SYMBOL, StepClock, Venue, channel, run, running, static_settings

from pmm.connectors.okx_perpetual.server import ServerOptions
from pmm.sim.settings import SimMarketSettings, SimSettings, SyntheticMarket


def _with(check, **kwargs):
    async def go():
        async with running(**kwargs) as venue:
            await check(venue)
    run(go())


def moving_market() -> SimSettings:
    """A book redrawn every 0.05 s of the test's clock (no market trades)."""
    market = SyntheticMarket(start_price=Decimal("65000"), book_interval_s=0.05, trade_rate_per_min=0.0)
    return SimSettings(markets=(SimMarketSettings("BTC-USDT", market),))


def test_ping_pong_and_malformed_requests():
    async def check(venue: Venue):
        ws = await venue.ws()
        await ws.send("ping")
        assert await ws.recv_text() == "pong"
        await ws.send("{not json")
        bad = await ws.recv()
        assert bad["event"] == "error" and bad["code"] == "60012" and bad["connId"]
        await ws.send({"id": "7", "op": "dance", "args": []})
        assert (await ws.recv())["code"] == "60019"
        await ws.send({"op": "subscribe", "args": "books"})
        assert (await ws.recv())["code"] == "60012"
    _with(check)


@pytest.mark.parametrize(("arg", "code"), [
    ({"channel": "candles", "instId": SYMBOL}, "60018"),
    ({"channel": "books", "instId": "ETH-USDT-SWAP"}, "60018"),
    ({"channel": "books-l2-tbt", "instId": SYMBOL}, "64003"),
    ({"channel": "orders", "instType": "SWAP"}, "60018"),  # a private channel on the public socket
])
def test_refused_subscriptions(arg, code):
    async def check(venue: Venue):
        ws = await venue.ws()
        await ws.send({"id": "s1", "op": "subscribe", "args": [arg]})
        reply = await ws.recv()
        assert (reply["id"], reply["event"], reply["code"]) == ("s1", "error", code), reply
    _with(check)


def test_books_snapshot_updates_gap_and_heartbeat():
    async def check(venue: Venue):
        ws = await venue.ws()
        await ws.send({"id": "b1", "op": "subscribe", "args": [{"channel": "books", "instId": SYMBOL}]})
        ack = await ws.recv()
        assert ack == {"id": "b1", "event": "subscribe", "arg": {"channel": "books", "instId": SYMBOL},
                       "connId": ack["connId"]}
        snap = (await ws.recv())
        assert snap["action"] == "snapshot" and snap["data"][0]["prevSeqId"] == -1
        assert snap["data"][0]["checksum"] == 0 and len(snap["data"][0]["bids"][0]) == 4
        last = snap["data"][0]["seqId"]
        for _ in range(3):
            venue.step(0.051)  # past the next redraw, whatever the float rounding
            update = await ws.until(lambda m: m.get("action") == "update")
            assert update["data"][0]["prevSeqId"] == last, (update, last)
            last = update["data"][0]["seqId"]
            assert last > update["data"][0]["prevSeqId"]
        venue.faults.skip_depth_update_ids(2)
        venue.step(0.051)
        gap = await ws.until(lambda m: m.get("action") == "update")
        assert gap["data"][0]["prevSeqId"] == last + 2  # two messages lost: the chain breaks
        # Every depth stream keeps its own chain; books5 sends the top 5 levels whole.
        await ws.send({"op": "subscribe", "args": [{"channel": "books5", "instId": SYMBOL}]})
        five = await ws.until(lambda m: channel(m, "books5"))
        assert len(five["data"][0]["bids"]) == 5 and five["data"][0]["instId"] == SYMBOL
    _with(check, settings=moving_market())


def test_books_heartbeat_after_a_minute_without_change():
    async def check(venue: Venue):
        ws = await venue.ws()
        await ws.send({"op": "subscribe", "args": [{"channel": "books", "instId": SYMBOL}]})
        await ws.until(lambda m: m.get("action") == "snapshot")
        venue.step(61.0)
        beat = await ws.until(lambda m: m.get("action") == "update")
        data = beat["data"][0]
        assert data["seqId"] == data["prevSeqId"] and data["bids"] == [] and data["asks"] == []
    _with(check, options=ServerOptions(ws_idle_cutoff_s=3600.0))


def test_public_channels_send_a_first_message_and_trades_follow_fills():
    async def check(venue: Venue):
        ws = await venue.ws()
        args = [{"channel": name, "instId": SYMBOL} for name in ("tickers", "mark-price", "funding-rate", "trades")]
        await ws.send({"op": "subscribe", "args": args + [{"channel": "index-tickers", "instId": "BTC-USDT"}]})
        ticker = await ws.until(lambda m: channel(m, "tickers"))
        assert ticker["data"][0]["bidPx"] == "64990.0"
        mark = await ws.until(lambda m: channel(m, "mark-price"))
        assert mark["data"][0]["markPx"] == "65000.0"
        funding = await ws.until(lambda m: channel(m, "funding-rate"))
        assert funding["data"][0]["fundingRate"] == "0.0001"
        await venue.order("buy", "200", "65010")  # the account takes: a market trade
        trade = await ws.until(lambda m: channel(m, "trades"))
        assert {k: trade["data"][0][k] for k in ("px", "sz", "side", "instId")} == {
            "px": "65010.0", "sz": "200", "side": "buy", "instId": SYMBOL}
    _with(check)


def test_login_and_its_refusals():
    async def check(venue: Venue):
        ws = await venue.ws("private")
        await ws.send({"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"}]})
        assert (await ws.recv())["code"] == "60011"  # log in first
        frame = venue.auth.ws_login_message()
        wrong = {"op": "login", "args": [{**frame["args"][0], "passphrase": "nope"}]}  # type: ignore[index]
        await ws.send(wrong)
        assert (await ws.recv())["code"] == "60024"
        venue.faults.reject_next_login()
        await ws.send(frame)
        assert (await ws.recv())["code"] == "60009"
        await ws.send(frame)
        reply = await ws.recv()
        assert reply == {"event": "login", "code": "0", "msg": "", "connId": reply["connId"]} and reply["connId"]
        await ws.send({"op": "subscribe", "args": [{"channel": "orders", "instType": "SWAP"}]})
        assert (await ws.recv())["event"] == "subscribe"
    _with(check)


def test_private_channels_follow_orders_fills_and_positions():
    async def check(venue: Venue):
        orders_any = await venue.private([{"channel": "orders", "instType": "ANY"},
                                          {"channel": "positions", "instType": "ANY"}])
        first = await orders_any.until(lambda m: channel(m, "positions"))
        assert first["data"] == [] and first["arg"]["uid"]
        orders_swap = await venue.private([{"channel": "orders", "instType": "SWAP", "instId": SYMBOL},
                                           {"channel": "account", "ccy": "USDT"},
                                           {"channel": "balance_and_position"}])
        balance = await orders_swap.until(lambda m: channel(m, "account"))
        assert balance["data"][0]["details"][0]["cashBal"] == "10000.00000000"
        snapshot = await orders_swap.until(lambda m: channel(m, "balance_and_position"))
        assert snapshot["data"][0]["eventType"] == "snapshot"
        placed = await venue.order("buy", "300", "65010", cl="p1")
        order_id = placed.data[0]["ordId"]
        for ws in (orders_any, orders_swap):
            filled = await ws.until(lambda m: channel(m, "orders") and m["data"][0]["state"] == "filled")
            row = filled["data"][0]
            assert (row["ordId"], row["clOrdId"], row["fillSz"], row["fillPx"], row["execType"]) == (
                order_id, "p1", "300", "65010.0", "T")
            assert row["fillFee"].startswith("-") and row["fillFeeCcy"] == "USDT"
        position = await orders_any.until(lambda m: channel(m, "positions") and m["data"])
        assert position["data"][0]["pos"] == "300" and position["data"][0]["avgPx"] == "65010.0"
        event = await orders_swap.until(lambda m: channel(m, "balance_and_position")
                                        and m["data"][0]["eventType"] == "filled")
        assert event["data"][0]["posData"][0]["pos"] == "300" and event["data"][0]["trades"]
        account = await orders_swap.until(lambda m: channel(m, "account"))
        assert Decimal(account["data"][0]["details"][0]["cashBal"]) < 10000  # the fee
        await venue.order("sell", "300", "64990")
        closed = await orders_any.until(lambda m: channel(m, "positions") and m["data"]
                                        and m["data"][0]["pos"] == "0")
        assert closed["data"][0]["posSide"] == "net"
    _with(check)


def test_algo_orders_are_pushed_on_the_business_socket():
    async def check(venue: Venue):
        ws = await venue.private([{"channel": "orders-algo", "instType": "SWAP"}], kind="business")
        await venue.order("buy", "100", "65010")
        placed = await venue.post("/api/v5/trade/order-algo", {
            "instId": SYMBOL, "tdMode": "cross", "side": "sell", "ordType": "conditional", "sz": "100",
            "reduceOnly": True, "tpTriggerPx": "66000", "tpOrdPx": "-1"})
        pushed = await ws.until(lambda m: channel(m, "orders-algo"))
        row = pushed["data"][0]
        assert (row["algoId"], row["state"], row["tpTriggerPx"], row["tpTriggerPxType"]) == (
            placed.data[0]["algoId"], "live", "66000.0", "last")
    _with(check)


def test_idle_sockets_are_closed_and_drops_cut_them():
    async def check(venue: Venue):
        idle = await venue.ws()
        venue.step(31.0)
        closed = await idle.ws.receive(timeout=5)
        assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        talking = await venue.ws()
        await talking.send("ping")
        assert await talking.recv_text() == "pong"
        assert venue.faults.drop_sockets("public") == 1
        dropped = await talking.ws.receive(timeout=5)
        assert dropped.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSE)
    _with(check, settings=static_settings(), clock=StepClock())


def test_expired_logins_close_the_private_sockets():
    async def check(venue: Venue):
        ws = await venue.private([{"channel": "account"}])
        assert venue.faults.expire_logins() == 1
        closing = await ws.ws.receive(timeout=5)
        while closing.type == aiohttp.WSMsgType.TEXT:
            closing = await ws.ws.receive(timeout=5)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    _with(check)
