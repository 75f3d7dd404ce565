"""`idc-qc check` and `idc-qc report` as a user runs them: exit codes, outputs, counts.

A synthetic build with injected geometry faults (idc-qc synth, its truth file) and malformed
DICOM values (a parquet of extra instances written with the declared schema) must fail the
check (exit 1), and the report must list exactly the injected problems: per rule, as many
rows as were injected. The same build without faults passes (exit 0). A check that cannot run
is errored (exit 2), never counted as failed.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections import Counter

import pytest

from support.cli import invoke, one_error_line
from support.quality import cached_quality_build, geometry_expected

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def faulty(tmp_path_factory):
    return cached_quality_build(tmp_path_factory, faults=True)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    return cached_quality_build(tmp_path_factory, faults=False)


def _csv_counts(path) -> tuple[Counter, Counter]:
    series, rows = Counter(), Counter()
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            series[row["check_name"]] += 1
            rows[row["check_name"]] += int(row["failing_instance_count"] or 1)
    return series, rows


def test_injected_faults_fail_the_check_and_the_report_lists_exactly_them(faulty):
    db = faulty.db
    checked = invoke("check", "--db", str(db))
    assert checked.returncode == 1, checked.stderr
    assert "failed" in checked.stderr and "Traceback" not in checked.stderr
    validation = json.loads(db.with_name("idc_qc.validation.json").read_text())
    assert validation["summary"]["failed"] >= 1 and validation["summary"]["errored"] == 0
    manifest = json.loads(db.with_name("idc_qc.manifest.json").read_text())
    assert manifest["validation"]["exit_code"] == 1
    assert manifest["validation"]["thresholds"]["values"]["max_malformed_share"] == 0.001

    reported = invoke("report", "--db", str(db))
    assert reported.returncode == 0, reported.stderr
    series, rows = _csv_counts(db.with_name("idc_qc.qc_report.csv"))

    # malformed values: instance rows per rule (series-level checks: series)
    for check_name, expected in faulty.injected.items():
        assert rows[check_name] == expected, (check_name, rows[check_name], expected)
    # geometry faults: series per reason, as the truth file says
    geometry = geometry_expected(faulty.truth)
    assert sum(geometry.values()) > 100
    for check_name, expected in geometry.items():
        counted = rows[check_name] if not check_name.startswith("geometry: ") else series[check_name]
        assert counted == expected, (check_name, counted, expected)
    # and nothing else: every reported check is one that was injected
    assert set(series) == set(faulty.injected) | {k for k, v in geometry.items() if v}


def test_clean_data_passes(clean):
    checked = invoke("check", "--db", str(clean.db))
    assert checked.returncode == 0, checked.stderr
    assert "0 failed, 0 errored" in " ".join(checked.stderr.split())
    import duckdb

    assert duckdb.connect().execute("select count(*) from read_parquet(?)",
                                    [str(clean.db.with_name("idc_qc.qc_failures.parquet"))]).fetchone()[0] == 0


def test_thresholds_decide_the_verdict_and_are_recorded(faulty, tmp_path):
    lenient = tmp_path / "lenient.yml"
    lenient.write_text("min_regular_share: 0\nmax_malformed_share: 1\n")
    checked = invoke("check", "--db", str(faulty.db), "--thresholds", str(lenient), "--set", "max_inconsistent_series=5")
    assert checked.returncode == 0, checked.stderr
    manifest = json.loads(faulty.db.with_name("idc_qc.manifest.json").read_text())
    recorded = manifest["validation"]["thresholds"]
    assert recorded["values"]["min_regular_share"] == 0 and recorded["sources"]["min_regular_share"] == str(lenient)
    assert recorded["values"]["max_inconsistent_series"] == 5 and recorded["sources"]["max_inconsistent_series"] == "--set"
    # the failing series are still listed, with the gate that passed
    import duckdb

    gate = duckdb.connect().execute("select count(*), count(*) filter (where gate_failed) from read_parquet(?)",
                                    [str(faulty.db.with_name("idc_qc.qc_failures.parquet"))]).fetchone()
    assert gate[0] > 100 and gate[1] == 0


def test_a_check_that_cannot_run_is_errored_not_failed(clean, tmp_path):
    import duckdb

    db = tmp_path / "partial.duckdb"
    shutil.copy(clean.db, db)
    with duckdb.connect(str(db)) as con:
        con.execute("drop table rpt_geometry_failure_sets")
        con.execute("alter table series_geometry drop column geometry_category")
    checked = invoke("check", "--db", str(db))
    assert checked.returncode == 2, checked.stderr
    summary = json.loads(db.with_name("partial.validation.json").read_text())["summary"]
    assert summary["failed"] == 0 and summary["errored"] >= 3


@pytest.mark.parametrize("args, message", [
    (["--set", "nope=1"], "unknown threshold 'nope'"),
    (["--set", "min_regular_share=high"], "expected a number, found 'high'"),
    (["--set", "min_regular_share=2"], "a share is at most 1"),
])
def test_bad_thresholds_are_one_line_and_exit_2(clean, args, message):
    checked = invoke("check", "--db", str(clean.db), *args)
    assert message in one_error_line(checked), checked.stderr


def test_report_before_check_says_what_to_run(tmp_path, clean):
    db = tmp_path / "unchecked.duckdb"
    shutil.copy(clean.db, db)
    reported = invoke("report", "--db", str(db))
    assert reported.returncode == 2
    assert "run `idc-qc check --db" in reported.stderr


@pytest.mark.shared_data
def test_real_headers_run_without_errors_and_flag_exactly_the_unknown_sop_classes(real_headers_db, real_headers):
    """Real DICOM headers (shared data): every suite runs (nothing errored), and the SOP classes
    reported as not allowed are exactly the input's classes missing from seeds/sop_classes.csv."""
    import duckdb

    from support.data import REPO

    checked = invoke("check", "--db", str(real_headers_db))
    assert checked.returncode in (0, 1), checked.stderr
    summary = json.loads(real_headers_db.with_name(real_headers_db.stem + ".validation.json").read_text())["summary"]
    assert summary["errored"] == 0
    con = duckdb.connect()
    reported = {r[0] for r in con.execute(
        "select distinct observed from read_parquet(?) where check_name = 'SOPClassUID: value not allowed'",
        [str(real_headers_db.with_name(real_headers_db.stem + ".qc_failures.parquet"))]).fetchall()}
    unknown = {r[0] for r in con.execute(
        "select distinct SOPClassUID from read_parquet(?) where SOPClassUID not in "
        "(select SOPClassUID from read_csv(?, all_varchar = true)) and trim(SeriesInstanceUID) <> ''",
        [str(real_headers), str(REPO / "seeds" / "sop_classes.csv")]).fetchall()}
    assert reported == unknown
