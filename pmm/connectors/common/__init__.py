"""Venue-neutral building blocks of the venue connectors and of their loopback venue servers.

Each venue folder speaks its own dialect and keeps its own facts (endpoints, codes, field names,
messages); what every dialect needs the same way lives here, with the venue's differences passed in
as parameters or small hooks (a subclass naming its spelling, its advice, its logger). A new venue
starts from these.

Clients (`<venue>/rest.py`, `auth.py`, `errors.py`, `parse*.py`, `gateway.py`, `ws.py`):

    SharedRestSession   rest_session.py      the aiohttp session a feed and a gateway share; no
                                             answer = OrderOutcomeUnknown (orders) / unavailable
    HmacCredentials     credentials.py       masked key, unpicklable secret, server-clock offset
    ErrorTranslator     error_translation.py a failed reply -> pmm.errors, from the venue's table
    dec, book_levels... payloads.py          exact decimals; UnmappedValue and BAD_PAYLOAD
    MarketSymbols       symbols.py           venue symbol -> pmm market for the markets in use
    AccountGateway      account_gateway.py   emit, tasks, fee rates, resync after missed events
    ReconnectingWebSocket, Backoff, RateLimiter   reconnecting_ws.py, backoff.py, rate_limits.py
    decode_json         wire_json.py         JSON with Decimal numbers
    prepare_bundle      startup.py           first contact at `pmm start`: bounded retries, and
                                             the feed and gateway stopped if it fails
    listed_examples     symbols.py           the listed markets a "no such market" error names
    VenueSpec           venue_spec.py        a venue as plain data: ids, hosts, symbols, capabilities

Servers (`<venue>/server*.py`, DESIGN.md §5):

    LoopbackVenueServer sim_server.py        loopback-only socket, start/stop, injected delays
    SimDriver           sim_driver.py        moves the simulated exchange with a clock; settles requests
    FaultInjector       fault_injector.py    error answers, delays, rejections, gaps, frame faults,
                                             clock skew (each venue subclasses it for its sockets)
    ListedSymbols       symbols.py           market <-> symbol of the listed markets, with their grid
    PublishedBook       book_diff.py         the top levels last published, and what changed since
    QueuedSocket        ws_queue.py          one WebSocket's outgoing queue, drained by a task
    Grid, plain...      numbers.py           decimals on a market's tick/step grid, milliseconds
    dumps               wire_json.py         compact JSON that refuses unformatted Decimals

No venue names appear in this package, and it imports no venue folder.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported on first use: `venue_spec` (read by `pmm --help` through the registry) must not pull in
# aiohttp and the simulated exchange with this package.
_EXPORTS = {
    "FaultInjector": "fault_injector",
    "Grid": "numbers",
    "PublishedBook": "book_diff",
    "QueuedSocket": "ws_queue",
    "SimDriver": "sim_driver",
    "SkewedClock": "fault_injector",
    "decimals_of": "numbers",
    "fixed": "numbers",
    "ms": "numbers",
    "parse_decimal": "numbers",
    "plain": "numbers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
