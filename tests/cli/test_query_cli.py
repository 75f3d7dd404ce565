"""`idc-qc query` and `idc-qc cohort` as a user runs them: the entry point with its error boundary
(in-process, support.cli.invoke), and the console script in a subprocess for a query read from stdin."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from idc_qc.cli.app import app
from support.cli import invoke, one_error_line, run_cli
from support.query import make_warehouse

runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    return make_warehouse(tmp_path_factory.mktemp("query_cli"))


@pytest.mark.parametrize("command", [["query"], ["cohort", "create"], ["cohort", "check"]])
def test_help_has_an_example(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "idc-qc " + " ".join(command) in " ".join(result.output.split())


def test_query_prints_a_table_with_row_count_and_time(db):
    result = invoke("query", "--db", str(db), "select SeriesInstanceUID, count(*) as n from dicom_all group by all")
    assert result.returncode == 0, result.stderr
    assert "1.2.3" in result.stdout and "SeriesInstanceUID" in result.stdout
    assert "1 row in " in result.stderr and " s" in result.stderr


def test_query_shows_the_first_rows_and_says_so(db):
    result = invoke("query", "--db", str(db), "--max-rows", "3", "select * from range(10) t(i)")
    assert result.returncode == 0, result.stderr
    assert "10 rows in" in result.stderr and "showing 3; -o FILE writes all" in result.stderr


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".json"])
def test_query_writes_every_row(db, tmp_path, suffix):
    out = tmp_path / f"r{suffix}"
    result = invoke("query", "--db", str(db), "-o", str(out),
                  "select SOPInstanceUID, ImagePositionPatient from dicom_all order by 1")
    assert result.returncode == 0, result.stderr
    reader = {".csv": "read_csv", ".parquet": "read_parquet", ".json": "read_json"}[suffix]
    rows = duckdb.sql(f"select SOPInstanceUID from {reader}('{out}') order by 1").fetchall()
    assert rows == [("1.2.3.1",), ("1.2.3.2",)]
    assert not list(tmp_path.glob(".*partial"))


def test_bigquery_file_from_stdin_and_explain(db):
    sql = "SELECT p, i FROM `bigquery-public-data.idc_v25.dicom_all` d, UNNEST(d.ImagePositionPatient) p WITH OFFSET i # z\n"
    result = run_cli("query", "--db", str(db), "-d", "bigquery", "--explain", "-f", "-", stdin=sql)
    assert result.returncode == 0, result.stderr
    assert "_o - 1 AS i" in result.stdout and "WITH ORDINALITY" in result.stdout
    assert "tables mapped: bigquery-public-data.idc_v25.dicom_all -> dicom_all" in result.stderr
    ran = run_cli("query", "--db", str(db), "-d", "bigquery", "-f", "-", stdin=sql.replace("SELECT p, i", "SELECT MAX(i) AS m"))
    assert ran.returncode == 0 and " 2 " in f" {ran.stdout} "  # three positions, offsets 0..2


def test_tables_lists_idc_names_with_grain(db):
    result = invoke("query", "--db", str(db), "--tables")
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "dicom_all" in text and "idc_index" in text and "one row per series" in text


@pytest.mark.parametrize(("sql", "words"), [
    ("copy series to '/tmp/idc_qc_should_not_exist.csv'", "refused: COPY"),
    ("select * from read_csv('/etc/passwd')", "refused by the contained connection"),
    ("select KVP from dicom_all", "the local instance input (dicom_all) lacks it"),
])
def test_refusals_are_one_red_line_and_exit_2(db, sql, words):
    result = invoke("query", "--db", str(db), sql)
    assert words in one_error_line(result)
    assert not Path("/tmp/idc_qc_should_not_exist.csv").exists()


def test_cohort_create_and_check_from_the_command_line(tmp_path):
    import idc_index_data

    index_dir = Path(idc_index_data.__file__).resolve().parent
    db = make_warehouse(tmp_path / "w", index_dir=index_dir)
    manifest = tmp_path / "c.json"
    made = invoke("cohort", "create", "--db", str(db), "--collection", "rider_lung_pet_ct", "--modality", "PT", "-o", str(manifest))
    assert made.returncode == 0, made.stderr
    m = json.loads(manifest.read_text())
    assert m["counts"]["series"] > 0 and manifest.with_suffix(".s5cmd").exists()
    assert "s5cmd --no-sign-request" in made.stderr
    checked = invoke("cohort", "check", str(manifest), "--db", str(db), "--index", str(index_dir / "idc_index.parquet"),
                   "-o", str(tmp_path / "diff.json"))
    assert checked.returncode == 0, checked.stderr
    assert "0 gained, 0 lost, 0 revised" in checked.stderr
    assert json.loads((tmp_path / "diff.json").read_text())["unchanged"] == m["counts"]["series"]
    neither = invoke("cohort", "check", str(manifest), "--db", str(db))
    assert neither.returncode == 2 and "--release vNN" in neither.stderr
