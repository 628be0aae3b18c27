"""Nothing outside `connectors/<venue>/` and the registry knows a venue exists (DESIGN.md §2).

Every module of `pmm/` is read as text (code, comments and messages alike) for each venue's name:
the registry's venues and the planned ones. A venue's name may appear in its own folder and in
`connectors/registry.py` only. The generic test suites (contract, conformance, fault and crash
campaigns, the end-to-end runs, the venue-server helpers and `pmm exchange-sim`'s tests) name no venue
at all: they
iterate over the registry. Help texts and messages take their examples from the registry.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pmm.connectors import registry

REPO = Path(__file__).resolve().parents[1]
PMM = REPO / "pmm"
REGISTRY = PMM / "connectors" / "registry.py"
GENERIC_SUITES = sorted({
    *(REPO / "tests" / "connectors").glob("test_contract*.py"),
    *(REPO / "tests" / "connectors").glob("contract_harness.py"),
    *(REPO / "tests" / "connectors").glob("test_conformance*.py"),
    *(REPO / "tests" / "connectors").glob("conformance*.py"),
    REPO / "tests" / "safety" / "test_fault_campaign.py",
    REPO / "tests" / "safety" / "test_crash_restart.py",
    REPO / "tests" / "safety" / "campaign_kit.py",
    REPO / "tests" / "venue_servers.py",
    REPO / "tests" / "venue_profiles.py",
    REPO / "tests" / "cli" / "test_exchange_sim.py",
    REPO / "tests" / "e2e" / "test_live_venues.py",
    REPO / "tests" / "e2e" / "test_fault_recovery.py",
})


def name_pattern(venue: str, display_name: str) -> re.Pattern[str]:
    """A venue's name in any spelling a text would use: its id's stem in any case ("binance",
    "gate_io", "Gate.io", "GATEIO"), and the first word of its display name as a word ("Gate")."""
    stem = venue.removesuffix("_perpetual")
    spelled = "[_.]?".join(re.escape(part) for part in stem.split("_"))
    word = re.split(r"[^A-Za-z0-9]", display_name)[0]
    return re.compile(rf"(?i:{spelled})|\b{re.escape(word)}\b")


VENUE_NAMES = {
    **{s.venue: name_pattern(s.venue, s.display_name) for s in registry.VENUES if not s.simulated},
    **{p.venue: name_pattern(p.venue, p.display_name) for p in registry.PLANNED},
}


def mentions(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [f"{n}: {line.strip()[:100]}" for n, line in enumerate(text.splitlines(), 1) if pattern.search(line)]


def test_every_venue_the_brief_names_is_known():
    stems = {v.removesuffix("_perpetual") for v in VENUE_NAMES}
    assert {"binance", "bybit", "okx", "gate_io", "kucoin", "bitget", "bitmart"} <= stems


@pytest.mark.parametrize("venue", sorted(VENUE_NAMES))
def test_only_the_venue_folder_and_the_registry_name_a_venue(venue):
    own = PMM / "connectors" / venue
    found = {}
    for path in sorted(PMM.rglob("*.py")):
        if path == REGISTRY or own in path.parents:
            continue
        hits = mentions(path.read_text(), VENUE_NAMES[venue])
        if hits:
            found[str(path.relative_to(REPO))] = hits
    assert not found, f"{venue} is named outside its folder and the registry: {found}"


@pytest.mark.parametrize("path", GENERIC_SUITES, ids=lambda p: str(p.relative_to(REPO)))
def test_generic_suites_iterate_over_the_registry(path):
    text = path.read_text()
    found = {venue: mentions(text, pattern) for venue, pattern in VENUE_NAMES.items()}
    assert not {v: hits for v, hits in found.items() if hits}


@pytest.mark.parametrize("text, venue", [
    ("see Gate.io's docs", "gate_io_perpetual"),
    ('"gate_io_perpetual"', "gate_io_perpetual"),
    ("GATEIO", "gate_io_perpetual"),
    ("Gate answers", "gate_io_perpetual"),
    ("like Binance-style funding", "binance_perpetual"),
    ("PMM_BYBIT_PERPETUAL_API_KEY", "bybit_perpetual"),
    ("an OKX passphrase", "okx_perpetual"),
    ("KuCoin's XBTUSDTM", "kucoin_perpetual"),
])
def test_every_spelling_is_caught(text, venue):
    assert mentions(text, VENUE_NAMES[venue])


@pytest.mark.parametrize("text", ["the gateway", "propagate", "one ban gate for the whole client", "okay"])
def test_ordinary_words_are_not_venue_names(text):
    assert not any(mentions(text, pattern) for pattern in VENUE_NAMES.values())
