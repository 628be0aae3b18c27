"""Bybit server private side: a fill on the execution, order, position and wallet topics; funding as
SETTLEMENT transaction-log rows and Funding executions; the wallet, positions and history agree
with the simulator's account."""

from __future__ import annotations

from decimal import Decimal

from test_server_bybit_kit import StepClock, Venue, run, running, static_settings

MARKET = "BTC-USDT"


def _with(check, settings=None):
    async def go():
        async with running(settings or static_settings(), clock=StepClock()) as venue:
            venue.step()
            await check(venue)
    run(go())


def _usdt(venue: Venue):
    [balance] = [b for b in venue.exchange.balances() if b.asset == "USDT"]
    return balance


def test_a_fill_arrives_on_execution_order_position_and_wallet():
    async def check(venue: Venue):
        ws = await venue.private(["order", "execution.linear", "position", "wallet"])
        placed = await venue.order("Buy", "0.01", link="fill-1")
        assert placed.code == 0
        by_topic: dict[str, list[dict]] = {}
        for msg in await ws.drain(0.1):
            assert set(msg) == {"id", "topic", "creationTime", "data"} and msg["creationTime"] > 0
            by_topic.setdefault(msg["topic"], []).append(msg)
        assert set(by_topic) == {"order", "execution.linear", "position", "wallet"}
        statuses = [m["data"][0]["orderStatus"] for m in by_topic["order"]]
        assert statuses == ["New", "Filled"]
        [execution] = by_topic["execution.linear"][0]["data"]
        assert execution["category"] == "linear" and execution["execType"] == "Trade"
        assert (execution["orderId"], execution["orderLinkId"]) == (placed.result["orderId"], "fill-1")
        assert (execution["side"], execution["execQty"], execution["execPrice"], execution["isMaker"]) == (
            "Buy", "0.010", "65010.0", False)
        fee = Decimal("65010") * Decimal("0.01") * venue.exchange.settings.taker_fee
        assert Decimal(execution["execFee"]) == fee and execution["leavesQty"] == "0.000"
        [position] = by_topic["position"][-1]["data"]
        assert (position["symbol"], position["side"], position["size"], position["positionIdx"]) == (
            "BTCUSDT", "Buy", "0.010", 0)
        [wallet] = by_topic["wallet"][-1]["data"]
        [coin] = wallet["coin"]
        balance = _usdt(venue)
        assert wallet["accountType"] == "UNIFIED" and coin["coin"] == "USDT"
        assert Decimal(coin["walletBalance"]) == balance.total == Decimal("10000") - fee
        assert Decimal(wallet["totalAvailableBalance"]) == balance.available.quantize(Decimal("0.00000001"))
        await ws.close()
    _with(check)


def test_funding_appears_in_the_transaction_log_and_executions():
    async def check(venue: Venue):
        assert (await venue.order("Buy", "1", link="long")).code == 0
        ws = await venue.private()
        info = venue.exchange.funding_info(MARKET)
        venue.step(info.next_funding_ts - venue.clock.now())
        [payment] = venue.exchange.funding_payments_since(0)
        assert payment.amount == Decimal("-6.5")  # 1 BTC x mark 65000 x 0.0001, paid by the long
        query = {"accountType": "UNIFIED", "category": "linear", "currency": "USDT", "type": "SETTLEMENT"}
        log = await venue.get("/v5/account/transaction-log", query)
        assert log.code == 0
        [row] = log.result["list"]
        assert (row["type"], row["symbol"], row["side"], row["size"], row["currency"]) == (
            "SETTLEMENT", "BTCUSDT", "Buy", "1.000", "USDT")
        assert Decimal(row["funding"]) == Decimal(row["change"]) == payment.amount
        assert row["transactionTime"] == str(payment.funding_time_ms) and Decimal(row["feeRate"]) == payment.rate
        assert Decimal(row["cashBalance"]) == _usdt(venue).total and row["tradePrice"] == "65000.0"
        everything = await venue.get("/v5/account/transaction-log", {"accountType": "UNIFIED"})
        assert [r["type"] for r in everything.result["list"]] == ["SETTLEMENT", "TRADE"]
        funding = await venue.get("/v5/execution/list", {"category": "linear", "execType": "Funding"})
        [execution] = funding.result["list"]
        assert Decimal(execution["execFee"]) == Decimal("6.5") and execution["feeRate"] == row["feeRate"]
        pushed = {m["topic"]: m["data"] for m in await ws.drain(0.1)}
        assert pushed["execution"][0]["execType"] == "Funding"
        assert Decimal(pushed["wallet"][0]["coin"][0]["walletBalance"]) == _usdt(venue).total
        assert pushed["position"][0]["size"] == "1.000"
        [pos] = await venue.positions()
        fee = Decimal("65010") * venue.exchange.settings.taker_fee
        assert Decimal(pos["cumRealisedPnl"]) == -fee + payment.amount
        await ws.close()
    _with(check, static_settings(funding_interval_s=60.0))


