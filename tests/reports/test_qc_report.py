"""The curators' QC report in a real browser (headless chromium, network off).

Built from the synthetic build with injected faults (tests/support/quality.py): the page
renders offline with no console error, its table holds the rows the page embeds, the
collection filter and the search narrow them, sorting reorders them, a synthetic build says
so in a banner, and tens of thousands of failing series stay a bounded page.
"""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from support.browser import SCREENSHOT_DIR, open_page
from support.quality import cached_quality_build

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    import duckdb

    from idc_qc.quality.check import run_checks
    from idc_qc.reports.qc_report import build_report

    faulty = cached_quality_build(tmp_path_factory, faults=True)
    # a copy that says where its input came from (the model visuals adds; here by hand)
    db = tmp_path_factory.mktemp("qc_report") / "idc_qc.duckdb"
    shutil.copy(faulty.db, db)
    with duckdb.connect(str(db)) as con:
        con.execute("create or replace table rpt_build_context as select 'synthetic' as input_kind")
    run_checks(db)
    result = build_report(db, rows_per_collection=5)
    return result


def _embedded(html_path) -> list[dict]:
    text = html_path.read_text()
    start = text.index('<script type="application/json" id="report-data">') + len('<script type="application/json" id="report-data">')
    return json.loads(text[start:text.index("</script>", start)])["rows"]


def test_page_renders_offline_filters_and_sorts(report):
    rows = _embedded(report.html)
    assert len(rows) == report.rows_in_page < report.rows_total       # bounded: 5 per collection
    with open(report.csv) as handle:
        assert sum(1 for _ in handle) - 1 == report.rows_total          # the CSV has every row
    with open_page(report.html, height=1100) as view:
        page = view.page
        assert view.console_errors == [] and view.failed_requests == []
        assert page.locator("#synthetic-banner").is_visible()
        assert "idc_qc.manifest.json" in page.locator("header").inner_text()
        body = page.locator("#failures-table tbody tr")
        assert body.count() == min(len(rows), 500)
        assert page.locator("#collections-table tbody tr").count() == report.collections
        with open(report.csv, newline="") as handle:
            checks_in_csv = {row["check_name"] for row in csv.DictReader(handle)}
        assert page.locator("#checks-chart rect").count() == min(15, len(checks_in_csv))

        collection = max({r["collection_id"] for r in rows}, key=lambda c: sum(r["collection_id"] == c for r in rows))
        page.select_option("#collection-filter", collection)
        shown = page.locator("#failures-table tbody tr td:first-child").all_inner_texts()
        assert shown and set(shown) == {collection}
        assert len(shown) == sum(r["collection_id"] == collection for r in rows)

        page.select_option("#collection-filter", "")
        uid = rows[-1]["SeriesInstanceUID"]
        page.fill("#search", uid)
        assert 1 <= body.count() == sum(r["SeriesInstanceUID"] == uid for r in rows)
        assert uid in page.locator("#failures-table tbody").inner_text()
        page.fill("#search", "")

        page.click("#failures-table th[data-key=check_name]")
        checks = page.locator("#failures-table tbody tr td:nth-child(2)").all_inner_texts()
        assert len(checks) > 1 and checks == sorted(checks, key=str.lower)   # localeCompare: case-insensitive
        page.locator("details.check").first.click()
        assert page.locator("details.check pre.sql").first.is_visible()
        page.evaluate("window.scrollTo(0, 0)")
        view.screenshot(SCREENSHOT_DIR / "qc_report.png")
    assert (SCREENSHOT_DIR / "qc_report.png").stat().st_size > 10_000


def test_tens_of_thousands_of_failing_series_stay_a_bounded_page(report, tmp_path):
    """40,000 failing series in 200 collections: the page embeds 100 a collection at most and
    renders 500 table rows; the filter still finds a series of any collection."""
    import duckdb

    from idc_qc.reports.qc_report import build_report

    db = tmp_path / "big.duckdb"
    shutil.copy(report.html.with_name("idc_qc.duckdb"), db)
    shutil.copy(report.html.with_name("idc_qc.validation.json"), tmp_path / "big.validation.json")
    duckdb.connect().execute(f"""
        copy (select 'collection_' || (i % 200) as collection_id, '1.2.3.' || i as SeriesInstanceUID,
                     'instances' as suite, 'PatientAge: invalid value' as check_name, '65' as observed,
                     'PatientAge' as attribute, 'invalid value' as error_kind, 'p' || i as PatientID,
                     '1.2.4.' || i as StudyInstanceUID, 'CT' as Modality, cast(3 as bigint) as failing_instance_count,
                     '1.2.5.' || i as sample_SOPInstanceUID, 'fix it' as hint, null as viewer_url, true as gate_failed
              from range(40000) as t(i))
        to '{tmp_path / "big.qc_failures.parquet"}' (format parquet)""")
    result = build_report(db)
    assert result.rows_total == 40_000 and result.rows_in_page == 200 * 100
    with open_page(result.html) as view:
        assert view.console_errors == []
        assert view.page.locator("#failures-table tbody tr").count() == 500
        view.page.fill("#search", "1.2.3.39999")
        assert view.page.locator("#failures-table tbody tr").count() == 0      # not in the page: the CSV has it
        view.page.fill("#search", "1.2.3.199")
        assert view.page.locator("#failures-table tbody tr").count() >= 1


def test_the_report_leads_with_what_to_fix(report):
    """Gates that did not pass first, then the rules by failing series (those in a failed gate
    first); collections by failing series; shares as percentages; the right plurals; the clinical
    note once; a "start here" list with viewer links; the counts by definition."""
    import re

    text = report.html.read_text()
    sections = re.findall(r'<section id="([^"]+)">', text)
    assert sections[:3] == ["summary", "start", "checks"], sections
    with open_page(report.html, width=1400, height=1000) as view:
        page = view.page
        assert view.console_errors == []
        kinds = page.eval_on_selector_all("#checks details.check", "ds => ds.map(d => d.dataset.kind)")
        assert kinds == sorted(kinds, key=lambda k: k != "gate")            # gates before rules
        rules = page.eval_on_selector_all(
            "#checks details.check[data-kind=rule]",
            "ds => ds.map(d => [d.classList.contains('failed'), parseInt(d.querySelector('.small').textContent.split('· ')[1].replace(/,/g, ''))])")
        assert rules == sorted(rules, key=lambda r: (not r[0], -r[1])), rules
        series = [int(t.replace(",", "")) for t in page.locator("#collections-table tbody tr td:nth-child(2)").all_inner_texts()]
        assert series == sorted(series, reverse=True)
        body = page.inner_text("main")
        assert not re.search(r"\b0\.\d{6,}", body), "a share printed with all its digits"
        assert not re.search(r"\b1 (collections|rows|series in 1 collections)\b", body)
        assert body.count("clinical data registered") <= 1
        start = page.locator("#start-here tbody tr")
        assert 1 <= start.count() <= 10
        links = page.eval_on_selector_all("#start-here a", "as => as.map(a => a.href)")
        assert links and all(link.startswith("https://") for link in links), links
        assert page.locator("#definitions tr[data-definition=fails_qc_rules][data-part=total]").count() == 1
        view.screenshot(SCREENSHOT_DIR / "qc_report_first_screen.png")
