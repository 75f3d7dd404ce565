"""`idc-qc clinical` and `idc-qc bias` as a user runs them: help with an example, one-line
errors with exit 2, and the tables, CSV and chart of a real TCGA build."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from idc_qc.cli.app import app
from support import clinical as tc
from support.cli import invoke, one_error_line, run_cli

runner = CliRunner()


@pytest.mark.parametrize("command", [["clinical", "add"], ["clinical", "coverage"], ["bias"]])
def test_help_has_an_example(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: idc-qc " + " ".join(command) in " ".join(result.output.split())


def test_empty_file_and_missing_column_are_one_line_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    # the console script in a process once; the other cases call the same entry point in-process
    line = one_error_line(run_cli("clinical", "add", str(empty), "-p", "id", "-c", "tcga_brca", "--db", str(tmp_path / "x.duckdb")))
    assert "empty (0 bytes)" in line
    data = tmp_path / "data.csv"
    data.write_text("patient,gender\nTCGA-A1,MALE\n")
    line = one_error_line(invoke("clinical", "add", str(data), "-p", "id", "-c", "tcga_brca", "--db", str(tmp_path / "x.duckdb")))
    assert "--patient-id-column 'id' is not a column of data.csv" in line
    line = one_error_line(invoke("clinical", "add", str(data), "-p", "patient", "-c", "tcga_nope", "--db", str(tmp_path / "x.duckdb")))
    assert "'tcga_nope' is not a collection of IDC's index" in line


def test_add_reports_rows_written_and_rejected(tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("patient,gender\nTCGA-A1,MALE\n\n,FEMALE\n")
    result = invoke("clinical", "add", str(data), "-p", "patient", "-c", "tcga_brca", "--db", str(tmp_path / "idc_qc.duckdb"))
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stderr.split())
    assert "Read 2 rows" in text and "1 blank lines skipped" in text and "1 written" in text and "1 rejected" in text
    assert "missing_patient_id (1)" in text
    assert (tmp_path / "idc_qc.clinical" / "tcga_brca_clinical.parquet").exists()


def test_coverage_without_clinical_models_says_what_to_do(tmp_path):
    import duckdb

    db = tmp_path / "idc_qc.duckdb"
    duckdb.connect(str(db)).close()  # a database without the clinical models
    line = one_error_line(invoke("clinical", "coverage", "--db", str(db)))
    assert "no rpt_clinical_coverage_summary" in line and "idc-qc clinical add" in line


@pytest.mark.slow
@pytest.mark.shared_data
def test_coverage_and_bias_on_tcga(tmp_path_factory, tmp_path):
    import pandas as pd

    db = tc.tcga_clinical_db(tmp_path_factory.mktemp("tcga_clinical"))
    result = invoke("clinical", "coverage", "--db", str(db), "-o", str(tmp_path / "coverage.csv"))
    assert result.returncode == 0, result.stderr
    assert "tcga_brca" in result.stdout and "(all)" in result.stdout
    coverage = pd.read_csv(tmp_path / "coverage.csv")
    assert coverage["collection_id"].iloc[-1] == "(all)"

    out = tmp_path / "bias"
    where = "collection_id like 'tcga_%' and Modality in ('CT','MR','PT') and has_clinical"
    result = invoke("bias", "--db", str(db), "--where", where, "--reference", "census", "--by", "none", "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "Jensen-Shannon distance from US 2020 census" in result.stdout
    distances = pd.read_csv(out / "bias_distances.csv")
    assert set(distances["attribute"]) == {"sex", "age_group_midrc", "race", "ethnicity", "manufacturer", "model"}
    patients = distances.loc[distances["attribute"] == "sex", "group_total"].item()
    assert patients == 1108  # the TCGA patients with CT, MR or PT series and clinical data
    assert (out / "bias.html").stat().st_size > 0 and (out / "bias.png").stat().st_size > 0

    line = one_error_line(invoke("bias", "--db", str(db), "--where", "no_such_column = 1", "-o", str(out)))
    assert "does not run on series joined with patient_clinical" in line and "no_such_column" in line


def _add(csv, db, collection, env=None) -> subprocess.Popen:
    import os

    return subprocess.Popen([sys.executable, "-m", "idc_qc.cli", "clinical", "add", str(csv), "-p", "patient",
                             "-c", collection, "--db", str(db)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_two_registrations_at_once_both_land(tmp_path):
    """Issue 23: two `clinical add` at once into one store lost a registration (both exit 0, the
    store listed one table in 2 of 3 tries). Two rounds of two real processes started
    together, then one where the first holds the store's lock for 2 s (the test pause hook) so
    that the second must wait for it."""
    import pandas as pd

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("patient,gender\nTCGA-A1,MALE\n")
    b.write_text("patient,gender\nTCGA-B1,FEMALE\n")
    for round in range(3):
        db = tmp_path / f"round{round}" / "idc_qc.duckdb"
        hold = {"IDC_QC_TEST_PAUSE_AT": "clinical_store_locked", "IDC_QC_TEST_PAUSE_SECONDS": "2"} if round == 2 else None
        first = _add(a, db, "tcga_brca", env=hold)
        if hold:
            assert "paused at clinical_store_locked" in first.stderr.readline()
        second = _add(b, db, "tcga_luad")
        outs = [p.communicate(timeout=120) for p in (first, second)]
        assert [p.returncode for p in (first, second)] == [0, 0], outs
        store = db.parent / "idc_qc.clinical"
        tables = sorted(pd.read_parquet(store / "table_metadata.parquet")["table_name"])
        assert tables == ["tcga_brca_clinical", "tcga_luad_clinical"], (round, outs)
        assert sorted(pd.read_parquet(store / "column_metadata.parquet")["table_name"].unique()) == tables
        assert not (db.parent / "idc_qc.clinical.lock").exists()


def test_the_store_belongs_to_its_database(tmp_path):
    """Issue 20: the store lived beside --db (build/clinical/), so every database of the folder
    read it. Now each database has its own (<stem>.clinical), and `add` says which to build."""
    data = tmp_path / "data.csv"
    data.write_text("patient,gender\nTCGA-A1,MALE\n")
    result = run_cli("clinical", "add", str(data), "-p", "patient", "-c", "tcga_brca", "--db", str(tmp_path / "one.duckdb"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "one.clinical" / "tcga_brca_clinical.parquet").exists()
    assert not (tmp_path / "clinical").exists()
    assert f"idc-qc build --db {tmp_path / 'one.duckdb'} -s" in " ".join(result.stderr.split())
    elsewhere = tmp_path / "elsewhere"
    result = run_cli("clinical", "add", str(data), "-p", "patient", "-c", "tcga_brca", "--store", str(elsewhere),
                  "--db", str(tmp_path / "one.duckdb"))
    assert result.returncode == 0, result.stderr
    assert f"--clinical {elsewhere}" in "".join(result.stderr.split("\n"))
