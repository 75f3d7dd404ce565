"""`idc-qc upset` and `idc-qc dashboard` as a user runs them: help with an example, one red
line and exit 2 for what the user can fix, files written on success."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from idc_qc.cli.app import app
from support.cli import invoke, one_error_line

runner = CliRunner()


@pytest.mark.parametrize("command", ["upset", "dashboard"])
def test_help_has_an_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Example: idc-qc " + command in " ".join(result.output.split())


@pytest.mark.parametrize("command", ["upset", "dashboard"])
def test_missing_database_is_one_line_exit_2(command, tmp_path):
    out = tmp_path / ("out.html" if command == "dashboard" else "out")
    done = invoke(command, "--db", str(tmp_path / "none.duckdb"), "-o", str(out))
    assert "no database at" in one_error_line(done)


@pytest.mark.slow
@pytest.mark.shared_data
def test_upset_and_dashboard_on_real_headers(real_headers_db, tmp_path):
    done = invoke("upset", "--db", str(real_headers_db), "-o", str(tmp_path), "--modality", "CT")
    assert done.returncode == 0, done.stderr
    assert {p.suffix for p in tmp_path.glob("upset_checks.*")} == {".png", ".svg", ".csv"}
    assert "SYNTHETIC" not in done.stdout + done.stderr
    bad = invoke("upset", "--db", str(real_headers_db), "-o", str(tmp_path), "--sets", "colours")
    assert bad.returncode == 2 and "--sets 'colours'" in bad.stderr
    where = invoke("upset", "--db", str(real_headers_db), "-o", str(tmp_path), "--where", "nonsense_column > 1")
    assert where.returncode == 2 and "does not run" in where.stderr and "Traceback" not in where.stderr
    dash = invoke("dashboard", "--db", str(real_headers_db), "-o", str(tmp_path / "d.html"))
    assert dash.returncode == 0, dash.stderr
    assert (tmp_path / "d.html").stat().st_size > 100_000
