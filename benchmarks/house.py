"""The house of `idc_qc` at one or more revisions: packages, imports against the layers, cycles, largest files.

    python benchmarks/house.py                  # the working tree
    python benchmarks/house.py 4f277a9 HEAD     # two revisions side by side (read with git archive)

For each tree: its packages (a folder or top-level module of ``idc_qc``) with modules and lines;
the imports that run from a lower layer to a higher one and the modules below ``cli`` that run the
command line as a subprocess (the layers are today's docs/architecture.md, read against every
tree, so an older tree is judged by the rules it was refactored to meet); cycles between
packages over every import (upward ones included); and the ten largest files. The reading is
tests/support/imports.py, the same one tests/unit/test_imports.py enforces.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from support.imports import ImportGraph, cycles  # noqa: E402 - tests/ is put on the path just above

ARCHITECTURE = ROOT / "docs" / "architecture.md"


def tree_of(rev: str | None, scratch: Path) -> tuple[str, Path]:
    """The ``idc_qc`` folder of ``rev`` (None: the working tree), with a label."""
    if rev is None:
        return "working tree", ROOT / "idc_qc"
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], check=True,
                            capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "idc_qc"], check=True,
                             capture_output=True).stdout
    target = scratch / commit
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    return commit, target / "idc_qc"


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def describe(label: str, package: Path) -> dict:
    graph = ImportGraph(package, ARCHITECTURE)
    sizes = {m: lines(p) for m, p in graph.modules.items()}
    packages: Counter = Counter()
    package_lines: Counter = Counter()
    for module, n in sizes.items():
        name = ".".join(module.split(".")[:2])
        packages[name] += 1
        package_lines[name] += n
    found = graph.violations()
    return {
        "label": label,
        "packages": packages,
        "package_lines": package_lines,
        "unplaced": sorted(m for m in graph.modules if graph.layer_of(m) is None),
        "upward": sorted(v for v in found if v.startswith("layer:")),
        "subprocess": sorted(v for v in found if v.startswith("subprocess:")),
        "cycles": cycles(graph.package_edges()),
        "largest": sorted(sizes.items(), key=lambda kv: -kv[1])[:10],
        "lines": sum(sizes.values()),
    }


def show(house: dict) -> None:
    print(f"## {house['label']}: {len(house['packages'])} packages, {sum(house['packages'].values())} modules, "
          f"{house['lines']:,} lines")
    print("  packages (modules, lines): " + ", ".join(
        f"{p.removeprefix('idc_qc.')} ({house['packages'][p]}, {house['package_lines'][p]:,})"
        for p in sorted(house["packages"])))
    print(f"  imports from a lower layer to a higher one: {len(house['upward'])}")
    for v in house["upward"]:
        print(f"    {v.removeprefix('layer: ')}")
    print(f"  modules below cli running the command line: {len(house['subprocess'])}")
    for v in house["subprocess"]:
        print(f"    {v.removeprefix('subprocess: ')}")
    print(f"  cycles between packages (every import counted): {len(house['cycles'])}")
    for c in house["cycles"]:
        print("    " + " <-> ".join(p.removeprefix("idc_qc.") for p in c))
    if house["unplaced"]:
        print(f"  modules today's layer table does not place: {', '.join(house['unplaced'])}")
    print("  largest files (lines): " + ", ".join(
        f"{m.removeprefix('idc_qc.').replace('.', '/')}.py {n:,}" for m, n in house["largest"]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("revs", nargs="*", help="git revisions (default: the working tree)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="house_") as scratch:
        for rev in args.revs or [None]:
            show(describe(*tree_of(rev, Path(scratch))))
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
