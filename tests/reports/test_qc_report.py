"""The curators' QC report in a real browser (headless chromium, network off).

Built from the synthetic build with injected faults (tests/support/quality.py): the page
renders offline with no console error, its table holds the rows the page embeds, the
collection filter and the search narrow them, sorting reorders them, a synthetic build says
so in a banner, and tens of thousands of failing series stay a bounded page. The "Will my
pipeline load it?" section shows series_converters' own counts, and one line on a build without it.
"""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from support.browser import SCREENSHOT_DIR, open_page
from support.data import REPO
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
            "ds => ds.map(d => [d.classList.contains('failed'), parseInt(d.querySelector('.small').textContent.split('· ')[1].replace(/,/g, '')), parseInt(d.dataset.severity)])")
        assert rules == sorted(rules, key=lambda r: (not r[0], -r[1], r[2])), rules
        # each rule's severity is its word's in the seed (a DICOM value rule: 1)
        severities = dict(page.eval_on_selector_all("#checks details.check[data-kind=rule]",
                                                    "ds => ds.map(d => [d.dataset.check, parseInt(d.dataset.severity)])"))
        with (REPO / "seeds" / "geometry_reasons.csv").open(newline="") as handle:
            seed = {f"geometry: {r['label']}": int(r["severity"]) for r in csv.DictReader(handle) if r["level"] == "series"}
        assert any(name in seed for name in severities), severities
        assert severities == {name: seed.get(name, 1) for name in severities}, severities
        series = [int(t.replace(",", "")) for t in page.locator("#collections-table tbody tr td:nth-child(2)").all_inner_texts()]
        assert series == sorted(series, reverse=True)
        body = page.inner_text("main")
        # (not a version: dcm2niix v1.0.20260724 in the converter section; not a DICOM value as
        # written, in the evidence: smallest_pixel_spacing=0.490234/0.490234)
        assert not re.search(r"(?<![\w.=/-])0\.\d{6,}", body), "a share printed with all its digits"
        assert not re.search(r"\b1 (collections|rows|series in 1 collections)\b", body)
        assert body.count("clinical data registered") <= 1
        start = page.locator("#start-here tbody tr")
        assert 1 <= start.count() <= 10
        links = page.eval_on_selector_all("#start-here a", "as => as.map(a => a.href)")
        assert links and all(link.startswith("https://") for link in links), links
        assert page.locator("#definitions tr[data-definition=fails_qc_rules][data-part=total]").count() == 1
        view.screenshot(SCREENSHOT_DIR / "qc_report_first_screen.png")


def test_will_my_pipeline_load_it_shows_the_models_counts(report):
    """Per converter and outcome the count of series_converters itself (through
    rpt_converter_outcome_counts), the commonest rules with their hints, example series that
    the model decides by those rules, with viewer links; rendered in chromium."""
    import re

    from idc_qc.reports.report_sections import CONVERTER_OUTCOMES, CONVERTER_TOP_RULES
    from support.data import query

    db = report.html.with_name("idc_qc.duckdb")
    expected = {(c, o): n for c, o, n in query(
        db, "select converter, outcome_kind, count(*) from series_converters group by all")}
    converters = {c for c, _ in expected}
    assert converters == {"highdicom", "dcm2niix", "dicom2nifti", "SimpleITK"}
    assert {o for _, o in expected} - {"assembles"}, "the faulty build makes some tool do something else"
    rules = query(db, """select converter, rule_id, series_count from rpt_converter_outcome_counts
                         where collection_id = '(all)' and rule_id not like '%\\_regular' escape '\\'""")
    text = report.html.read_text()
    sections = re.findall(r'<section id="([^"]+)">', text)
    assert sections.index("converters") == sections.index("checks") + 1, sections
    with open_page(report.html, width=1400, height=1000) as view:
        page = view.page
        assert view.console_errors == []
        assert page.locator('nav a[href="#converters"], a[href="#converters"]').count() >= 1
        assert page.locator("#converters h2").inner_text() == "Will my pipeline load it?"
        heads = page.locator("#converter-outcomes thead th").all_inner_texts()
        assert heads == ["converter", "version", *CONVERTER_OUTCOMES, "series"]
        cells = page.eval_on_selector_all(
            "#converter-outcomes td[data-outcome]",
            "tds => tds.map(td => [td.closest('tr').dataset.converter, td.dataset.outcome, parseInt(td.dataset.count),"
            " parseInt(td.textContent.replace(/,/g, ''))])")
        assert len(cells) == len(converters) * len(CONVERTER_OUTCOMES)
        for converter, outcome, count, shown in cells:
            assert count == shown == expected.get((converter, outcome), 0), (converter, outcome, count, shown)
        # the rules: the commonest per converter, counts of the model, hints from the seed
        listed = page.eval_on_selector_all(
            "#converter-rules tbody tr",
            "trs => trs.map(tr => [tr.dataset.converter, tr.dataset.rule, parseInt(tr.querySelector('td[data-count]').dataset.count),"
            " tr.querySelector('td.hint').textContent])")
        by_converter: dict[str, list] = {}
        for converter, rule_id, n in rules:
            by_converter.setdefault(converter, []).append((-n, rule_id))
        want = [(c, rid, -neg) for c in by_converter for neg, rid in sorted(by_converter[c])[:CONVERTER_TOP_RULES]]
        assert sorted((c, r, n) for c, r, n, _ in listed) == sorted(want)
        hints = dict(query(db, "select rule_id, hint from converter_rules"))
        assert all(hint == hints[rule_id] for _, rule_id, _, hint in listed)
        # the examples: series the model decides by the listed rule, linked to the viewer
        examples = page.eval_on_selector_all(
            "#converter-examples tbody tr",
            "trs => trs.map(tr => [tr.dataset.converter, tr.dataset.rule, tr.querySelector('td.uid').textContent,"
            " (tr.querySelector('td.uid a') || {}).href || null])")
        assert examples and {(c, r) for c, r, _, _ in examples} <= {(c, r) for c, r, _, _ in listed}
        for converter, rule_id, uid, _link in examples:
            assert query(db, "select count(*) from series_converters where converter = ? and rule_id = ? "
                             "and SeriesInstanceUID = ?", [converter, rule_id, uid]) == [(1,)]
        links = [link for *_, link in examples if link]
        assert links and all(link.startswith("https://") for link in links), examples
        page.locator("#converters").scroll_into_view_if_needed()
        view.screenshot(SCREENSHOT_DIR / "qc_report_converters.png")


