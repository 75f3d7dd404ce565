"""`idc-qc release run` and `build --release` as a scheduler runs them: real releases, per-release
folders, one exit code, a manifest; a failing release leaves the others' results untouched."""

from __future__ import annotations

import json

import duckdb
import pytest

from support.cli import one_error_line, run_cli
from support.releases import offline_pip_env, release_or_skip
from idc_qc.releases.cache import sha256_file

pytestmark = pytest.mark.slow  # each run builds a real release index with dbt (~10 s)


@pytest.fixture(scope="module")
def releases_run(release_runs):
    """v20 then v25, each `release run` over the release's whole index (the session's release runs,
    shared with test_release_qc_integration.py: v25 with clinical data whose duplicate-row gate
    fails, so its run exits 1 as check does; that file checks the check and report steps)."""
    return release_runs["work"], release_runs["runs"], release_runs["clinical_registered"]


def test_release_run_end_to_end(releases_run):
    work, runs, clinical = releases_run
    for release, run in runs.items():
        # v25 with clinical data: 1, its duplicate-row gate fails (test_release_qc_integration.py)
        want = 1 if release == 25 and clinical else 0
        assert run.returncode == want, f"v{release}: " + run.stderr[-2000:]
        assert f"exit code {want}" in run.stderr, f"v{release}"
    root = work / "build" / "releases"
    for release, series in ((20, 947_580), (25, 1_044_191)):
        db = root / f"v{release}" / "idc_qc.duckdb"
        manifest = json.loads((root / f"v{release}" / "idc_qc.manifest.json").read_text())
        assert manifest["idc"]["release"] == release
        assert manifest["idc"]["idc_index_data_version"].startswith(f"{release}.")
        assert manifest["row_counts"]["series"] == series
        assert manifest["build"]["status"] == "complete"
        assert manifest["vars"]["relative_slice_tolerance"] == 0.01
        index = manifest["inputs"]["index"][0]
        assert index["path"].endswith("idc_index.parquet") and index["sha256"] == sha256_file(index["path"])
        steps = {s["name"]: s["status"] for s in manifest["release_run"]["steps"]}
        assert steps["fetch"] == steps["build"] == "ok"
        assert manifest["release_run"]["exit_code"] == (1 if release == 25 and clinical else 0)
        with duckdb.connect(str(db), read_only=True) as con:
            assert con.execute("select count(*) from series").fetchone()[0] == series
            assert con.execute("select idc_index_version from idc_qc_build").fetchone()[0].startswith(f"{release}.")
    # v20 lacks these columns: NULL in every row, not a crash
    with duckdb.connect(str(root / "v20" / "idc_qc.duckdb"), read_only=True) as con:
        rows, sop_classes, last_is_20 = con.execute(
            "select count(*), count(SOPClassUID), count(*) filter (where last_idc_release = 20) from series").fetchone()
        assert (rows, sop_classes, last_is_20) == (947_580, 0, 947_580)
    v20 = json.loads((root / "v20" / "idc_qc.manifest.json").read_text())
    assert "SOPClassUID" in v20["idc"]["columns_absent"]
    # v25's run diffed against v20, the newest earlier build
    v25 = json.loads((root / "v25" / "idc_qc.manifest.json").read_text())
    assert v25["diff"]["against"] == 20 and v25["diff"]["series_added"] == 96_853
    assert (root / "v25" / "diff_v20_v25_collections.csv").is_file()
    assert "IDC v20 -> v25" in runs[25].stdout


def test_a_failing_release_build_leaves_other_releases_untouched(releases_run, tmp_path):
    work, _, _ = releases_run
    root = work / "build" / "releases"
    before = {p.name: sha256_file(p) for p in (root / "v20").iterdir() if p.is_file()}
    # A release whose index is broken: instanceCount holds text dbt cannot cast.
    bad = tmp_path / "bad" / "idc_index.parquet"
    bad.parent.mkdir()
    source = str(release_or_skip(20).index).replace("'", "''")
    duckdb.connect().execute(
        f"copy (select * replace (case when row_number() over () = 7 then 'n/a' else cast(instanceCount as varchar) end "
        f"as instanceCount) from read_parquet('{source}') limit 500) to '{bad}' (format parquet)")
    env = offline_pip_env(IDC_QC_CACHE_DIR=str(tmp_path / "cache"))
    fetched = run_cli("release", "fetch", "98", "--parquet", str(bad), env=env, cwd=work)
    assert fetched.returncode == 0, fetched.stderr
    run = run_cli("release", "run", "v98", "-s", "+series", env=env, cwd=work)
    assert run.returncode == 2, run.stderr[-2000:]
    assert "series: Conversion Error" in " ".join(run.stdout.replace("│", " ").split()), run.stdout  # the model and the engine's reason
    assert not (root / "v98" / "idc_qc.duckdb").exists()
    assert {p.name: sha256_file(p) for p in (root / "v20").iterdir() if p.is_file()} == before
    # and one release's database is never overwritten by another's build
    refused = run_cli("build", "--release", "25", "--db", str(root / "v20" / "idc_qc.duckdb"), "-s", "+series", cwd=work)
    assert refused.returncode == 2 and "holds the results of IDC release v20" in refused.stderr
    assert {p.name: sha256_file(p) for p in (root / "v20").iterdir() if p.is_file()} == before


def test_no_network_and_nothing_cached_is_one_line_saying_how_to_give_a_wheel(tmp_path):
    env = offline_pip_env(IDC_QC_CACHE_DIR=str(tmp_path / "cache"))
    result = run_cli("release", "run", "v22", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "cannot be reached" in result.stdout and "--wheel" in result.stdout
    fetched = run_cli("release", "fetch", "22", env=env, cwd=tmp_path)
    one_error_line(fetched)
    assert "--wheel" in fetched.stderr


def test_exports_name_the_manifest_they_came_from(releases_run, tmp_path):
    import pyarrow.parquet as pq

    work, _, _ = releases_run
    db = work / "build" / "releases" / "v20" / "idc_qc.duckdb"
    result = run_cli("export", "series", "-o", str(tmp_path / "s.parquet"), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "idc_qc.manifest.json" in result.stderr
    metadata = pq.read_schema(tmp_path / "s.parquet").metadata
    named = metadata[b"idc_qc_manifest"].decode()
    assert named == str((db.parent / "idc_qc.manifest.json").resolve())
    assert json.loads(open(named).read())["idc"]["release"] == 20
