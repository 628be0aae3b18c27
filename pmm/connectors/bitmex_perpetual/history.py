"""Paged reads from BitMEX: past fills, funding executions, open orders. No parsing.

BitMEX lists oldest first by default, at most `count` rows a page; the next page starts `start`
rows further. `/execution/tradeHistory` holds the balance-affecting executions (trades, funding,
settlements), filtered by `{"execType": ...}`; `/order` with `{"open": true}` the resting orders.
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.bitmex_perpetual import spec
from pmm.connectors.bitmex_perpetual.parse import iso_to_s, s_to_iso
from pmm.connectors.bitmex_perpetual.rest import BitmexRestClient, filter_param

MAX_PAGES = 100  # a list that never ends must not loop forever
_PLAIN = ("Limit", "Market")  # open orders; stops (Stop, StopLimit) rest apart until triggered


async def pages(rest: BitmexRestClient, path: str, params: list[tuple[str, str]], *, what: str,
                page_size: int = spec.PAGE_LIMIT) -> list[dict[str, Any]]:
    """Every row of a list paged by `start` (offset) and `count`."""
    rows: list[dict[str, Any]] = []
    for number in range(MAX_PAGES):
        query = [*params, ("count", str(page_size))] + ([("start", str(number * page_size))] if number else [])
        page = await rest.get(path, query, what=what)
        if not isinstance(page, list):
            break
        rows += page
        if len(page) < page_size:
            break
    return rows


async def executions(rest: BitmexRestClient, symbol: str, exec_type: str, since: float, *,
                     what: str) -> list[dict[str, Any]]:
    """The executions of `exec_type` (Trade, Funding) of `symbol` from `since`, each once."""
    rows = await pages(rest, spec.TRADE_HISTORY_PATH,
                       [("symbol", symbol), filter_param(execType=exec_type), ("startTime", s_to_iso(max(0.0, since)))],
                       what=what)
    return list({str(r["execID"]): r for r in rows if r.get("execType") == exec_type}.values())


async def trades_back_to_flat(rest: BitmexRestClient, symbol: str, held_contracts: int, before: float, *,
                              what: str) -> list[dict[str, Any]]:
    """The trade executions of `symbol`, newest first, back to the last moment before `before` when the
    position was flat (`held_contracts`: the position now, signed): the history average-cost PnL of
    every fill since then can be worked out from."""
    rows: list[dict[str, Any]] = []
    held = held_contracts
    for number in range(MAX_PAGES):
        query = [("symbol", symbol), filter_param(execType=spec.EXEC_TYPE_TRADE), ("reverse", "true"),
                 ("count", str(spec.PAGE_LIMIT))] + ([("start", str(number * spec.PAGE_LIMIT))] if number else [])
        page = await rest.get(spec.TRADE_HISTORY_PATH, query, what=what)
        if not isinstance(page, list):
            break
        for row in page:
            if row.get("execType") != spec.EXEC_TYPE_TRADE:
                continue
            rows.append(row)
            qty = int(row.get("lastQty") or 0)
            held -= qty if row.get("side") == "Buy" else -qty
            if held == 0 and iso_to_s(row.get("transactTime") or row["timestamp"]) < before:
                return rows
        if len(page) < spec.PAGE_LIMIT:
            break
    return rows


async def open_orders(rest: BitmexRestClient, symbol: str, *, what: str) -> list[dict[str, Any]]:
    rows = await pages(rest, spec.ORDER_PATH, [("symbol", symbol), filter_param(open=True)], what=what)
    return [r for r in rows if r.get("ordStatus") in ("New", "PartiallyFilled") and r.get("ordType") in _PLAIN]


async def resting_stops(rest: BitmexRestClient, symbol: str, *, what: str) -> list[dict[str, Any]]:
    rows = await pages(rest, spec.ORDER_PATH, [("symbol", symbol), filter_param(open=True)], what=what)
    return [r for r in rows if r.get("ordStatus") == "New" and r.get("ordType") not in _PLAIN
            and not r.get("triggered")]
