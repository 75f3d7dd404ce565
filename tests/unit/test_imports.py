"""Imports run one way: the layers of docs/architecture.md, read from its table, enforced here.

Every ``import`` and ``from ... import`` in idc_qc/**/*.py counts, wherever it sits (module level,
inside a function, under ``if TYPE_CHECKING``): a function-level import is still a dependency.
Fails on an import from a lower layer to a higher one, on a module below ``cli`` that runs the
command line as a subprocess, on an import cycle between packages, and on a module the table does
not place. A cycle through layers always holds an upward import, reported as that layer violation
(issue 19's build <-> releases cycle is build -> releases.build_info); the cycle check walks the
remaining edges, so it catches circles within one layer (two capabilities importing each other). ``KNOWN_VIOLATIONS`` holds exactly what main had when this test was written: a new
violation fails, and so does a listed one that no longer occurs (then delete it from the list).
"""

from __future__ import annotations

import ast
import re
from functools import lru_cache
from pathlib import Path

from support.data import REPO

PACKAGE = REPO / "idc_qc"
ARCHITECTURE = REPO / "docs" / "architecture.md"

#: Violations on main when this test was written (issue 19), each with what removes it.
#: Helper `dbroom` moves the run manifest and build info into idc_qc/database/ and the release
#: job up to idc_qc/release_job.py (calling library functions): that removes all but the first.
KNOWN_VIOLATIONS: set[str] = set()  # main's four (build -> clinical, build -> releases, the release job -> cli and its subprocess) are gone


@lru_cache(maxsize=1)
def layers() -> tuple[list[str], dict[str, str]]:
    """The layer names, highest first, and the layer of each dotted prefix (``idc_qc.`` added)."""
    names: list[str] = []
    parts: dict[str, str] = {}
    for line in ARCHITECTURE.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"(\d+) (\w+)", cells[0]) if len(cells) == 3 else None
        if not match:
            continue
        names.append(match.group(2))
        for part in re.findall(r"`([\w.]+)`", cells[2]):
            dotted = "idc_qc" if part == "idc_qc" else f"idc_qc.{part}"
            assert dotted not in parts, f"{ARCHITECTURE.name}: `{part}` is placed twice"
            parts[dotted] = match.group(2)
    return names, parts


def layer_of(module: str) -> str | None:
    """The layer of the longest dotted prefix of ``module`` that the table places (``idc_qc``
    itself, the root package, places only itself)."""
    _, parts = layers()
    pieces = module.split(".")
    for n in range(len(pieces), 1, -1):
        if ".".join(pieces[:n]) in parts:
            return parts[".".join(pieces[:n])]
    return parts.get(module) if module == "idc_qc" else None


def package_of(module: str) -> str:
    """idc_qc.<first part>: the unit the cycle check works on (``idc_qc`` for the root)."""
    return ".".join(module.split(".")[:2])


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@lru_cache(maxsize=1)
def modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "_project" not in p.relative_to(PACKAGE).parts}


def imports_of(module: str) -> set[str]:
    """The idc_qc modules ``module`` imports (``from pkg import name``: pkg.name when that is a module)."""
    path = modules()[module]
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
                found.add(f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules() else target)
    return found


def runs_the_cli(module: str) -> bool:
    """A list or tuple (an argv) holding "idc_qc.cli" or "idc-qc": the console script as a subprocess."""
    tree = ast.parse(modules()[module].read_text())
    return any(isinstance(node, (ast.List, ast.Tuple))
               and any(isinstance(e, ast.Constant) and e.value in {"idc_qc.cli", "idc-qc"} for e in node.elts)
               for node in ast.walk(tree))


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan), each sorted."""
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


def violations() -> set[str]:
    names, _ = layers()
    rank = {name: len(names) - i for i, name in enumerate(names)}
    found: set[str] = set()
    package_edges: dict[str, set[str]] = {}
    for module in modules():
        mine = layer_of(module)
        for target in imports_of(module):
            theirs = layer_of(target)
            if mine and theirs and rank[theirs] > rank[mine]:
                found.add(f"layer: {module} -> {target} ({mine} -> {theirs})")
                continue  # reported once, as the layer violation it is
            if package_of(target) != package_of(module) and package_of(target) != "idc_qc":
                package_edges.setdefault(package_of(module), set()).add(package_of(target))
        if mine != "cli" and runs_the_cli(module):
            found.add(f"subprocess: {module} runs the command line")
    for component in _cycles(package_edges):
        found.add("cycle: " + " <-> ".join(component))
    return found


def test_the_architecture_page_names_four_layers():
    names, parts = layers()
    assert names == ["cli", "jobs", "capabilities", "foundations"], names
    assert parts["idc_qc.cli"] == "cli" and parts["idc_qc.errors"] == "foundations"


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in modules() if layer_of(m) is None)
    assert not unplaced, (f"{unplaced}: give each package a layer in the table of docs/architecture.md "
                          "(which layer a new capability goes in is explained there)")


def test_imports_run_one_way_and_packages_do_not_import_each_other_in_a_circle():
    found = violations()
    new = sorted(found - KNOWN_VIOLATIONS)
    gone = sorted(KNOWN_VIOLATIONS - found)
    assert not new, "imports against docs/architecture.md:\n  " + "\n  ".join(new)
    assert not gone, ("fixed, so delete from KNOWN_VIOLATIONS in tests/unit/test_imports.py:\n  "
                      + "\n  ".join(gone))


# The checks themselves, on made-up graphs and sources: each rule can fail.

def test_cycle_finder_sees_a_circle_through_three_packages_and_not_a_chain():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}}) == []


def test_layers_place_by_the_longest_prefix():
    assert layer_of("idc_qc.build") == "capabilities"  # not the root row (idc_qc: foundations)
    assert layer_of("idc_qc.releases.cache") == "capabilities"
    assert layer_of("idc_qc.cli.app") == "cli"
    assert layer_of("idc_qc") == "foundations"
    assert layer_of("idc_qc.no_such_thing") is None


def test_function_level_and_relative_imports_are_counted():
    # idc_qc.build imports the clinical store inside build() (`from .clinical import ...`);
    # idc_qc.cli.app imports the command modules with `from . import (...)`.
    assert "idc_qc.dbt_runner" in imports_of("idc_qc.build")
    assert "idc_qc.cli.check" in imports_of("idc_qc.cli.app")
    assert any(t.startswith("idc_qc.clinical") for t in imports_of("idc_qc.build"))
