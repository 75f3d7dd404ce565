"""The seams between releases, quality, clinical and reports, as a scheduler runs them:

`idc-qc release run` of two real IDC releases (index only), each with `check` and `report`
really running; v25 with the TCGA Pan-Cancer clinical rows of two small tcga_* collections
registered beside its database (one patient's row left out, one row twice). Checked against an
independent pandas computation over the CSV and IDC's index: the clinical suite's verdict per
collection, the report's Clinical coverage section (in a real browser), the release diff
section, exit codes, and the outputs of each step.
"""

from __future__ import annotations

import json
import shutil

import pytest

from support.cli import run_cli
from support.data import TCGA_CLINICAL, require_shared
from support.releases import release_or_skip

pytestmark = [pytest.mark.slow, pytest.mark.shared_data]


@pytest.fixture(scope="module")
def runs(release_runs):
    """`release run v20` (no clinical data) then `release run v25` (clinical data registered): the
    session's release runs (support.releases.release_qc_runs), shared with test_releases.py."""
    require_shared(TCGA_CLINICAL)
    return release_runs


def _manifest(root, release):
    return json.loads((root / f"v{release}" / "idc_qc.manifest.json").read_text())


def test_release_run_runs_check_and_report_and_exits_as_check_does(runs):
    root = runs["root"]
    v20, v25 = runs["runs"][20], runs["runs"][25]
    assert v20.returncode == 0, v20.stdout[-3000:] + v20.stderr[-3000:]
    # v25: the clinical duplicate gate fails (a row twice) -> check exits 1 -> the run exits 1
    assert v25.returncode == 1, v25.stdout[-3000:] + v25.stderr[-3000:]
    for release, check_status, check_exit in ((20, "ok", 0), (25, "checks_failed", 1)):
        folder = root / f"v{release}"
        manifest = _manifest(root, release)
        steps = {s["name"]: s for s in manifest["release_run"]["steps"]}
        assert [s["name"] for s in manifest["release_run"]["steps"]] == ["fetch", "build", "check", "diff", "report"]
        assert steps["check"]["status"] == check_status, steps["check"]
        assert steps["check"]["detail"].startswith(f"exit {check_exit}")
        assert steps["report"]["status"] == "ok", steps["report"]
        assert manifest["validation"]["exit_code"] == check_exit == manifest["release_run"]["exit_code"]
        validation = json.loads((folder / "idc_qc.validation.json").read_text())
        assert validation["summary"]["exit_code"] == check_exit
        assert (folder / "idc_qc.qc_failures.parquet").stat().st_size > 0
        html, csv = folder / "idc_qc.qc_report.html", folder / "idc_qc.qc_report.csv"
        assert html.stat().st_size > 0 and csv.read_text().startswith("collection_id,suite,check_name")
        # index only: the instance suites are skipped with a note, not passed over empty tables
        suites = {s["name"]: s for s in validation["suites"]}
        for name in ("series_geometry", "rpt_qc_regular_share", "instances"):
            assert suites[name]["status"] == "skipped" and "index-only build" in suites[name]["note"]
        assert suites["series"]["status"] == "passed" and suites["series"]["rows"] > 900_000
        assert validation["summary"]["skipped"] == sum(
            1 for e in validation["expectations"] if e["status"] == "skipped") > 0
    assert steps["diff"]["status"] == "ok" and _manifest(root, 25)["diff"]["against"] == 20
    assert _manifest(root, 20)["release_run"]["steps"][3]["status"] == "skipped"  # v20: nothing earlier


