"""Bybit server public WebSocket: an orderbook kept with Bybit's rules equals the simulator's book,
`u` / `seq` numbering, the u=1 restart snapshot, gaps, level 1, tickers, trades, ping/pong, acks."""

from __future__ import annotations

from decimal import Decimal

from test_server_bybit_kit import StepClock, Venue, Ws, run, running, static_settings, synthetic_settings

from pmm.core.model import Side

MARKET = "BTC-USDT"
STEP = 0.0625  # the synthetic book's interval: a binary fraction, so clock sums stay exact


class LocalBook:
    """A client's book per Bybit's rules: a snapshot (or u=1) resets; deltas need u == previous + 1;
    size 0 deletes, anything else inserts or replaces."""

    def __init__(self) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.u: int | None = None
        self.seq = 0
        self.gaps = 0

    def apply(self, msg: dict) -> None:
        data = msg["data"]
        assert data["seq"] >= self.seq, (data["seq"], self.seq)  # cross sequence never goes back
        self.seq = data["seq"]
        if msg["type"] == "snapshot" or data["u"] == 1:
            self.bids = {p: s for p, s in data["b"]}
            self.asks = {p: s for p, s in data["a"]}
            self.u = data["u"]
            return
        if self.u is None or data["u"] != self.u + 1:
            self.gaps += 1
        self.u = data["u"]
        for side, levels in ((self.bids, data["b"]), (self.asks, data["a"])):
            for price, size in levels:
                if Decimal(size) == 0:
                    side.pop(price, None)
                else:
                    side[price] = size

    def top(self, side: Side, depth: int) -> list[list[str]]:
        book = self.bids if side is Side.BUY else self.asks
        ordered = sorted(book.items(), key=lambda level: Decimal(level[0]), reverse=side is Side.BUY)
        return [[p, s] for p, s in ordered[:depth]]


def _sim_top(venue: Venue, side: Side, depth: int) -> list[list[str]]:
    grid = venue.server.symbols.grid("BTCUSDT")
    return grid.levels(venue.exchange.book(MARKET).iter_levels(side, depth))


async def _subscribe(venue: Venue, *topics: str, req_id: object = 1) -> Ws:
    ws = await venue.ws()
    await ws.send({"op": "subscribe", "req_id": req_id, "args": list(topics)})
    ack = await ws.recv()
    assert ack == {"success": True, "ret_msg": "", "conn_id": ack["conn_id"], "req_id": req_id, "op": "subscribe"}
    return ws


def test_orderbook_snapshot_and_deltas_rebuild_the_simulators_book():
    async def go():
        async with running(synthetic_settings(book_interval_s=STEP), clock=StepClock()) as venue:
            venue.step()
            ws = await _subscribe(venue, "orderbook.50.BTCUSDT", "orderbook.200.BTCUSDT", "orderbook.1.BTCUSDT")
            books = {depth: LocalBook() for depth in (1, 50, 200)}
            counts = {depth: 0 for depth in books}
            for _ in range(30):
                venue.step(STEP)
                for msg in await ws.drain(0.02):
                    depth = int(msg["topic"].split(".")[1])
                    assert msg["data"]["s"] == "BTCUSDT" and msg["ts"] and msg["cts"]
                    if depth == 1:
                        assert msg["type"] == "snapshot"  # level 1 sends snapshots only
                    books[depth].apply(msg)
                    counts[depth] += 1
            assert min(counts.values()) > 10
            for depth, book in books.items():
                assert book.gaps == 0
                assert book.top(Side.BUY, depth) == _sim_top(venue, Side.BUY, depth)
                assert book.top(Side.SELL, depth) == _sim_top(venue, Side.SELL, depth)
            rest = await venue.get("/v5/market/orderbook", {"category": "linear", "symbol": "BTCUSDT", "limit": 200},
                                   signed=False)
            assert rest.result["b"] == _sim_top(venue, Side.BUY, 200)
            assert rest.result["a"] == _sim_top(venue, Side.SELL, 200)
            assert rest.result["seq"] >= books[50].seq  # trades move the cross sequence too
            await ws.close()
    run(go())


def test_restart_snapshot_with_u_1_and_an_injected_gap():
    async def go():
        async with running(synthetic_settings(book_interval_s=STEP), clock=StepClock()) as venue:
            venue.step()
            ws = await _subscribe(venue, "orderbook.50.BTCUSDT", req_id="r-1")
            book = LocalBook()
            book.apply(await ws.recv())
            venue.step(STEP)
            for msg in await ws.drain(0.02):
                book.apply(msg)
            assert venue.faults.restart_orderbook() == 1
            restart = await ws.recv()
            assert restart["type"] == "snapshot" and restart["data"]["u"] == 1
            book.apply(restart)
            venue.step(STEP)
            [delta] = await ws.drain(0.02)
            assert delta["type"] == "delta" and delta["data"]["u"] == 2
            book.apply(delta)
            venue.faults.skip_depth_update_ids(3)
            venue.step(STEP)
            [gapped] = await ws.drain(0.02)
            assert gapped["data"]["u"] == 2 + 1 + 3
            book.apply(gapped)
            assert book.gaps == 1
            # A client resubscribes to recover: the new snapshot carries the current u.
            await ws.send({"op": "unsubscribe", "args": ["orderbook.50.BTCUSDT"]})
            assert (await ws.recv())["success"] is True
            await ws.send({"op": "subscribe", "args": ["orderbook.50.BTCUSDT"]})
            assert (await ws.recv())["req_id"] == ""
            fresh = await ws.recv()
            assert fresh["type"] == "snapshot" and fresh["data"]["u"] == 6
            await ws.close()
    run(go())


