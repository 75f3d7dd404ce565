"""idc-qc works as installed: from a wheel, in a venv of its own, run from an unrelated folder.

The wheel is built from the sdist (tests/support/packaging.py) and installed into
.venv-wheel-test/ (dependencies reused between runs while they do not change). The commands
run as a user types them, with the working directory in a temporary folder and none of the
checkout's environment. They must find the dbt project inside the package, write every
output (database, dbt target and logs, reports) under the working directory, and leave the
installed package exactly as pip wrote it. The demo run there is the demo's end-to-end test
(``_demo_did_the_main_job_and_said_where_everything_is``).
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from support.data import query
from support.packaging import build_distributions, clean_env, installed_venv, snapshot

pytestmark = pytest.mark.slow


def test_the_installed_wheel_runs_the_demo_from_any_folder_and_writes_nothing_beside_its_code(tmp_path):
    started = time.perf_counter()
    built = build_distributions(tmp_path / "dist")
    venv = installed_venv(built.wheel)
    work = tmp_path / "somewhere_else"
    work.mkdir()
    env = clean_env(HOME=str(tmp_path / "home"), COLUMNS="200")

    def idc_qc(*args: str, timeout: int = 900) -> subprocess.CompletedProcess:
        return subprocess.run([str(venv.script), *args], cwd=work, env=env, capture_output=True, text=True, timeout=timeout)

    where = subprocess.run([str(venv.python), "-c", "from idc_qc.paths import PROJECT_DIR; print(PROJECT_DIR)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True).stdout.strip()
    assert where == str(venv.package_dir / "_project")
    assert (venv.package_dir / "_project" / "dbt_project.yml").is_file()
    before = snapshot(venv.package_dir)

    help_ = idc_qc("--help", timeout=60)
    assert help_.returncode == 0, help_.stderr
    assert "demo" in help_.stdout

    # Relative paths are the user's working directory: the demo goes to ./build, the default --db
    # of every command is ./build/idc_qc.duckdb.
    demo = idc_qc("demo", "--series", "300", "--seed", "7", "--strict", "--out", "build")
    # --strict: exit with check's code, 1 (a gate failed), once every step has run
    assert demo.returncode == 1, demo.stdout[-3000:] + demo.stderr[-3000:]
    out = work / "build"
    _demo_did_the_main_job_and_said_where_everything_is(out, demo.stdout + demo.stderr)
    # dbt's target (manifest, partial parse) and logs live beside the database.
    assert (out / "dbt" / "target" / "manifest.json").is_file()
    assert (out / "dbt" / "logs").is_dir()

    export = idc_qc("export", "series_geometry", "-o", "x.csv", timeout=120)
    assert export.returncode == 0, export.stderr
    rows = query(out / "idc_qc.duckdb", "select count(distinct SeriesInstanceUID) from read_csv(?)", [str(work / "x.csv")])
    assert rows[0][0] == 300

    # Nothing but what was asked for appeared in the working directory ...
    assert sorted(p.name for p in work.iterdir()) == ["build", "x.csv"]
    # ... and nothing at all changed inside the installed package (no target/, logs/, .user.yml,
    # package-lock.yml, partial_parse.msgpack, *.duckdb beside the project).
    after = snapshot(venv.package_dir)
    assert {k: v for k, v in after.items() if before.get(k) != v} == {}
    assert set(before) - set(after) == set()

    # ... nor in the user's home (dbt keeps no ~/.dbt/.user.yml or profile there).
    assert not (tmp_path / "home" / ".dbt").exists()

    seconds = time.perf_counter() - started
    print(f"\ninstalled-wheel test: {seconds:.0f}s (build {built.seconds:.0f}s, "
          f"venv {venv.seconds:.0f}s{' with dependencies' if venv.fresh else ''})")


PNG = b"\x89PNG\r\n\x1a\n"


def _listed(output: str, cwd: Path) -> dict[str, str]:
    """The summary's '  label   path' lines: label -> path (absolute: relative ones are the
    working directory's, as the user gave --out)."""
    found = {}
    for line in output.splitlines():
        m = re.match(r"^  (\S.*?)\s{2,}(\S+)$", line)
        if m:
            found[m.group(1)] = str(cwd / m.group(2))
    return found


def _demo_did_the_main_job_and_said_where_everything_is(out: Path, output: str) -> None:
    """`idc-qc demo --series 300 --seed 7 --strict` into ``out``: synth, build, check, report,
    upset, dashboard; every output where the summary says, marked synthetic; check's own code.
    (Without --strict the demo exits 0 on the same gates: the README walk runs it so.)"""
    from idc_qc.provenance import SYNTHETIC_NOTICE

    db = out / "idc_qc.duckdb"
    truth_series = query(db, f"select count(*) from read_parquet('{out}/synth/truth.parquet')")[0][0]
    assert truth_series == 300
    # Every synthesized series is accounted for in both marts.
    assert query(db, "select count(*) from series where has_instance_metadata")[0][0] == 300
    assert query(db, "select count(*) from series_geometry")[0][0] == 300

    # the progress names every step in order, and the summary lists each output, which exists
    steps = re.findall(r"^(\d)/7 ", output, flags=re.M)
    assert steps == [str(n) for n in range(1, 8)], output
    listed = _listed(output, cwd=out.parent)
    expected = {"database": db, "validation results": out / "idc_qc.validation.json",
                "failing series": out / "idc_qc.qc_failures.parquet",
                "QC report": out / "idc_qc.qc_report.html", "QC report CSV": out / "idc_qc.qc_report.csv",
                "UpSet plot PNG": out / "upset_checks.png", "UpSet plot SVG": out / "upset_checks.svg",
                "UpSet counts CSV": out / "upset_checks.csv", "dashboard": out / "dashboard.html",
                "geometry summary PNG": out / "geometry_summary.png"}
    for label, path in expected.items():
        assert listed.get(label) == str(path), (label, listed)
        assert path.stat().st_size > 0, path
    for name in ("series.parquet", "series_geometry.parquet", "instance_geometry.parquet", "geometry_summary.html"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "upset_checks.png").read_bytes()[:8] == PNG
    assert (out / "geometry_summary.png").read_bytes()[:8] == PNG

    # marked synthetic: the summary, the report, the dashboard, the UpSet picture and counts
    assert SYNTHETIC_NOTICE in output
    assert "synthetic" in (out / "idc_qc.qc_report.html").read_text().lower()
    assert "synthetic-banner" in (out / "dashboard.html").read_text()
    assert "SYNTHETIC INPUT" in (out / "upset_checks.svg").read_text()
    with open(out / "upset_checks.csv", newline="") as fh:
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
    validation = json.loads((out / "idc_qc.validation.json").read_text())["summary"]
    assert validation["input_kind"] == "synthetic"
    assert validation["failed"] > 0 and validation["exit_code"] == 1
    flat = " ".join(output.split())
    assert f"{validation['failed']} of {validation['expectations']} expectations failed" in flat
    assert "expected: the input is synthetic" in flat and "exit 1 (--strict)" in flat
    # the run manifest records the demo: every step, what check alone would exit with
    manifest = json.loads((out / "idc_qc.manifest.json").read_text())
    assert [s["name"] for s in manifest["demo"]["steps"]] == ["synth", "build", "check", "report", "upset",
                                                            "dashboard", "summary"]
    assert manifest["demo"]["check_exit_code"] == 1 and manifest["validation"]["failed"] == validation["failed"]
