"""Paged reads from Bybit: past executions and funding settlements (and any cursor-paginated list,
`pages`). No parsing here.

Bybit answers at most seven days between `startTime` and `endTime`, so a span is read window by
window; inside a window its lists are cursor-paginated (`nextPageCursor`). Fills and funding are
read at most 90 days back (`HISTORY_S`).
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bybit_perpetual import constants as c
from pmm.connectors.bybit_perpetual.rest import BybitRestClient

HISTORY_S = 90 * 86400.0
MAX_PAGES = 100  # per window: a cursor that never ends must not loop forever


def windows(since: float, now: float) -> list[tuple[int, int]]:
    """[start, end] ms windows of at most 7 days (the venue's limit) from `since` (at most
    `HISTORY_S` back) to `now`."""
    now_ms = int(now * 1000)
    start_ms = int(max(since, now - HISTORY_S) * 1000)
    out = []
    while start_ms <= now_ms:
        end_ms = min(start_ms + c.HISTORY_WINDOW_MS - 1, now_ms)
        out.append((start_ms, end_ms))
        start_ms = end_ms + 1
    return out


async def pages(rest: BybitRestClient, path: str, params: list[tuple[str, str]], limit: int, *,
                what: str) -> list[dict[str, Any]]:
    """Every row of a cursor-paginated list."""
    rows: list[dict[str, Any]] = []
    cursor = ""
    for _ in range(MAX_PAGES):
        query = [*params, ("limit", str(limit))] + ([("cursor", cursor)] if cursor else [])
        result = await rest.get(path, query, what=what)
        page = list(result.get("list") or [])
        rows += page
        next_cursor = str(result.get("nextPageCursor") or "")
        if not page or not next_cursor or next_cursor == cursor:
            break
        cursor = next_cursor
    return rows


async def executions(rest: BybitRestClient, symbol: str, since: float, now: float, *,
                     what: str) -> list[dict[str, Any]]:
    """The execution-list rows of `symbol` from `since` to `now`, each execution once."""
    rows: list[dict[str, Any]] = []
    for start_ms, end_ms in windows(since, now):
        rows += await pages(rest, c.EXECUTION_LIST_PATH, [
            ("category", c.CATEGORY_LINEAR), ("symbol", symbol), ("startTime", str(start_ms)),
            ("endTime", str(end_ms))], c.EXECUTION_PAGE_LIMIT, what=what)
    return list({str(r["execId"]): r for r in rows}.values())


async def settlements(rest: BybitRestClient, quote: str, since: float, now: float, *,
                      what: str) -> list[dict[str, Any]]:
    """The transaction-log SETTLEMENT rows of linear contracts in `quote` from `since` to `now`,
    each once."""
    rows: list[dict[str, Any]] = []
    for start_ms, end_ms in windows(since, now):
        rows += await pages(rest, c.TRANSACTION_LOG_PATH, [
            ("accountType", c.ACCOUNT_TYPE_UNIFIED), ("category", c.CATEGORY_LINEAR), ("currency", quote),
            ("type", c.TRANSACTION_TYPE_SETTLEMENT), ("startTime", str(start_ms)), ("endTime", str(end_ms))],
            c.TRANSACTION_LOG_PAGE_LIMIT, what=what)
    # Rows of one page may share an `id` (the docs' example does): key on what makes a row unique.
    return list({(r.get("id"), r.get("type"), r.get("symbol"), r.get("transactionTime"), r.get("tradeId")): r
                 for r in rows}.values())
