"""Paged reads from OKX: past fills, funding bills, funding-rate history, open orders. No parsing.

OKX lists newest first, at most 100 rows a page; the next page is the rows `after` the last row's
id. Recent history has a fast endpoint and an archive: fills 3 days (`/trade/fills`) or 3 months
(`/trade/fills-history`), bills 7 days (`/account/bills`) or 3 months (`/account/bills-archive`).
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.okx_perpetual import spec
from pmm.connectors.okx_perpetual.rest import OkxRestClient

HISTORY_S = 90 * 86400.0  # the archives keep three months
MAX_PAGES = 100  # a cursor that never ends must not loop forever


async def pages(rest: OkxRestClient, path: str, params: list[tuple[str, str]], *, cursor: str, what: str,
                public: bool = False) -> list[dict[str, Any]]:
    """Every row of a list paged by `after=<the last row's cursor field>`."""
    rows: list[dict[str, Any]] = []
    after = ""
    for _ in range(MAX_PAGES):
        query = [*params, ("limit", str(spec.PAGE_LIMIT))] + ([("after", after)] if after else [])
        page = await (rest.public(path, query) if public else rest.get(path, query, what=what))
        rows += page
        if len(page) < spec.PAGE_LIMIT or str(page[-1].get(cursor) or "") in ("", after):
            break
        after = str(page[-1][cursor])
    return rows


def _begin(since: float, now: float) -> str:
    return str(int(max(since, now - HISTORY_S) * 1000))


async def fills(rest: OkxRestClient, inst_id: str, since: float, now: float, *, what: str) -> list[dict[str, Any]]:
    """The fill rows of `inst_id` from `since` to now, each trade once."""
    recent = since >= now - spec.FILLS_RECENT_MS / 1000 + 60
    path = spec.FILLS_PATH if recent else spec.FILLS_HISTORY_PATH
    rows = await pages(rest, path, [("instType", spec.INST_TYPE), ("instId", inst_id), ("begin", _begin(since, now))],
                       cursor="billId", what=what)
    return list({str(r["tradeId"]): r for r in rows}.values())


async def funding_bills(rest: OkxRestClient, inst_id: str, since: float, now: float, *,
                        what: str) -> list[dict[str, Any]]:
    """The funding-fee bills (type 8) of `inst_id` from `since` to now, each once."""
    recent = since >= now - spec.BILLS_RECENT_MS / 1000 + 60
    path = spec.BILLS_PATH if recent else spec.BILLS_ARCHIVE_PATH
    rows = await pages(rest, path, [("instType", spec.INST_TYPE), ("instId", inst_id),
                                    ("type", spec.BILL_TYPE_FUNDING), ("begin", _begin(since, now))],
                       cursor="billId", what=what)
    return [r for r in {str(r["billId"]): r for r in rows}.values() if r.get("instId", inst_id) == inst_id]


async def funding_rates(rest: OkxRestClient, inst_id: str, first_ms: int, last_ms: int) -> list[dict[str, Any]]:
    """The settled funding rates of `inst_id` from `first_ms` to `last_ms` (funding times)."""
    rows: list[dict[str, Any]] = []
    after = str(last_ms + 1)
    for _ in range(MAX_PAGES):
        page = await rest.public(spec.FUNDING_RATE_HISTORY_PATH, [
            ("instId", inst_id), ("after", after), ("limit", str(spec.PAGE_LIMIT))])
        rows += page
        oldest = min((int(r["fundingTime"]) for r in page), default=first_ms)
        if len(page) < spec.PAGE_LIMIT or oldest <= first_ms:
            break
        after = str(oldest)
    return rows


async def open_orders(rest: OkxRestClient, inst_id: str, *, what: str) -> list[dict[str, Any]]:
    return await pages(rest, spec.ORDERS_PENDING_PATH, [("instType", spec.INST_TYPE), ("instId", inst_id)],
                       cursor="ordId", what=what)
