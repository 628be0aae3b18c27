"""Windowed reads from BitMart: past fills, funding transactions, funding-rate history, open orders.
No parsing.

`/contract/private/trades` takes `start_time` / `end_time` in SECONDS at most 7 days apart, so a
longer span is read window by window; `/contract/private/transaction-history` takes them in
MILLISECONDS with `page_size` up to 1000 (`flow_type` 3 = funding fees) and answers the last 7
days without them. History is kept three months here (older is not asked for).
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bitmart_perpetual import spec
from pmm.connectors.bitmart_perpetual.rest import BitmartRestClient

HISTORY_S = 90 * 86400.0
MAX_WINDOWS = 20  # 7-day windows: more than the three months kept


def _rows(data: Any) -> list[dict[str, Any]]:
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


async def fills(rest: BitmartRestClient, symbol: str, since: float, now: float, *, what: str) -> list[dict[str, Any]]:
    """The trade rows of `symbol` from `since` to now, each trade once."""
    start = int(max(since, now - HISTORY_S))
    end = int(now) + 1
    rows: list[dict[str, Any]] = []
    for _ in range(MAX_WINDOWS):
        stop = min(end, start + spec.TRADES_MAX_WINDOW_S)
        rows += _rows(await rest.get(spec.TRADES_PATH, [("symbol", symbol), ("start_time", str(start)),
                                                         ("end_time", str(stop))], what=what))
        if stop >= end:
            break
        start = stop
    return list({str(r["trade_id"]): r for r in rows}.values())


async def funding_transactions(rest: BitmartRestClient, symbol: str, since: float, now: float, *,
                               what: str) -> list[dict[str, Any]]:
    """The funding-fee rows of `symbol` from `since` to now, each once."""
    start_ms = int(max(since, now - HISTORY_S) * 1000)
    rows = _rows(await rest.get(spec.TRANSACTION_HISTORY_PATH, [
        ("symbol", symbol), ("flow_type", spec.FLOW_TYPE_FUNDING), ("start_time", str(start_ms)),
        ("end_time", str(int(now * 1000) + 1000)), ("page_size", str(spec.TRANSACTIONS_PAGE))], what=what))
    funding = [r for r in rows if r.get("type") == spec.FUNDING_FEE_TYPE and r.get("symbol", symbol) == symbol]
    return list({(str(r.get("tran_id")), str(r.get("time"))): r for r in funding}.values())


async def funding_rates(rest: BitmartRestClient, symbol: str) -> dict[str, Any]:
    """The recent settled funding rates of `symbol` (`{"list": [{funding_rate, funding_time}]}`)."""
    data = await rest.public(spec.FUNDING_RATE_HISTORY_PATH, [("symbol", symbol), ("limit", "100")])
    return data if isinstance(data, dict) else {}


async def open_orders(rest: BitmartRestClient, symbol: str, *, what: str) -> list[dict[str, Any]]:
    return _rows(await rest.get(spec.OPEN_ORDERS_PATH, [("symbol", symbol), ("limit", "100")], what=what))
