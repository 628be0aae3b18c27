"""Paged reads of an account's past trades and funding income from Binance. No parsing here.

Binance keeps three months of income history; `userTrades` spans at most seven days between its
start and end time, and every list returns at most `PAGE` rows (more in a window: continue after
the last row's time).
"""

from __future__ import annotations

from typing import Any

from pmm.connectors.binance_perpetual import constants as c
from pmm.connectors.binance_perpetual.rest import BinanceRestClient

HISTORY_S = 90 * 86400.0  # income history only covers three months
_TRADES_WINDOW_S = 7 * 86400.0  # userTrades: at most 7 days between startTime and endTime
PAGE = 1000


async def user_trades(rest: BinanceRestClient, symbol: str, since: float, now: float) -> list[dict[str, Any]]:
    """Every userTrades row of `symbol` from `since` (at most three months back) to `now`."""
    start_ms = int(max(since, now - HISTORY_S) * 1000)
    end_limit_ms = int(now * 1000)
    rows: list[dict[str, Any]] = []
    while start_ms <= end_limit_ms:
        end_ms = min(start_ms + int(_TRADES_WINDOW_S * 1000) - 1, end_limit_ms)
        page = await rest.signed("GET", c.USER_TRADES_PATH, [
            ("symbol", symbol), ("startTime", str(start_ms)), ("endTime", str(end_ms)), ("limit", str(PAGE))])
        rows += page
        if len(page) >= PAGE:
            start_ms = int(page[-1]["time"]) + 1  # more in this window: continue after the last one
        else:
            start_ms = end_ms + 1
    return rows


async def funding_income(rest: BinanceRestClient, symbol: str, since: float,
                         now: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The FUNDING_FEE income rows of `symbol` since `since` (at most three months back), and the
    funding-rate history around them (empty when there are none)."""
    start_ms = int(max(since, now - HISTORY_S) * 1000)
    rows: list[dict[str, Any]] = []
    while True:
        page = await rest.signed("GET", c.INCOME_PATH, [
            ("symbol", symbol), ("incomeType", c.INCOME_FUNDING_FEE), ("startTime", str(start_ms)),
            ("limit", str(PAGE))])
        rows += page
        if len(page) < PAGE:
            break
        start_ms = int(page[-1]["time"]) + 1
    if not rows:
        return [], []
    times = [int(r["time"]) for r in rows]
    history = await rest.public("GET", c.FUNDING_RATE_PATH, [
        ("symbol", symbol), ("startTime", str(min(times) - 60_000)), ("endTime", str(max(times) + 60_000)),
        ("limit", str(PAGE))])
    return rows, history
