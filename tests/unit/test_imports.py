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

from support.data import REPO
from support.imports import ImportGraph, cycles, read_layers

PACKAGE = REPO / "idc_qc"
ARCHITECTURE = REPO / "docs" / "architecture.md"
GRAPH = ImportGraph(PACKAGE, ARCHITECTURE)

#: Violations on main when this test was written (issue 19), each with what removes it.
#: Helper `dbroom` moves the run manifest and build info into idc_qc/database/ and the release
#: job up to idc_qc/release_job.py (calling library functions): that removes all but the first.
KNOWN_VIOLATIONS: set[str] = set()  # main's four (build -> clinical, build -> releases, the release job -> cli and its subprocess) are gone

def test_the_architecture_page_names_four_layers():
    names, parts = read_layers(ARCHITECTURE)
    assert names == ["cli", "jobs", "capabilities", "foundations"], names
    assert parts["idc_qc.cli"] == "cli" and parts["idc_qc.errors"] == "foundations"


def test_every_module_has_a_layer():
    unplaced = sorted(m for m in GRAPH.modules if GRAPH.layer_of(m) is None)
    assert not unplaced, (f"{unplaced}: give each package a layer in the table of docs/architecture.md "
                          "(which layer a new capability goes in is explained there)")


def test_imports_run_one_way_and_packages_do_not_import_each_other_in_a_circle():
    found = GRAPH.violations()
    new = sorted(found - KNOWN_VIOLATIONS)
    gone = sorted(KNOWN_VIOLATIONS - found)
    assert not new, "imports against docs/architecture.md:\n  " + "\n  ".join(new)
    assert not gone, ("fixed, so delete from KNOWN_VIOLATIONS in tests/unit/test_imports.py:\n  "
                      + "\n  ".join(gone))


# The checks themselves, on made-up graphs and sources: each rule can fail.

def test_cycle_finder_sees_a_circle_through_three_packages_and_not_a_chain():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": {"c"}}) == []


def test_layers_place_by_the_longest_prefix():
    assert GRAPH.layer_of("idc_qc.build") == "capabilities"  # not the root row (idc_qc: foundations)
    assert GRAPH.layer_of("idc_qc.releases.cache") == "capabilities"
    assert GRAPH.layer_of("idc_qc.cli.app") == "cli"
    assert GRAPH.layer_of("idc_qc") == "foundations"
    assert GRAPH.layer_of("idc_qc.no_such_thing") is None


def test_function_level_and_relative_imports_are_counted():
    # idc_qc.build imports the clinical store inside build() (`from .clinical import ...`);
    # idc_qc.cli.app imports the command modules with `from . import (...)`.
    assert "idc_qc.dbt_runner" in GRAPH.imports_of("idc_qc.build")
    assert "idc_qc.cli.check" in GRAPH.imports_of("idc_qc.cli.app")
    assert any(t.startswith("idc_qc.clinical") for t in GRAPH.imports_of("idc_qc.build"))
