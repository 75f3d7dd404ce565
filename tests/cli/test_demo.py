"""`idc-qc demo` end to end on DuckDB: synthesize, build, report — and the picture renders."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from support.data import query
from idc_qc.cli import app

pytestmark = pytest.mark.slow


def test_demo_builds_every_table_and_writes_the_reports(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--series", "300", "--seed", "7"])
    assert result.exit_code == 0, result.output
    db = tmp_path / "idc_qc.duckdb"
    truth_series = query(db, f"select count(*) from read_parquet('{tmp_path}/synth/truth.parquet')")[0][0]
    assert truth_series == 300
    # Every synthesized series is accounted for in both marts.
    assert query(db, "select count(*) from series where has_instance_metadata")[0][0] == 300
    assert query(db, "select count(*) from series_geometry")[0][0] == 300
    for name in ("series.parquet", "series_geometry.parquet", "instance_geometry.parquet",
                 "geometry_summary.html", "geometry_summary.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    png = (tmp_path / "geometry_summary.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    html = (tmp_path / "geometry_summary.html").read_text()
    # Self-contained: the Vega libraries are inlined, nothing is fetched from a CDN.
    assert "cdn.jsdelivr" not in html and "<script src=" not in html
    assert str(db) in " ".join(result.output.split()) or "idc_qc.duckdb" in result.output
