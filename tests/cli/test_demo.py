"""`idc-qc demo --strict` end to end on DuckDB: synth, build, check, report, upset, dashboard;
every output where the summary says, marked synthetic; check's own code (1: the injected faults
fail the gates). Without --strict the demo exits 0 on the same gates: the README walk runs it
so (tests/cli/test_readme_walk.py), and tests/cli/test_installed.py from the wheel."""

from __future__ import annotations

import csv
import json
import re

import pytest
from typer.testing import CliRunner

from support.data import query
from idc_qc.cli.app import app

pytestmark = pytest.mark.slow

PNG = b"\x89PNG\r\n\x1a\n"


def _listed(output: str) -> dict[str, str]:
    """The summary's '  label   path' lines: label -> path."""
    found = {}
    for line in output.splitlines():
        m = re.match(r"^  (\S.*?)\s{2,}(/\S+)$", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def test_demo_runs_the_main_job_and_says_where_everything_is(tmp_path):
    from idc_qc.provenance import SYNTHETIC_NOTICE

    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--series", "300", "--seed", "7", "--strict"])
    # --strict: exit with check's code, 1 (a gate failed), once every step has run
    assert result.exit_code == 1, result.output
    db = tmp_path / "idc_qc.duckdb"
    truth_series = query(db, f"select count(*) from read_parquet('{tmp_path}/synth/truth.parquet')")[0][0]
    assert truth_series == 300
    # Every synthesized series is accounted for in both marts.
    assert query(db, "select count(*) from series where has_instance_metadata")[0][0] == 300
    assert query(db, "select count(*) from series_geometry")[0][0] == 300

    # the progress names every step in order, and the summary lists each output, which exists
    steps = re.findall(r"^(\d)/7 ", result.output, flags=re.M)
    assert steps == [str(n) for n in range(1, 8)], result.output
    listed = _listed(result.output)
    expected = {"database": db, "validation results": tmp_path / "idc_qc.validation.json",
                "failing series": tmp_path / "idc_qc.qc_failures.parquet",
                "QC report": tmp_path / "idc_qc.qc_report.html", "QC report CSV": tmp_path / "idc_qc.qc_report.csv",
                "UpSet plot PNG": tmp_path / "upset_checks.png", "UpSet plot SVG": tmp_path / "upset_checks.svg",
                "UpSet counts CSV": tmp_path / "upset_checks.csv", "dashboard": tmp_path / "dashboard.html",
                "geometry summary PNG": tmp_path / "geometry_summary.png"}
    for label, path in expected.items():
        assert listed.get(label) == str(path), (label, listed)
        assert path.stat().st_size > 0, path
    for name in ("series.parquet", "series_geometry.parquet", "instance_geometry.parquet", "geometry_summary.html"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert (tmp_path / "upset_checks.png").read_bytes()[:8] == PNG
    assert (tmp_path / "geometry_summary.png").read_bytes()[:8] == PNG

    # marked synthetic: the summary, the report, the dashboard, the UpSet picture and counts
    assert SYNTHETIC_NOTICE in result.output
    assert "synthetic" in (tmp_path / "idc_qc.qc_report.html").read_text().lower()
    assert "synthetic-banner" in (tmp_path / "dashboard.html").read_text()
    assert "SYNTHETIC INPUT" in (tmp_path / "upset_checks.svg").read_text()
    with open(tmp_path / "upset_checks.csv", newline="") as fh:
        upset_rows = list(csv.DictReader(fh))
    assert upset_rows and {r["input_kind"] for r in upset_rows} == {"synthetic"}
    # the UpSet counts are those of the built model
    fails = " or ".join(f"fails_{c}" for c in ("single_orientation", "orthogonal_orientation", "unique_slice_positions",
                                                "consistent_in_plane_row", "consistent_in_plane_col",
                                                "consistent_pixel_spacing", "consistent_image_dimensions",
                                                "uniform_slice_spacing"))
    assert sum(int(r["series"]) for r in upset_rows) == query(
        db, f"select count(*) from rpt_geometry_failure_sets where {fails}")[0][0]

    # the gates find the injected faults; the demo says that was expected, and exits 1 (--strict)
    validation = json.loads((tmp_path / "idc_qc.validation.json").read_text())["summary"]
    assert validation["input_kind"] == "synthetic"
    assert validation["failed"] > 0 and validation["exit_code"] == 1
    flat = " ".join(result.output.split())
    assert f"{validation['failed']} of {validation['expectations']} expectations failed" in flat
    assert "expected: the input is synthetic" in flat and "exit 1 (--strict)" in flat
    # the run manifest records the demo: every step, what check alone would exit with
    manifest = json.loads((tmp_path / "idc_qc.manifest.json").read_text())
    assert [s["name"] for s in manifest["demo"]["steps"]] == ["synth", "build", "check", "report", "upset",
                                                            "dashboard", "summary"]
    assert manifest["demo"]["check_exit_code"] == 1 and manifest["validation"]["failed"] == validation["failed"]