def test_wallet_positions_and_history_agree_with_the_simulator():
    async def check(venue: Venue):
        for n in range(3):
            assert (await venue.order("Buy", "0.1", link=f"buy-{n}")).code == 0
        assert (await venue.order("Buy", "0.1", "60000", link="bid")).code == 0
        assert (await venue.order("Sell", "0.1", link="sell")).code == 0
        wallet = await venue.get("/v5/account/wallet-balance", {"accountType": "UNIFIED", "coin": "USDT"})
        [account] = wallet.result["list"]
        [coin] = account["coin"]
        balance = _usdt(venue)
        [sim_pos] = venue.exchange.positions()
        assert Decimal(coin["walletBalance"]) == balance.total
        assert Decimal(coin["unrealisedPnl"]) == balance.unrealized_pnl
        assert Decimal(coin["totalPositionIM"]) == sim_pos.margin
        assert Decimal(coin["totalOrderIM"]) == balance.margin_in_use - sim_pos.margin > 0
        assert Decimal(account["totalEquity"]) == balance.total + balance.unrealized_pnl
        assert Decimal(coin["cumRealisedPnl"]) == sum((-f.fee + f.realized_pnl for f in
                                                       venue.exchange.fills_since(0)), Decimal(0))
        [pos] = await venue.positions()
        assert (pos["size"], Decimal(pos["avgPrice"])) == ("0.200", sim_pos.entry_price)
        assert Decimal(pos["positionIM"]) == sim_pos.margin and pos["markPrice"] == "65000.0"
        page1 = await venue.get("/v5/execution/list", {"category": "linear", "limit": 3})
        assert len(page1.result["list"]) == 3 and page1.result["nextPageCursor"]
        page2 = await venue.get("/v5/execution/list", {"category": "linear", "limit": 3,
                                                       "cursor": page1.result["nextPageCursor"]})
        assert len(page2.result["list"]) == 1 and page2.result["nextPageCursor"] == ""
        ids = [e["orderLinkId"] for e in page1.result["list"] + page2.result["list"]]
        assert ids == ["sell", "buy-2", "buy-1", "buy-0"]  # newest first
        only = await venue.get("/v5/execution/list", {"category": "linear", "orderLinkId": "buy-1"})
        assert [e["orderLinkId"] for e in only.result["list"]] == ["buy-1"]
        history = await venue.get("/v5/order/history", {"category": "linear"})
        assert [o["orderLinkId"] for o in history.result["list"]] == ["sell", "bid", "buy-2", "buy-1", "buy-0"]
        trades = await venue.get("/v5/account/transaction-log", {"accountType": "UNIFIED", "type": "TRADE"})
        closing = trades.result["list"][0]
        assert closing["orderLinkId"] == "sell" and Decimal(closing["cashFlow"]) == venue.exchange.fills_since(0)[
            -1].realized_pnl
        fee_rate = await venue.get("/v5/account/fee-rate", {"category": "linear", "symbol": "BTCUSDT"})
        assert fee_rate.result["list"][0]["makerFeeRate"] == "0.0002"
    _with(check)
