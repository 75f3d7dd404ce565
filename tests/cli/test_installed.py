"""idc-qc works as installed: from a wheel, in a venv of its own, run from an unrelated folder.

The wheel is built from the sdist (tests/support/packaging.py) and installed into
.venv-wheel-test/ (dependencies reused between runs while they do not change). The commands
run as a user types them, with the working directory in a temporary folder and none of the
checkout's environment. They must find the dbt project inside the package, write every
output (database, dbt target and logs, reports) under the working directory, and leave the
installed package exactly as pip wrote it.
"""

from __future__ import annotations

import subprocess
import time

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
    env = clean_env(HOME=str(tmp_path / "home"))

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
    demo = idc_qc("demo", "--series", "30", "--out", "build")
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    out = work / "build"
    assert query(out / "idc_qc.duckdb", "select count(*) from series_geometry")[0][0] == 30
    for name in ("series.parquet", "series_geometry.parquet", "geometry_summary.html", "geometry_summary.png"):
        assert (out / name).stat().st_size > 0, name
    # dbt's target (manifest, partial parse) and logs live beside the database.
    assert (out / "dbt" / "target" / "manifest.json").is_file()
    assert (out / "dbt" / "logs").is_dir()

    export = idc_qc("export", "series_geometry", "-o", "x.csv", timeout=120)
    assert export.returncode == 0, export.stderr
    rows = query(out / "idc_qc.duckdb", "select count(distinct SeriesInstanceUID) from read_csv(?)", [str(work / "x.csv")])
    assert rows[0][0] == 30

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
