"""DESIGN.md §2 dependency rules, checked by walking every module's imports (relative ones resolved).

- `errors` imports nothing from pmm; `core` imports nothing from pmm but `errors`; `strategy` only
  `core` (and `errors`, which core itself may use); `sim` and `store` only `core`, `errors` and
  themselves.
- `engine` talks to connectors only through the contract, `connectors/base.py`: no venue module, no
  registry, no kit.
- `connectors` never import `engine`.
- No venue folder imports another venue; `connectors/common` and `base` import no venue folder; nothing
  outside `connectors` imports a venue folder (the registry names its specs by import path). Paper
  trading is the one composition of two connectors: `connectors/paper.py` uses `sim_perpetual`.
- Nothing imports `cli`, and only `cli` imports `app`.

Which modules name venues in their text is `test_venue_names.py`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "pmm"
# Packages of `pmm.connectors` that are not venue folders.
KIT = ("base", "registry", "common", "paper")


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool) -> set[str]:
    """Every pmm module `source` imports, with `from . import x` / `from ..y import z` resolved
    against `module` (a package resolves relative imports against itself)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            found.add(target)
            # `from pmm.connectors import binance_perpetual` imports a module, not a name.
            found.update(f"{target}.{alias.name}" for alias in node.names if alias.name != "*")
    return {name for name in found if name == "pmm" or name.startswith("pmm.")}


MODULES = {_module_name(p): imports_of(p.read_text(), _module_name(p), p.name == "__init__.py")
           for p in ROOT.rglob("*.py")}
PACKAGES = {name for name in MODULES if (ROOT.parent / name.replace(".", "/") / "__init__.py").exists()}


