"""Venue-neutral building blocks of the loopback venue servers (DESIGN.md §5).

Each venue folder speaks its own dialect; what every dialect needs the same way lives here:

    SimDriver       sim_driver.py   moves the simulated exchange with a clock; settles requests
    PublishedBook   book_diff.py    the top levels last published, and what changed since
    QueuedSocket    ws_queue.py     one WebSocket's outgoing queue, drained by a task; abort = drop
    Grid, plain...  numbers.py      decimals on a market's tick/step grid, milliseconds
    FaultInjector   fault_injector.py  error answers, delays, rejections, gaps, frame faults, clock
                                    skew (each venue subclasses it for its sockets and sessions)

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
