"""Errors a newcomer meets in the first hour, through the installed console script (fast lane):
each one line (or Click's own usage block), the exit code documented, a next step, never
"unexpected"; and the database a command reads when given no --db."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb

from idc_qc.paths import DEFAULT_DB, default_db, remember_db

IDC_QC = Path(sys.executable).parent / "idc-qc"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200", NO_COLOR="1")
    env.pop("IDC_QC_DB", None)
    return subprocess.run([str(IDC_QC), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_a_mistyped_command_is_shown_as_click_shows_it(tmp_path):
    proc = _run("biuld", cwd=tmp_path)
    assert proc.returncode == 2
    assert "Usage: idc-qc" in proc.stderr
    assert "Error: No such command 'biuld'. Did you mean 'build'?" in proc.stderr
    assert "unexpected" not in proc.stderr
    proc = _run("check", "--nope", cwd=tmp_path)
    assert proc.returncode == 2 and "Error: No such option: --nope" in proc.stderr and "unexpected" not in proc.stderr


def test_dashboard_to_a_non_html_file_is_one_line_before_anything_runs(tmp_path):
    proc = _run("dashboard", "-o", "x.txt", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "Error: -o x.txt: the dashboard is one HTML page; name a .html file (e.g. -o x.html)"
    assert not (tmp_path / "x.txt").exists()


def test_a_csv_given_as_instances_says_what_instances_takes(tmp_path):
    (tmp_path / "instances.csv").write_text("SeriesInstanceUID,SOPInstanceUID\n" + "1.2.3,1.2.3.4\n" * 50)
    proc = _run("build", "--instances", "instances.csv", "--db", "x.duckdb", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    line = [text for text in proc.stderr.splitlines() if text.startswith("Error:")]
    assert len(line) == 1, proc.stderr
    assert "as parquet" in line[0] and "--instances takes parquet" in line[0] and "convert it: duckdb" in line[0]
    assert "unexpected" not in proc.stderr


def test_commands_read_the_last_database_built_or_named_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    record = tmp_path / "build" / "last_db.txt"
    assert default_db(record) == (DEFAULT_DB, False)          # nothing recorded: the documented default
    db = tmp_path / "build" / "demo" / "idc_qc.duckdb"
    db.parent.mkdir(parents=True)
    remember_db(db, record)
    assert record.read_text().strip() == "build/demo/idc_qc.duckdb"  # relative to the folder, no machine path
    assert default_db(record) == (DEFAULT_DB, False)          # recorded, but no such file (yet)
    duckdb.connect(str(db)).close()
    assert default_db(record) == (Path("build/demo/idc_qc.duckdb"), True)
    # through the CLI: the first line names it, and it is the database read
    proc = _run("query", "select 42 as answer", cwd=tmp_path)
    assert proc.stderr.splitlines()[0].startswith("Database: build/demo/idc_qc.duckdb"), proc.stderr
    # --db on the command line is remembered for the next command
    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()
    _run("query", "select 1", "--db", str(other), cwd=tmp_path)
    assert record.read_text().strip() == "other.duckdb"
    # IDC_QC_DB wins over the record and is not recorded
    proc = subprocess.run([str(IDC_QC), "query", "select 1"], cwd=tmp_path, capture_output=True, text=True,
                          env=dict(os.environ, IDC_QC_DB=str(db), NO_COLOR="1"), timeout=120)
    assert "Database:" not in proc.stderr and record.read_text().strip() == "other.duckdb"
