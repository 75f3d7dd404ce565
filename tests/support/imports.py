"""The import graph of a tree of ``idc_qc`` against the layers of docs/architecture.md.

One home for the reading the import test enforces (tests/unit/test_imports.py) and the house
benchmark prints for any revision (benchmarks/house.py). Every ``import`` and ``from ... import``
counts wherever it sits (module level, inside a function, under ``if TYPE_CHECKING``): a
function-level import is still a dependency.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path


def read_layers(architecture: Path) -> tuple[list[str], dict[str, str]]:
    """The layer names, highest first, and the layer of each dotted prefix (``idc_qc.`` added),
    from the table of the architecture page (rows ``| <n> <name> | ... | `part`, ... |``)."""
    names: list[str] = []
    parts: dict[str, str] = {}
    for line in architecture.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"(\d+) (\w+)", cells[0]) if len(cells) == 3 else None
        if not match:
            continue
        names.append(match.group(2))
        for part in re.findall(r"`([\w.]+)`", cells[2]):
            dotted = "idc_qc" if part == "idc_qc" else f"idc_qc.{part}"
            if dotted in parts:
                raise ValueError(f"{architecture.name}: `{part}` is placed twice")
            parts[dotted] = match.group(2)
    return names, parts


def package_of(module: str) -> str:
    """idc_qc.<first part>: the unit the cycle check works on (``idc_qc`` for the root)."""
    return ".".join(module.split(".")[:2])


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


@dataclass
class ImportGraph:
    """``package``: the ``idc_qc`` folder of a tree; ``architecture``: the page whose table places
    its modules (today's page may be read against an older tree, to see what it would say)."""

    package: Path
    architecture: Path
    _layers: tuple[list[str], dict[str, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._layers = read_layers(self.architecture)

    @property
    def layer_names(self) -> list[str]:
        return self._layers[0]

    def layer_of(self, module: str) -> str | None:
        """The layer of the longest dotted prefix of ``module`` that the table places (``idc_qc``
        itself, the root package, places only itself)."""
        parts = self._layers[1]
        pieces = module.split(".")
        for n in range(len(pieces), 1, -1):
            if ".".join(pieces[:n]) in parts:
                return parts[".".join(pieces[:n])]
        return parts.get(module) if module == "idc_qc" else None

    def _module_name(self, path: Path) -> str:
        parts = ["idc_qc", *path.relative_to(self.package).with_suffix("").parts]
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    @cached_property
    def modules(self) -> dict[str, Path]:
        return {self._module_name(p): p for p in sorted(self.package.rglob("*.py"))
                if "_project" not in p.relative_to(self.package).parts}

    def imports_of(self, module: str) -> set[str]:
        """The idc_qc modules ``module`` imports (``from pkg import name``: pkg.name when that is a module)."""
        path = self.modules[module]
        is_package = path.name == "__init__.py"
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "idc_qc"}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".") if is_package else module.split(".")[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                if target.split(".")[0] != "idc_qc":
                    continue
                for alias in node.names:
                    found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in self.modules else target)
        return found

    def runs_the_cli(self, module: str) -> bool:
        """A list or tuple (an argv) holding "idc_qc.cli" or "idc-qc": the console script as a subprocess."""
        tree = ast.parse(self.modules[module].read_text())
        return any(isinstance(node, (ast.List, ast.Tuple))
                   and any(isinstance(e, ast.Constant) and e.value in {"idc_qc.cli", "idc-qc"} for e in node.elts)
                   for node in ast.walk(tree))

    def package_edges(self) -> dict[str, set[str]]:
        """Package -> the packages it imports (the root package left out: it places only itself)."""
        edges: dict[str, set[str]] = {}
        for module in self.modules:
            for target in self.imports_of(module):
                if package_of(target) not in (package_of(module), "idc_qc"):
                    edges.setdefault(package_of(module), set()).add(package_of(target))
        return edges

    def violations(self) -> set[str]:
        """Upward imports, modules below ``cli`` running the command line, and cycles between
        packages over the edges that are not upward (a cycle through layers always holds an upward
        import, reported as that)."""
        names = self.layer_names
        rank = {name: len(names) - i for i, name in enumerate(names)}
        found: set[str] = set()
        package_edges: dict[str, set[str]] = {}
        for module in self.modules:
            mine = self.layer_of(module)
            for target in self.imports_of(module):
                theirs = self.layer_of(target)
                if mine and theirs and rank[theirs] > rank[mine]:
                    found.add(f"layer: {module} -> {target} ({mine} -> {theirs})")
                    continue  # reported once, as the layer violation it is
                if package_of(target) != package_of(module) and package_of(target) != "idc_qc":
                    package_edges.setdefault(package_of(module), set()).add(package_of(target))
            if mine != "cli" and self.runs_the_cli(module):
                found.add(f"subprocess: {module} runs the command line")
        for component in cycles(package_edges):
            found.add("cycle: " + " <-> ".join(component))
        return found
