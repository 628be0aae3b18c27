"""Server conformance: every independent client of every venue server runs the round trip of
conformance.py against that server. The clients are pinned in pyproject.toml's `test` extra, so
these tests run in CI (they are not skipped when a library is missing: a missing library fails).

A venue's clients are listed in `tests/connectors/<venue>/conformance_clients.py` (`CLIENTS`).
"""

from __future__ import annotations

import importlib.util
import threading
import tomllib
from collections.abc import Callable
from typing import Any
from functools import cache
from pathlib import Path

import pytest
from conformance import RoundTripClient, conformance_market, round_trip
from conformance_runtime import CLOSE_S, Venue, bounded, wait_until
from venue_servers import VENUES, ServerThread, running_server

HERE = Path(__file__).parent


@cache
def _module_of(venue: str) -> Any:
    path = HERE / venue / "conformance_clients.py"
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location(f"conformance_clients_{venue}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def clients_of(venue: str) -> dict[str, Callable[[ServerThread], RoundTripClient]]:
    module = _module_of(venue)
    return {} if module is None else module.CLIENTS


CASES = [(venue, name) for venue in sorted(VENUES) for name in sorted(clients_of(venue))]


@pytest.mark.parametrize("venue", sorted(VENUES))
def test_every_venue_server_is_driven_by_its_sdk_and_ccxt(venue):
    names = clients_of(venue)
    assert len(names) >= 2 and any(name.startswith("ccxt") for name in names), (
        f"{venue}: the conformance suite needs the venue's own SDK and ccxt in "
        f"tests/connectors/{venue}/conformance_clients.py (CLIENTS), has {sorted(names)}")


@pytest.mark.parametrize(("venue", "client_name"), CASES)
def test_round_trip(venue, client_name):
    before = set(threading.enumerate())
    with running_server(venue, conformance_market()) as server:
        truth = Venue(server)
        client = bounded(f"{client_name}: connect", lambda: clients_of(venue)[client_name](server))
        try:
            round_trip(client, truth)
        finally:
            bounded(f"{client_name}: close its sockets and threads", client.close, CLOSE_S)
    # A client that leaves threads running would pile them up over a CI run.
    wait_until(f"{client_name}: every thread it started has ended",
               lambda: sorted(t.name for t in threading.enumerate() if t not in before and t.is_alive()),
               lambda left: not left, CLOSE_S)


def test_a_hung_client_fails_its_step_with_a_message_instead_of_hanging():
    release = threading.Event()
    try:
        with pytest.raises(pytest.fail.Exception, match=r"subscribe: the client did not return within 0.2 s"):
            bounded("subscribe", release.wait, 0.2)
    finally:
        release.set()  # let the abandoned thread end
    assert bounded("a step that answers", lambda: 42) == 42
    with pytest.raises(KeyError):  # a client's own error reaches the test as it was raised
        bounded("a step that fails", lambda: {}["missing"])


def test_the_readme_names_the_client_versions_ci_installs():
    """The README says which clients at which versions CI runs; pyproject's pins are the truth."""
    root = HERE.parent.parent
    extra = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]["test"]
    pins = dict(requirement.split("==") for requirement in extra if "==" in requirement)
    readme = " ".join((root / "README.md").read_text().split())
    assert "ccxt" in pins, "the test extra pins the independent clients"
    assert [f"{name} {version}" for name, version in pins.items() if f"{name} {version}" not in readme] == []
