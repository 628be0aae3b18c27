"""A connector's first contact with its venue at `pmm start`: bounded retries, nothing left open.

Live venues learn their trading rules and fee rates over REST before anything reads them
(`prepare`). A venue that does not answer then (the network is down, a local exchange server is not
started yet, a maintenance window) is asked again with back-off, a bounded number of times; then
`pmm start` stops with exit 4 and says how long it tried. Whatever ends the preparation (that,
a bad key, a market the venue does not list) stops the feed and the gateway first, so no HTTP
session is left open ("Unclosed client session").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Final

from pmm.connectors.base import ConnectorBundle, MarketDataFeed, OrderGateway
from pmm.connectors.common.backoff import Backoff
from pmm.errors import ExchangeUnavailable

log = logging.getLogger("pmm.startup")

ATTEMPTS: Final = 5  # waits of 1, 2, 4 and 8 s between them: about 15 s before giving up
FIRST_WAIT_S: Final = 1.0
MAX_WAIT_S: Final = 8.0

Sleep = Callable[[float], Awaitable[None]]


async def prepare_bundle(bundle: ConnectorBundle,
                         parts: Sequence[tuple[MarketDataFeed | OrderGateway, Sequence[str]]], *,
                         attempts: int = ATTEMPTS, sleep: Sleep = asyncio.sleep) -> None:
    """Call `prepare(markets)` of each (feed or gateway, markets), retrying while the venue is
    unavailable; on failure stop the bundle, then raise."""
    try:
        for part, markets in parts:
            async def prepare(part: MarketDataFeed | OrderGateway = part, markets: Sequence[str] = markets) -> None:
                await part.prepare(markets)

            await retry_while_unavailable(prepare, bundle.connector_id, attempts=attempts, sleep=sleep)
    except BaseException:
        await stop_bundle(bundle)
        raise


async def retry_while_unavailable(call: Callable[[], Awaitable[None]], venue: str, *, attempts: int = ATTEMPTS,
                                  sleep: Sleep = asyncio.sleep) -> None:
    """`call()`, again after 1, 2, 4, 8 s while it raises ExchangeUnavailable; at most `attempts` times."""
    backoff = Backoff(initial_s=FIRST_WAIT_S, max_s=MAX_WAIT_S)
    waited = 0.0
    for attempt in range(1, attempts + 1):
        try:
            await call()
            return
        except ExchangeUnavailable as exc:
            if attempt == attempts:
                raise ExchangeUnavailable(f"{exc} (pmm tried {attempts} times over {waited:g} s; start again "
                                          f"once {venue} answers.)") from exc
            delay = backoff.next()
            log.warning("%s is unavailable (%s); trying again in %.0f s (attempt %d of %d)", venue, exc, delay,
                        attempt + 1, attempts)
            await sleep(delay)
            waited += delay


async def stop_bundle(bundle: ConnectorBundle) -> None:
    """Stop the gateway and the feed of a bundle the engine never started (closes their sessions)."""
    for part in (bundle.gateway, bundle.feed):
        try:
            await part.stop()
        except Exception as exc:  # stopping is best effort: the error being raised matters more
            log.debug("stopping %s after a failed start: %s", type(part).__name__, exc)
