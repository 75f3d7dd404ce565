"""The CLI: help that teaches, one-line errors, exports that refuse hostile names."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from idc_qc.cli.app import app
from idc_qc.errors import IdcQcError
from support.cli import one_error_line, run_cli
from support.query import make_warehouse

runner = CliRunner()


@pytest.mark.parametrize("command", ["build", "export", "synth", "demo", "check", "report"])
def test_every_command_help_has_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: idc-qc " + command in " ".join(result.output.split())


def test_wrong_instances_path_is_one_red_line_and_exit_2(tmp_path):
    # the console script in a process: what a user sees, end to end (other tests call main() in-process)
    result = run_cli("build", "--instances", str(tmp_path / "missing.parquet"), "--db", str(tmp_path / "x.duckdb"))
    assert "matches no file" in one_error_line(result)
    assert "Traceback" not in result.stderr and result.stderr.rstrip().endswith("matches no file")


def test_export_refuses_hostile_model_names(tmp_path):
    from idc_qc.export import export_model

    # a real DuckDB file shaped like a complete build (support.query.make_warehouse: no dbt, well
    # under a second); the round trip below uses a real build of the whole index
    db = make_warehouse(tmp_path / "w")
    for hostile in ["series; drop table series", 'series" --', "../series"]:
        with pytest.raises(IdcQcError, match="not a model name"):
            export_model(db, hostile, tmp_path / "x.csv")
    with pytest.raises(IdcQcError, match="no model 'nope'"):
        export_model(db, "nope", tmp_path / "x.csv")
    with pytest.raises(IdcQcError, match="must end in .parquet or .csv"):
        export_model(db, "series", tmp_path / "x.xlsx")


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
