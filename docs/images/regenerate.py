"""Regenerate the pictures of docs/images/ from a real demo run (README's first screen).

    ./dev demo                                   # writes build/demo/
    .venv/bin/python docs/images/regenerate.py   # reads build/demo/, writes docs/images/

Copies the demo's geometry summary and UpSet plots (PNG as written by idc-qc: IDC's checks, and
`--sets converters`), and takes
screenshots of the dashboard (whole build, and filtered to a small collection), the QC
report and its converter section in headless chromium at 1,400 px (tests/support/browser.py: Debian's chromium through
Playwright, network off). Run it from the folder the demo ran in: the pages carry no path of
the machine then. Every picture comes from a synthetic
build and says so. Each file stays under 500 KB (checked here).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "docs" / "images"
MAX_BYTES = 500_000
#: Browser width of the screenshots (the width the pages are made to fit).
WIDTH = 1400


def _small_failing_collection(db: Path) -> str:
    """The smallest collection with a failing series outside the 15 the failure-reason heat map ranks first."""
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute("""
            select collection_id, series_count, series_in_scope from rpt_failing_series_counts
            where definition = 'not_regular_volume' and part = 'total' and collection_id <> '(all)'
            order by series_count desc, collection_id""").fetchall()
    return min(rows[15:] or rows, key=lambda r: (r[2], r[0]))[0]


def main(demo: Path = REPO / "build" / "demo") -> None:
    sys.path.insert(0, str(REPO / "tests"))
    from support.browser import open_page

    for name, target in (("geometry_summary.png", "geometry_summary.png"), ("upset_checks.png", "demo_upset.png")):
        shutil.copyfile(demo / name, IMAGES / target)

    # the dashboard's first screen: banner, counts by definition, totals, the collection and modality charts
    with open_page(demo / "dashboard.html", width=WIDTH, height=900) as view:
        view.page.wait_for_selector("svg g.role-mark", timeout=30_000)
        assert view.console_errors == [], view.console_errors
        view.page.screenshot(path=str(IMAGES / "dashboard.png"), type="png")

    # the dashboard filtered to a small collection (failing, outside the top 15 of the heat map):
    # every chart, the failure reasons at the bottom included
    small = _small_failing_collection(demo / "idc_qc.duckdb")
    with open_page(demo / "dashboard.html", width=WIDTH, height=900) as view:
        view.page.wait_for_selector("svg g.role-mark", timeout=30_000)
        view.page.select_option("select", small)
        view.page.wait_for_timeout(800)
        assert view.console_errors == [], view.console_errors
        view.page.screenshot(path=str(IMAGES / "dashboard_small_collection.png"), type="png", full_page=True)
    print(f"dashboard_small_collection.png: collection {small}")

    # the QC report's first screen: verdict, the gates that failed, the counts by definition
    with open_page(demo / "idc_qc.qc_report.html", width=WIDTH, height=900) as view:
        assert view.console_errors == [], view.console_errors
        view.page.screenshot(path=str(IMAGES / "qc_report.png"), type="png")

    # the QC report's converter section, "Will my pipeline load it?" (issue 22)
    with open_page(demo / "idc_qc.qc_report.html", width=WIDTH, height=900) as view:
        assert view.console_errors == [], view.console_errors
        # sticky table headers would follow the scroll of an element screenshot over the rows
        view.page.add_style_tag(content="thead, thead th { position: static !important; }")
        view.page.locator("#converters").screenshot(path=str(IMAGES / "qc_report_converters.png"), type="png")

    # which converters fail to simply assemble the same series: `idc-qc upset --sets converters`
    import subprocess

    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, "-m", "idc_qc.cli", "upset", "--db", str(demo / "idc_qc.duckdb"),
                        "--sets", "converters", "-o", out], check=True, capture_output=True)
        shutil.copyfile(Path(out) / "upset_converters.png", IMAGES / "demo_upset_converters.png")

    for name in ("geometry_summary.png", "demo_upset.png", "dashboard.png", "dashboard_small_collection.png",
                 "qc_report.png", "qc_report_converters.png", "demo_upset_converters.png"):
        size = (IMAGES / name).stat().st_size
        print(f"{IMAGES / name}: {size / 1000:.0f} KB")
        if size > MAX_BYTES:
            raise SystemExit(f"{name} is {size / 1000:.0f} KB: keep README pictures under {MAX_BYTES // 1000} KB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "build" / "demo")
