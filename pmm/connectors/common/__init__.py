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

from pmm.connectors.common.book_diff import PublishedBook
from pmm.connectors.common.fault_injector import FaultInjector, SkewedClock
from pmm.connectors.common.numbers import Grid, decimals_of, fixed, ms, parse_decimal, plain
from pmm.connectors.common.sim_driver import SimDriver
from pmm.connectors.common.ws_queue import QueuedSocket

__all__ = [
    "FaultInjector",
    "Grid",
    "PublishedBook",
    "QueuedSocket",
    "SimDriver",
    "SkewedClock",
    "decimals_of",
    "fixed",
    "ms",
    "parse_decimal",
    "plain",
]
