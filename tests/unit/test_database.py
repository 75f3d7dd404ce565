"""The room for the built database (idc_qc/database/): names, the atomic writer, build ids,
attempts, the scope of partial builds and the output guard. Pure Python on tiny files."""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

from idc_qc.database import files
from idc_qc.database.atomic import atomic_path, write_json
from idc_qc.database.guard import OutputOnInput, refuse_output_on_input
from idc_qc.database.manifest import update_manifest
from idc_qc.database.state import (StaleResults, check_results_current, failed_attempt, partial_build_scope,
                                   record_attempt)
from idc_qc.errors import IdcQcError

ROOT = Path(__file__).resolve().parents[2]


def test_every_file_beside_a_database_has_one_distinct_name(tmp_path):
    db = tmp_path / "idc_qc.duckdb"
    names = [p.name for p in files.sidecars(db)]
    assert len(set(names)) == len(names)
    assert names[:5] == ["idc_qc.manifest.json", "idc_qc.attempt.json", "idc_qc.validation.json",
                         "idc_qc.qc_failures.parquet", "idc_qc.qc_report.html"]
    assert files.lock_path(db).name == "idc_qc.duckdb.lock"
    assert files.staging_file(db) == tmp_path / "idc_qc.duckdb.building" / "idc_qc.duckdb"
    assert files.release_db(20, tmp_path) == tmp_path / "v20" / "idc_qc.duckdb"


def test_the_atomic_writer_leaves_the_old_file_when_writing_fails(tmp_path):
    out = tmp_path / "sub" / "results.json"
    write_json(out, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(out) as tmp:
            tmp.write_text("half")
            raise RuntimeError("disk full")
    assert json.loads(out.read_text()) == {"a": 1}
    assert sorted(p.name for p in out.parent.iterdir()) == ["results.json"]  # no partial file left


def test_results_of_another_build_are_refused_in_one_line(tmp_path):
    db = tmp_path / "idc_qc.duckdb"
    check_results_current(db, "aaa", "aaa", what="the check results", rerun="idc-qc check")
    check_results_current(db, None, None, what="the check results", rerun="idc-qc check")  # no records: nothing to compare
    with pytest.raises(StaleResults, match=r"describe build aaa, but .* now holds build bbb: run `idc-qc check` again"):
        check_results_current(db, "aaa", "bbb", what="the check results", rerun="idc-qc check")
    with pytest.raises(StaleResults, match="do not say which build"):
        check_results_current(db, None, "bbb", what="the check results", rerun="idc-qc check")


def test_a_failed_or_killed_build_attempt_is_said(tmp_path):
    db = tmp_path / "idc_qc.duckdb"
    assert failed_attempt(db, "old") is None
    record_attempt(db, "new1", "building")          # then SIGKILL: no live lock holds the database
    assert "was killed before it finished" in failed_attempt(db, "old")
    record_attempt(db, "new1", "failed", error="No space left on device\nmore")
    line = failed_attempt(db, "old")
    assert "failed (No space left on device)" in line and "still holds build old" in line and "\n" not in line
    record_attempt(db, "new2", "building")
    record_attempt(db, "new2", "complete")
    assert failed_attempt(db, "new2") is None


def test_a_partial_build_keeps_the_scope_it_starts_from(tmp_path):
    db = tmp_path / "idc_qc.duckdb"
    assert partial_build_scope(db, None, False).instances is None  # no database yet: nothing to keep
    db.write_bytes(b"")
    gone = str(tmp_path / "gone" / "*.parquet")
    update_manifest(db, build={"series_scope": "input", "whole_index": False, "instances": gone},
                    inputs={"instances": [{"path": str(tmp_path / "gone" / "a.parquet")}]})
    with pytest.raises(IdcQcError, match="no longer readable"):
        partial_build_scope(db, None, False)   # inherits the instances, which are gone: refused, not widened
    with pytest.raises(IdcQcError, match="mix two inputs"):
        update_manifest(db, build={"series_scope": "index", "whole_index": False, "instances": None},
                        inputs={"instances": []})
        partial_build_scope(db, gone, False)   # an index-only database, a partial build with instances
    scope = partial_build_scope(db, None, False)
    assert scope.instances is None and scope.whole_index is False


def test_no_output_lands_on_an_input(tmp_path):
    db = tmp_path / "idc_qc.duckdb"
    db.write_bytes(b"")
    source = tmp_path / "in" / "part-0.parquet"
    source.parent.mkdir()
    source.write_bytes(b"PAR1")
    update_manifest(db, inputs={"instances": [{"path": str(source)}], "index": []})
    (tmp_path / "link.parquet").symlink_to(source)
    for out, what in ((db, "the database"), (files.manifest_path(db), "its run manifest"),
                      (files.failures_path(db), "its failing-series file"), (source, "an input file"),
                      (tmp_path / "link.parquet", "an input file"), (files.clinical_store(db) / "t.parquet", "clinical"),
                      (tmp_path / "x" / ".." / "idc_qc.duckdb", "the database")):
        with pytest.raises(OutputOnInput, match=what) as caught:
            refuse_output_on_input(out, db)
        assert "\n" not in str(caught.value)
    refuse_output_on_input(files.report_path(db), db)          # the report is an output: rewritten freely
    refuse_output_on_input(tmp_path / "series.csv", db)
    with pytest.raises(OutputOnInput, match="must end in .html"):
        refuse_output_on_input(tmp_path / "dashboard", db, suffixes=(".html",))


def _imports(path: Path) -> set[str]:
    """Modules a file imports, absolute (relative imports resolved against its package)."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{a.name}" for a in node.names}
    return found


def test_imports_run_one_way_for_the_moved_modules():
    """Nothing below idc_qc/cli imports it; releases/ (IDC releases only) never imports the build,
    and the database room imports no capability."""
    library = [p for p in (ROOT / "idc_qc").rglob("*.py") if "cli" not in p.relative_to(ROOT / "idc_qc").parts]
    up = {str(p.relative_to(ROOT)) for p in library if any(m == "idc_qc.cli" or m.startswith("idc_qc.cli.") for m in _imports(p))}
    assert up == set()
    for p in (ROOT / "idc_qc" / "releases").glob("*.py"):
        assert not {m for m in _imports(p) if m in ("idc_qc.build", "idc_qc.release_job", "idc_qc.demo")}, p
    allowed = ("idc_qc.database", "idc_qc.errors", "idc_qc.paths", "idc_qc.instances")
    for p in (ROOT / "idc_qc" / "database").glob("*.py"):
        bad = {m for m in _imports(p) if m.startswith("idc_qc.") and not m.startswith(allowed)
               and m != "idc_qc.__version__"}
        assert not bad, (p, bad)
    assert not (ROOT / "idc_qc" / "releases" / "run.py").exists()
    assert os.path.exists(ROOT / "idc_qc" / "release_job.py")
