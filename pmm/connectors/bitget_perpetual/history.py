"""Paged reads from Bitget: past fills, funding bills, funding-rate history, open and plan orders.
No parsing.

Bitget lists newest first, at most 100 rows a page, as `{"<list>": [...], "endId": "..."}`; the
next page is the rows older than `idLessThan=<endId>`. An empty list may come as null. Fills and
orders keep three months; bills take a window of at most 30 days (`startTime`..`endTime`), so a
longer history is read window by window.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bitget_perpetual import spec
from pmm.connectors.bitget_perpetual.rest import BitgetRestClient

HISTORY_S = 90 * 86400.0  # fills and orders keep three months
MAX_PAGES = 100  # a cursor that never ends must not loop forever


async def pages(rest: BitgetRestClient, path: str, params: list[tuple[str, str]], *, key: str,
                what: str) -> list[dict[str, Any]]:
    """Every row of a list paged by `idLessThan=<endId>`."""
    rows: list[dict[str, Any]] = []
    before = ""
    for _ in range(MAX_PAGES):
        query = [*params, ("limit", str(spec.PAGE_LIMIT))] + ([("idLessThan", before)] if before else [])
        data = await rest.get(path, query, what=what)
        page = list((data or {}).get(key) or [])
        rows += page
        end_id = str((data or {}).get("endId") or "")
        if len(page) < spec.PAGE_LIMIT or not end_id or end_id == before:
            break
        before = end_id
    return rows


def _ms(seconds: float) -> str:
    return str(int(seconds * 1000))


async def fills(rest: BitgetRestClient, symbol: str, since: float, now: float, *, what: str) -> list[dict[str, Any]]:
    """The fill rows of `symbol` from `since` to now, each trade once."""
    params = [("productType", spec.PRODUCT_TYPE), ("symbol", symbol),
              ("startTime", _ms(max(since, now - HISTORY_S + 60))), ("endTime", _ms(now + 1))]
    rows = await pages(rest, spec.FILLS_PATH, params, key="fillList", what=what)
    return list({str(r["tradeId"]): r for r in rows}.values())


async def funding_bills(rest: BitgetRestClient, symbol: str, since: float, now: float, *,
                        what: str) -> list[dict[str, Any]]:
    """The funding bills (contract_settle_fee) of `symbol` from `since` to now, each once."""
    rows: list[dict[str, Any]] = []
    span_s = spec.BILL_SPAN_MS / 1000
    start = max(since, now - HISTORY_S)
    while start < now:
        end = min(now + 1, start + span_s)
        params = [("productType", spec.PRODUCT_TYPE), ("symbol", symbol), ("businessType", spec.BUSINESS_FUNDING),
                  ("startTime", _ms(start)), ("endTime", _ms(end))]
        rows += await pages(rest, spec.BILL_PATH, params, key="bills", what=what)
        start = end
    unique = {str(r["billId"]): r for r in rows if str(r.get("symbol") or symbol).upper() == symbol}
    return [r for r in unique.values() if r.get("businessType", spec.BUSINESS_FUNDING) == spec.BUSINESS_FUNDING]


async def funding_rates(rest: BitgetRestClient, symbol: str, first_ms: int) -> list[dict[str, Any]]:
    """The settled funding rates of `symbol` back to `first_ms` (newest first, 100 a page)."""
    rows: list[dict[str, Any]] = []
    for page_no in range(1, MAX_PAGES + 1):
        page = await rest.public(spec.HISTORY_FUND_RATE_PATH, [
            ("symbol", symbol), ("productType", spec.PRODUCT_TYPE), ("pageSize", str(spec.PAGE_LIMIT)),
            ("pageNo", str(page_no))]) or []
        rows += page
        oldest = min((int(str(r["fundingTime"])) for r in page), default=first_ms)
        if len(page) < spec.PAGE_LIMIT or oldest <= first_ms:
            break
    return rows


async def open_orders(rest: BitgetRestClient, symbol: str, *, what: str) -> list[dict[str, Any]]:
    return await pages(rest, spec.ORDERS_PENDING_PATH, [("productType", spec.PRODUCT_TYPE), ("symbol", symbol)],
                       key="entrustedList", what=what)


async def plan_orders(rest: BitgetRestClient, symbol: str, *, what: str) -> list[dict[str, Any]]:
    return await pages(rest, spec.PLAN_PENDING_PATH, [("productType", spec.PRODUCT_TYPE), ("symbol", symbol),
                                                      ("planType", spec.PLAN_NORMAL)],
                       key="entrustedList", what=what)
