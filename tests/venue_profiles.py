"""What the generic fault and crash campaigns need to know about a venue, from its own test folder.

Every venue with a loopback server has `tests/connectors/<venue>/fault_profile.py` defining
`PROFILE = VenueFaults(...)`: where its orders and cancels go, how it bans, which code it gives a
stale timestamp, a representative refusal code of every `pmm.errors` class, and how a test shortens
its client's timeouts. The campaigns iterate over the registry and load each venue's profile here,
so they name no venue (DESIGN.md §2).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Route:
    """A REST endpoint a fault is injected on; `method` None: whatever the method."""

    path: str
    method: str | None = None

    def method_option(self) -> dict[str, str]:
        """`FaultInjector.fail_next(..., **route.method_option())`."""
        return {} if self.method is None else {"method": self.method}


@dataclass(frozen=True)
class VenueFaults:
    order: Route  # where a new order goes
    cancel: Route  # where one order is cancelled
    ban_status: int  # the HTTP status of an IP ban
    ban_said: str  # what the client logs on a ban, "{seconds}" standing for its length
    stale_timestamp_code: int  # the refusal of a request signed with a timestamp out of the window
    reject_codes: Mapping[type, int]  # a refusal of a new order, per pmm.errors class
    unknown_cancel: tuple[int, int]  # (HTTP status, code) of a cancel of an order the venue does not know
    error_table: Mapping[int, type]  # the venue's code -> pmm.errors table
    unknown_outcome_codes: frozenset[int]  # codes after which an order may or may not exist
    # (monkeypatch, client REST timeout s, IP ban s): make the venue's client fast enough for a campaign
    speed_up: Callable[[pytest.MonkeyPatch, float, float], None]
    # (monkeypatch, s): the gateway's own funding reads look back this far only
    shorten_funding_lookback: Callable[[pytest.MonkeyPatch, float], None]
    # how far behind the venue's clock goes in the stale-timestamp phase: past its tolerance
    clock_skew_s: float = -3.0
    # a client order id as the venue's wire writes it (some venues allow letters and digits only)
    wire_client_id: Callable[[str], str] = str


def fault_profile(venue: str) -> VenueFaults:
    path = TESTS / "connectors" / venue / "fault_profile.py"
    if not path.exists():
        raise AssertionError(f"{venue} has a venue server but no {path.relative_to(TESTS.parent)}: the fault and "
                             f"crash campaigns need it (see another venue's fault_profile.py).")
    spec = importlib.util.spec_from_file_location(f"fault_profile_{venue}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    profile: Any = module.PROFILE
    assert isinstance(profile, VenueFaults), f"{path}: PROFILE must be a VenueFaults"
    return profile
