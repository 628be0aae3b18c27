"""Paged reads from Gate: past fills, account-book rows (realized PnL, funding), settled funding
rates, open orders. No parsing.

Gate pages the time-range lists by `offset` (at most 1000 rows a page, newest first) between
`from` and `to` in seconds. Fills come from `my_trades_timerange`; realized PnL and funding from
the account book (`type=pnl`, `type=fund`), which names the trade each PnL row belongs to.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.gate_io_perpetual import spec
from pmm.connectors.gate_io_perpetual.rest import GateRestClient

MAX_PAGES = 50  # a list that never ends must not loop forever


async def pages(rest: GateRestClient, path: str, params: list[tuple[str, str]], *, what: str) -> list[dict[str, Any]]:
    """Every row of an offset-paged list."""
    rows: list[dict[str, Any]] = []
    for page in range(MAX_PAGES):
        query = [*params, ("limit", str(spec.PAGE_LIMIT)), ("offset", str(page * spec.PAGE_LIMIT))]
        got = await rest.get(path, query, what=what)
        rows += got or []
        if not got or len(got) < spec.PAGE_LIMIT:
            break
    return rows


def _window(since: float, now: float) -> list[tuple[str, str]]:
    return [("from", str(int(since))), ("to", str(int(now) + 1))]


async def fills(rest: GateRestClient, contract: str, since: float, now: float, *, what: str) -> list[dict[str, Any]]:
    """The fill rows of `contract` from `since` to now, each trade once."""
    rows = await pages(rest, spec.MY_TRADES_TIMERANGE_PATH, [("contract", contract), *_window(since, now)], what=what)
    return list({str(r.get("trade_id") or r["id"]): r for r in rows}.values())


async def account_book(rest: GateRestClient, contract: str, kind: str, since: float, now: float, *,
                       what: str) -> list[dict[str, Any]]:
    """The account-book rows of one `type` ("pnl", "fund") of `contract` from `since` to now, each once."""
    rows = await pages(rest, spec.ACCOUNT_BOOK_PATH, [("contract", contract), ("type", kind), *_window(since, now)],
                       what=what)
    unique = {str(r.get("id") or f"{r.get('time')}/{r.get('trade_id')}"): r for r in rows}
    return [r for r in unique.values() if r.get("contract", contract) in (contract, "", None)]


async def funding_rates(rest: GateRestClient, contract: str, since: float, now: float) -> list[dict[str, Any]]:
    """The settled funding rates of `contract` (one row per settlement, `t` in seconds)."""
    rows = await rest.public(spec.FUNDING_RATE_PATH, [("contract", contract), ("limit", str(spec.FUNDING_RATE_LIMIT)),
                                                      *_window(since, now)])
    return list(rows or [])


async def open_orders(rest: GateRestClient, contract: str, *, what: str) -> list[dict[str, Any]]:
    rows = await rest.get(spec.ORDERS_PATH, [("contract", contract), ("status", "open")], what=what)
    return list(rows or [])
