"""The loopback server framework every venue server is built on (DESIGN.md §5).

A venue's `server/` package speaks its dialect (paths, payload shapes, codes, channel names) and
leaves the rest to the kit:

    KitServer, Route, RestDialect   kit_server.py   routes and the REST middleware: injected
                                                    delays and failures, per-endpoint limits,
                                                    signature check by the venue's `auth`, the
                                                    venue's envelope and refusals
    WireRequest, Fields, WireError  wire.py         raw request (signed bytes) + parameters
    StreamHub, Conn, StreamDialect  stream_hub.py   sockets, subscriptions, fan-out, idle rule
    KitFaults                       faults.py       the shared faults + socket drops, lapsed logins
    OrderDesk, DeskOrder            order_desk.py,  place / cancel / amend over pmm/sim with time in
                                    desk_order.py   force, post-only, reduce-only, fill-or-kill
    TriggerDesk, TriggerOrder       triggers.py     conditional stops fired on mark or last price
    DeadManSwitch                   dead_man.py     cancel-all-after
    Tape, SequencedBook             market_tape.py  books with sequence ids, trades, funding
    Ledger, Bill                    ledger.py       fills and funding as balance changes

No venue names appear in this package, and it imports no venue folder.
"""

from __future__ import annotations

DEFAULT_API_PASSPHRASE = "pmm-sim-passphrase"  # the simulated account's, for venues whose keys carry one