def test_without_clinical_data_the_clinical_suite_is_skipped_with_a_note(runs):
    from support.browser import open_page

    folder = runs["root"] / "v20"
    validation = json.loads((folder / "idc_qc.validation.json").read_text())
    suite = next(s for s in validation["suites"] if s["name"] == "rpt_clinical_coverage_summary")
    assert suite["status"] == "skipped" and suite["rows"] == 0 and "no clinical data registered" in suite["note"]
    assert "rpt_clinical_coverage_summary" in validation["summary"]["skipped_suites"]
    with open_page(folder / "idc_qc.qc_report.html") as view:
        assert view.console_errors == []
        assert "No clinical data registered" in view.page.inner_text("#clinical")
        # said once, in the clinical section, not again among the skipped suites
        assert view.page.inner_text("main").count("clinical data registered") == 1
        assert "rpt_clinical_coverage_summary" not in view.page.inner_text("#skipped-suites")
        assert view.page.locator("#release-diff").count() == 0   # no earlier release: no diff section


def test_clinical_gates_and_report_section_match_pandas(runs):
    from idc_qc.quality.thresholds import load_thresholds
    from support.browser import SCREENSHOT_DIR, open_page

    folder = runs["root"] / "v25"
    limits = load_thresholds().values
    imaging, clinical = runs["imaging"], runs["clinical"]
    imaging_only = {c: imaging[c] - clinical[c] for c in runs["chosen"]}
    share = {c: len(imaging_only[c]) / len(imaging[c]) for c in runs["chosen"]}
    want_share_failing = {c for c in runs["chosen"] if share[c] > limits["max_imaging_without_clinical_share"]}
    dup_collection, dup_patient = runs["doubled"]
    assert runs["dropped"][1] in imaging_only[runs["dropped"][0]]

    validation = json.loads((folder / "idc_qc.validation.json").read_text())
    mine = {e["column"]: e for e in validation["expectations"] if e["suite"] == "rpt_clinical_coverage_summary"}
    assert mine["patients_with_duplicate_clinical_rows"]["status"] == "failed"
    assert [k["collection_id"] for k in mine["patients_with_duplicate_clinical_rows"]["failing_keys"]] == [dup_collection]
    got_share_failing = {k["collection_id"] for k in mine["imaging_only_share"]["failing_keys"]}
    assert got_share_failing == want_share_failing
    assert mine["imaging_only_share"]["status"] == ("failed" if want_share_failing else "passed")

    with open_page(folder / "idc_qc.qc_report.html", height=1400) as view:
        page = view.page
        assert view.console_errors == [] and view.failed_requests == []
        page.locator("#clinical").scroll_into_view_if_needed()
        view.screenshot(SCREENSHOT_DIR / "qc_report_clinical_coverage.png")
        rows = page.eval_on_selector_all(
            "#clinical-patients tbody tr",
            "rs => rs.map(r => [...r.cells].map(c => c.innerText))")
        red = page.eval_on_selector_all("#clinical-summary td[data-gate=failed]",
                                        "cs => cs.map(c => c.closest('tr').dataset.collection)")
    found = {}
    for collection, rule, patient, _values, _gate in rows:
        found.setdefault(rule, set()).add((collection, patient))
    assert found.get("imaging without clinical rows", set()) == {(c, p) for c in runs["chosen"] for p in imaging_only[c]}
    assert found["duplicate clinical rows"] == {(dup_collection, dup_patient)}
    dup_row = next(r for r in rows if r[1] == "duplicate clinical rows")
    assert dup_row[3] == "clinical rows: 2" and dup_row[4] == "gate failed"
    assert set(red) == want_share_failing | {dup_collection}


def test_release_diff_section_from_the_manifest(runs):
    import duckdb

    from idc_qc.releases.cache import fetch_release
    from support.browser import open_page

    a, b = fetch_release(20).index, fetch_release(25).index
    added, removed = duckdb.connect().execute(
        "select (select count(*) from read_parquet(?) where SeriesInstanceUID not in "
        "        (select SeriesInstanceUID from read_parquet(?))),"
        "       (select count(*) from read_parquet(?) where SeriesInstanceUID not in "
        "        (select SeriesInstanceUID from read_parquet(?)))", [str(b), str(a), str(a), str(b)]).fetchone()
    with open_page(runs["root"] / "v25" / "idc_qc.qc_report.html") as view:
        text = view.page.inner_text("#release-diff")
        series_row = view.page.eval_on_selector(
            "#release-diff-summary", "t => [...t.rows].find(r => r.cells[0].innerText === 'series').cells[3].innerText")
        qc = view.page.inner_text("#release-diff h3:has-text('QC failures')")
    assert "IDC v20 → v25" in text
    assert series_row == f"+{added:,} / -{removed:,}"
    assert "new" in qc and "fixed" in qc and "unchanged" in qc