def _within(name: str, *packages: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


def _venue_folder(name: str) -> str | None:
    """The venue folder a module belongs to (`pmm.connectors.<venue>...`), or None."""
    parts = name.split(".")
    if len(parts) >= 3 and parts[:2] == ["pmm", "connectors"] and parts[2] not in KIT:
        return parts[2]
    return None


def _allowed(importer: str, imported: str) -> bool:  # noqa: C901 - one branch per rule reads best
    if imported not in PACKAGES and imported.rpartition(".")[0] in MODULES and imported not in MODULES:
        imported = imported.rpartition(".")[0]  # `from pmm.x import name`: the module is pmm.x
    if _within(imported, "pmm.cli") or (_within(imported, "pmm.app") and importer != "pmm.cli"):
        return False
    if importer == "pmm.errors":
        return imported == "pmm"
    if _within(importer, "pmm.core"):
        return _within(imported, "pmm.core", "pmm.errors") or imported == "pmm"
    if _within(importer, "pmm.strategy"):
        return _within(imported, "pmm.core", "pmm.errors", "pmm.strategy") or imported == "pmm"
    if _within(importer, "pmm.sim", "pmm.store"):
        top = importer.split(".")[1]
        return _within(imported, "pmm.core", "pmm.errors", f"pmm.{top}") or imported == "pmm"
    if _within(importer, "pmm.engine"):
        return not _within(imported, "pmm.connectors") or _within(imported, "pmm.connectors.base")
    venue = _venue_folder(imported)
    if _within(importer, "pmm.connectors"):
        if _within(imported, "pmm.engine"):
            return False
        if venue is None:
            return True
        own = _venue_folder(importer)
        return venue == own or (importer == "pmm.connectors.paper" and venue == "sim_perpetual")
    # Everything else (cli, app, config, ui, ...) reaches venues through the registry only.
    return venue is None


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_respects_dependency_rules(module):
    bad = sorted(name for name in MODULES[module] if not _allowed(module, name))
    assert not bad, f"{module} must not import {bad} (DESIGN.md §2)"


@pytest.mark.parametrize("importer, imported", [
    ("pmm.errors", "pmm.core.model"),
    ("pmm.core.book", "pmm.sim.exchange"),
    ("pmm.core.clock", "pmm.config"),
    ("pmm.strategy.pmm", "pmm.engine.engine"),
    ("pmm.strategy.pmm", "pmm.connectors.base"),
    ("pmm.engine.engine", "pmm.app"),
    ("pmm.engine.engine", "pmm.connectors.registry"),
    ("pmm.engine.engine", "pmm.connectors.common.venue_spec"),
    ("pmm.engine.engine", "pmm.connectors.binance_perpetual.gateway"),
    ("pmm.connectors.binance_perpetual.build", "pmm.engine.pacer"),
    ("pmm.connectors.common.rest_session", "pmm.engine.engine"),
    ("pmm.connectors.binance_perpetual.feed", "pmm.connectors.bybit_perpetual.parse"),
    ("pmm.connectors.common.symbols", "pmm.connectors.bybit_perpetual.parse"),
    ("pmm.connectors.base", "pmm.connectors.sim_perpetual.connector"),
    ("pmm.config.names", "pmm.connectors.binance_perpetual.spec"),
    ("pmm.venue_servers", "pmm.connectors.bybit_perpetual.server.options"),
    ("pmm.ui.commands", "pmm.cli"),
])
def test_rules_catch_a_violation(importer, imported):
    assert not _allowed(importer, imported)


def test_the_kit_and_paper_trading_are_allowed_what_they_need():
    assert _allowed("pmm.connectors.binance_perpetual.build", "pmm.connectors.common.venue_spec")
    assert _allowed("pmm.connectors.binance_perpetual.build", "pmm.core.pacer")
    assert _allowed("pmm.connectors.paper", "pmm.connectors.sim_perpetual.pacer")
    assert _allowed("pmm.engine.engine", "pmm.connectors.base")
    assert _allowed("pmm.config.names", "pmm.connectors.registry")


@pytest.mark.parametrize("source, module, is_package, expected", [
    ("from ..engine import pacer", "pmm.connectors.foo", False, "pmm.engine.pacer"),
    ("from ...engine.pacer import RealTimePacer", "pmm.connectors.foo.build", False, "pmm.engine.pacer"),
    ("from . import parse", "pmm.connectors.foo", True, "pmm.connectors.foo.parse"),
    ("from .spec import SPEC", "pmm.connectors.foo.build", False, "pmm.connectors.foo.spec"),
    ("import pmm.engine.engine as e", "pmm.strategy.pmm", False, "pmm.engine.engine"),
])
def test_relative_imports_are_resolved(source, module, is_package, expected):
    assert expected in imports_of(source, module, is_package)


def test_a_relative_import_of_the_engine_from_a_connector_is_caught():
    found = imports_of("from ...engine.pacer import RealTimePacer", "pmm.connectors.binance_perpetual.build", False)
    assert any(not _allowed("pmm.connectors.binance_perpetual.build", name) for name in found)


# The engine (and the composition root and paper trading, which drive connectors the same way) use
# only what `connectors/base.py` declares: no capability is found by looking an attribute up.
CONTRACT_USERS = sorted([*(ROOT / "engine").rglob("*.py"), ROOT / "app.py", ROOT / "connectors" / "paper.py"])


def attribute_probes(source: str) -> list[str]:
    """`hasattr(...)` calls and `getattr(x, name, default)` calls in `source`, as text."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                node.func.id == "hasattr" or (node.func.id == "getattr" and len(node.args) == 3)):
            found.append(ast.unparse(node))
    return found


@pytest.mark.parametrize("path", CONTRACT_USERS, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_capability_is_found_by_attribute_lookup(path):
    assert not attribute_probes(path.read_text()), f"{path}: declare the capability in connectors/base.py"


def test_attribute_probes_are_caught():
    assert attribute_probes("if hasattr(g, 'arm'): pass\nf = getattr(p, 'finished', None)") == [
        "hasattr(g, 'arm')", "getattr(p, 'finished', None)"]
