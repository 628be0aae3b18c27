"""DESIGN.md §2 dependency rules, checked by walking every module's imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "pmm"


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name == "pmm" or name.startswith("pmm.")}


MODULES = {_module_name(p): _imports(p) for p in ROOT.rglob("*.py")}


def _allowed(importer: str, imported: str) -> bool:
    def within(name: str, *packages: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in packages)

    if within(imported, "pmm.cli") or (within(imported, "pmm.app") and importer != "pmm.cli"):
        return False
    if within(importer, "pmm.core"):
        return within(imported, "pmm.core", "pmm.errors")
    if within(importer, "pmm.strategy"):
        return within(imported, "pmm.core", "pmm.errors", "pmm.strategy")
    if within(importer, "pmm.sim", "pmm.store"):
        top = importer.split(".")[1]
        return within(imported, "pmm.core", "pmm.errors", f"pmm.{top}")
    if within(importer, "pmm.engine"):
        # The engine talks to connectors only through the contract.
        return not within(imported, "pmm.connectors") or within(imported, "pmm.connectors.base")
    if importer.startswith("pmm.connectors.") and importer.count(".") >= 3:
        venue = importer.split(".")[2]
        other_venue = within(imported, "pmm.connectors") and imported.count(".") >= 2 and \
            imported.split(".")[2] not in (venue, "base", "registry", "common", "paper")
        return not other_venue
    return True


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_respects_dependency_rules(module):
    bad = sorted(name for name in MODULES[module] if not _allowed(module, name))
    assert not bad, f"{module} must not import {bad} (DESIGN.md §2)"


def test_rules_catch_a_violation():
    assert not _allowed("pmm.strategy.pmm", "pmm.engine.engine")
    assert not _allowed("pmm.core.book", "pmm.sim.exchange")
    assert not _allowed("pmm.connectors.binance_perpetual.feed", "pmm.connectors.bybit_perpetual.parse")
    assert not _allowed("pmm.engine.engine", "pmm.app")