def test_level_1_resends_its_snapshot_when_quiet():
    async def go():
        async with running(static_settings(), clock=StepClock()) as venue:
            venue.step()
            ws = await _subscribe(venue, "orderbook.1.BTCUSDT")
            first = await ws.recv()
            assert first["data"]["b"] == [["64990.0", "1.000"]] and first["data"]["a"] == [["65010.0", "1.000"]]
            venue.step(1.0)
            assert await ws.drain(0.05) == []
            venue.step(2.5)
            again = await ws.recv()
            assert again["type"] == "snapshot" and again["data"]["u"] == first["data"]["u"]
            await ws.close()
    run(go())


def test_tickers_snapshot_then_deltas_of_what_changed():
    async def go():
        async with running(synthetic_settings(book_interval_s=STEP), clock=StepClock()) as venue:
            venue.step()
            ws = await _subscribe(venue, "tickers.BTCUSDT")
            snap = await ws.recv()
            assert snap["topic"] == "tickers.BTCUSDT" and snap["type"] == "snapshot" and snap["cs"] and snap["ts"]
            merged = dict(snap["data"])
            info = venue.exchange.funding_info(MARKET)
            assert merged["nextFundingTime"] == str(int(info.next_funding_ts * 1000))
            assert Decimal(merged["fundingRate"]) == info.rate
            assert Decimal(merged["markPrice"]) == info.mark_price.quantize(Decimal("0.1"))
            for _ in range(5):
                venue.step(STEP)
                for msg in await ws.drain(0.02):
                    assert msg["type"] == "delta" and msg["data"]["symbol"] == "BTCUSDT"
                    assert set(msg["data"]) < set(merged) | {"symbol"}
                    merged.update(msg["data"])
            rest = await venue.get("/v5/market/tickers", {"category": "linear", "symbol": "BTCUSDT"}, signed=False)
            assert merged == rest.result["list"][0]
            book = venue.exchange.book(MARKET)
            assert Decimal(merged["bid1Price"]) == book.best_bid and Decimal(merged["ask1Price"]) == book.best_ask
            await ws.close()
    run(go())


def test_public_trades():
    async def go():
        async with running(synthetic_settings(book_interval_s=STEP), clock=StepClock()) as venue:
            venue.step()
            ws = await _subscribe(venue, "publicTrade.BTCUSDT")
            venue.step(1.0)
            trades = [m for m in await ws.drain(0.05)]
            assert trades
            for msg in trades:
                assert msg["topic"] == "publicTrade.BTCUSDT" and msg["type"] == "snapshot"
                [trade] = msg["data"]
                assert trade["s"] == "BTCUSDT" and trade["S"] in ("Buy", "Sell") and trade["BT"] is False
                assert trade["L"] in ("PlusTick", "ZeroPlusTick", "MinusTick", "ZeroMinusTick")
                assert Decimal(trade["v"]) > 0 and Decimal(trade["p"]) > 0 and trade["i"]
            recent = await venue.get("/v5/market/recent-trade", {"category": "linear", "symbol": "BTCUSDT"},
                                     signed=False)
            assert [r["execId"] for r in recent.result["list"]][:len(trades)] == [
                m["data"][0]["i"] for m in reversed(trades)]
            await ws.close()
    run(go())


def test_ping_pong_and_subscription_errors():
    async def go():
        async with running(static_settings(), clock=StepClock()) as venue:
            venue.step()
            ws = await venue.ws()
            await ws.send({"req_id": "100001", "op": "ping"})
            pong = await ws.recv()
            assert pong == {"success": True, "ret_msg": "pong", "conn_id": pong["conn_id"], "req_id": "100001",
                            "op": "ping"}
            for topic, message in (("orderbook.50.ETHUSDT", "Invalid symbol :[orderbook.50.ETHUSDT]"),
                                   ("orderbook.7.BTCUSDT", "error:handler not found,topic:orderbook.7.BTCUSDT"),
                                   ("kline.2.BTCUSDT", "error:handler not found,topic:kline.2.BTCUSDT")):
                await ws.send({"op": "subscribe", "req_id": 5, "args": [topic]})
                reply = await ws.recv()
                assert (reply["success"], reply["ret_msg"], reply["req_id"]) == (False, message, 5)
            await ws.send({"op": "subscribe", "args": ["tickers.BTCUSDT"]})
            assert (await ws.recv())["success"] is True
            await ws.recv()  # the snapshot
            await ws.send({"op": "subscribe", "args": ["tickers.BTCUSDT"]})
            assert (await ws.recv())["success"] is False
            await ws.send({"op": "nonsense"})
            assert (await ws.recv())["ret_msg"] == "error:invalid op"
            private = await venue.private(["order"])
            await private.send({"req_id": "test", "op": "ping"})
            pong = await private.recv()
            assert pong == {"req_id": "test", "op": "pong", "args": [str(int(venue.clock.now() * 1000))],
                            "conn_id": pong["conn_id"]}
            await ws.close()
            await private.close()
    run(go())
