"""The error boundary and the build record, on tiny hand-made inputs (fast lane)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from idc_qc.cli.app import describe_exception
from idc_qc.dbt_runner import DbtRunResult, NodeResult, failure_error, split_selectors
from idc_qc.errors import ChecksFailed, IdcQcError, IncompleteBuild
from idc_qc.index_lookup import resolve_collections
from idc_qc.database.files import lock_path
from idc_qc.database.lock import build_in_progress
from idc_qc.database.record import BUILD_TABLE_DDL
from idc_qc.warehouse import open_warehouse
from idc_qc.workspace import BuildLock


def _run(*nodes: tuple[str, str]) -> DbtRunResult:
    return DbtRunResult(command=["build"], success=False,
                        nodes=[NodeResult(unique_id=u, status=s, seconds=0.0, message=None) for u, s in nodes])


def test_a_failing_data_test_is_exit_1_and_a_dbt_error_exit_2():
    failed = failure_error("build", _run(("model.idc_qc.series", "success"), ("test.idc_qc.unique_series.x", "fail")))
    assert isinstance(failed, ChecksFailed) and failed.exit_code == 1
    errored = failure_error("build", _run(("model.idc_qc.series", "error"), ("test.idc_qc.unique_series.x", "fail")))
    assert not isinstance(errored, ChecksFailed) and errored.exit_code == 2 and "series" in str(errored)
    # An exception with an empty message (Ctrl-C used to be one) still gives a line.
    assert str(failure_error("build", _run(), RuntimeError(""))).endswith("RuntimeError")


def test_a_model_that_filled_the_disk_says_why_and_what_to_do():
    # dbt's message for int_series__converters_measured on a full-scale shuffled build (run_results.json)
    message = ("Runtime Error in model int_series__converters_measured "
               "(models/intermediate/converters/int_series__converters_measured.sql)\n"
               "  IO Error: Could not write file \"/w/b.duckdb.building/b.duckdb.tmp/duckdb_temp_storage_DEFAULT-5.tmp\": "
               "No space left on device")
    run = DbtRunResult(command=["build"], success=False, nodes=[
        NodeResult("model.idc_qc.int_series__converters_measured", "error", 1.0, message)])
    line = str(failure_error("build", run))
    assert "first: int_series__converters_measured: IO Error: Could not write file" in line
    assert "Runtime Error in model" not in line and "\n" not in line
    assert "IDC_QC_MEMORY_LIMIT" in line and ".tmp folder beside the database" in line
    # another engine error keeps its own line and no disk hint
    run.nodes[0].message = "Runtime Error in model series (models/marts/series/series.sql)\n  Binder Error: no column x"
    assert str(failure_error("build", run)).endswith("first: int_series__converters_measured: Binder Error: no column x")


def test_os_errors_become_one_line_naming_the_path():
    line, code = describe_exception(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/x.duckdb"))
    assert code == 2 and "no space left" in line and "/data/x.duckdb" in line
    line, code = describe_exception(PermissionError(errno.EACCES, "Permission denied", "/data/x.duckdb"))
    assert code == 2 and line == "cannot use /data/x.duckdb: Permission denied"
    assert describe_exception(ValueError("a bug")) is None


def test_selectors_split_like_dbt():
    assert split_selectors(["+a +b", "c"]) == ["+a", "+b", "c"]


def test_collection_names_match_forgivingly():
    known = ["lidc_idri", "nlst", "tcga_luad"]
    assert resolve_collections(["LIDC-IDRI", "nlst"], known) == ("lidc_idri", "nlst")
    with pytest.raises(IdcQcError, match="did you mean tcga_luad"):
        resolve_collections(["tcga_lua"], known)


def _db_with_status(path: Path, status: str) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute(BUILD_TABLE_DDL)
        con.execute("insert into idc_qc_build (build_id, started_at, status, toolkit_version) values ('b1', now(), ?, '0')",
                    [status])
        con.execute("create table series_geometry as select 1 as x")
    return path


def test_an_unfinished_build_is_refused_and_failed_checks_are_a_warning(tmp_path):
    with pytest.raises(IncompleteBuild, match="did not finish"):
        with open_warehouse(_db_with_status(tmp_path / "a.duckdb", "building")):
            pass
    with open_warehouse(_db_with_status(tmp_path / "b.duckdb", "checks_failed")) as wh:
        assert wh.tables() == ["series_geometry"] and "failing data test" in wh.warnings[0]


def test_export_of_an_unfinished_build_exits_2(tmp_path):
    db = _db_with_status(tmp_path / "a.duckdb", "building")
    result = subprocess.run([sys.executable, "-m", "idc_qc.cli", "export", "series_geometry", "-o",
                             str(tmp_path / "g.csv"), "--db", str(db)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("Error:") and "did not finish" in result.stderr
    assert not (tmp_path / "g.csv").exists()


def test_the_lock_names_its_holder_and_dies_with_it(tmp_path):
    db = tmp_path / "x.duckdb"
    with BuildLock(db):
        holder = build_in_progress(db)
        assert holder is not None and holder.pid == os.getpid()
        with pytest.raises(IdcQcError, match=f"another build \\(pid {os.getpid()}, started "):
            BuildLock(db).acquire()
    assert build_in_progress(db) is None and not lock_path(db).exists()
