"""What python-okx 0.4.4 reads from the OKX server beyond the generic conformance round trip
(tests/connectors/test_conformance_clients.py runs both OKX clients through that): the order type
a post-only order is reported with, and a funding payment in the archived bills (`bills-archive`)
with OKX's funding sub-type (173: paid, as a long pays a positive rate). Each call is bounded by
python-okx's own HTTP timeout (httpx's 5 s); the wait for a bill has a deadline.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from okx import Account, Trade
from test_server_okx_kit import static_settings
from venue_servers import API_KEY, API_PASSPHRASE, API_SECRET, running_server

SYMBOL, MARGIN_MODE = "BTC-USDT-SWAP", "cross"
DEADLINE_S = 20.0


def _ok(answer: dict[str, Any]) -> list[dict[str, str]]:
    assert answer["code"] == "0", answer
    return answer["data"]


def test_python_okx_reads_the_post_only_type_and_the_funding_bill_in_the_archive():
    with running_server("okx_perpetual", static_settings(funding_interval_s=2.0)) as server:
        creds = {"api_key": API_KEY, "api_secret_key": API_SECRET, "passphrase": API_PASSPHRASE, "flag": "0",
                 "domain": server.rest_url, "debug": False}
        account, trade = Account.AccountAPI(**creds), Trade.TradeAPI(**creds)
        try:
            [placed] = _ok(trade.place_order(instId=SYMBOL, tdMode=MARGIN_MODE, side="buy", ordType="post_only",
                                             sz="5", px="64000", clOrdId="detail1"))
            [read] = _ok(trade.get_order(instId=SYMBOL, ordId=placed["ordId"]))
            assert (read["ordType"], read["clOrdId"], read["state"]) == ("post_only", "detail1", "live")

            _ok(trade.place_order(instId=SYMBOL, tdMode=MARGIN_MODE, side="buy", ordType="market", sz="10"))
            deadline = time.monotonic() + DEADLINE_S
            while not (bills := _ok(account.get_account_bills_archive(instType="SWAP", type="8"))):
                assert time.monotonic() < deadline, f"no funding bill in the archive within {DEADLINE_S:g} s"
                time.sleep(0.5)  # under the archive's limit (5 requests per 2 s)
            bill = bills[0]
            assert (bill["instId"], bill["type"], bill["subType"]) == (SYMBOL, "8", "173")
            assert Decimal(bill["balChg"]) < 0
        finally:
            account.close()
            trade.close()
