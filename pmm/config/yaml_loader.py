"""Reading config YAML: floats become exact Decimals, duplicate keys are caught, lines are kept.

PyYAML turns `0.1` into the float 0.1000000000000000055..., and `Decimal(float)` keeps that
error. The loader here builds the Decimal from the scalar's own text instead, so what the user
typed is exactly what the strategy gets. It also remembers the line of every key (so problems can
be sorted in file order and located) and reports duplicate keys, which plain PyYAML silently
resolves to the last one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

#: Path of a value inside the document: mapping keys (their text) and list indexes.
YamlPath = tuple[str | int, ...]


class DecimalSafeLoader(yaml.SafeLoader):
    """SafeLoader whose floats are `Decimal`s built from the scalar's text."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[YamlPath, int, int]] = []  # (path, first line, second line)

    def construct_yaml_float(self, node: ScalarNode) -> Decimal:  # type: ignore[override]
        text = str(self.construct_scalar(node)).replace("_", "").strip()
        lowered = text.lower()
        if lowered in (".inf", "+.inf"):
            return Decimal("Infinity")
        if lowered == "-.inf":
            return Decimal("-Infinity")
        if lowered == ".nan":
            return Decimal("NaN")
        try:
            return Decimal(text)
        except InvalidOperation:
            # YAML 1.1 sexagesimal floats ("1:30.5"): rare enough that the float detour is fine.
            value = super().construct_yaml_float(node)
            return Decimal(repr(value)) if math.isfinite(value) else Decimal("NaN")


DecimalSafeLoader.add_constructor("tag:yaml.org,2002:float", DecimalSafeLoader.construct_yaml_float)


@dataclass(slots=True)
class YamlDocument:
    """A parsed config file: its data, the line of every key, and its duplicate keys."""

    data: Any
    lines: dict[YamlPath, int] = field(default_factory=dict)  # 1-based line of each key / item
    duplicates: list[tuple[YamlPath, int, int]] = field(default_factory=list)

    def line_of(self, path: YamlPath) -> int | None:
        """Line of `path`, or of its nearest ancestor that has one (None for the root)."""
        while path:
            line = self.lines.get(path)
            if line is not None:
                return line
            path = path[:-1]
        return None


#: More keys and items than any config has: a document past this is refused (aliases that
#: expand exponentially, the "billion laughs", would otherwise exhaust memory).
MAX_NODES = 100_000


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document. Raises `yaml.YAMLError` (with a mark) on bad syntax."""
    loader = DecimalSafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of 5000 digits, a 13th month
        raise yaml.YAMLError(f"a value cannot be read ({exc})") from None
    except RecursionError:
        raise yaml.YAMLError("the document is nested too deeply for a config") from None
    finally:
        loader.dispose()
    doc = YamlDocument(data=data)
    if node is not None:
        try:
            _walk(node, (), doc, [MAX_NODES])
        except RecursionError:
            raise yaml.YAMLError("the document is nested too deeply for a config") from None
    return doc


def _walk(node: Node, path: YamlPath, doc: YamlDocument, budget: list[int]) -> None:
    """Record key lines and duplicate keys below `node`."""
    budget[0] -= 1
    if budget[0] < 0:
        raise yaml.YAMLError(f"the document holds more than {MAX_NODES} keys and items (aliases that expand?); "
                             "a config has a few dozen")
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value) if isinstance(key_node, ScalarNode) else "?"
            line = key_node.start_mark.line + 1
            if key in seen:
                doc.duplicates.append((path + (key,), seen[key], line))
            seen[key] = line
            doc.lines[path + (key,)] = line
            _walk(value_node, path + (key,), doc, budget)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            doc.lines[path + (index,)] = item.start_mark.line + 1
            _walk(item, path + (index,), doc, budget)
