"""Paged reads from KuCoin Futures: open orders, fills, funding payments, stop orders. No parsing.

Orders, fills and stop orders page by `currentPage` / `pageSize` and answer `{currentPage,
pageSize, totalNum, totalPage, items}`; the funding history pages by `offset` (the last row's `id`)
with `forward=false` (newest first) and answers `{dataList, hasMore}`.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.kucoin_perpetual import spec
from pmm.connectors.kucoin_perpetual.rest import KucoinRestClient

MAX_PAGES = 100  # a cursor that never ends must not loop forever


async def pages(rest: KucoinRestClient, path: str, params: list[tuple[str, str]], *, what: str) -> list[dict[str, Any]]:
    """Every item of a list paged by currentPage."""
    rows: list[dict[str, Any]] = []
    for page in range(1, MAX_PAGES + 1):
        data = await rest.get(path, [*params, ("currentPage", str(page)), ("pageSize", str(spec.PAGE_SIZE))],
                              what=what)
        items = list((data or {}).get("items") or [])
        rows += items
        if page >= int((data or {}).get("totalPage") or 0) or not items:
            break
    return rows


async def open_orders(rest: KucoinRestClient, symbol: str, *, what: str) -> list[dict[str, Any]]:
    return await pages(rest, spec.ORDERS_PATH, [("status", "active"), ("symbol", symbol)], what=what)


async def stop_orders(rest: KucoinRestClient, symbol: str, *, what: str) -> list[dict[str, Any]]:
    return await pages(rest, spec.STOP_ORDERS_PATH, [("symbol", symbol)], what=what)


async def fills(rest: KucoinRestClient, symbol: str, since: float, *, what: str) -> list[dict[str, Any]]:
    """The fill rows of `symbol` from `since`, each trade once."""
    rows = await pages(rest, spec.FILLS_PATH, [("symbol", symbol), ("startAt", str(int(since * 1000)))], what=what)
    return list({str(r["tradeId"]): r for r in rows}.values())


async def funding(rest: KucoinRestClient, symbol: str, since: float, now: float, *, what: str) -> list[dict[str, Any]]:
    """The funding payments of `symbol` from `since` to now, each once."""
    rows: list[dict[str, Any]] = []
    offset = ""
    for _ in range(MAX_PAGES):
        params = [("symbol", symbol), ("startAt", str(int(since * 1000))), ("endAt", str(int(now * 1000) + 1000)),
                  ("reverse", "true"), ("forward", "false"), ("maxCount", str(spec.FUNDING_PAGE))]
        data = await rest.get(spec.FUNDING_HISTORY_PATH, params + ([("offset", offset)] if offset else []), what=what)
        page = list((data or {}).get("dataList") or [])
        rows += page
        if not (data or {}).get("hasMore") or not page or str(page[-1].get("id")) == offset:
            break
        offset = str(page[-1]["id"])
    return list({str(r.get("id") or r["timePoint"]): r for r in rows}.values())