def test_report_against_shows_qc_failures_new_fixed_unchanged(runs, tmp_path):
    """`idc-qc report --against v20`: failures keyed by series and check compared across releases."""
    import duckdb
    import pandas as pd

    from support.browser import open_page

    root = tmp_path / "releases"
    for r in (20, 25):
        shutil.copytree(runs["root"] / f"v{r}", root / f"v{r}", ignore=shutil.ignore_patterns("clinical"))
    # failures as `idc-qc check` writes them (its interface), over real series kept in both releases
    kept = [r[0] for r in duckdb.connect().execute(
        "select SeriesInstanceUID from read_parquet(?) where collection_id = 'nlst' order by 1 limit 3",
        [str(release_or_skip(20).index)]).fetchall()]
    assert len(kept) == 3

    def failures(release, uids):
        from idc_qc.quality.check import FAILURE_COLUMNS

        frame = pd.DataFrame({"collection_id": "nlst", "SeriesInstanceUID": uids, "suite": "geometry",
                              "check_name": "gap_between_slices", "observed": "2.5", "failing_instance_count": 1,
                              "gate_failed": True}).reindex(columns=FAILURE_COLUMNS)
        frame = frame.astype({c: "string" for c in FAILURE_COLUMNS if c not in ("failing_instance_count", "gate_failed")})
        frame.to_parquet(root / f"v{release}" / "idc_qc.qc_failures.parquet", index=False)

    failures(20, kept[:2])     # 0 and 1 fail in v20
    failures(25, kept[1:])     # 1 still fails, 2 is new, 0 is fixed
    db = root / "v25" / "idc_qc.duckdb"
    result = run_cli("report", "--db", str(db), "--against", "v20")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "QC failures 1 new / 1 fixed / 1 unchanged" in " ".join(result.stderr.split())
    with open_page(db.with_name("idc_qc.qc_report.html")) as view:
        row = view.page.eval_on_selector(
            "#release-diff-qc tr[data-collection=nlst][data-check=gap_between_slices]",
            "r => [...r.cells].map(c => c.innerText)")
    assert row == ["nlst", "geometry", "gap_between_slices", "1", "1", "1"]
    # a newer release, or a file that is not there: one line, exit 2
    newer = run_cli("report", "--db", str(root / "v20" / "idc_qc.duckdb"), "--against", "v25")
    assert newer.returncode == 2 and "newer than" in newer.stderr + newer.stdout
    missing = run_cli("report", "--db", str(db), "--against", str(tmp_path / "nope.duckdb"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr + missing.stdout
    assert "Traceback" not in missing.stderr + newer.stderr


def test_a_manifest_diff_that_cannot_be_shown_is_a_note_not_a_failed_report(runs, tmp_path):
    from support.browser import open_page
    from support.releases import offline_pip_env

    folder = tmp_path / "releases" / "v25"
    shutil.copytree(runs["root"] / "v25", folder, ignore=shutil.ignore_patterns("clinical"))
    manifest = json.loads((folder / "idc_qc.manifest.json").read_text())
    manifest["diff"]["against"] = 22          # not cached here, and no package index to fetch it from
    (folder / "idc_qc.manifest.json").write_text(json.dumps(manifest))
    env = offline_pip_env(IDC_QC_CACHE_DIR=str(tmp_path / "empty_cache"))
    result = run_cli("report", "--db", str(folder / "idc_qc.duckdb"), env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    with open_page(folder / "idc_qc.qc_report.html") as view:
        note = view.page.inner_text("#release-diff-note")
    assert "could not be shown" in note and "v22" in note