def test_a_build_without_series_converters_says_so_in_one_line(report, tmp_path):
    """A partial build (no series_converters): the section is one line, the page still renders."""
    import duckdb

    from idc_qc.reports.qc_report import build_report

    db = tmp_path / "partial.duckdb"
    shutil.copy(report.html.with_name("idc_qc.duckdb"), db)
    shutil.copy(report.html.with_name("idc_qc.validation.json"), tmp_path / "partial.validation.json")
    shutil.copy(report.html.with_name("idc_qc.qc_failures.parquet"), tmp_path / "partial.qc_failures.parquet")
    with duckdb.connect(str(db)) as con:
        con.execute("drop table series_converters")
    result = build_report(db)
    text = result.html.read_text()
    start = text.index('<section id="converters">')
    section = text[start:text.index("</section>", start)]
    assert section.count("<p") == 1 and 'id="converters-none"' in section and "<table" not in section
    assert "partial build" in section


def test_a_selection_keeps_its_failing_rows_and_says_so(report, tmp_path):
    """--collection (any case) and --where keep the failing rows they select: counts, page and CSV
    hold those rows only (counted here again with DuckDB), the page names the selection, and a
    misspelt column is one line naming the columns that exist."""
    import duckdb

    from idc_qc.errors import IdcQcError
    from idc_qc.query.selection import Selection
    from idc_qc.reports.qc_report import build_report

    db = report.html.with_name("idc_qc.duckdb")
    failures = str(report.html.with_name("idc_qc.qc_failures.parquet"))
    collection = duckdb.connect().execute(
        "select collection_id from read_parquet(?) group by 1 order by count(*) desc, 1 limit 1", [failures]).fetchone()[0]
    expected = duckdb.connect().execute(
        """select count(*), count(distinct SeriesInstanceUID) from read_parquet(?)
           where collection_id = ? and suite = 'geometry'""", [failures, collection]).fetchone()
    assert 0 < expected[0] < report.rows_total

    selection = Selection(collection=[collection.upper()], where="suite = 'geometry'")
    result = build_report(db, out=tmp_path / "selected.html", selection=selection)
    assert (result.rows_total, result.series_affected, result.collections) == (expected[0], expected[1], 1)
    assert result.selection == selection.describe()
    with result.csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == expected[0] and {(r["collection_id"], r["suite"]) for r in rows} == {(collection, "geometry")}
    page = result.html.read_text()
    assert 'id="selection-note"' in page and "whole build" in page
    assert {r["collection_id"] for r in _embedded(result.html)} == {collection}
    assert 'id="selection-note"' not in report.html.read_text(), "the whole report has no selection note"

    with pytest.raises(IdcQcError) as error:
        build_report(db, out=tmp_path / "bad.html", selection=Selection(where="chek_name like 'geometry%'"))
    message = str(error.value)
    assert "\n" not in message and "chek_name" in message and "check_name" in message, message
