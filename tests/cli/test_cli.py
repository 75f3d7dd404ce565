"""The CLI: help that teaches, one-line errors, exports that refuse hostile names."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from idc_qc.cli import app
from idc_qc.errors import IdcQcError

runner = CliRunner()


@pytest.mark.parametrize("command", ["build", "export", "synth", "demo", "check", "report"])
def test_every_command_help_has_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: idc-qc " + command in " ".join(result.output.split())


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "idc_qc.cli", *args], capture_output=True, text=True, timeout=300)


def test_wrong_instances_path_is_one_red_line_and_exit_2(tmp_path):
    result = _cli("build", "--instances", str(tmp_path / "missing.parquet"), "--db", str(tmp_path / "x.duckdb"))
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "matches no file" in errors[0]
    assert "Traceback" not in result.stderr and result.stderr.rstrip().endswith("matches no file")


def test_export_refuses_hostile_model_names(index_only_db, tmp_path):
    from idc_qc.export import export_model

    for hostile in ["series; drop table series", 'series" --', "../series"]:
        with pytest.raises(IdcQcError, match="not a model name"):
            export_model(index_only_db, hostile, tmp_path / "x.csv")
    with pytest.raises(IdcQcError, match="no model 'nope'"):
        export_model(index_only_db, "nope", tmp_path / "x.csv")
    with pytest.raises(IdcQcError, match="must end in .parquet or .csv"):
        export_model(index_only_db, "series", tmp_path / "x.xlsx")


@pytest.mark.slow
def test_export_round_trips_parquet_and_csv(index_only_db, tmp_path):
    import duckdb

    result = runner.invoke(app, ["export", "stg_idc_index__releases", "-o", str(tmp_path / "r.csv"), "--db", str(index_only_db)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["export", "series", "-o", str(tmp_path / "s.parquet"), "--db", str(index_only_db)])
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    releases = con.execute("select count(*), max(idc_version) from read_csv(?)", [str(tmp_path / "r.csv")]).fetchall()[0]
    assert releases[0] >= 25 and releases[1] >= 25
    series = con.execute("select count(*) from read_parquet(?)", [str(tmp_path / "s.parquet")]).fetchall()[0][0]
    assert series > 1_000_000


def test_dry_run_without_bigquery_is_refused(tmp_path):
    result = runner.invoke(app, ["build", "--dry-run", "--db", str(tmp_path / "x.duckdb")])
    assert isinstance(result.exception, IdcQcError)
    assert "--dry-run is for --target bigquery" in str(result.exception)
