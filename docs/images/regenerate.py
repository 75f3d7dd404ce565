"""Regenerate the pictures of docs/images/ from a real demo run (README's first screen).

    ./dev demo                                   # writes build/demo/
    .venv/bin/python docs/images/regenerate.py   # reads build/demo/, writes docs/images/

Copies the demo's geometry summary and UpSet plot (PNG as written by idc-qc), and takes
screenshots of the dashboard and the QC report in headless chromium (tests/support/browser.py:
Debian's chromium through Playwright, network off). Every picture comes from a synthetic
build and says so. Each file stays under 500 KB (checked here).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMAGES = REPO / "docs" / "images"
MAX_BYTES = 500_000


def main(demo: Path = REPO / "build" / "demo") -> None:
    sys.path.insert(0, str(REPO / "tests"))
    from support.browser import open_page

    for name, target in (("geometry_summary.png", "geometry_summary.png"), ("upset_checks.png", "demo_upset.png")):
        shutil.copyfile(demo / name, IMAGES / target)

    # the dashboard's first screen: banner, totals, the collection and modality charts
    with open_page(demo / "dashboard.html", width=1200, height=860) as view:
        view.page.wait_for_selector("svg g.role-mark", timeout=30_000)
        assert view.console_errors == [], view.console_errors
        view.page.screenshot(path=str(IMAGES / "dashboard.png"), type="png")

    # the QC report's first screen: verdict, summary, failing series per check
    with open_page(demo / "idc_qc.qc_report.html", width=1200, height=900) as view:
        assert view.console_errors == [], view.console_errors
        view.page.screenshot(path=str(IMAGES / "qc_report.png"), type="png")

    for name in ("geometry_summary.png", "demo_upset.png", "dashboard.png", "qc_report.png"):
        size = (IMAGES / name).stat().st_size
        print(f"{IMAGES / name}: {size / 1000:.0f} KB")
        if size > MAX_BYTES:
            raise SystemExit(f"{name} is {size / 1000:.0f} KB: keep README pictures under {MAX_BYTES // 1000} KB")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "build" / "demo")
