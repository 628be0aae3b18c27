"""Server conformance: every independent client of every venue server runs the round trip of
conformance.py against that server. The clients are pinned in pyproject.toml's `test` extra, so
these tests run in CI (they are not skipped when a library is missing: a missing library fails).

A venue's clients are listed in `tests/connectors/<venue>/conformance_clients.py` (`CLIENTS`).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from conformance import RoundTripClient, conformance_market, round_trip
from conformance_runtime import CLOSE_S, Venue, bounded
from venue_servers import SERVERS, ServerThread, running_server

HERE = Path(__file__).parent


@cache
def clients_of(venue: str) -> dict[str, Callable[[ServerThread], RoundTripClient]]:
    path = HERE / venue / "conformance_clients.py"
    if not path.exists():
        return {}
    spec = importlib.util.spec_from_file_location(f"conformance_clients_{venue}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.CLIENTS


CASES = [(venue, name) for venue in sorted(SERVERS) for name in sorted(clients_of(venue))]


@pytest.mark.parametrize("venue", sorted(SERVERS))
def test_every_venue_server_is_driven_by_its_sdk_and_ccxt(venue):
    names = clients_of(venue)
    assert len(names) >= 2 and any(name.startswith("ccxt") for name in names), (
        f"{venue}: the conformance suite needs the venue's own SDK and ccxt in "
        f"tests/connectors/{venue}/conformance_clients.py (CLIENTS), has {sorted(names)}")


@pytest.mark.parametrize(("venue", "client_name"), CASES)
def test_round_trip(venue, client_name):
    with running_server(venue, conformance_market()) as server:
        truth = Venue(server)
        client = bounded(f"{client_name}: connect", lambda: clients_of(venue)[client_name](server))
        try:
            round_trip(client, truth)
        finally:
            bounded(f"{client_name}: close its sockets and threads", client.close, CLOSE_S)
