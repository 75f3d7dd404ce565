"""Results bound to their build, partial builds that keep their scope, outputs that never land
on an input (issue 23), as a user meets them: the command line's entry point (in this process:
support.cli.invoke; a build run beside a check is a real second process) on one small synthetic
build, built once for the module and checked many ways (the tests run in order: the last ones
rebuild)."""

from __future__ import annotations

import csv

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support.data import query

pytestmark = pytest.mark.slow
SERIES = 12


def cli(*args: str, cwd: Path | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """The command line's main() in this process (support.cli.invoke: what a subprocess would give,
    without paying the imports again; the concurrent build below is a real second process)."""
    from support.cli import invoke

    return invoke(*args, cwd=cwd, env={"DO_NOT_TRACK": "1", "IDC_QC_DB": None, **(env or {})})


def one_error_line(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def manifest(db: Path) -> dict:
    import json

    return json.loads(db.with_name(db.stem + ".manifest.json").read_text())


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    work = tmp_path_factory.mktemp("binding")
    synth = cli("synth", "--series", str(SERIES), "--seed", "5", "--out", str(work / "synth"))
    assert synth.returncode == 0, synth.stderr
    db = work / "db" / "idc_qc.duckdb"
    build = cli("build", "-i", str(work / "synth" / "instances"), "--db", str(db))
    assert build.returncode in (0, 1), build.stderr
    check = cli("check", "--db", str(db))
    assert check.returncode in (0, 1), check.stdout + check.stderr
    return work, db


def test_check_results_report_and_exports_name_the_build(built, tmp_path):
    import pyarrow.parquet as pq

    work, db = built
    build_id = manifest(db)["build"]["build_id"]
    assert query(db, "select build_id from idc_qc_build order by started_at desc limit 1")[0][0] == build_id
    assert manifest(db)["validation"]["build_id"] == build_id
    metadata = pq.read_schema(db.with_name("idc_qc.qc_failures.parquet")).metadata
    assert metadata[b"idc_qc_build_id"].decode() == build_id
    report = cli("report", "--db", str(db))
    assert report.returncode == 0, report.stderr
    assert f"build {build_id}" in report.stdout + report.stderr
    assert f"build {build_id}" in db.with_name("idc_qc.qc_report.html").read_text()
    export = cli("export", "series", "-o", str(tmp_path / "series.parquet"), "--db", str(db))
    assert export.returncode == 0, export.stderr
    metadata = pq.read_schema(tmp_path / "series.parquet").metadata
    assert metadata[b"idc_qc_build_id"].decode() == build_id
    # a file of a synthetic build says so itself: parquet in its metadata, CSV in a last column
    assert metadata[b"idc_qc_input_kind"] == b"synthetic"
    assert "synthetic" in (export.stdout + export.stderr).lower()
    for args in ([], ["--where", "not regularly_spaced_3d_volume"]):
        out = tmp_path / f"geometry{len(args)}.csv"
        export = cli("export", "series_geometry", *args, "-o", str(out), "--db", str(db))
        assert export.returncode == 0, export.stderr
        with out.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and {r["idc_qc_input_kind"] for r in rows} == {"synthetic"}, list(rows[0])[-3:]
        assert list(rows[0])[-1] == "idc_qc_input_kind"


def test_no_output_lands_on_an_input(built, tmp_path):
    work, db = built
    source = sorted((work / "synth" / "instances").glob("*.parquet"))[0]
    before = {p: sha(p) for p in (source, db, db.with_name("idc_qc.manifest.json"))}
    one_error_line(cli("export", "series", "-o", str(source), "--db", str(db)), "an input file of the build")
    one_error_line(cli("query", "select 1 as x", "-o", str(source), "--db", str(db)), "an input file of the build")
    one_error_line(cli("report", "--db", str(db), "--csv", str(db.with_name("idc_qc.manifest.json"))),
                   "--csv", "its run manifest")
    one_error_line(cli("export", "series", "-o", str(db.parent / "." / "idc_qc.duckdb"), "--db", str(db)),
                   "the database")
    one_error_line(cli("cohort", "create", "--collection", "x", "-o", str(db.with_name("idc_qc.clinical") / "c.json"),
                       "--db", str(db)), "inside its clinical store")
    one_error_line(cli("dashboard", "--db", str(db), "-o", str(tmp_path / "dashboard")), "name a .html file")
    assert {p: sha(p) for p in before} == before


def test_a_suite_that_could_not_run_makes_check_exit_2_and_the_report_say_so(built, tmp_path):
    import duckdb

    _, built_db = built
    db = tmp_path / "idc_qc.duckdb"
    shutil.copyfile(built_db, db)
    shutil.copyfile(built_db.with_name("idc_qc.manifest.json"), db.with_name("idc_qc.manifest.json"))
    with duckdb.connect(str(db)) as con:
        con.execute("drop table rpt_qc_rule_counts")
    check = cli("check", "--db", str(db))
    assert check.returncode == 2, check.stdout + check.stderr
    assert "verdict is incomplete" in check.stdout + check.stderr
    report = cli("report", "--db", str(db))
    assert report.returncode == 0, report.stderr
    assert "verdict is incomplete" in report.stdout + report.stderr
    assert "the verdict is incomplete" in db.with_name("idc_qc.qc_report.html").read_text()


def test_a_failed_build_attempt_is_said_by_the_readers(built, tmp_path):
    _, built_db = built
    db = tmp_path / "idc_qc.duckdb"
    shutil.copyfile(built_db, db)
    shutil.copyfile(built_db.with_name("idc_qc.manifest.json"), db.with_name("idc_qc.manifest.json"))
    one_error_line(cli("build", "--db", str(db), "-s", "no_such_model"), "no_such_model")
    export = cli("export", "series", "-o", str(tmp_path / "s.csv"), "--db", str(db))
    assert export.returncode == 0, export.stderr
    assert "the latest build attempt" in export.stderr and "failed" in export.stderr, export.stderr
    assert not (db.parent / "dbt" / "target" / "run").exists()  # a failed build's dbt output is not kept


def test_check_during_a_build_validates_the_previous_build_and_a_killed_build_is_said(built, tmp_path):
    import os

    _, built_db = built
    db = tmp_path / "idc_qc.duckdb"
    shutil.copyfile(built_db, db)
    shutil.copyfile(built_db.with_name("idc_qc.manifest.json"), db.with_name("idc_qc.manifest.json"))
    previous = manifest(db)["build"]["build_id"]
    env = {**os.environ, "DO_NOT_TRACK": "1", "IDC_QC_TEST_PAUSE_AT": "before_install", "IDC_QC_TEST_PAUSE_SECONDS": "300"}
    env.pop("IDC_QC_DB", None)
    proc = subprocess.Popen([sys.executable, "-m", "idc_qc.cli", "build", "--db", str(db), "-s", "stg_dicom__instances"],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    try:
        for line in proc.stderr:
            if "IDC_QC_TEST_PAUSE_AT paused at before_install" in line:
                break
        else:
            raise AssertionError("the build never paused")
        check = cli("check", "--db", str(db))
        assert check.returncode in (0, 1), check.stdout + check.stderr
        assert "is running" in check.stdout + check.stderr and "reading the previous complete build" in check.stdout + check.stderr
        assert manifest(db)["validation"]["build_id"] == previous
    finally:
        proc.kill()
        proc.wait(timeout=60)
    export = cli("export", "series", "-o", str(tmp_path / "s.csv"), "--db", str(db))
    assert export.returncode == 0, export.stderr
    assert "was killed before it finished" in export.stderr and f"still holds build {previous}" in export.stderr
    assert cli("report", "--db", str(db)).returncode == 0  # the previous build is still the one checked


def test_the_commands_the_toolkit_suggests_keep_the_scope_and_stale_results_are_refused(built):
    """`idc-qc clinical add` and `idc-qc bias` suggest -s "+patient_clinical+ +rpt_bias_census_reference";
    the coverage report suggests -s +rpt_clinical_coverage_summary: on an instance build each keeps
    the input's series (not the whole index), and the check results of the previous build are refused."""
    work, db = built
    for selection in ("+patient_clinical+ +rpt_bias_census_reference", "+rpt_clinical_coverage_summary"):
        result = cli("build", "--db", str(db), "-s", selection)
        assert result.returncode in (0, 1), result.stderr
        assert "reading the same input as the build it updates" in result.stderr, result.stderr
        counts = {t: query(db, f"select count(distinct SeriesInstanceUID) from {t}")[0][0]
                  for t in ("series", "series_geometry", "stg_dicom__instances")}
        assert counts == {"series": SERIES, "series_geometry": SERIES, "stg_dicom__instances": SERIES}, counts
        patients = query(db, "select count(*), count(*) filter (where patient_id not in (select PatientID from series)) "
                             "from patient_clinical")[0]
        assert patients[1] == 0 and 0 < patients[0] <= SERIES, patients
        assert manifest(db)["build"]["status"] in ("complete", "checks_failed")
    stale = cli("report", "--db", str(db))
    one_error_line(stale, "describe build", f"idc-qc check --db {db}")
    # another input into a partial build is refused in one line, the database unchanged
    before = sha(db)
    one_error_line(cli("build", "--db", str(db), "-s", "+series", "--whole-index"), "--whole-index would mix scopes")
    assert sha(db) == before


def test_release_fetch_0_is_refused_before_anything_is_downloaded(tmp_path):
    result = cli("release", "fetch", "0", env={"IDC_QC_CACHE_DIR": str(tmp_path / "cache")})
    one_error_line(result, "numbered from v1")
    assert not any((tmp_path / "cache").rglob("*.whl"))
